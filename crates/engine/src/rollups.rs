//! Materialised aggregates for the Store API's aggregated datasets: per
//! dataset, one rollup without dimensions and one per dimension, each the
//! base rows summed by (date, grain, hour, ids, that dimension). A rollup
//! answers any plan whose columns it holds, with the same result as the
//! base rows — the first stage of a `Rollup` sums per (date, group) anyway,
//! and sums compose — while reading thousands of rows instead of millions.
//!
//! **Never stale.** A rollup is stored under the base dataset's manifest
//! version (`<base>__<dim>__v<version>`; plain characters, as object stores
//! escape others); a load makes a new base version, so
//! until the rollups of that version are built, plans read the base rows.
//! Building replaces older versions' rollups.

use std::sync::LazyLock;

use datafusion::functions_aggregate::expr_fn::sum;
use datafusion::logical_expr::Expr;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use query::catalog::{Catalog, Column, Dataset};
use query::storeapi::methods::{METHODS, Stored};

use crate::error::Result;
use crate::ingest::{LoadMode, Loader};
use crate::storage::{DataStore, TenantId};

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

/// One rollup of a base dataset.
#[derive(Debug)]
pub struct RollupSpec {
    pub base: String,
    /// The dimension kept besides the keys (`None`: no dimension).
    pub dim: Option<String>,
    /// The rollup's schema (its name is `<base>__<dim|all>`).
    pub dataset: Dataset,
    pub measures: Vec<String>,
}

impl RollupSpec {
    /// Where the rollup of base version `version` is stored.
    pub fn storage_name(&self, version: u64) -> String {
        format!("{}__v{version}", self.dataset.name)
    }

    fn covers(&self, columns: &[&str]) -> bool {
        columns
            .iter()
            .all(|c| self.dataset.stored_column(c).is_some())
    }
}

static SPECS: LazyLock<Vec<RollupSpec>> = LazyLock::new(|| {
    let catalog = query::storeapi::store_catalog();
    let mut out = Vec::new();
    for base in catalog.datasets() {
        let methods: Vec<_> = METHODS
            .iter()
            .filter(|m| m.dataset == base.name && m.stored != Stored::Rows)
            .collect();
        if methods.is_empty() {
            continue;
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
        let keys: Vec<Column> = base.columns.iter().filter(|c| is_key(c)).cloned().collect();
        let dims: Vec<&Column> = base
            .columns
            .iter()
            .filter(|c| !is_key(c) && !is_measure(c))
            .collect();
        let measure_columns: Vec<Column> = base
            .columns
            .iter()
            .filter(|c| is_measure(c))
            .cloned()
            .collect();
        let mut variants: Vec<Option<&Column>> = vec![None];
        variants.extend(dims.iter().map(|d| Some(*d)));
        for dim in variants {
            let mut columns = keys.clone();
            columns.extend(dim.cloned());
            columns.extend(measure_columns.iter().cloned());
            let suffix = dim.map_or("all", |d| d.name.as_str());
            out.push(RollupSpec {
                base: base.name.clone(),
                dim: dim.map(|d| d.name.clone()),
                dataset: Dataset {
                    name: format!("{}__{suffix}", base.name),
                    aliases: Vec::new(),
                    columns,
                    hidden_columns: Vec::new(),
                    metrics: Vec::new(),
                    date_column: base.date_column.clone(),
                    available_date_ranges: base.available_date_ranges.clone(),
                    minimum_recurrence_interval: base.minimum_recurrence_interval,
                },
                measures: measures.clone(),
            });
        }
    }
    out
});

/// The rollups of a base dataset (none for datasets without aggregated
/// methods).
pub fn specs_of(base: &str) -> impl Iterator<Item = &'static RollupSpec> {
    SPECS.iter().filter(move |s| s.base == base)
}

/// The smallest rollup holding every column a plan reads: the one without
/// dimensions when it suffices, else the first single-dimension one.
pub fn covering(base: &str, columns: &[&str]) -> Option<&'static RollupSpec> {
    specs_of(base).find(|s| s.covers(columns))
}

/// Builds every rollup of `base` for the tenant's current rows, then drops
/// the rollups of older versions. Returns the rows written.
pub async fn build(engine: &crate::Engine, base: &Dataset, tenant: &TenantId) -> Result<u64> {
    let store = engine.store();
    // One manifest names the version and gives the files, so a load that
    // commits meanwhile cannot put newer rows under an older name.
    let manifest = store.manifest(&base.name, tenant).await?;
    let version = manifest.version;
    let mut rows = 0u64;
    let all = engine.read_files(base, manifest.files.iter()).await?;
    for spec in specs_of(&base.name) {
        let df = all.clone();
        let group: Vec<Expr> = spec
            .dataset
            .columns
            .iter()
            .filter(|c| !spec.measures.contains(&c.name))
            .map(|c| crate::exec::column(&c.name))
            .collect();
        let sums: Vec<Expr> = spec
            .measures
            .iter()
            .map(|m| sum(crate::exec::column(m)).alias(m))
            .collect();
        let df = df.aggregate(group, sums)?;
        // Back to the stored types (sums of Int64 stay Int64; Float64 too),
        // in the rollup's column order.
        let ordered: Vec<Expr> = spec
            .dataset
            .columns
            .iter()
            .map(|c| {
                datafusion::logical_expr::cast(
                    crate::exec::column(&c.name),
                    crate::schema::arrow_type(c.ty),
                )
                .alias(&c.name)
            })
            .collect();
        let batches = df.select(ordered)?.collect().await?;
        let mut target = spec.dataset.clone();
        target.name = spec.storage_name(version);
        let mut loader = Loader::new(store, &target, tenant.clone(), LoadMode::ReplaceAll)?;
        for b in &batches {
            let b = utf8(b)?;
            if let Err(e) = loader.push_batch(&b).await {
                loader.abort().await;
                return Err(e);
            }
            rows += b.num_rows() as u64;
        }
        loader.commit().await?;
    }
    drop_old(store, &base.name, tenant, version).await?;
    Ok(rows)
}

/// Strings come back from DataFusion as views; the loader writes Utf8.
fn utf8(
    batch: &datafusion::arrow::array::RecordBatch,
) -> Result<datafusion::arrow::array::RecordBatch> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 => Field::new(f.name(), DataType::Utf8, true),
            other => Field::new(f.name(), other.clone(), true),
        })
        .collect();
    let schema = std::sync::Arc::new(Schema::new(fields));
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(datafusion::arrow::array::RecordBatch::try_new(
        schema, columns,
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
