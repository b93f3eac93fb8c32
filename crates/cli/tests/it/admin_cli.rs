//! The commands that call a running `serve`'s admin API: `ingest --url`
//! (a file loaded through the data API, a bad one refused with its line,
//! the token from a file or stdin only), `clock` and `journal`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::serve::serve;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_openinsights"))
}

#[test]
fn ingest_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &dir.path().join("server.log"));
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("demo-credentials.json")).unwrap())
            .unwrap();
    let tenant = creds["tenantId"].as_str().unwrap();
    let good = dir.path().join("rows.csv");
    let mut f = std::fs::File::create(&good).unwrap();
    writeln!(f, "CustomerName,Month,PaidAvailableUnits").unwrap();
    for i in 0..50_000 {
        writeln!(f, "remote{i},2024-01-01,{i}").unwrap();
    }
    drop(f);
    let token_file = data.join("admin-token");
    let out = bin()
        .args([
            "ingest",
            "--url",
            &s.url,
            "--tenant",
            tenant,
            "--dataset",
            "officeusage",
        ])
        .arg("--admin-token-file")
        .arg(&token_file)
        .arg(&good)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("loaded 50000 rows"), "{stderr}");
    assert!(stderr.contains("into OfficeUsage"), "{stderr}");

    // A bad value: exit 2 and the line as an editor numbers it; the token
    // read from stdin.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "CustomerName,Month,PaidAvailableUnits\r\nx,2024-01-01,1\r\ny,2024-13-01,2\r\n",
    )
    .unwrap();
    let mut child = bin()
        .args([
            "ingest",
            "--url",
            &s.url,
            "--tenant",
            tenant,
            "--dataset",
            "OfficeUsage",
        ])
        .args(["--admin-token-file", "-"])
        .arg(&bad)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(std::fs::read(&token_file).unwrap().as_slice())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("body:3: column 'Month': '2024-13-01'"),
        "{stderr}"
    );

    // Without a token source, a clear usage error before any request.
    let out = bin()
        .args([
            "ingest",
            "--url",
            &s.url,
            "--tenant",
            tenant,
            "--dataset",
            "OfficeUsage",
        ])
        .arg(&good)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--admin-token-file"), "{stderr}");
}

#[test]
fn clock_show_advance_and_a_refused_step_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &dir.path().join("server.log"));
    let token = data.join("admin-token");
    let clock = |args: &[&str]| {
        bin()
            .args(["clock", "--url", &s.url])
            .arg("--admin-token-file")
            .arg(&token)
            .args(args)
            .output()
            .unwrap()
    };
    let time_of = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let first = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        chrono::DateTime::parse_from_rfc3339(&first)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_utc()
    };
    let shown = clock(&[]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let before = time_of(&shown);
    let advanced = clock(&["advance", "4h"]);
    assert!(
        advanced.status.success(),
        "{}",
        String::from_utf8_lossy(&advanced.stderr)
    );
    let after = time_of(&advanced);
    assert!(
        (after - before - chrono::Duration::hours(4))
            .num_seconds()
            .abs()
            < 10
    );
    let back = clock(&["set", &before.to_rfc3339()]);
    assert_eq!(back.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&back.stderr).contains("only moves forward"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_prints_a_tenants_calls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &dir.path().join("server.log"));
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("demo-credentials.json")).unwrap())
            .unwrap();
    let text = |k: &str| creds[k].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let token = crate::crash::token(
        &http,
        &s.url,
        &text("tenantId"),
        &text("clientId"),
        &text("clientSecret"),
    )
    .await;
    let res = http
        .get(format!("{}/insights/v1/mpn/ScheduledDataset", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let run = |extra: &[&str]| {
        bin()
            .args(["journal", "--url", &s.url, "--tenant", &text("tenantId")])
            .arg("--admin-token-file")
            .arg(data.join("admin-token"))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains("/insights/v1/mpn/ScheduledDataset"),
        "{table}"
    );
    assert!(table.contains("/oauth2/token"), "{table}");
    assert!(!table.contains(&token) && !table.contains(&text("clientSecret")));
    let out = run(&["--json", "--limit", "1"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["path"], "/insights/v1/mpn/ScheduledDataset");
    assert_eq!(lines[0]["status"], 200);
}

#[test]
fn faults_add_list_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &dir.path().join("server.log"));
    let faults = |args: &[&str]| {
        bin()
            .args(["faults", "--url", &s.url])
            .arg("--admin-token-file")
            .arg(data.join("admin-token"))
            .args(args)
            .output()
            .unwrap()
    };
    let added = faults(&[
        "add",
        r#"{"api":"store","status":429,"retryAfter":2,"count":3}"#,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let rule: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(rule["remaining"], 3);
    let listed: serde_json::Value = serde_json::from_slice(&faults(&["list"]).stdout).unwrap();
    assert_eq!(listed["value"][0]["id"], rule["id"]);
    let bad = faults(&["add", r#"{"api":"store","status":418}"#]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use 429, 401, 500, 503 or 504"));
    assert!(faults(&["clear"]).status.success());
    let listed: serde_json::Value = serde_json::from_slice(&faults(&["list"]).stdout).unwrap();
    assert_eq!(listed["value"], serde_json::json!([]));
    assert_eq!(faults(&["delete", "f1"]).status.code(), Some(4));
}

/// The real-client scenario: `docs/examples/retrying_client.py` (Python,
/// `requests`) retries through rules that fail half the calls (seed 7) on
/// the Store API and the Insights API, and the journal shows the retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrying_python_client_gets_through_seeded_faults() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &dir.path().join("server.log"));
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("demo-credentials.json")).unwrap())
            .unwrap();
    let text = |k: &str| creds[k].as_str().unwrap().to_string();
    let admin = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let http = reqwest::Client::new();
    for rule in [
        serde_json::json!({"api": "store", "status": 429, "retryAfter": 1, "probability": 0.5, "seed": 7}),
        serde_json::json!({"api": "insights", "status": 503, "retryAfter": 1, "probability": 0.5, "seed": 7}),
    ] {
        let res = http
            .post(format!("{}/admin/v1/faults", s.url))
            .bearer_auth(admin.trim())
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // moto's venv has `requests` (moto depends on it).
    let python = engine::testing::moto_server_binary()
        .parent()
        .unwrap()
        .join("python3");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples/retrying_client.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--base", &s.url, "--tenant", &text("tenantId")])
        .args([
            "--client-id",
            &text("clientId"),
            "--client-secret",
            &text("clientSecret"),
        ])
        .args(["--app", "9NBLGGH4R315", "--calls", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(stats["calls"], 8);
    let retried = stats["retried"].as_u64().unwrap();
    assert!(retried >= 1, "{stats}");
    // The journal shows each retried answer with the rule that fired.
    let journal: serde_json::Value = http
        .get(format!(
            "{}/admin/v1/tenants/{}/journal?limit=1000",
            s.url,
            text("tenantId")
        ))
        .bearer_auth(admin.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let faulted = journal["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fault"].is_string() && (e["status"] == 429 || e["status"] == 503))
        .count() as u64;
    assert_eq!(faulted, retried, "{journal}");
}
