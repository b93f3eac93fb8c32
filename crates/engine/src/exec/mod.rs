//! `query::Plan` → DataFusion plan objects (a `DataFrame` built with
//! expressions, never SQL text) over exactly the tenant's live files in the
//! partitions the time window needs, streamed as record batches.
//!
//! Semantics kept here: string comparisons are case-insensitive (both sides
//! lower-cased: see [`crate::casefold`]; other LIKE patterns are ILIKE), a
//! sum over no rows is 0, ORDER BY puts nulls last in both directions, a
//! null never satisfies a condition (SQL's three-valued logic already
//! guarantees it for `!=` and `NOT IN`).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::config::SpillCompression;
use datafusion::common::{Column, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{Expr, SortExpr, lit};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use query::TimeWindow;
use query::catalog::{Catalog, Dataset, StaticCatalog};
use query::plan::{Plan, Predicate};

use crate::error::{EngineError, Result};
use crate::schema::arrow_type;
use crate::storage::{DataStore, Manifest, PartFile, TenantId};

mod aggregate;
mod codes;
mod count_distinct;
mod distinct;
mod filters;
mod footers;
mod outside;
mod partitions;
mod scan;
mod top_k;
mod view_cache;

use aggregate::{aggregated, rolled_up};

use filters::{condition, predicate, predicate_cost, window_filter};
use partitions::{partition_overlaps, partition_within};
use scan::read_files_in;

/// Where a plan's rows come from.
struct Source {
    dataset: &'static Dataset,
    /// The storage name (the dataset's, or its cube's of a version).
    name: String,
    manifest: Manifest,
    /// The cube's grouping set to read (none for a base dataset or an
    /// on-demand set, which holds only its own rows).
    set: Option<usize>,
    /// The dimensions of the grouping set read, if any.
    set_dims: Option<Vec<&'static str>>,
}

/// Whether [`Engine::source`] may build a grouping set on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetBuilds {
    Allowed,
    /// Only sets already stored (describing a plan builds nothing).
    StoredOnly,
    /// The base rows, whatever could answer (`base_rows_only`).
    None,
}

/// How many bytes at the end of a part file are read to find its footer
/// (see [`Engine::with_memory_limit`]).
const FOOTER_READ_BYTES: usize = 128 * 1024;

/// Rows per batch for ORDER BY with a LIMIT (see [`Engine::session_for`]).
const TOP_K_BATCH_ROWS: usize = 32 * 1024;

/// Options of one execution.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The window replacing the plan's TIMESPAN; `None` uses nothing (the
    /// caller evaluates the TIMESPAN with [`Plan::time_window`]).
    pub window: Option<TimeWindow>,
    /// Restricted outputs come back empty (null), for `ReportViewer`.
    pub redact_restricted: bool,
    /// At most this many rows (the test-query preview), on top of LIMIT.
    pub max_rows: Option<usize>,
    /// Read the dataset's own rows even where a rollup could answer.
    pub base_rows_only: bool,
}

/// Runs plans over one data store.
#[derive(Clone)]
pub struct Engine {
    ctx: SessionContext,
    /// With a memory limit: the same session (runtime, memory pool,
    /// object store) for full sorts, one sort over all partitions (see
    /// [`Engine::with_memory_limit`] and [`Engine::session_for`]).
    one_sort: Option<SessionContext>,
    /// The same session with larger batches, for ORDER BY with a LIMIT.
    top_k: SessionContext,
    store: DataStore,
    catalog: &'static StaticCatalog,
    /// Grouping sets built on first use (shared by the clones).
    on_demand: Arc<crate::rollups::OnDemandSets>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .finish()
    }
}

impl Engine {
    pub fn new(store: DataStore) -> Result<Engine> {
        Engine::with_memory_limit(store, None)
    }

    /// [`Engine::with_memory_limit`] with the limit in MiB, as operators
    /// give it (`limits.query_memory_mb`, `--query-memory-mb`); 0 = none.
    pub fn with_memory_limit_mb(store: DataStore, mb: usize) -> Result<Engine> {
        Engine::with_memory_limit(store, (mb > 0).then(|| mb.saturating_mul(1 << 20)))
    }

