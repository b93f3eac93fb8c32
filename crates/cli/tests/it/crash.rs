//! Crash safety of the scheduler with the real binary: 50 executions run
//! while the server is killed with SIGKILL at random moments, ten times,
//! and restarted. Every execution must complete exactly once (one
//! "execution completed" log line per id across every process's log) with
//! a whole file (its SHA-256 and size match the record). The same with two
//! server processes sharing a real PostgreSQL database and data dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const INSIGHTS: &str = "https://api.partnercenter.microsoft.com";
const EXECUTIONS: usize = 50;
const KILLS: usize = 10;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_openinsights"))
}

fn cli(data: &Path, db: Option<&str>, args: &[&str]) -> Value {
    let mut c = bin();
    c.args(args).arg("--data-dir").arg(data);
    if let Some(db) = db {
        c.args(["--database-url", db]);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        kill(self);
    }
}

fn start(data: &Path, db: Option<&str>, log: PathBuf) -> Server {
    let mut c = bin();
    c.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-demo",
        "--min-start-lead",
        "0s",
        "--data-dir",
    ])
    .arg(data)
    .env("OPENINSIGHTS__REPORTS__LEASE_SECS", "2")
    // One worker per process, so the runs span the whole kill period.
    .env("OPENINSIGHTS__REPORTS__WORKERS", "1")
    .env("OPENINSIGHTS__RATE_LIMIT__BURST", "100000")
    .env("OPENINSIGHTS__LOG__FORMAT", "json")
    .env("OPENINSIGHTS__LOG__FILTER", "info")
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(log).unwrap());
    if let Some(db) = db {
        c.args(["--database-url", db]);
    }
    let mut child = c.spawn().unwrap();
    let url = crate::serve::listening_url(&mut child);
    Server { child, url }
}

fn kill(s: &mut Server) {
    let _ = s.child.kill(); // SIGKILL
    let _ = s.child.wait();
}

/// A pseudo-random delay in [lo, hi) ms (time-seeded; printed for replay).
pub fn jitter(state: &mut u64, lo: u64, hi: u64) -> Duration {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    Duration::from_millis(lo + *state % (hi - lo))
}

pub async fn token(
    http: &reqwest::Client,
    url: &str,
    tenant: &str,
    client: &str,
    secret: &str,
) -> String {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("resource", INSIGHTS),
        ])
        .finish();
    let v: Value = http
        .post(format!("{url}/{tenant}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

async fn scenario(db: Option<String>, replicas: usize) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = db.as_deref();
    cli(
        &data,
        db,
        &["tenant", "create", "--name", "crash", "--id", "crash"],
    );
    let app = cli(
        &data,
        db,
        &[
            "app",
            "create",
            "--tenant",
            "crash",
            "--name",
            "a",
            "--role",
            "ExecutiveReportViewer",
            "--api",
            "insights",
        ],
    );
    let (client, secret) = (
        app[0]["clientId"].as_str().unwrap().to_string(),
        app[0]["clientSecret"].as_str().unwrap().to_string(),
    );
    let o = bin()
        .args([
            "seed",
            "--tenant",
            "crash",
            "--rows",
            "300000",
            "--dataset",
            "OfficeUsage",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut logs = Vec::new();
    let mut next_log = || {
        let p = dir.path().join(format!("server-{}.log", logs.len()));
        logs.push(p.clone());
        p
    };
    let mut servers: Vec<Server> = (0..replicas)
        .map(|_| start(&data, db, next_log()))
        .collect();
    let http = reqwest::Client::new();
    let url = servers[0].url.clone();
    let t = token(&http, &url, "crash", &client, &secret).await;
    let q: Value = http
        .post(format!("{url}/insights/v1/mpn/ScheduledQueries"))
        .bearer_auth(&t)
        .json(&json!({"Name": "q", "Query": "SELECT CustomerName, WorkloadName, Month, TotalMonthlyActiveUsers, TotalPaidAvailableUnits FROM OfficeUsage TIMESPAN LAST_6_MONTHS"}))
        .send().await.unwrap().json().await.unwrap();
    let qid = q["value"][0]["queryId"]
        .as_str()
        .unwrap_or_else(|| panic!("{q}"))
        .to_string();
    let mut reports = Vec::new();
    for i in 0..EXECUTIONS {
        let r: Value = http
            .post(format!("{url}/insights/v1/mpn/ScheduledReport"))
            .bearer_auth(&t)
            .json(&json!({"ReportName": format!("r{i}"), "QueryId": qid, "ExecuteNow": true}))
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

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    for round in 0..KILLS {
        tokio::time::sleep(jitter(&mut seed, 100, 1500)).await;
        let victim = round % servers.len();
        kill(&mut servers[victim]);
        servers[victim] = start(&data, db, next_log());
    }

    // Let everything finish (expired leases are picked up after 2 s).
    let url = servers[0].url.clone();
    let t = token(&http, &url, "crash", &client, &secret).await;
    let ids = reports.join(";");
    let deadline = Instant::now() + Duration::from_secs(240);
    let list = loop {
        let v: Value = http
            .get(format!("{url}/insights/v1/mpn/ScheduledReport/execution/{ids}?getLatestExecution=false&top=100"))
            .bearer_auth(&t)
            .send().await.unwrap().json().await.unwrap();
        let list = v["value"].as_array().cloned().unwrap_or_default();
        if list.len() == EXECUTIONS && list.iter().all(|e| e["executionStatus"] == "Completed") {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "not all executions completed: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for s in &mut servers {
        kill(s);
    }

    // Every file whole.
    for e in &list {
        let bytes = std::fs::read(data.join(e["reportLocation"].as_str().unwrap())).unwrap();
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            e["sha256"].as_str().unwrap()
        );
        assert_eq!(bytes.len() as i64, e["byteCount"].as_i64().unwrap());
    }
    // Exactly one completion per execution across every process.
    let mut completions: HashMap<String, usize> = HashMap::new();
    let mut started = 0;
    for log in &logs {
        for line in std::fs::read_to_string(log).unwrap().lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            match v["fields"]["message"].as_str() {
                Some("execution completed") => {
                    *completions
                        .entry(v["fields"]["execution"].as_str().unwrap().to_string())
                        .or_default() += 1
                }
                Some("execution started") => started += 1,
                _ => {}
            }
        }
    }
    // No execution completed twice. (A kill can land between the commit
    // of a completion and its log line, so a completion may be missing
    // from the logs; that every execution completed is proven above by
    // the store and the files.)
    assert!(completions.values().all(|n| *n == 1), "{completions:?}");
    assert!(completions.len() + KILLS >= EXECUTIONS, "{completions:?}");
    // More starts than executions: kills interrupted runs that were re-run.
    assert!(started >= EXECUTIONS);
    eprintln!(
        "{started} starts for {EXECUTIONS} executions over {} processes",
        logs.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    scenario(None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_never_complete_an_execution_twice() {
    scenario(Some(store::testing::postgres_url().await), 2).await;
}
