//! Reports that run, on a fast service clock (3600×: an hour a second):
//! schedules, pause/resume, update, delete, downloads and callbacks, all
//! over real HTTP with the real scheduler.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Db, TestServer};

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";

async fn fast(db: Db, tweak: impl FnOnce(&mut server::Config)) -> TestServer {
    TestServer::start_with(db, |c| {
        c.clock_rate = 3600.0;
        c.min_start_lead = "0s".into();
        c.callbacks.allow_private = true;
        tweak(c);
    })
    .await
}

/// The service clock's now, read from a created query's `createdTime`.
async fn service_now(s: &TestServer, t: &str) -> (String, chrono::DateTime<chrono::Utc>) {
    let q = s.post(Q, t, json!({"Name": "n", "Query": "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS"})).await;
    let now = chrono::DateTime::parse_from_rfc3339(q.first()["createdTime"].as_str().unwrap())
        .unwrap()
        .to_utc();
    (q.first()["queryId"].as_str().unwrap().to_string(), now)
}

/// A query on a dataset that may recur every 4 hours.
async fn four_hourly_query(s: &TestServer, t: &str) -> String {
    let q = s.post(Q, t, json!({"Name": "teams", "Query": "SELECT CustomerId, CustomerTenantId FROM TeamsUsageWorkload"})).await;
    q.first()["queryId"].as_str().unwrap().to_string()
}

