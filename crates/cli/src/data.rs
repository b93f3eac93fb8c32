//! Operator commands over a data directory: `ingest` and `query run`. They
//! work on the files directly (no server needed) and are safe to run while
//! a server uses the same directory: loads commit atomically through the
//! dataset manifests, and readers always see a whole batch or none of it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use engine::ingest::{LoadMode, load_files};
use engine::schema::dataset;
use engine::writer::{FileFormat, WriteOptions, write_stream};
use engine::{DataStore, Engine, EngineError, ExecOptions, TenantId};
use query::Catalog;

/// Where the data lives: the same flags and variables as `serve`.
#[derive(Args, Debug)]
pub struct DataDir {
    /// The data directory.
    #[arg(
        long,
        env = "OPENINSIGHTS_DATA_DIR",
        default_value = "./openinsights-data"
    )]
    pub data_dir: PathBuf,
    /// Keep tenant data in this S3-compatible bucket instead of the data
    /// directory (credentials and region from the AWS_* variables).
    #[arg(long, env = "OPENINSIGHTS_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// The S3 endpoint, for servers other than AWS (`http://127.0.0.1:9000`).
    #[arg(long, env = "OPENINSIGHTS_S3_ENDPOINT", requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,
}

impl DataDir {
    fn open(&self) -> Result<DataStore, EngineError> {
        match &self.s3_bucket {
            None => DataStore::local(&self.data_dir),
            Some(bucket) => DataStore::s3(&engine::S3Config {
                bucket: bucket.clone(),
                endpoint: self.s3_endpoint.clone(),
                ..engine::S3Config::default()
            }),
        }
    }
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub dir: DataDir,
    /// The tenant whose data is loaded.
    #[arg(long)]
    pub tenant: String,
    /// The dataset (any case; aliases accepted).
    #[arg(long)]
    pub dataset: String,
    /// Replace the rows dated FROM..TO (inclusive; `yyyy-MM-dd..yyyy-MM-dd`,
    /// or whole months `yyyy-MM..yyyy-MM`) instead of appending.
    #[arg(long, value_name = "FROM..TO", conflicts_with = "replace_all")]
    pub replace_range: Option<String>,
    /// Replace all of the tenant's rows of the dataset instead of appending.
    #[arg(long)]
    pub replace_all: bool,
    /// Load through this server's admin data API instead of writing the
    /// data directory (each file is one atomic load).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// With --url: the file holding the admin token, or - for stdin.
    #[arg(long, value_name = "PATH", requires = "url")]
    pub admin_token_file: Option<PathBuf>,
    /// Files to load: .csv (header row), .ndjson/.jsonl/.json, .parquet.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    #[command(flatten)]
    pub dir: DataDir,
    /// The tenant to fill.
    #[arg(long)]
    pub tenant: String,
    /// Rows per dataset.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// The random seed: the same seed, size and --through give the same rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Datasets to fill (repeatable); every Insights dataset by default.
    #[arg(long = "dataset", value_name = "NAME")]
    pub datasets: Vec<String>,
    /// The last month of history (yyyy-MM); default last month.
    #[arg(long, value_name = "YYYY-MM")]
    pub through: Option<String>,
    /// Fill the Store analytics datasets (the demo publisher's apps)
    /// instead of the Insights datasets.
    #[arg(long)]
    pub store: bool,
    /// With --store: replace store_acquisitions by this many rows of daily
    /// data over the last 365 days for app 9NBLGGH4R315 (benchmarks).
    #[arg(long, value_name = "ROWS")]
    pub store_acquisition_rows: Option<u64>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub dir: DataDir,
    /// The tenant whose data is queried.
    #[arg(long)]
    pub tenant: String,
    /// The query text, or `-` to read it from standard input.
    pub text: String,
    /// csv or tsv.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Output file (written atomically); standard output when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Compress the output with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Reference instant for the TIMESPAN (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Start of an explicit window replacing the TIMESPAN (RFC 3339).
    #[arg(long, value_name = "TIME", requires = "end")]
    pub start: Option<String>,
    /// End (exclusive) of an explicit window replacing the TIMESPAN.
    #[arg(long, value_name = "TIME", requires = "start")]
    pub end: Option<String>,
    /// MiB the query may hold for sorts and aggregations (the server's
    /// `limits.query_memory_mb`): a larger sort spills to the temporary
    /// directory; 0 = no limit.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = 1024,
        env = "OPENINSIGHTS_QUERY_MEMORY_MB"
    )]
    pub query_memory_mb: usize,
}

/// The async runtime every command that does IO runs on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    start_runtime(None)
}

