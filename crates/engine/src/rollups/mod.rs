//! Materialised aggregates for the Store API's aggregated datasets. Per
//! base dataset one rollup, a *cube*: the base rows summed by (date,
//! grain, hour, ids) and, per grouping set, by the set's dimensions —
//! none, each dimension alone, and each pair of the dimensions a method can
//! filter, group or order on. A plan reads the smallest set holding every
//! column it needs, with the same result as the base rows (the first stage
//! of a `Rollup` sums per (date, group) anyway, and sums compose), reading
//! thousands of rows instead of millions; a plan needing three dimensions
//! reads the base rows.
//!
//! **One scan.** [`cube::Cube`] sums every set in one pass over the base
//! rows (one hash per row and set over small integer codes), so adding
//! sets costs additions, not scans.
//!
//! **Stored as one dataset.** The sets' rows are written set after set into
//! one dataset with a `rollupSet` column (so each month's part file holds
//! each set's rows together and the Parquet page index skips the others),
//! not one dataset per set: a few part files per month instead of dozens.
//!
//! **Never stale.** The cube is stored under the base dataset's manifest
//! version (`<base>__cube__v<version>`; plain characters, as object stores
//! escape others); a load makes a new base version, so until the cube of
//! that version is built, plans read the base rows. Building replaces
//! older versions' rollups.

mod cube;
mod intern;
mod on_demand;
mod sums;

use std::sync::LazyLock;

use datafusion::logical_expr::Expr;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use query::catalog::{Catalog, Column, ColumnType, Dataset};
use query::storeapi::methods::{METHODS, Stored};

use crate::error::Result;
use crate::ingest::{LoadMode, Loader};
use crate::storage::{DataStore, TenantId};

pub use cube::{Cube, CubeInputs};
pub use on_demand::SetLimits;
pub(crate) use on_demand::{OnDemandSet, OnDemandSets};

/// The column numbering a cube row's grouping set.
pub const SET_COLUMN: &str = "rollupSet";

/// Rows per data page of a cube's part files: a set's rows are read with
/// at most a page on either side of them.
const PAGE_ROWS: usize = 1024;

/// Columns every rollup keeps: the date grain and the product's identity.
const KEYS: &[&str] = &[
    "date",
    "grain",
    "hour",
    "applicationId",
    "applicationName",
    "productId",
    "productName",
    "productType",
    "appType",
    "inAppProductId",
    "inAppProductName",
    "subscriptionProductId",
    "subscriptionProductName",
    "sellerId",
    "metricType",
    "currencyCode",
    "accountCurrencyCode",
];

/// The cube of a base dataset.
#[derive(Debug)]
pub struct RollupSpec {
    pub base: String,
    /// The cube's schema (named `<base>__cube`): the set column, the keys,
    /// every dimension, the measures.
    pub dataset: Dataset,
    pub keys: Vec<String>,
    pub dims: Vec<String>,
    pub measures: Vec<String>,
    /// The grouping sets (indices into `dims`), smallest first: none, each
    /// dimension, then the pairs of queryable dimensions.
    pub sets: Vec<Vec<usize>>,
}

/// A grouping set of a cube that answers a plan.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub spec: &'static RollupSpec,
    /// The set's number (the value of [`SET_COLUMN`]).
    pub set: usize,
}

impl RollupSpec {
    /// Where the cube of base version `version` is stored.
    pub fn storage_name(&self, version: u64) -> String {
        format!("{}__v{version}", self.dataset.name)
    }

    /// The dimensions of set `set`, by name.
    pub fn set_dims(&self, set: usize) -> Vec<&str> {
        self.sets
            .get(set)
            .map(|s| s.iter().map(|&d| self.dims[d].as_str()).collect())
            .unwrap_or_default()
    }

    /// The smallest set holding every column named (keys and measures are
    /// in all of them), if any.
    fn covering(&self, columns: &[&str]) -> Option<usize> {
        let needed = self.dims_needed(columns)?;
        self.sets
            .iter()
            .position(|set| needed.iter().all(|d| set.contains(d)))
    }

    /// The dimensions (indices into `dims`, ascending) among the columns
    /// named; `None` when one is not a column of the cube.
    pub(crate) fn dims_needed(&self, columns: &[&str]) -> Option<Vec<usize>> {
        let has = |list: &[String], c: &str| list.iter().any(|x| x.eq_ignore_ascii_case(c));
        let mut needed = Vec::new();
        for c in columns {
            if has(&self.keys, c) || has(&self.measures, c) {
                continue;
            }
            needed.push(self.dims.iter().position(|d| d.eq_ignore_ascii_case(c))?);
        }
        needed.sort_unstable();
        needed.dedup();
        Some(needed)
    }
}

static SPECS: LazyLock<Vec<RollupSpec>> = LazyLock::new(|| {
    let catalog = query::storeapi::store_catalog();
    catalog.datasets().iter().filter_map(spec_for).collect()
});

