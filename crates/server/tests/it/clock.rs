//! `GET`/`POST /admin/v1/clock`: moving the service clock forward runs the
//! slot that became due within a second, on the new time, and every
//! replica sharing the database follows.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";

async fn clock(s: &TestServer) -> chrono::DateTime<chrono::Utc> {
    let a = s.get("/admin/v1/clock", &s.admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["rate"], 1.0, "{}", a.body);
    parse(a.body["now"].as_str().unwrap())
}

fn parse(t: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc()
}

async fn move_clock(s: &TestServer, body: Value) -> Answer {
    s.call(Method::POST, "/admin/v1/clock", Some(&s.admin), Some(body))
        .await
}

#[tokio::test]
async fn moves_are_checked_and_forward_only() {
    let s = TestServer::start_with(Db::Sqlite, |c| c.demo = false).await;
    let before = clock(&s).await;
    assert!((before - test_now()).num_seconds().abs() < 60, "{before}");
    let a = move_clock(&s, json!({"advance": "4h"})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let moved = parse(a.body["now"].as_str().unwrap());
    assert!(
        (moved - before - chrono::Duration::hours(4))
            .num_seconds()
            .abs()
            < 5
    );
    assert!(clock(&s).await >= moved);
    let back = (before + chrono::Duration::hours(1)).to_rfc3339();
    for (body, needle) in [
        (json!({"set": back}), "only moves forward"),
        (json!({"advance": "soon"}), "not a duration"),
        (json!({"advance": "1h", "set": back}), "exactly one of"),
        (json!({}), "exactly one of"),
    ] {
        let a = move_clock(&s, body.clone()).await;
        assert!(a.error(400).contains(needle), "{body}: {}", a.body);
    }
    let a = s
        .call(
            Method::POST,
            "/admin/v1/clock",
            None,
            Some(json!({"advance": "1h"})),
        )
        .await;
    a.error(401);
    assert!(clock(&s).await < moved + chrono::Duration::minutes(5));
}

#[tokio::test]
async fn a_jump_runs_the_due_slot_within_a_second_on_the_new_time() {
    let s = TestServer::start(Db::Sqlite).await;
    let t = s.demo_token().await;
    let q = s
        .post(Q, &t, json!({"Name": "q", "Query": "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS"}))
        .await;
    let qid = q.first()["queryId"].as_str().unwrap().to_string();
    let now = clock(&s).await;
    let start = (now + chrono::Duration::hours(6))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let r = s
        .post(R, &t, json!({"ReportName": "daily", "QueryId": qid, "StartTime": start, "RecurrenceInterval": 24, "RecurrenceCount": 2}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let a = move_clock(&s, json!({"set": start})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let jumped = Instant::now();
    let list = loop {
        let a = s
            .get(&format!("{R}/execution/{rid}?getLatestExecution=false"), &t)
            .await;
        let list = a.body["value"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|e| e["executionStatus"] == "Completed") {
            break list;
        }
        assert!(jumped.elapsed() < Duration::from_secs(10), "{}", a.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let started_after = jumped.elapsed();
    let done = list
        .iter()
        .find(|e| e["executionStatus"] == "Completed")
        .unwrap();
    assert_eq!(parse(done["dueTime"].as_str().unwrap()), parse(&start));
    assert!(parse(done["reportGeneratedTime"].as_str().unwrap()) >= parse(&start));
    // The next slot is planned a day after, still on the new clock.
    let next = list
        .iter()
        .find(|e| e["executionStatus"] == "Pending")
        .expect("the second slot is planned");
    assert_eq!(
        parse(next["dueTime"].as_str().unwrap()),
        parse(&start) + chrono::Duration::hours(24)
    );
    eprintln!("the due slot completed {started_after:?} after the jump");
    assert!(started_after < Duration::from_secs(5));
}

#[tokio::test]
async fn replicas_on_one_database_follow_a_move() {
    let a = TestServer::start(Db::Postgres).await;
    let url = a.state().config.database_url.clone().unwrap();
    let b = TestServer::start_with(Db::Sqlite, |c| {
        c.database_url = Some(url);
        c.demo = false;
    })
    .await;
    let b_admin = a.admin.clone();
    let before = clock(&a).await;
    let moved = move_clock(&a, json!({"advance": "2d"})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let target = parse(moved.body["now"].as_str().unwrap());
    let waited = Instant::now();
    loop {
        let seen = b.get("/admin/v1/clock", &b_admin).await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        if parse(seen.body["now"].as_str().unwrap()) >= target {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "b still at {}",
            seen.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(target - before >= chrono::Duration::hours(47));
    eprintln!("the other replica followed within {:?}", waited.elapsed());
}