/// The runtime of `query run`. Each read of a local part file is a task
/// on tokio's blocking pool, which by default starts a thread for every
/// read waiting (~25 for a query over 24 files, each with its allocator
/// arena); two per core keep the disk busy. Measured against the default
/// (medians of alternating runs, 10 M rows): the five export shapes
/// 5-22 MiB smaller, four of them 4-13 % faster and DISTINCT within this
/// machine's noise; 100 M rows 13-42 MiB smaller.
fn query_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    start_runtime(Some(2 * cores))
}

/// A multi-threaded runtime with IO and timers, its blocking pool capped
/// at `max_blocking_threads` (tokio's default, 512, when `None`).
fn start_runtime(max_blocking_threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = max_blocking_threads {
        builder.max_blocking_threads(threads);
    }
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `2024-01-01..2024-03-31` or `2024-01..2024-03` (whole months).
fn parse_range(text: &str) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let bad = || {
        anyhow::anyhow!(
            "--replace-range '{text}' is not a range; write FROM..TO as yyyy-MM-dd..yyyy-MM-dd or yyyy-MM..yyyy-MM"
        )
    };
    let (from, to) = text.split_once("..").ok_or_else(bad)?;
    let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let month = |s: &str| NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").ok();
    match (day(from), day(to)) {
        (Some(f), Some(t)) => Ok((f, t)),
        _ => {
            let f = month(from).ok_or_else(bad)?;
            let t = month(to)
                .and_then(|m| m.checked_add_months(chrono::Months::new(1)))
                .and_then(|m| m.pred_opt())
                .ok_or_else(bad)?;
            Ok((f, t))
        }
    }
}

/// Reports engine errors: bad input is the user's to fix (exit 2).
pub fn report(error: EngineError) -> anyhow::Result<ExitCode> {
    match error {
        EngineError::BadValues(_)
        | EngineError::BadInput(_)
        | EngineError::InvalidTenant { .. }
        | EngineError::UnknownDataset { .. }
        | EngineError::Query(_) => {
            eprint!("error: {error}");
            if !error.to_string().ends_with('\n') {
                eprintln!();
            }
            Ok(ExitCode::from(2))
        }
        other => Err(other.into()),
    }
}

