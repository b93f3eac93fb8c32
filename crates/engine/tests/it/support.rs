//! Shared fixtures: a data directory in a temp dir, CSV loading, and
//! running a query to report-file text.

use chrono::{DateTime, Utc};
use engine::ingest::{LoadMode, LoadReport, load_files};
use engine::writer::{FileFormat, WriteOptions, write_stream};
use engine::{DataStore, Engine, EngineError, ExecOptions, TenantId};
use query::Catalog;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: DataStore,
    pub engine: Engine,
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = DataStore::local(dir.path()).unwrap();
        let engine = Engine::new(store.clone()).unwrap();
        Fixture { dir, store, engine }
    }

    /// Writes `content` to a file named `name` in the temp dir.
    pub fn file(&self, name: &str, content: &[u8]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub async fn load(
        &self,
        tenant_id: &str,
        dataset: &str,
        files: &[std::path::PathBuf],
        mode: LoadMode,
    ) -> Result<LoadReport, EngineError> {
        let dataset = query::builtin()
            .dataset(dataset)
            .or_else(|| query::storeapi::store_catalog().dataset(dataset))
            .unwrap();
        load_files(&self.store, dataset, &tenant(tenant_id), files, mode).await
    }

    /// Appends one file for tenant `acme` and returns the refusal's text.
    pub async fn load_error(&self, dataset: &str, path: &std::path::Path) -> String {
        match self
            .load("acme", dataset, &[path.to_path_buf()], LoadMode::Append)
            .await
        {
            Ok(report) => panic!("the load should have been refused, loaded {report:?}"),
            Err(e) => e.to_string(),
        }
    }

    pub async fn load_csv(&self, tenant_id: &str, dataset: &str, csv: &str) -> LoadReport {
        let name = format!("{}-{}.csv", dataset, uuid_like());
        let path = self.file(&name, csv.as_bytes());
        self.load(tenant_id, dataset, &[path], LoadMode::Append)
            .await
            .unwrap()
    }

    /// Runs a query at reference instant `at` and returns the CSV text with
    /// `\n` line ends for readability.
    pub async fn run_at(&self, tenant_id: &str, text: &str, at: &str) -> String {
        self.run_with(tenant_id, text, at, FileFormat::Csv, false)
            .await
    }

    pub async fn run_with(
        &self,
        tenant_id: &str,
        text: &str,
        at: &str,
        format: FileFormat,
        redact: bool,
    ) -> String {
        let plan =
            query::check(text, query::builtin()).unwrap_or_else(|e| panic!("{}", e.render(text)));
        let opts = ExecOptions {
            window: plan.time_window(t(at)),
            redact_restricted: redact,
            max_rows: None,
            base_rows_only: false,
        };
        self.run_plan(tenant_id, &plan, &opts, format).await
    }

    pub async fn run_plan(
        &self,
        tenant_id: &str,
        plan: &query::Plan,
        opts: &ExecOptions,
        format: FileFormat,
    ) -> String {
        let stream = self
            .engine
            .execute(&tenant(tenant_id), plan, opts)
            .await
            .unwrap();
        let header: Vec<String> = plan.outputs.iter().map(|o| o.name.clone()).collect();
        let mut out = Vec::new();
        let options = WriteOptions {
            format,
            gzip: false,
            bom: false,
        };
        write_stream(stream, &header, &mut out, options)
            .await
            .unwrap();
        String::from_utf8(out).unwrap().replace("\r\n", "\n")
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Sorts the data lines of a report (keeps the header first), for queries
/// without a total order.
pub fn sorted(report: &str) -> String {
    let mut lines: Vec<&str> = report.lines().collect();
    if lines.len() > 1 {
        lines[1..].sort_unstable();
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}
