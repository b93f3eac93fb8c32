//! Scale-out end to end, on real components: three `openinsights serve`
//! replicas behind HAProxy (Debian's package) on loopback, sharing a real
//! PostgreSQL and an S3-compatible bucket (moto). Started together on an
//! empty database they create one demo tenant; rows loaded through one
//! replica's data API are answered by the others; 100 executions (run-now
//! and scheduled on a fast clock) complete exactly once while replicas are
//! killed with SIGKILL at random moments and restarted, every file is
//! downloadable through every replica with its recorded SHA-256, every
//! completion's callback carries one delivery id; a key rotation and an
//! app's deletion through one replica hold on the others within seconds;
//! a replica cut off from
//! PostgreSQL fails `/readyz` (and HAProxy routes around it) until the
//! link is back.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::crash::{jitter, token};

mod harness;
use harness::*;

const ADMIN: &str = "replica-test-admin-credential-0123456789";
const BUCKET: &str = "openinsights";
/// Service seconds per wall second: a day every 4 s.
const RATE: u64 = 21_600;
const RUN_NOW: usize = 20;
const SCHEDULED: usize = 20;
const SLOTS: usize = 4;
/// SIGKILLs while the executions run.
const KILLS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_on_postgres_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    let moto = engine::testing::start_moto(BUCKET);
    let database = store::testing::postgres_url().await;
    // Replica 2 reaches PostgreSQL through a link the test can cut.
    let (mut link, through_link) = store::testing::Link::to_postgres(&database).await;
    let lb_port = free_port();
    let env = Env {
        public_url: format!("http://127.0.0.1:{lb_port}"),
        s3_endpoint: moto.endpoint.clone(),
    };
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| Replica {
            port: free_port(),
            data: dir.path().join(format!("replica-{i}")),
            database_url: if i == 2 {
                through_link.clone()
            } else {
                database.clone()
            },
            child: None,
        })
        .collect();
    let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let _haproxy = start_haproxy(dir.path(), lb_port, &ports);
    let mut logs = 0usize;
    let mut next_log = || {
        logs += 1;
        dir.path().join(format!("replica-{logs}.log"))
    };

    // All three start at once on the empty database.
    let t0 = chrono::Utc::now();
    for r in &mut replicas {
        r.spawn(&env, next_log());
    }
    for r in &mut replicas {
        r.wait_listening();
    }
    // Exactly one of them created the demo tenant and wrote its credentials.
    let written: Vec<PathBuf> = replicas
        .iter()
        .map(|r| r.data.join("demo-credentials.json"))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(written.len(), 1, "demo credentials written by {written:?}");
    let creds: Value = serde_json::from_slice(&std::fs::read(&written[0]).unwrap()).unwrap();
    assert_eq!(creds["baseUrl"], env.public_url.as_str());
    let tenant = creds["tenantId"].as_str().unwrap().to_string();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let tenants: Value = http
        .get(format!("{}/admin/v1/tenants", env.public_url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenants["value"].as_array().unwrap().len(), 1, "{tenants}");

    // Rows for the reports, seeded straight into the bucket.
    let o = Command::new(env!("CARGO_BIN_EXE_openinsights"))
        .args([
            "seed",
            "--tenant",
            &tenant,
            "--rows",
            "10000",
            "--dataset",
            "OfficeUsage",
        ])
        .args(["--s3-bucket", BUCKET, "--s3-endpoint", &env.s3_endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Loaded through replica 0's data API, answered by replicas 1 and 2.
    let marker = format!("replicated-{}", uuid_like());
    let csv = format!("CustomerName,Month,PaidAvailableUnits\n{marker},2020-01-01,1\n");
    let loaded: Value = http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/datasets/OfficeUsage/rows",
            replicas[0].url()
        ))
        .bearer_auth(ADMIN)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(loaded["rowsLoaded"], 1, "{loaded}");
    let version = loaded["version"].clone();
    let client = creds["clientId"].as_str().unwrap();
    let secret = creds["clientSecret"].as_str().unwrap();
    let t = token(&http, &env.public_url, &tenant, client, secret).await;
    for r in &replicas[1..] {
        let states = get_json(
            &http,
            &format!("{}/admin/v1/tenants/{tenant}/datasets", r.url()),
            ADMIN,
        )
        .await
        .unwrap();
        let office = states["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == "OfficeUsage")
            .unwrap()
            .clone();
        assert_eq!(office["version"], version, "{}: {office}", r.url());
        let preview = get_json(
            &http,
            &format!(
                "{}/insights/v1/mpn/ScheduledQueries/testQueryResult?exportQuery=SELECT+CustomerName+FROM+OfficeUsage+WHERE+CustomerName+%3D+%27{marker}%27&startTime=2020-01-01T00:00:00Z&endTime=2020-02-01T00:00:00Z",
                r.url()
            ),
            &t,
        )
        .await
        .unwrap();
        assert_eq!(
            preview["value"][0]["CustomerName"],
            marker.as_str(),
            "{preview}"
        );
    }

    // 100 executions: 20 run now, 20 scheduled reports of 4 daily slots.
    let (callback_port, deliveries) = callback_receiver().await;
    let q: Value = http
        .post(format!("{}/insights/v1/mpn/ScheduledQueries", env.public_url))
        .bearer_auth(&t)
        .json(&json!({"Name": "replicated", "Query": "SELECT CustomerName, Month, TotalPaidAvailableUnits FROM OfficeUsage TIMESPAN LAST_6_MONTHS"}))
        .send().await.unwrap().json().await.unwrap();
    let qid = q["value"][0]["queryId"]
        .as_str()
        .unwrap_or_else(|| panic!("{q}"))
        .to_string();
    let callback = format!("http://127.0.0.1:{callback_port}/hook");
    let start = (service_now_at_most(t0) + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut reports = Vec::new();
    for i in 0..RUN_NOW + SCHEDULED {
        let body = if i < RUN_NOW {
            json!({"ReportName": format!("now{i}"), "QueryId": qid, "ExecuteNow": true,
                   "CallbackUrl": callback, "CallbackMethod": "POST"})
        } else {
            json!({"ReportName": format!("daily{i}"), "QueryId": qid, "StartTime": start,
                   "RecurrenceInterval": 24, "RecurrenceCount": SLOTS,
                   "CallbackUrl": callback, "CallbackMethod": "POST"})
        };
        let r: Value = http
            .post(format!(
                "{}/insights/v1/mpn/ScheduledReport",
                env.public_url
            ))
            .bearer_auth(&t)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reports.push(
            r["value"][0]["reportId"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_string(),
        );
    }
    let expected = RUN_NOW + SCHEDULED * SLOTS;

    // Kill and restart replicas at random moments while the executions
    // run (an expired lease is taken over after 2 s), then let them finish.
    let mut seed = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(7) as u64 | 1;
    eprintln!("replica test seed {seed}");
    let ids = reports.join(";");
    let list_url = format!(
        "{}/insights/v1/mpn/ScheduledReport/execution/{ids}?getLatestExecution=false&top=100",
        env.public_url
    );
    for _ in 0..KILLS {
        tokio::time::sleep(jitter(&mut seed, 300, 2000)).await;
        let victim = (seed % 3) as usize;
        replicas[victim].kill();
        tokio::time::sleep(jitter(&mut seed, 50, 500)).await;
        replicas[victim].spawn(&env, next_log());
        replicas[victim].wait_listening();
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let list = loop {
        let last = match get_json(&http, &list_url, &t).await {
            Err(e) => e,
            Ok(v) => {
                let list = v["value"].as_array().cloned().unwrap_or_default();
                if list.len() == expected
                    && list.iter().all(|e| e["executionStatus"] == "Completed")
                {
                    break list;
                }
                let mut by_status: HashMap<String, usize> = HashMap::new();
                for e in &list {
                    *by_status
                        .entry(e["executionStatus"].to_string())
                        .or_default() += 1;
                }
                format!("{} executions listed: {by_status:?}", list.len())
            }
        };
        assert!(
            Instant::now() < deadline,
            "executions did not all complete; last seen: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let starts: usize = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .matches("\"execution started\"")
                .count()
        })
        .sum();
    eprintln!("{expected} executions completed ({starts} starts) through {KILLS} SIGKILLs");

    // Each execution once, each file whole through every replica.
    let unique: HashSet<&str> = list
        .iter()
        .map(|e| e["executionId"].as_str().unwrap())
        .collect();
    assert_eq!(unique.len(), expected);
    let mut per_report: HashMap<&str, usize> = HashMap::new();
    for e in &list {
        *per_report
            .entry(e["reportId"].as_str().unwrap())
            .or_default() += 1;
    }
    for (i, r) in reports.iter().enumerate() {
        let want = if i < RUN_NOW { 1 } else { SLOTS };
        assert_eq!(per_report.get(r.as_str()), Some(&want), "report {r}");
    }
    for e in &list {
        let link = e["reportAccessSecureLink"].as_str().unwrap();
        let path = link
            .strip_prefix(&env.public_url)
            .unwrap_or_else(|| panic!("{link}"));
        for r in &replicas {
            let bytes = http
                .get(format!("{}{path}", r.url()))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                e["sha256"].as_str().unwrap(),
                "{} through {}",
                e["executionId"],
                r.url()
            );
            assert_eq!(bytes.len() as i64, e["byteCount"].as_i64().unwrap());
        }
    }

    // One delivery id per completion (a delivery retried after a kill
    // keeps its id).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let by_execution: HashMap<String, HashSet<String>> = {
            let seen = deliveries.lock().unwrap();
            let mut map: HashMap<String, HashSet<String>> = HashMap::new();
            for (execution, delivery) in seen.iter() {
                map.entry(execution.clone())
                    .or_default()
                    .insert(delivery.clone());
            }
            map
        };
        for (execution, ids) in &by_execution {
            assert!(
                unique.contains(execution.as_str()),
                "callback for unknown {execution}"
            );
            assert_eq!(ids.len(), 1, "{execution} delivered with ids {ids:?}");
            assert!(!ids.iter().any(String::is_empty));
        }
        if by_execution.len() == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "callbacks for {} of {expected} completions",
            by_execution.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A key rotated through replica 0 signs tokens every replica accepts;
    // an app deleted through replica 0 is refused by the others within
    // seconds.
    let rotated = http
        .post(format!("{}/admin/v1/keys/rotate", replicas[0].url()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let app: Value = http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/apps",
            replicas[0].url()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "short-lived", "roles": "ExecutiveReportViewer", "apis": "insights"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (app_id, app_secret) = (
        app["value"][0]["clientId"].as_str().unwrap().to_string(),
        app["value"][0]["clientSecret"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let fresh = token(&http, &replicas[0].url(), &tenant, &app_id, &app_secret).await;
    let status_on = |url: String, token: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/insights/v1/mpn/ScheduledQueries"))
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    for r in &replicas[1..] {
        let mut status = 0;
        for _ in 0..40 {
            status = status_on(r.url(), fresh.clone()).await;
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(status, 200, "a token of the rotated key on {}", r.url());
    }
    let deleted = http
        .delete(format!(
            "{}/admin/v1/tenants/{tenant}/apps/{app_id}",
            replicas[0].url()
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let gone = Instant::now();
    for r in &replicas[1..] {
        let mut status = 0;
        for _ in 0..40 {
            status = status_on(r.url(), fresh.clone()).await;
            if status == 401 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 401, "a deleted app's token on {}", r.url());
    }
    eprintln!(
        "a deletion was seen by every replica within {:?}",
        gone.elapsed()
    );

    // Cut off from PostgreSQL, replica 2 is not ready; HAProxy routes
    // around it; back when the link is.
    link.cut();
    let readyz = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(format!("{url}/readyz")).send().await.unwrap();
            (
                res.status().as_u16(),
                res.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let mut state = (0, Value::Null);
    for _ in 0..60 {
        state = readyz(replicas[2].url()).await;
        if state.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(state.0, 503, "{}", state.1);
    assert!(
        state.1["reason"]
            .as_str()
            .unwrap()
            .contains("metadata store"),
        "{}",
        state.1
    );
    tokio::time::sleep(Duration::from_millis(1500)).await; // two failed checks
    for _ in 0..12 {
        let res = http
            .get(format!(
                "{}/insights/v1/mpn/ScheduledQueries",
                env.public_url
            ))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "the balancer sent a call to the cut-off replica"
        );
    }
    link.restore().await;
    for _ in 0..60 {
        state = readyz(replicas[2].url()).await;
        if state.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(state.0, 200, "{}", state.1);
}