pub fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let mode = match (&args.replace_range, args.replace_all) {
        (Some(r), _) => {
            let (from, to) = parse_range(r)?;
            LoadMode::ReplaceRange { from, to }
        }
        (None, true) => LoadMode::ReplaceAll,
        (None, false) => LoadMode::Append,
    };
    if let Some(url) = &args.url {
        return crate::remote_ingest::ingest(&args, url, mode);
    }
    let (tenant, dataset) = match (TenantId::parse(&args.tenant), dataset(&args.dataset)) {
        (Ok(t), Ok(d)) => (t, d),
        (Err(e), _) | (_, Err(e)) => return report(e),
    };
    let store = args.dir.open()?;
    let started = Instant::now();
    let runtime = runtime()?;
    let result = runtime.block_on(load_files(&store, dataset, &tenant, &args.files, mode));
    match result {
        Ok(r) => {
            eprintln!(
                "loaded {} rows into {} for tenant {tenant} in {:.2}s (version {})",
                r.rows,
                dataset.name,
                started.elapsed().as_secs_f64(),
                r.version
            );
        }
        Err(e) => return report(e),
    }
    // Store datasets answer from rollups built for the new data.
    if engine::rollups::spec_of(&dataset.name).is_some() {
        let started = Instant::now();
        let built = runtime.block_on(async {
            let engine = engine::Engine::new(store.clone())?;
            engine::rollups::build(&engine, dataset, &tenant).await
        });
        match built {
            Ok(rows) => eprintln!(
                "built the rollups of {} ({rows} rows) in {:.2}s",
                dataset.name,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => return report(e),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let tenant = match TenantId::parse(&args.tenant) {
        Ok(t) => t,
        Err(e) => return report(e),
    };
    let mut datasets = Vec::new();
    for name in &args.datasets {
        match dataset(name) {
            Ok(d) => datasets.push(d),
            Err(e) => return report(e),
        }
    }
    if datasets.is_empty() {
        datasets = query::builtin().datasets().iter().collect();
    }
    let through = match &args.through {
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .with_context(|| format!("--through '{m}' is not a month; write yyyy-MM"))?,
        None => {
            let today = chrono::Utc::now().date_naive();
            today
                .checked_sub_months(chrono::Months::new(1))
                .context("the current date is out of range")?
        }
    };
    let store = args.dir.open()?;
    if args.store {
        return seed_store(&store, &tenant, &args);
    }
    let universe = std::sync::Arc::new(engine::generate::Universe::new(
        args.seed, args.rows, through,
    ));
    let runtime = runtime()?;
    let total = Instant::now();
    for d in datasets {
        let started = Instant::now();
        let result = runtime.block_on(engine::generate::seed_dataset(
            &store, &universe, d, &tenant, args.seed, args.rows,
        ));
        match result {
            Ok(r) => {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "{:<34} {:>12} rows in {:>7.2}s ({:>10.0} rows/s)",
                    d.name,
                    r.rows,
                    secs,
                    r.rows as f64 / secs.max(1e-9)
                );
            }
            Err(e) => return report(e),
        }
    }
    eprintln!(
        "seeded tenant {tenant} in {:.2}s",
        total.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn seed_store(
    store: &engine::DataStore,
    tenant: &TenantId,
    args: &SeedArgs,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let today = chrono::Utc::now().date_naive();
    let started = Instant::now();
    let r = match runtime.block_on(engine::store_demo::seed(store, tenant, args.seed, today)) {
        Ok(r) => r,
        Err(e) => return report(e),
    };
    eprintln!(
        "Store datasets: {} datasets, {} rows ({} in rollups), {} CAB files in {:.2}s",
        r.datasets,
        r.rows,
        r.rollup_rows,
        r.cabs,
        started.elapsed().as_secs_f64()
    );
    if let Some(rows) = args.store_acquisition_rows {
        let started = Instant::now();
        let n = match runtime.block_on(engine::store_demo::seed_bulk_acquisitions(
            store, tenant, args.seed, rows, today,
        )) {
            Ok(n) => n,
            Err(e) => return report(e),
        };
        let secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let built = runtime.block_on(async {
            let dataset = engine::schema::dataset("store_acquisitions")?;
            engine::rollups::build(&engine::Engine::new(store.clone())?, dataset, tenant).await
        });
        let rollup_rows = match built {
            Ok(n) => n,
            Err(e) => return report(e),
        };
        eprintln!(
            "store_acquisitions: {n} rows in {secs:.2}s ({:.0} rows/s), rollups ({rollup_rows} rows) in {:.2}s",
            n as f64 / secs.max(1e-9),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let text = crate::read_query_text(args.text.clone())?;
    let format = FileFormat::parse(&args.format)
        .with_context(|| format!("--format '{}' is not allowed; use csv or tsv", args.format))?;
    let tenant = match TenantId::parse(&args.tenant) {
        Ok(t) => t,
        Err(e) => return report(e),
    };
    let plan = match query::check(&text, query::builtin()) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("{}", error.render(&text));
            return Ok(ExitCode::from(2));
        }
    };
    let at = crate::parse_instant("--at", args.at.as_deref())?.unwrap_or_else(chrono::Utc::now);
    let start = crate::parse_instant("--start", args.start.as_deref())?;
    let end = crate::parse_instant("--end", args.end.as_deref())?;
    let window = match (start, end) {
        (Some(s), Some(e)) => {
            anyhow::ensure!(s < e, "--start must be before --end");
            plan.explicit_window(s, e)
        }
        _ => plan.time_window(at),
    };
    let store = args.dir.open()?;
    let started = Instant::now();
    let options = WriteOptions {
        format,
        gzip: args.gzip,
        bom: false,
    };
    let header: Vec<String> = plan.outputs.iter().map(|o| o.name.clone()).collect();
    let runtime = query_runtime()?;
    let stats = runtime.block_on(async {
        let engine = Engine::with_memory_limit_mb(store, args.query_memory_mb)?;
        let opts = ExecOptions {
            window,
            ..ExecOptions::default()
        };
        let stream = engine.execute(&tenant, &plan, &opts).await?;
        match &args.output {
            None => {
                // `Stdout` (not its lock) is Send, as the writer needs.
                let out = std::io::BufWriter::new(std::io::stdout());
                write_stream(stream, &header, out, options).await
            }
            Some(path) => {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                let tmp =
                    tempfile::NamedTempFile::new_in(dir).map_err(|source| EngineError::Io {
                        path: dir.display().to_string(),
                        source,
                    })?;
                let out = std::io::BufWriter::new(tmp.as_file());
                let stats = write_stream(stream, &header, out, options).await?;
                // A report file is an ordinary file: rw-r--r--, not the
                // temp file's private mode.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = tmp
                        .as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644));
                }
                tmp.persist(path).map_err(|e| EngineError::Io {
                    path: path.display().to_string(),
                    source: e.error,
                })?;
                Ok(stats)
            }
        }
    });
    match stats {
        Ok(stats) => {
            std::io::stdout().flush().ok();
            eprintln!(
                "{} rows, {} bytes{} in {:.3}s{}",
                stats.rows,
                stats.bytes,
                args.output
                    .as_ref()
                    .map(|p| format!(" to {}", p.display()))
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64(),
                peak_rss_kib()
                    .map(|k| format!(", peak RSS {k} KiB"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_memory_limit() => {
            eprintln!(
                "error: the query needs more memory than --query-memory-mb {} allows; raise it (0 = no limit) or narrow the query (fewer columns, a WHERE filter, a shorter TIMESPAN)\n{e}",
                args.query_memory_mb
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => report(e),
    }
}

/// The process's peak resident set size (Linux `VmHWM`), when known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
