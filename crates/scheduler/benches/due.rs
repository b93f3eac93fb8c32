//! Scheduler benchmark (not a test): 10,000 active reports of which 1,000
//! fall due in the same service minute, on a fast clock; prints the
//! due-to-start lag (p50, p99, wall time) and executions per second. Then
//! 100,000 active reports that are not due: prints the scheduler's idle
//! CPU use. SQLite metadata in a temp dir, an empty tenant (the engine
//! still plans, runs and writes every file), two workers.
//!
//!   cargo bench -p scheduler --bench due
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use clock::Clock;
use scheduler::{Scheduler, SchedulerConfig};
use store::{NewExecution, Report, ReportStatus, Store, Tenant};

/// The service clock runs at wall speed here: "the same minute" is a real
/// minute, and the lag is real time.
const RATE: f64 = 1.0;

fn report(i: usize, start: chrono::DateTime<Utc>, execute_now: bool) -> Report {
    Report {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: "bench".into(),
        name: format!("r{i}"),
        description: String::new(),
        query_id: "q".into(),
        query_text:
            "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_MONTH"
                .into(),
        created_by: "bench".into(),
        created_at: Utc::now(),
        modified_at: None,
        execute_now,
        start_time: start,
        status: ReportStatus::Active,
        recurrence_interval: if execute_now { 0 } else { 24 },
        recurrence_count: None,
        callback_url: None,
        callback_method: store::CallbackMethod::Post,
        format: store::ReportFormat::Csv,
        query_start: None,
        query_end: None,
        restricted_access: false,
    }
}

async fn fill(store: &Store, n: usize, due: impl Fn(usize) -> (chrono::DateTime<Utc>, bool)) {
    for i in 0..n {
        let (at, now) = due(i);
        let r = report(i, at, now);
        let first = NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time: at,
        };
        store
            .create_report(&r, &[first], Utc::now())
            .await
            .expect("insert");
    }
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or(f64::NAN)
}

async fn setup(dir: &std::path::Path) -> (Store, engine::Engine) {
    let store = Store::open_sqlite(&dir.join("metadata.db"))
        .await
        .expect("store");
    store
        .create_tenant(&Tenant {
            id: "bench".into(),
            name: "bench".into(),
            domains: vec![],
            created_at: Utc::now(),
        })
        .await
        .expect("tenant");
    let engine = engine::Engine::new(engine::DataStore::local(dir).expect("data")).expect("engine");
    (store, engine)
}

/// Scheduler workers running over a store until stopped.
struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(store: &Store, engine: engine::Engine, clock: Clock) -> Running {
        let sched = Arc::new(Scheduler::new(
            store.clone(),
            engine,
            clock,
            SchedulerConfig::default(),
        ));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = sched.spawn(stopped);
        Running { stop, workers }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for w in self.workers {
            let _ = w.await;
        }
    }
}

#[tokio::main]
async fn main() {
    // --- 1,000 due in one minute among 10,000 active ----------------------
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, engine) = setup(dir.path()).await;
    let clock = Clock::scaled(RATE);
    let filling = Instant::now();
    fill(&store, 9_000, |_| (clock.now() + Duration::days(30), false)).await;
    // The minute starts 5 s after the last report is in.
    let minute = clock.now() + Duration::seconds(6);
    fill(&store, 1_000, |i| {
        (
            minute + Duration::milliseconds((i as i64 * 60_000) / 1_000),
            true,
        )
    })
    .await;
    eprintln!(
        "filled 10,000 reports in {:.1} s",
        filling.elapsed().as_secs_f64()
    );
    let running = Running::start(&store, engine, clock);
    let t0 = Instant::now();
    let filter = store::ExecutionFilter {
        statuses: vec![store::ExecutionStatus::Completed],
        ..Default::default()
    };
    let mut reported = Instant::now();
    loop {
        let done = store
            .executions("bench", &filter)
            .await
            .expect("list")
            .len();
        if done >= 1_000 || t0.elapsed() > StdDuration::from_secs(600) {
            break;
        }
        if reported.elapsed() > StdDuration::from_secs(10) {
            eprintln!(
                "… {done} completed after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            reported = Instant::now();
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    let done = store.executions("bench", &filter).await.expect("list");
    let mut lags: Vec<f64> = done
        .iter()
        .filter_map(|e| {
            e.started_time
                .map(|s| (s - e.due_time).num_milliseconds() as f64 / 1000.0 / RATE)
        })
        .collect();
    lags.sort_by(|a, b| a.total_cmp(b));
    let first_due = done.iter().map(|e| e.due_time).min().expect("some");
    let last_done = done
        .iter()
        .filter_map(|e| e.generated_time)
        .max()
        .expect("some");
    let span = (last_done - first_due).num_milliseconds() as f64 / 1000.0 / RATE;
    println!(
        "1,000 due in one minute among 10,000 active: {} completed; due-to-start lag p50 {:.0} s, p99 {:.0} s, max {:.0} s (whole seconds); {:.1} executions/s over {:.1} s",
        done.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        done.len() as f64 / span.max(1e-9),
        span
    );
    running.stop().await;

    // --- throughput: 1,000 due at the same instant ---------------------------
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, engine) = setup(dir.path()).await;
    let clock = Clock::scaled(RATE);
    let at = clock.now() + Duration::seconds(2);
    fill(&store, 1_000, |_| (at, true)).await;
    let running = Running::start(&store, engine, clock);
    loop {
        let done = store
            .executions("bench", &filter)
            .await
            .expect("list")
            .len();
        if done >= 1_000 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let done = store.executions("bench", &filter).await.expect("list");
    let last = done
        .iter()
        .filter_map(|e| e.generated_time)
        .max()
        .expect("some");
    let drain = (last - at).num_milliseconds().max(1) as f64 / 1000.0;
    println!(
        "burst: 1,000 executions due at once drained in {drain:.1} s = {:.0} executions/s (2 workers, whole seconds)",
        1_000.0 / drain
    );
    running.stop().await;

    // --- idle CPU with 100,000 active reports ---------------------------------
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, engine) = setup(dir.path()).await;
    let clock = Clock::scaled(1.0);
    let far = clock.now() + Duration::days(30);
    let filling = Instant::now();
    fill(&store, 100_000, |_| (far, false)).await;
    eprintln!(
        "filled 100,000 reports in {:.1} s",
        filling.elapsed().as_secs_f64()
    );
    let before = cpu_seconds();
    let t0 = Instant::now();
    let running = Running::start(&store, engine, clock);
    tokio::time::sleep(StdDuration::from_secs(20)).await;
    let cpu = cpu_seconds() - before;
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "idle with 100,000 active reports: {:.3} CPU s over {:.1} s wall = {:.2}% of one core",
        cpu,
        wall,
        cpu / wall * 100.0
    );
    running.stop().await;
}