    /// An engine whose queries together use at most `limit` bytes for
    /// sorts, joins and aggregations (beyond it they spill to disk where
    /// DataFusion can, else fail with a resources-exhausted error naming
    /// the sizes); `None` = no limit.
    pub fn with_memory_limit(store: DataStore, limit: Option<usize>) -> Result<Engine> {
        let mut config = SessionConfig::new()
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .with_batch_size(8192);
        // A partial aggregation that keeps more than a tenth of its first
        // 100k rows as groups (DISTINCT over ids) passes rows on instead of
        // building its own copy of nearly every group: at 100 M rows the
        // DISTINCT export went from 945 MB peak and 28.8 s to 497 MB and
        // 20.1 s (DataFusion's default gives up only above 0.8).
        config
            .options_mut()
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.1;
        // Sorts that pass the limit spill LZ4 frames: a third of the disk
        // of plain Arrow IPC (10 M rows sorted under 256 MiB: 1.55 GB ->
        // 0.49 GB of spill files) for about a tenth more time.
        config.options_mut().execution.spill_compression = SpillCompression::Lz4Frame;
        // A part file's footer and page index take ~22 KB at 36 columns
        // and ~86 KB at 107 (the widest dataset): one 128 KiB read from
        // the end holds both, where DataFusion's default 512 KiB read was
        // mostly column data read, copied and thrown away for every file
        // (10 M rows, ORDER BY + LIMIT: 77 -> 43 MB read, 40 % fewer page
        // faults; the export shapes 0-8 % faster at 1 M and 10 M rows).
        config.options_mut().execution.parquet.metadata_size_hint = Some(FOOTER_READ_BYTES);
        let mut runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new();
        if let Some(limit) = limit {
            // Fair shares for spilling operators (sorts, aggregations), so
            // a sort's merge phase keeps room to spill into; the five
            // biggest consumers are named when the pool is exhausted.
            use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
            runtime = runtime.with_memory_pool(std::sync::Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(limit),
                std::num::NonZeroUsize::MIN.saturating_add(4),
            )));
        }
        let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
        // A COUNT(DISTINCT x) stays one aggregation with a set of x per
        // group, rather than DataFusion's rewrite into a grouping by
        // (groups, x) then a count: with few groups and many x the sets are
        // faster (metrics by market, segment and product, distinct TPIDs,
        // 10 M rows: 1.2 s against 1.75 s; 100 M: 15 s against 23.6 s) for
        // more memory (266 against 206 MiB; 656 against 515 MiB). Until
        // now the aliases on the calls hid them from the rewrite; this says
        // so.
        ctx.remove_optimizer_rule("single_distinct_aggregation_to_group_by");
        let url = url_of(store.url())?;
        ctx.register_object_store(&url, store.object_store().clone());
        // Under a limit, a full sort runs as one sort over the merged
        // partitions instead of one sort per partition and a merge: the
        // merge's batches come on top of the sorts' fair shares, so the
        // per-partition plan failed below ~400 MiB (10 M rows sorted by
        // name) where one sort finishes down to 128 MiB, in about the same
        // time under a limit (512 MiB: 7.9 s against 7.1 s).
        let one_sort = limit.map(|_| {
            let mut config = ctx.copied_config();
            config.options_mut().optimizer.repartition_sorts = false;
            variant_of(&ctx, config)
        });
        // DataFusion's TopK compares each batch with its heap's boundary
        // and converts the batch's keys to rows: 32k-row batches halve
        // those per-batch costs (10 M rows, ORDER BY 2 keys LIMIT 1000:
        // 0.269 -> 0.198 s, 1 M: 0.060 -> 0.051 s, medians of alternating
        // runs) for ~5 MiB. Other shapes gained nothing and held more, so
        // only top-k plans use it.
        let top_k = variant_of(&ctx, ctx.copied_config().with_batch_size(TOP_K_BATCH_ROWS));
        Ok(Engine {
            ctx,
            one_sort,
            top_k,
            store,
            catalog: query::builtin(),
            on_demand: Arc::default(),
        })
    }

    /// This engine with other limits on the grouping sets it builds on
    /// first use (tests build them over small data).
    pub fn with_set_limits(mut self, limits: crate::rollups::SetLimits) -> Engine {
        self.on_demand = Arc::new(crate::rollups::OnDemandSets::new(limits));
        self
    }

    pub fn store(&self) -> &DataStore {
        &self.store
    }

    /// A dataset of the Insights catalog or of the Store API's.
    fn dataset(&self, name: &str) -> Result<&'static Dataset> {
        self.catalog
            .dataset(name)
            .or_else(|| query::storeapi::store_catalog().dataset(name))
            .ok_or_else(|| EngineError::UnknownDataset {
                name: name.to_string(),
                suggestion: None,
            })
    }

    /// The output schema a plan produces (header and types of the file).
    pub fn output_schema(plan: &Plan) -> SchemaRef {
        let fields: Vec<Field> = plan
            .outputs
            .iter()
            .map(|o| Field::new(&o.name, arrow_type(o.ty), true))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Builds the DataFusion DataFrame for a plan over a tenant's data.
    pub async fn dataframe(
        &self,
        tenant: &TenantId,
        plan: &Plan,
        opts: &ExecOptions,
    ) -> Result<DataFrame> {
        let projected = self.projected(tenant, plan, opts).await?;
        finished(projected, plan, row_limit(plan, opts))
    }

    /// The plan's output columns, row by row: everything but DISTINCT,
    /// ORDER BY, OFFSET and LIMIT ([`finished`]).
    async fn projected(
        &self,
        tenant: &TenantId,
        plan: &Plan,
        opts: &ExecOptions,
    ) -> Result<DataFrame> {
        let builds = if opts.base_rows_only {
            SetBuilds::None
        } else {
            SetBuilds::Allowed
        };
        let source = self.source(tenant, plan, builds).await?;
        let window = opts.window.as_ref();
        let files: Vec<&PartFile> = source
            .manifest
            .files
            .iter()
            .filter(|f| window.is_none_or(|w| partition_overlaps(&f.partition, w)))
            .collect();
        // A month partition holds only rows dated in its month, so when
        // every file read lies in a month wholly inside the window (any
        // TIMESPAN: its bounds are months), no row needs the test. Without
        // it the scan feeds the plan directly: the test and the copy of
        // every row it kept were a seventh of an ORDER BY + LIMIT's time.
        let window = window.filter(|w| !files.iter().all(|f| partition_within(&f.partition, w)));
        let limit = row_limit(plan, opts);
        let session = self.session_for(plan, limit);
        // A base dataset is read with only the columns the plan uses:
        // planning converts each file's statistics for every column of the
        // schema it is given (36 for most datasets, 107 for the widest).
        let reads_base = source.set.is_none() && source.set_dims.is_none() && plan.rollup.is_none();
        let used = reads_base.then(|| plan.stored_columns());
        let mut df = read_files_in(
            session,
            &self.store,
            source.dataset,
            used.as_deref(),
            files.into_iter(),
        )
        .await?;

        let mut row_filters: Vec<Expr> = Vec::new();
        if let Some(set) = source.set {
            row_filters.push(column(crate::rollups::SET_COLUMN).eq(lit(set as i64)));
        }
        // Cheaper tests first (see `condition`).
        let mut tests: Vec<&Predicate> = plan.row_filters.iter().collect();
        tests.sort_by_key(|p| predicate_cost(p));
        row_filters.extend(tests.into_iter().map(predicate));
        if let Some(c) = &plan.condition {
            row_filters.push(condition(c));
        }
        if let Some(w) = window {
            row_filters.extend(window_filter(w));
        }
        if let Some(f) = row_filters.into_iter().reduce(Expr::and) {
            df = df.filter(f)?;
        }

        if let Some(rollup) = &plan.rollup {
            df = rolled_up(df, plan, rollup)?;
        } else if plan.is_aggregated() {
            df = aggregated(df, plan)?;
        }

        let projection: Vec<Expr> = plan
            .outputs
            .iter()
            .map(|o| {
                if opts.redact_restricted && o.restricted {
                    lit(ScalarValue::try_from(&arrow_type(o.ty)).unwrap_or(ScalarValue::Null))
                        .alias(&o.name)
                } else {
                    // Columns and metrics alike are columns of the input by now.
                    column(&o.name).alias(&o.name)
                }
            })
            .collect();
        Ok(df.select(projection)?)
    }

    /// The session a plan runs in, given its row limit ([`row_limit`]):
    /// ORDER BY with a LIMIT (or a preview's row cap) reads larger
    /// batches; under a memory limit, a full sort (ORDER BY without a
    /// LIMIT) runs as one sort. Store answers read from rollups are small
    /// (bounded by the cube) and keep the plan their latency was measured
    /// with.
    fn session_for(&self, plan: &Plan, limit: Option<usize>) -> &SessionContext {
        if plan.order_by.is_empty() || plan.rollup.is_some() {
            return &self.ctx;
        }
        match (limit, &self.one_sort) {
            (Some(_), _) => &self.top_k,
            (None, Some(one_sort)) => one_sort,
            (None, None) => &self.ctx,
        }
    }

    /// What a plan reads: its dataset, or for a Store plan the grouping set
    /// of its cube that holds every column the plan needs, when the cube is
    /// built for the current data, else the set of exactly those columns
    /// (built now if `builds` allows, see [`crate::rollups::OnDemandSet`]).
    async fn source(&self, tenant: &TenantId, plan: &Plan, builds: SetBuilds) -> Result<Source> {
        let dataset = self.dataset(&plan.dataset)?;
        if plan.rollup.is_some()
            && builds != SetBuilds::None
            && let Some(source) = self.rollup_source(tenant, dataset, plan, builds).await?
        {
            return Ok(source);
        }
        let manifest = self.store.manifest(&dataset.name, tenant).await?;
        Ok(Source {
            dataset,
            name: dataset.name.clone(),
            manifest,
            set: None,
            set_dims: None,
        })
    }

    async fn rollup_source(
        &self,
        tenant: &TenantId,
        dataset: &'static Dataset,
        plan: &Plan,
        builds: SetBuilds,
    ) -> Result<Option<Source>> {
        let columns = plan.stored_columns();
        let choice = crate::rollups::covering(&dataset.name, &columns);
        let on_demand = match choice {
            Some(_) => None,
            None => crate::rollups::OnDemandSet::for_columns(&dataset.name, &columns),
        };
        if choice.is_none() && on_demand.is_none() {
            return Ok(None);
        }
        let version = self.store.manifest_version(&dataset.name, tenant).await?;
        if version == 0 {
            return Ok(None);
        }
        let stored = |name: String| async move {
            let manifest = self.store.manifest(&name, tenant).await?;
            Ok::<_, EngineError>((manifest.version > 0).then_some((name, manifest)))
        };
        if let Some(choice) = choice {
            let found = stored(choice.spec.storage_name(version)).await?;
            return Ok(found.map(|(name, manifest)| Source {
                dataset: &choice.spec.dataset,
                name,
                manifest,
                set: Some(choice.set),
                set_dims: Some(choice.spec.set_dims(choice.set)),
            }));
        }
        let Some(set) = on_demand else {
            return Ok(None);
        };
        let name = set.storage_name(version);
        let manifest = match stored(name.clone()).await? {
            Some((_, manifest)) => Some(manifest),
            None if builds == SetBuilds::Allowed => {
                self.on_demand
                    .ensure(self, tenant, dataset, &set, version)
                    .await?
            }
            None => None,
        };
        Ok(manifest.map(|manifest| Source {
            dataset: &set.spec.dataset,
            name,
            manifest,
            set: None,
            set_dims: Some(set.dim_names()),
        }))
    }

    /// What a plan would read: its dataset's name, or its cube's (or an
    /// on-demand set's) and the grouping set's dimensions
    /// (`store_acquisitions__cube__v3[market,deviceType]`). Builds nothing.
    pub async fn reads(&self, tenant: &TenantId, plan: &Plan) -> Result<String> {
        let source = self.source(tenant, plan, SetBuilds::StoredOnly).await?;
        Ok(match source.set_dims {
            Some(dims) => format!("{}[{}]", source.name, dims.join(",")),
            None => source.name,
        })
    }

    /// A frame over part files of a dataset (an empty one without files).
    pub(crate) async fn read_files(
        &self,
        dataset: &Dataset,
        files: impl Iterator<Item = &PartFile>,
    ) -> Result<DataFrame> {
        read_files_in(&self.ctx, &self.store, dataset, None, files).await
    }

    /// Executes a plan, streaming its result batches.
    pub async fn execute(
        &self,
        tenant: &TenantId,
        plan: &Plan,
        opts: &ExecOptions,
    ) -> Result<SendableRecordBatchStream> {
        let projected = self.projected(tenant, plan, opts).await?;
        let limit = row_limit(plan, opts);
        if plan.distinct
            && plan.order_by.is_empty()
            && distinct::supports(projected.schema().as_arrow())
        {
            let fallback = finished(projected.clone(), plan, limit)?;
            return Ok(distinct::execute(projected, fallback, offset(plan), limit));
        }
        if let Some((keys, limit)) = top_k_of(plan, limit) {
            let fallback = finished(projected.clone(), plan, Some(limit))?;
            return Ok(top_k::execute(
                projected,
                fallback,
                keys,
                offset(plan),
                limit,
            ));
        }
        Ok(finished(projected, plan, limit)?.execute_stream().await?)
    }
}

