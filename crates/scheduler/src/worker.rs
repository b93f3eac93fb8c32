//! The worker: claim a due execution under a lease, keep the lease alive
//! while the query runs, write the report file, and finish the execution
//! with one conditional update. Every state change is persisted before
//! its side effect is visible: a file is uploaded before the execution
//! says Completed, and an execution whose process died is claimed again
//! when its lease expires and run from scratch (the conditional update
//! makes sure only one run completes).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use clock::Clock;
use engine::writer::{FileFormat, WriteOptions, write_stream};
use engine::{Engine, ExecOptions, TenantId};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use query::Catalog as _;
use sha2::{Digest, Sha256};
use store::{Execution, NewDelivery, NewExecution, Outcome, Report, Store};
use tokio::sync::{Notify, watch};

use crate::plan;

/// Tunables of the worker.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// This process's name in leases.
    pub owner: String,
    /// How long a claim lasts without renewal (wall time).
    pub lease: StdDuration,
    /// Attempts before an execution is Failed.
    pub max_attempts: i64,
    /// First retry delay (service time), doubled per attempt.
    pub retry_base: Duration,
    /// How long a download link lives after generation (service time).
    pub link_expiry: Duration,
    /// Prefix files with a UTF-8 byte order mark.
    pub bom: bool,
    /// Executions run at the same time in this process.
    pub workers: usize,
    /// The longest sleep when idle (wall time).
    pub idle_poll: StdDuration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            owner: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            lease: StdDuration::from_secs(30),
            max_attempts: 3,
            retry_base: Duration::minutes(1),
            link_expiry: Duration::hours(24),
            bom: false,
            workers: 2,
            idle_poll: StdDuration::from_secs(1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the report query no longer checks: {0}")]
    Query(String),
    #[error("the query failed: {0}")]
    Engine(#[from] engine::EngineError),
    #[error("writing the report file failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("storing the report file failed: {0}")]
    Upload(#[from] object_store::Error),
    #[error("the tenant id '{0}' cannot own data")]
    Tenant(String),
    #[error("reading the report's rights failed: {0}")]
    Store(#[from] store::StoreError),
    /// The report runs redacted and its query filters or sorts on
    /// restricted values.
    #[error("{0}")]
    Restricted(String),
    /// A fault rule failed the execution (an integrator's test): Failed at
    /// once, never retried.
    #[error("{0}")]
    Injected(String),
}

/// A fault an [`Injector`] puts on an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionFault {
    /// Ends Failed at once with this reason.
    Fail(String),
    /// Waits this long before running.
    Delay(StdDuration),
}

/// Consulted before every execution attempt (the server's fault rules).
pub trait Injector: Send + Sync {
    fn execution(&self, tenant: &str, report_id: &str) -> Option<ExecutionFault>;
}

/// What a finished run wrote.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub location: String,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
}

/// Runs due executions.
pub struct Scheduler {
    store: Store,
    engine: Engine,
    /// Service time: due times, generated and expiry times.
    clock: Clock,
    /// Wall time: leases (a process's liveness is real time).
    wall: Clock,
    config: SchedulerConfig,
    wake: Notify,
    /// Called after an execution finished (the server wakes its callback
    /// sender).
    on_finish: Option<Box<dyn Fn() + Send + Sync>>,
    observer: Option<std::sync::Arc<dyn Observer>>,
    injector: Option<std::sync::Arc<dyn Injector>>,
}

/// How an execution attempt ended, for an [`Observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    Completed,
    /// Failed, to be retried later.
    Retry,
    Failed,
    /// Another worker took it over (this one's lease expired).
    LostLease,
}

impl AttemptEnd {
    pub fn name(self) -> &'static str {
        match self {
            AttemptEnd::Completed => "Completed",
            AttemptEnd::Retry => "Retry",
            AttemptEnd::Failed => "Failed",
            AttemptEnd::LostLease => "LostLease",
        }
    }
}

