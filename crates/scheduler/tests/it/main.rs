//! The scheduler on a manual clock: nothing runs before its slot, each slot
//! runs once when the clock reaches it, the file is in the object store
//! with the size and SHA-256 the execution records, a recurrence ends, and
//! a paused report runs nothing. No test sleeps on the wall clock; every
//! step is a `run_once` after moving the clock. Run on SQLite and on a real
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use clock::Clock;
use object_store::ObjectStoreExt;
use query::Catalog;
use scheduler::{Scheduler, SchedulerConfig};
use sha2::{Digest, Sha256};
use store::{ExecutionFilter, ExecutionStatus, NewExecution, Report, ReportStatus, Store, Tenant};

const QUERY: &str =
    "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_MONTH";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 29, 22, 0, 0).unwrap()
}

struct Setup {
    store: Store,
    engine: engine::Engine,
    clock: Clock,
    scheduler: Arc<Scheduler>,
    tenant: String,
    _dir: tempfile::TempDir,
}

async fn setup(postgres: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = if postgres {
        Store::connect(&store::testing::postgres_url().await)
            .await
            .unwrap()
    } else {
        Store::open_sqlite(&dir.path().join("metadata.db"))
            .await
            .unwrap()
    };
    // A fresh tenant id per test: PostgreSQL is shared by the suite.
    let tenant = format!("sched{}", uuid::Uuid::new_v4().simple());
    store
        .create_tenant(&Tenant {
            id: tenant.clone(),
            name: "scheduler test".into(),
            domains: vec![],
            created_at: t0(),
        })
        .await
        .unwrap();
    let engine = engine::Engine::new(engine::DataStore::local(dir.path()).unwrap()).unwrap();
    let through = t0().date_naive() - Duration::days(1);
    let universe = Arc::new(engine::generate::Universe::new(7, 200, through));
    let dataset = query::builtin().dataset("OfficeUsage").unwrap();
    engine::generate::seed_dataset(
        engine.store(),
        &universe,
        dataset,
        &engine::TenantId::parse(&tenant).unwrap(),
        7,
        200,
    )
    .await
    .unwrap();
    let clock = Clock::manual(t0());
    let scheduler = Arc::new(Scheduler::new(
        store.clone(),
        engine.clone(),
        clock.clone(),
        SchedulerConfig::default(),
    ));
    Setup {
        store,
        engine,
        clock,
        scheduler,
        tenant,
        _dir: dir,
    }
}

impl Setup {
    fn tenant(&self) -> String {
        self.tenant.clone()
    }

    /// A report due first at `start`, every `interval` hours, `count` times.
    async fn report(&self, start: DateTime<Utc>, interval: i64, count: Option<i64>) -> Report {
        self.report_with(QUERY, start, interval, count).await
    }

    async fn report_with(
        &self,
        query: &str,
        start: DateTime<Utc>,
        interval: i64,
        count: Option<i64>,
    ) -> Report {
        let r = Report {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: self.tenant(),
            name: "sched".into(),
            description: String::new(),
            query_id: "q".into(),
            query_text: query.into(),
            created_by: "test".into(),
            created_at: self.clock.now(),
            modified_at: None,
            execute_now: false,
            start_time: start,
            status: ReportStatus::Active,
            recurrence_interval: interval,
            recurrence_count: count,
            callback_url: None,
            callback_method: store::CallbackMethod::Post,
            format: store::ReportFormat::Csv,
            query_start: None,
            query_end: None,
            restricted_access: false,
        };
        let first = NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time: start,
        };
        self.store
            .create_report(&r, &[first], self.clock.now())
            .await
            .unwrap();
        r
    }

    async fn executions(&self, report: &Report) -> Vec<store::Execution> {
        let mut all = self
            .store
            .executions(
                &self.tenant(),
                &ExecutionFilter {
                    report_ids: vec![report.id.clone()],
                    ..ExecutionFilter::default()
                },
            )
            .await
            .unwrap();
        all.sort_by_key(|e| e.seq);
        all
    }
}