/// DISTINCT, ORDER BY (nulls last), OFFSET and LIMIT over the projected
/// rows ([`Engine::projected`]).
fn finished(mut df: DataFrame, plan: &Plan, limit: Option<usize>) -> Result<DataFrame> {
    if plan.distinct {
        df = df.distinct()?;
    }
    if !plan.order_by.is_empty() {
        let sort: Vec<SortExpr> = plan
            .order_by
            .iter()
            .filter_map(|k| plan.outputs.get(k.output))
            .zip(&plan.order_by)
            .map(|(o, k)| column(&o.name).sort(!k.descending, false))
            .collect();
        df = df.sort(sort)?;
    }
    let offset = offset(plan);
    if limit.is_some() || offset > 0 {
        df = df.limit(offset, limit)?;
    }
    Ok(df)
}

/// The sort keys and limit of a plan whose ORDER BY + LIMIT runs in
/// [`top_k`]: plain rows (aggregated plans and Store answers keep
/// DataFusion's plan; their rows are few), between [`top_k::MIN_KEPT`]
/// and [`top_k::MAX_KEPT`] rows kept.
fn top_k_of(plan: &Plan, limit: Option<usize>) -> Option<(Vec<top_k::Key>, usize)> {
    let limit = limit?;
    let plain = !plan.distinct && !plan.is_aggregated() && plan.rollup.is_none();
    let keys: Vec<top_k::Key> = plan
        .order_by
        .iter()
        .filter(|k| k.output < plan.outputs.len())
        .map(|k| top_k::Key {
            column: k.output,
            descending: k.descending,
        })
        .collect();
    let kept = offset(plan).saturating_add(limit);
    (plain && !keys.is_empty() && (top_k::MIN_KEPT..=top_k::MAX_KEPT).contains(&kept))
        .then_some((keys, limit))
}

fn offset(plan: &Plan) -> usize {
    usize::try_from(plan.offset).unwrap_or(usize::MAX)
}

fn url_of(url: &str) -> Result<url::Url> {
    url::Url::parse(url).map_err(|e| EngineError::BadInput(format!("data store URL '{url}': {e}")))
}

/// A column reference by exact name (no identifier parsing, no folding).
pub(crate) fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// The rows a plan keeps at most: its LIMIT, capped by the preview's rows.
fn row_limit(plan: &Plan, opts: &ExecOptions) -> Option<usize> {
    match (plan.limit, opts.max_rows) {
        (Some(l), Some(m)) => Some((l as usize).min(m)),
        (Some(l), None) => Some(usize::try_from(l).unwrap_or(usize::MAX)),
        (None, m) => m,
    }
}

/// A session sharing `ctx`'s runtime (memory pool, object stores) and
/// rules, with other settings.
fn variant_of(ctx: &SessionContext, config: SessionConfig) -> SessionContext {
    SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(ctx.state())
            .with_config(config)
            .build(),
    )
}