fn spec_for(base: &Dataset) -> Option<RollupSpec> {
    let methods: Vec<_> = METHODS
        .iter()
        .filter(|m| m.dataset == base.name && m.stored != Stored::Rows)
        .collect();
    if methods.is_empty() {
        return None;
    }
    let mut measures: Vec<String> = Vec::new();
    for m in &methods {
        for (wire, _) in m.measures {
            let c = m.column_of(wire);
            if base.stored_column(&c).is_some() && !measures.contains(&c) {
                measures.push(c);
            }
        }
    }
    let is_key = |c: &Column| KEYS.iter().any(|k| k.eq_ignore_ascii_case(&c.name));
    let is_measure = |c: &Column| measures.iter().any(|m| m.eq_ignore_ascii_case(&c.name));
    let keys: Vec<&Column> = base.columns.iter().filter(|c| is_key(c)).collect();
    let dims: Vec<&Column> = base
        .columns
        .iter()
        .filter(|c| !is_key(c) && !is_measure(c))
        .collect();
    let measure_columns: Vec<&Column> = base.columns.iter().filter(|c| is_measure(c)).collect();
    // Pairs only of dimensions some method lets a caller name.
    let queryable = |d: &Column| {
        methods.iter().any(|m| {
            m.filter
                .iter()
                .chain(m.group)
                .chain(m.order)
                .any(|w| m.column_of(w).eq_ignore_ascii_case(&d.name))
        })
    };
    let mut sets: Vec<Vec<usize>> = vec![Vec::new()];
    sets.extend((0..dims.len()).map(|d| vec![d]));
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            if queryable(dims[a]) && queryable(dims[b]) {
                sets.push(vec![a, b]);
            }
        }
    }
    let mut columns = vec![Column {
        name: SET_COLUMN.to_string(),
        ty: ColumnType::Int,
        restricted: false,
    }];
    columns.extend(keys.iter().map(|c| (*c).clone()));
    columns.extend(dims.iter().map(|c| (*c).clone()));
    columns.extend(measure_columns.iter().map(|c| (*c).clone()));
    let names = |list: &[&Column]| list.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    Some(RollupSpec {
        base: base.name.clone(),
        dataset: Dataset {
            name: format!("{}__cube", base.name),
            aliases: Vec::new(),
            columns,
            hidden_columns: Vec::new(),
            metrics: Vec::new(),
            // One part file, not one per month: a cube is small, and a
            // query then opens one file instead of a dozen; its sets' and
            // dates' pages are skipped through the page index.
            date_column: None,
            available_date_ranges: base.available_date_ranges.clone(),
            minimum_recurrence_interval: base.minimum_recurrence_interval,
        },
        keys: names(&keys),
        dims: names(&dims),
        measures: names(&measure_columns),
        sets,
    })
}

/// The cube of a base dataset (none for datasets without aggregated
/// methods).
pub fn spec_of(base: &str) -> Option<&'static RollupSpec> {
    SPECS.iter().find(|s| s.base == base)
}

/// The cheapest grouping set holding every column a plan reads: the one
/// without dimensions when it suffices, else one dimension, else a pair.
pub fn covering(base: &str, columns: &[&str]) -> Option<Choice> {
    let spec = spec_of(base)?;
    let set = spec.covering(columns)?;
    Some(Choice { spec, set })
}

/// Base datasets with fewer rows than this get no cube: scanning them is as
/// cheap as reading one (a set's groups are then nearly as many as the
/// rows, times every set: the demo's 10k failure hits made an 810k-row
/// cube).
pub const MIN_BASE_ROWS: u64 = 100_000;

/// At most this many groups over all of a cube's sets (about 100 bytes
/// each while building): data whose sets have more — dimensions of very
/// many values — gets no cube, and plans read its base rows. A 10 M-row
/// year of one app makes 407k.
pub const MAX_GROUPS: usize = 8_000_000;

/// When a base dataset gets a cube.
#[derive(Debug, Clone, Copy)]
pub struct CubeLimits {
    pub min_base_rows: u64,
    pub max_groups: usize,
}

impl Default for CubeLimits {
    fn default() -> Self {
        CubeLimits {
            min_base_rows: MIN_BASE_ROWS,
            max_groups: MAX_GROUPS,
        }
    }
}

/// Builds the cube of `base` for the tenant's current rows in one scan
/// (none under [`MIN_BASE_ROWS`] rows or over [`MAX_GROUPS`] groups), then
/// drops the rollups of older versions. Returns the rows written.
pub async fn build(engine: &crate::Engine, base: &Dataset, tenant: &TenantId) -> Result<u64> {
    build_within(engine, base, tenant, CubeLimits::default()).await
}