async fn each_slot_runs_once_when_the_clock_reaches_it(postgres: bool) {
    let s = setup(postgres).await;
    let start = t0() + Duration::hours(4);
    let report = s.report(start, 4, Some(3)).await;
    assert!(!s.scheduler.run_once().await.unwrap(), "nothing is due yet");
    s.clock.set(start - Duration::seconds(1)).unwrap();
    assert!(!s.scheduler.run_once().await.unwrap(), "one second early");

    for slot in 0..3 {
        let due = start + Duration::hours(4 * slot);
        s.clock.set(due).unwrap();
        assert!(s.scheduler.run_once().await.unwrap(), "slot {slot} runs");
        assert!(
            !s.scheduler.run_once().await.unwrap(),
            "slot {slot} runs once"
        );
        let all = s.executions(&report).await;
        let done = &all[slot as usize];
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.due_time, due);
        assert_eq!(
            done.generated_time,
            Some(due),
            "generated on the service clock"
        );
        assert_eq!(done.expiry_time, Some(due + Duration::hours(24)));
        // The file is there, as recorded.
        let location = done.location.clone().unwrap();
        let bytes = s
            .engine
            .store()
            .object_store()
            .get(&object_store::path::Path::from(location.as_str()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(Some(bytes.len() as i64), done.byte_count);
        assert_eq!(
            done.sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&bytes)).as_str())
        );
        assert!(done.row_count.unwrap() > 0, "the query found demo rows");
        assert!(bytes.starts_with(b"CustomerName,TotalMonthlyActiveUsers"));
    }
    // The recurrence is over: no fourth execution, the report is Inactive.
    s.clock.advance(Duration::days(30)).unwrap();
    assert!(!s.scheduler.run_once().await.unwrap());
    assert_eq!(s.executions(&report).await.len(), 3);
    let r = s
        .store
        .report(&s.tenant(), &report.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, ReportStatus::Inactive);
}

async fn a_late_clock_runs_the_overdue_slot_and_plans_the_next_in_the_future(postgres: bool) {
    let s = setup(postgres).await;
    let start = t0() + Duration::hours(4);
    let report = s.report(start, 24, None).await;
    // The clock jumps past the slot (a process that was down for 10 hours).
    s.clock.set(start + Duration::hours(10)).unwrap();
    assert!(s.scheduler.run_once().await.unwrap());
    assert!(!s.scheduler.run_once().await.unwrap());
    let all = s.executions(&report).await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].due_time, start,
        "the overdue slot keeps its due time"
    );
    assert_eq!(all[0].generated_time, Some(start + Duration::hours(10)));
    assert_eq!(all[1].status, ExecutionStatus::Pending);
    assert_eq!(all[1].due_time, start + Duration::hours(24));
    assert_eq!(
        s.store.next_due().await.unwrap(),
        Some(start + Duration::hours(24))
    );
}

async fn a_paused_report_runs_nothing(postgres: bool) {
    let s = setup(postgres).await;
    let start = t0() + Duration::hours(4);
    let report = s.report(start, 24, None).await;
    assert!(
        s.store
            .pause_report(&s.tenant(), &report.id, s.clock.now())
            .await
            .unwrap()
    );
    s.clock.set(start + Duration::days(3)).unwrap();
    assert!(!s.scheduler.run_once().await.unwrap());
    let all = s.executions(&report).await;
    assert!(
        all.iter().all(|e| e.status != ExecutionStatus::Completed),
        "{all:?}"
    );
}

async fn a_query_that_no_longer_checks_fails_after_its_attempts(postgres: bool) {
    let s = setup(postgres).await;
    let start = t0() + Duration::hours(4);
    // Saved before a catalog change removed its column, say.
    let report = s
        .report_with("SELECT Nope FROM OfficeUsage", start, 24, Some(1))
        .await;
    s.clock.set(start).unwrap();
    // Three attempts, the retries one and two minutes apart.
    assert!(s.scheduler.run_once().await.unwrap());
    assert!(!s.scheduler.run_once().await.unwrap(), "the retry waits");
    s.clock.advance(Duration::minutes(1)).unwrap();
    assert!(s.scheduler.run_once().await.unwrap());
    s.clock.advance(Duration::minutes(1)).unwrap();
    assert!(
        !s.scheduler.run_once().await.unwrap(),
        "the second retry waits two minutes"
    );
    s.clock.advance(Duration::minutes(1)).unwrap();
    assert!(s.scheduler.run_once().await.unwrap());
    let all = s.executions(&report).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ExecutionStatus::Failed);
    assert_eq!(all[0].attempts, 3);
    assert!(
        all[0]
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("no longer checks"),
        "{:?}",
        all[0].failure_reason
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test]
            async fn sqlite() { super::$name(false).await }
            #[tokio::test]
            async fn postgres() { super::$name(true).await }
        })*
    };
}

on_both!(
    each_slot_runs_once_when_the_clock_reaches_it,
    a_late_clock_runs_the_overdue_slot_and_plans_the_next_in_the_future,
    a_paused_report_runs_nothing,
    a_query_that_no_longer_checks_fails_after_its_attempts,
);