/// Told about every attempt (the server counts them for `/metrics`).
pub trait Observer: Send + Sync {
    /// An execution started, `lag` (wall time) after it was due.
    fn started(&self, lag: StdDuration);
    /// An attempt ended after `elapsed`.
    fn finished(&self, end: AttemptEnd, elapsed: StdDuration);
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Counts and hashes what passes through.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(written) = buf.get(..n) {
            self.hasher.update(written);
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

const UPLOAD_CHUNK: usize = 8 * 1024 * 1024;

impl Scheduler {
    pub fn new(store: Store, engine: Engine, clock: Clock, config: SchedulerConfig) -> Scheduler {
        Scheduler {
            store,
            engine,
            clock,
            wall: Clock::wall(),
            config,
            wake: Notify::new(),
            on_finish: None,
            observer: None,
            injector: None,
        }
    }

    /// Leases are taken and renewed on this clock (wall time unless a test
    /// moves it by hand to expire a lease).
    pub fn wall_clock(mut self, wall: Clock) -> Scheduler {
        self.wall = wall;
        self
    }

    pub fn on_finish(mut self, f: impl Fn() + Send + Sync + 'static) -> Scheduler {
        self.on_finish = Some(Box::new(f));
        self
    }

    /// Tells `observer` about every attempt.
    pub fn observe(mut self, observer: std::sync::Arc<dyn Observer>) -> Scheduler {
        self.observer = Some(observer);
        self
    }

    /// Consults `injector` before every attempt.
    pub fn inject(mut self, injector: std::sync::Arc<dyn Injector>) -> Scheduler {
        self.injector = Some(injector);
        self
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Wakes idle workers (a report was created or resumed).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Starts the workers; they stop when `stop` turns true, finishing the
    /// execution at hand (an interrupted one is re-run after its lease).
    pub fn spawn(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.spawn_on(&tokio::runtime::Handle::current(), stop)
    }

    /// [`Scheduler::spawn`] on another runtime: report queries (and the
    /// engine tasks they start) then never run on the threads that serve
    /// requests.
    pub fn spawn_on(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.config.workers.max(1))
            .map(|_| {
                let me = Arc::clone(self);
                let stop = stop.clone();
                runtime.spawn(async move { me.work(stop).await })
            })
            .collect()
    }

    async fn work(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "scheduler: claiming failed"),
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = self.clock.changed() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// How long to sleep: until the next due time (converted from service
    /// to wall time), at most `idle_poll`.
    async fn idle_wait(&self) -> StdDuration {
        let poll = self.config.idle_poll;
        match self.store.next_due().await {
            Ok(Some(due)) => self.clock.wall_until(due).unwrap_or(poll).min(poll),
            _ => poll,
        }
    }

    /// Claims and runs one due execution; false when none was due.
    pub async fn run_once(&self) -> Result<bool, store::StoreError> {
        let lease = Duration::from_std(self.config.lease).unwrap_or(Duration::seconds(30));
        let wall = self.wall.now_precise();
        let Some(execution) = self
            .store
            .claim_execution(&self.config.owner, self.clock.now(), wall, wall + lease)
            .await?
        else {
            return Ok(false);
        };
        self.run(execution, lease).await?;
        Ok(true)
    }

    async fn run(&self, execution: Execution, lease: Duration) -> Result<(), store::StoreError> {
        let Some(report) = self
            .store
            .report(&execution.tenant_id, &execution.report_id)
            .await?
        else {
            return Ok(()); // deleted meanwhile; its executions went with it
        };
        tracing::info!(execution = %execution.id, report = %report.id, attempt = execution.attempts, "execution started");
        let started = std::time::Instant::now();
        if let Some(o) = &self.observer {
            let late_ms = (self.clock.now_precise() - execution.due_time)
                .num_milliseconds()
                .max(0) as f64;
            let rate = self.clock.rate();
            let wall_ms = if rate > 0.0 { late_ms / rate } else { 0.0 };
            o.started(StdDuration::from_millis(wall_ms as u64));
        }
        // Keep the lease while the query runs.
        let renewing = {
            let store = self.store.clone();
            let id = execution.id.clone();
            let owner = self.config.owner.clone();
            let wall = self.wall.clone();
            let every = (self.config.lease / 3).max(StdDuration::from_millis(100));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store
                        .renew_lease(&id, &owner, wall.now_precise() + lease)
                        .await
                    {
                        Ok(true) => {}
                        _ => break,
                    }
                }
            })
        };
        let injected = self
            .injector
            .as_ref()
            .and_then(|i| i.execution(&report.tenant_id, &report.id));
        let produced = match injected {
            Some(ExecutionFault::Fail(reason)) => Err(RunError::Injected(reason)),
            Some(ExecutionFault::Delay(wait)) => {
                tokio::time::sleep(wait).await;
                self.produce(&report, &execution).await
            }
            None => self.produce(&report, &execution).await,
        };
        renewing.abort();
        let now = self.clock.now();
        let outcome = match &produced {
            Ok(file) => Outcome::Completed {
                generated_time: now,
                expiry_time: now + self.config.link_expiry,
                location: file.location.clone(),
                row_count: file.rows,
                byte_count: file.bytes,
                sha256: file.sha256.clone(),
            },
            Err(RunError::Injected(reason)) => Outcome::Failed {
                reason: reason.clone(),
            },
            Err(e) if execution.attempts < self.config.max_attempts => Outcome::Retry {
                reason: e.to_string(),
                retry_at: now
                    + self.config.retry_base
                        * 2i32.saturating_pow(
                            u32::try_from(execution.attempts.max(1) - 1).unwrap_or(0),
                        ),
            },
            Err(e) => Outcome::Failed {
                reason: e.to_string(),
            },
        };
        let next = plan::next_after(&report, execution.due_time).map(|due_time| NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time,
        });
        let delivery = match (&report.callback_url, &produced) {
            (Some(url), Ok(_)) => Some(NewDelivery {
                id: uuid::Uuid::new_v4().to_string(),
                url: url.clone(),
                method: report.callback_method,
                body: serde_json::to_string(&proto::callback::CallbackBody {
                    report_id: report.id.clone(),
                    report_name: report.name.clone(),
                    execution_id: execution.id.clone(),
                    execution_status: "Completed".into(),
                    due_time: fmt(execution.due_time),
                    report_generated_time: fmt(now),
                    report_expiry_time: fmt(now + self.config.link_expiry),
                })
                .unwrap_or_default(),
            }),
            _ => None,
        };
        let finished = self
            .store
            .finish_execution(
                &execution,
                &self.config.owner,
                &outcome,
                next.as_ref(),
                delivery.as_ref(),
                now,
            )
            .await?;
        match (&outcome, finished) {
            (_, false) => {
                tracing::warn!(execution = %execution.id, "execution lost its lease; another worker finishes it")
            }
            (Outcome::Completed { row_count, .. }, true) => {
                tracing::info!(execution = %execution.id, rows = row_count, "execution completed")
            }
            (Outcome::Retry { reason, .. }, true) => {
                tracing::warn!(execution = %execution.id, %reason, "execution will be retried")
            }
            (Outcome::Failed { reason }, true) => {
                tracing::warn!(execution = %execution.id, %reason, "execution failed")
            }
        }
        if let Some(o) = &self.observer {
            let end = match (&outcome, finished) {
                (_, false) => AttemptEnd::LostLease,
                (Outcome::Completed { .. }, true) => AttemptEnd::Completed,
                (Outcome::Retry { .. }, true) => AttemptEnd::Retry,
                (Outcome::Failed { .. }, true) => AttemptEnd::Failed,
            };
            o.finished(end, started.elapsed());
        }
        if finished && let Some(f) = &self.on_finish {
            f();
        }
        self.wake();
        Ok(())
    }

    /// Runs the report's query and stores the file.
    pub async fn produce(
        &self,
        report: &Report,
        execution: &Execution,
    ) -> Result<FileInfo, RunError> {
        let catalog = query::builtin();
        let plan = query::check(&report.query_text, catalog)
            .map_err(|e| RunError::Query(e.to_string()))?;
        let redact = !self.runs_unredacted(report).await?;
        if redact {
            let used = catalog
                .dataset(&plan.dataset)
                .map(|d| plan.restricted_conditions(d))
                .unwrap_or_default();
            if !used.is_empty() {
                return Err(RunError::Restricted(format!(
                    "the report runs with ReportViewer rights (restricted values redacted) and its query filters or sorts on restricted columns: {}",
                    used.join(", ")
                )));
            }
        }
        let window = match (report.query_start, report.query_end) {
            (Some(from), Some(to)) => plan.explicit_window(from, to),
            _ => plan.time_window(execution.due_time),
        };
        let tenant = TenantId::parse(&report.tenant_id)
            .map_err(|_| RunError::Tenant(report.tenant_id.clone()))?;
        let format = match report.format {
            store::ReportFormat::Csv => FileFormat::Csv,
            store::ReportFormat::Tsv => FileFormat::Tsv,
        };
        let stream = self
            .engine
            .execute(
                &tenant,
                &plan,
                &ExecOptions {
                    window,
                    redact_restricted: redact,
                    max_rows: None,
                    base_rows_only: false,
                },
            )
            .await?;
        let header: Vec<String> = plan.outputs.iter().map(|o| o.name.clone()).collect();
        let temp = tempfile::NamedTempFile::new()?;
        let mut out = Hashing {
            inner: std::io::BufWriter::new(temp.reopen()?),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let stats = write_stream(
            stream,
            &header,
            &mut out,
            WriteOptions {
                format,
                gzip: false,
                bom: self.config.bom,
            },
        )
        .await?;
        out.flush()?;
        let sha256 = hex::encode(out.hasher.finalize_reset());
        let bytes = out.bytes;
        drop(out);
        let location = engine::storage::layout::report_file(
            &report.tenant_id,
            &report.id,
            &execution.id,
            execution.attempts,
            format,
        );
        self.upload(temp.path(), &location, bytes).await?;
        Ok(FileInfo {
            location,
            rows: i64::try_from(stats.rows).unwrap_or(i64::MAX),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            sha256,
        })
    }

    /// Whether a run of `report` may see restricted values: it was created
    /// with that right, and its creator — when the store knows it, as a
    /// user of the tenant or an app — still has the ExecutiveReportViewer
    /// role. An external issuer's identity keeps the right recorded at
    /// creation, since no store holds its roles.
    async fn runs_unredacted(&self, report: &Report) -> Result<bool, RunError> {
        if !report.restricted_access {
            return Ok(false);
        }
        let executive = |roles: &[String]| {
            roles
                .iter()
                .any(|r| auth::Role::parse(r) == Some(auth::Role::ExecutiveReportViewer))
        };
        if let Some(user) = self
            .store
            .user_by_name(&report.tenant_id, &report.created_by)
            .await?
        {
            return Ok(executive(&user.roles));
        }
        if let Some(app) = self
            .store
            .app(&report.created_by)
            .await?
            .filter(|a| a.tenant_id == report.tenant_id)
        {
            return Ok(executive(&app.roles));
        }
        Ok(true)
    }

    async fn upload(
        &self,
        file: &std::path::Path,
        location: &str,
        size: u64,
    ) -> Result<(), RunError> {
        let store = self.engine.store().object_store();
        let path = ObjectPath::from(location);
        let mut reader = std::fs::File::open(file)?;
        if size <= UPLOAD_CHUNK as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            reader.read_to_end(&mut bytes)?;
            store.put(&path, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let upload = store.put_multipart(&path).await?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, UPLOAD_CHUNK);
        let mut buf = vec![0u8; UPLOAD_CHUNK];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(2).await?;
            writer.write(buf.get(..n).unwrap_or_default());
        }
        writer.finish().await?;
        Ok(())
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