fn at(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn executions(s: &TestServer, t: &str, rid: &str) -> Vec<Value> {
    let a = s
        .get(&format!("{R}/execution/{rid}?getLatestExecution=false"), t)
        .await;
    a.body["value"].as_array().cloned().unwrap_or_default()
}

async fn wait_for(
    s: &TestServer,
    t: &str,
    rid: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..400 {
        let list = executions(s, t, rid).await;
        if done(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out; executions: {:?}", executions(s, t, rid).await);
}

fn completed(list: &[Value]) -> usize {
    list.iter()
        .filter(|e| e["executionStatus"] == "Completed")
        .count()
}

on_both!(a_four_hourly_report_of_three_runs_three_times, |db| {
    let s = fast(db, |_| {}).await;
    let t = s.demo_token().await;
    let (_, now) = service_now(&s, &t).await;
    let qid = four_hourly_query(&s, &t).await;
    let r = s
        .post(R, &t, json!({"ReportName": "r", "QueryId": qid, "StartTime": at(now + chrono::Duration::hours(2)), "RecurrenceInterval": 4, "RecurrenceCount": 3}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let list = wait_for(&s, &t, &rid, |l| completed(l) == 3).await;
    assert_eq!(list.len(), 3, "{list:?}");
    // Newest first, due 4 h apart, each a whole file.
    let due: Vec<_> = list
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["dueTime"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(due[0] - due[1], chrono::Duration::hours(4));
    assert_eq!(due[1] - due[2], chrono::Duration::hours(4));
    for e in &list {
        let bytes = s
            .http
            .get(e["reportAccessSecureLink"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        assert_eq!(e["sha256"], sha.as_str());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(executions(&s, &t, &rid).await.len(), 3, "no fourth run");
    let report = s.get(&format!("{R}?reportId={rid}"), &t).await;
    assert_eq!(report.first()["reportStatus"], "Inactive");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_skips_without_backfill_update_replans_delete_removes_files() {
    let s = fast(Db::Sqlite, |_| {}).await;
    let t = s.demo_token().await;
    let (_, now) = service_now(&s, &t).await;
    let qid = four_hourly_query(&s, &t).await;
    let r = s.post(R, &t, json!({"ReportName": "r", "QueryId": qid, "StartTime": at(now + chrono::Duration::hours(1)), "RecurrenceInterval": 4})).await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    wait_for(&s, &t, &rid, |l| completed(l) >= 1).await;
    s.call(Method::PUT, &format!("{R}/pause/{rid}"), Some(&t), None)
        .await;
    let before = completed(&executions(&s, &t, &rid).await);
    tokio::time::sleep(Duration::from_secs(10)).await; // ≥ 2 slots pass while paused
    let paused = executions(&s, &t, &rid).await;
    assert_eq!(completed(&paused), before, "nothing ran while paused");
    let resumed = s
        .call(Method::PUT, &format!("{R}/resume/{rid}"), Some(&t), None)
        .await;
    let resumed_at =
        chrono::DateTime::parse_from_rfc3339(resumed.first()["modifiedTime"].as_str().unwrap())
            .unwrap();
    let list = wait_for(&s, &t, &rid, |l| completed(l) == before + 1).await;
    // The run after resuming is a slot after the resume, not a missed one.
    let newest = chrono::DateTime::parse_from_rfc3339(
        list.iter()
            .find(|e| e["executionStatus"] == "Completed")
            .unwrap()["dueTime"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(newest >= resumed_at, "{newest} < {resumed_at}");

    // Update re-plans from the new schedule.
    let (_, now) = service_now(&s, &t).await;
    let start = now + chrono::Duration::hours(100);
    let up = s
        .call(
            Method::PUT,
            &format!("{R}/{rid}"),
            Some(&t),
            Some(json!({"ReportName": "r2", "StartTime": at(start), "RecurrenceInterval": 24})),
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let list = executions(&s, &t, &rid).await;
    let pending: Vec<_> = list
        .iter()
        .filter(|e| e["executionStatus"] == "Pending")
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["dueTime"], at(start).as_str());

    // Delete removes records and files; links stop working.
    let file = list
        .iter()
        .find(|e| e["executionStatus"] == "Completed")
        .unwrap()
        .clone();
    let path = s
        .state()
        .config
        .data_dir
        .join(file["reportLocation"].as_str().unwrap());
    assert!(path.exists(), "{path:?}");
    assert_eq!(
        s.call(Method::DELETE, &format!("{R}/{rid}"), Some(&t), None)
            .await
            .status,
        200
    );
    assert!(!path.exists());
    assert_eq!(
        s.http
            .get(file["reportAccessSecureLink"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_exact_ranged_gzipped_signed_and_expire() {
    let s = fast(Db::Sqlite, |c| c.reports.link_expiry_hours = 5).await;
    let t = s.demo_token().await;
    let (qid, _) = service_now(&s, &t).await;
    let r = s.post(R, &t, json!({"ReportName": "Usage report", "QueryId": qid, "ExecuteNow": true, "Format": "TSV"})).await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let e = wait_for(&s, &t, &rid, |l| completed(l) == 1).await[0].clone();
    let link = e["reportAccessSecureLink"].as_str().unwrap().to_string();
    let full = s.http.get(&link).send().await.unwrap();
    assert_eq!(full.status(), 200);
    let h = full.headers().clone();
    assert_eq!(
        h["content-type"],
        "text/tab-separated-values; charset=utf-8"
    );
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"Usage report_")
    );
    assert_eq!(
        h["etag"],
        format!("\"{}\"", e["sha256"].as_str().unwrap()).as_str()
    );
    let body = full.bytes().await.unwrap();
    assert_eq!(h["content-length"], body.len().to_string().as_str());
    assert!(body.starts_with(b"CustomerName\tTotalMonthlyActiveUsers\r\n"));
    // Range.
    let part = s
        .http
        .get(&link)
        .header("Range", "bytes=5-20")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 5-20/{}", body.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), body.slice(5..21));
    let bad = s
        .http
        .get(&link)
        .header("Range", "bytes=999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 416);
    // gzip.
    let gz = s
        .http
        .get(&link)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, body.to_vec());
    // Tampering: id, expiry, signature → 403.
    let expiry: i64 = link
        .split("expiry=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let other = uuid::Uuid::new_v4().to_string();
    for tampered in [
        link.replace(e["executionId"].as_str().unwrap(), &other),
        link.replace(
            &format!("expiry={expiry}"),
            &format!("expiry={}", expiry + 3600),
        ),
        {
            // The last hex digit of the signature, changed.
            let last = if link.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &link[..link.len() - 1])
        },
        link.split('?').next().unwrap().to_string(),
    ] {
        let a = crate::support::answer(s.http.get(&tampered).send().await.unwrap()).await;
        assert!(a.error(403).contains("not valid"), "{tampered}");
    }
    // Five service hours pass in five wall seconds: the link expires → 410.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let a = crate::support::answer(s.http.get(&link).send().await.unwrap()).await;
    assert!(a.error(410).contains("expired"));
    // The executions list hands out a fresh link... of an expired file: also 410.
    let fresh = executions(&s, &t, &rid).await[0]["reportAccessSecureLink"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.http.get(&fresh).send().await.unwrap().status(), 410);
}

/// One received call: method, URI, signature, delivery id, body.
type Call = (String, String, Option<String>, Option<String>, String);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Call>>>);

async fn receiver(failures: usize) -> (String, Received) {
    use axum::extract::{Request, State};
    let got = Received::default();
    let seen = Arc::new(Mutex::new(0usize));
    let app = axum::Router::new()
        .fallback(move |State((got, seen)): State<(Received, Arc<Mutex<usize>>)>, req: Request| async move {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let (sig, delivery) = {
                let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                (header("x-insights-signature"), header("x-insights-delivery"))
            };
            let body = String::from_utf8(axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
            got.0.lock().unwrap().push((method, uri, sig, delivery, body));
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n <= failures { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::OK }
        })
        .with_state((got.clone(), seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_signed_retried_and_guarded() {
    let s = fast(Db::Sqlite, |_| {}).await;
    let t = s.demo_token().await;
    let (qid, _) = service_now(&s, &t).await;
    let key = server::downloads::callback_key(s.state(), &s.tenant());
    // Operators hand the same key to the tenant from the admin API.
    let published = s
        .call(
            Method::GET,
            &format!("/admin/v1/tenants/{}/callback-key", s.tenant()),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(
        published.first()["callbackSigningKey"],
        hex::encode(&key).as_str()
    );
    let sign = |payload: &str| {
        server::downloads::signature(&key, payload.as_bytes())
            .to_str()
            .unwrap()
            .to_string()
    };

    // POST, failing twice with 500 before it is accepted.
    let (url, got) = receiver(2).await;
    let r = s.post(R, &t, json!({"ReportName": "cb", "QueryId": qid, "ExecuteNow": true, "CallbackUrl": format!("{url}/hook")})).await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if got.0.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = got.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "two failures, then success: {calls:?}");
    let (method, uri, sig, delivery, body) = &calls[2];
    assert_eq!(method, "POST");
    assert_eq!(uri, &format!("/hook/{rid}"));
    assert_eq!(
        sig.as_deref(),
        Some(sign(body).as_str()),
        "the signature verifies"
    );
    assert!(
        calls.iter().all(|c| c.3 == *delivery),
        "one delivery id across retries"
    );
    let json: Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["reportId"], rid.as_str());
    assert_eq!(json["executionStatus"], "Completed");
    // The execution stayed Completed throughout.
    assert_eq!(
        executions(&s, &t, &rid).await[0]["executionStatus"],
        "Completed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(got.0.lock().unwrap().len(), 3, "no delivery after success");
    // The console lists the delivery with its outcome and attempts.
    let listed = s
        .get(&format!("/console/api/reports/{rid}/deliveries"), &t)
        .await;
    let d = &listed.body["value"][0];
    assert_eq!(d["status"], "Delivered", "{}", listed.body);
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["deliveryId"], delivery.as_deref().unwrap());
    assert_eq!(d["method"], "POST");

    // GET appends reportId and signs the URL.
    let (url, got) = receiver(0).await;
    let r = s.post(R, &t, json!({"ReportName": "cb", "QueryId": qid, "ExecuteNow": true, "CallbackUrl": format!("{url}/get?x=1"), "CallbackMethod": "GET"})).await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    for _ in 0..100 {
        if !got.0.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = got.0.lock().unwrap().clone();
    assert_eq!(calls[0].0, "GET");
    assert_eq!(calls[0].1, format!("/get?x=1&reportId={rid}"));
    assert_eq!(
        calls[0].2.as_deref(),
        Some(sign(&format!("{url}/get?x=1&reportId={rid}")).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_callback_targets_are_refused_by_default() {
    let s = TestServer::start(Db::Sqlite).await;
    let t = s.demo_token().await;
    let q = s
        .post(
            Q,
            &t,
            json!({"Name": "n", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    let qid = q.first()["queryId"].as_str().unwrap();
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/x",
        "http://[::ffff:127.0.0.1]/x",
    ] {
        let a = s
            .post(
                R,
                &t,
                json!({"ReportName": "r", "QueryId": qid, "ExecuteNow": true, "CallbackUrl": url}),
            )
            .await;
        assert!(
            a.error(400)
                .contains("callbacks must reach a public address"),
            "{url}: {}",
            a.message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_execution_is_retried_then_failed_with_a_reason() {
    let s = fast(Db::Sqlite, |_| {}).await;
    let t = s.demo_token().await;
    let (qid, _) = service_now(&s, &t).await;
    // Break the tenant's OfficeUsage files: every run of the query fails.
    let dir = s
        .state()
        .config
        .data_dir
        .join("data/OfficeUsage")
        .join(format!("tenant={}", s.tenant()));
    let mut broken = 0;
    for month in std::fs::read_dir(&dir).unwrap() {
        let month = month.unwrap().path();
        if !month.is_dir() || month.ends_with("_manifest") {
            continue;
        }
        for f in std::fs::read_dir(&month).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "parquet") {
                std::fs::write(&f, b"not parquet at all").unwrap();
                broken += 1;
            }
        }
    }
    assert!(broken > 0);
    let r = s
        .post(
            R,
            &t,
            json!({"ReportName": "doomed", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let list = wait_for(&s, &t, &rid, |l| {
        l.first().is_some_and(|e| e["executionStatus"] == "Failed")
    })
    .await;
    assert_eq!(list.len(), 1);
    let reason = list[0]["failureReason"].as_str().unwrap();
    assert!(reason.starts_with("the query failed"), "{reason}");
    assert!(list[0]["reportAccessSecureLink"].is_null());
    let stored = s
        .state()
        .store
        .execution_by_id(list[0]["executionId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attempts, 3, "bounded retries");
    assert_eq!(
        s.get(&format!("{R}?reportId={rid}"), &t).await.first()["reportStatus"],
        "Inactive"
    );
}