/// [`build`] with other limits (tests build cubes of small data).
pub async fn build_within(
    engine: &crate::Engine,
    base: &Dataset,
    tenant: &TenantId,
    limits: CubeLimits,
) -> Result<u64> {
    let Some(spec) = spec_of(&base.name) else {
        return Ok(0);
    };
    let store = engine.store();
    // One manifest names the version and gives the files, so a load that
    // commits meanwhile cannot put newer rows under an older name.
    let manifest = store.manifest(&base.name, tenant).await?;
    let version = manifest.version;
    if manifest.files.iter().map(|f| f.rows).sum::<u64>() < limits.min_base_rows {
        drop_old(store, &base.name, tenant, version).await?;
        return Ok(0);
    }
    let scan = SetScan {
        spec,
        sets: &spec.sets,
        first_number: 0,
        max_groups: limits.max_groups,
    };
    let Some(batches) = scan.run(engine, base, &manifest.files).await? else {
        drop_old(store, &base.name, tenant, version).await?;
        return Ok(0);
    };
    let rows = write(
        engine,
        base,
        spec,
        &spec.storage_name(version),
        tenant,
        &batches,
    )
    .await?;
    drop_old(store, &base.name, tenant, version).await?;
    Ok(rows)
}

/// Grouping sets of a cube summed in one scan of base files.
pub(crate) struct SetScan<'a> {
    pub spec: &'a RollupSpec,
    pub sets: &'a [Vec<usize>],
    /// The set column's value of the first set.
    pub first_number: usize,
    /// Over this many groups the scan stops and yields nothing.
    pub max_groups: usize,
}

impl SetScan<'_> {
    /// The sets' rows, one batch per set in the cube's schema; `None` when
    /// they pass `max_groups`.
    pub(crate) async fn run(
        &self,
        engine: &crate::Engine,
        base: &Dataset,
        files: &[crate::storage::PartFile],
    ) -> Result<Option<Vec<datafusion::arrow::array::RecordBatch>>> {
        let spec = self.spec;
        let inputs: Vec<Expr> = spec
            .keys
            .iter()
            .chain(&spec.dims)
            .chain(&spec.measures)
            .map(|c| crate::exec::column(c))
            .collect();
        let df = engine
            .read_files(base, files.iter())
            .await?
            .select(inputs)?;
        let mut stream = df.execute_stream().await?;
        let (k, d) = (spec.keys.len(), spec.dims.len());
        let ints = spec.measures.iter().map(|m| {
            base.stored_column(m)
                .is_some_and(|c| c.ty == ColumnType::Int)
        });
        let positions = CubeInputs {
            keys: (0..k).collect(),
            dims: (k..k + d).collect(),
            measures: (k + d..).zip(ints).collect(),
        };
        let mut cube =
            Cube::new(positions, &stream.schema(), self.sets)?.numbered_from(self.first_number);
        while let Some(batch) = stream.try_next().await? {
            cube.add(&batch)?;
            if cube.groups() > self.max_groups {
                return Ok(None);
            }
        }
        Ok(Some(
            cube.finish(&crate::schema::dataset_schema(&spec.dataset))?,
        ))
    }
}

/// Writes a cube's (or an on-demand set's) rows as dataset `name`, each
/// set's rows in date order; returns the rows written.
pub(crate) async fn write(
    engine: &crate::Engine,
    base: &Dataset,
    spec: &RollupSpec,
    name: &str,
    tenant: &TenantId,
    batches: &[datafusion::arrow::array::RecordBatch],
) -> Result<u64> {
    let mut target = spec.dataset.clone();
    target.name = name.to_string();
    let mut loader = Loader::new(
        engine.store(),
        &target,
        tenant.clone(),
        LoadMode::ReplaceAll,
    )?
    .with_page_rows(PAGE_ROWS);
    let mut rows = 0u64;
    for b in batches {
        let b = &by_date(b, base.date_column.as_deref())?;
        if let Err(e) = loader.push_batch(b).await {
            loader.abort().await;
            return Err(e);
        }
        rows += b.num_rows() as u64;
    }
    loader.commit().await?;
    Ok(rows)
}

/// A set's rows in date order, so that the page index skips the dates
/// outside a query's window too.
fn by_date(
    batch: &datafusion::arrow::array::RecordBatch,
    date: Option<&str>,
) -> Result<datafusion::arrow::array::RecordBatch> {
    let Some(index) = date.and_then(|d| batch.schema().index_of(d).ok()) else {
        return Ok(batch.clone());
    };
    let order = datafusion::arrow::compute::sort_to_indices(batch.column(index), None, None)?;
    Ok(datafusion::arrow::compute::take_record_batch(
        batch, &order,
    )?)
}

/// Deletes a tenant's rollups of `base` built for versions before
/// `keep - 1` (the previous version's stay: a query that chose them just
/// before the load may still be reading them).
async fn drop_old(store: &DataStore, base: &str, tenant: &TenantId, keep: u64) -> Result<()> {
    let listing = store
        .object_store()
        .list_with_delimiter(Some(&Path::from("data")))
        .await?;
    for prefix in listing.common_prefixes {
        let Some(name) = prefix.filename() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&format!("{base}__")) else {
            continue;
        };
        let version = rest
            .rsplit_once("__v")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        if version.is_none_or(|v| v + 1 >= keep) {
            continue;
        }
        let dir = Path::from(crate::storage::layout::dataset_prefix(name, tenant));
        let objects: Vec<_> = store.object_store().list(Some(&dir)).try_collect().await?;
        for o in objects {
            store.object_store().delete(&o.location).await?;
        }
    }
    Ok(())
}
