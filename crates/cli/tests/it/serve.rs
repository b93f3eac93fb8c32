//! `openinsights serve` as a real process: first start on an empty data
//! dir, the identity commands beside a running server, graceful shutdown
//! on SIGTERM, and a grep of the whole debug log for every secret, password
//! and token the run handled.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const INSIGHTS: &str = "https://api.partnercenter.microsoft.com";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_openinsights"))
}

/// A running `openinsights serve`; killed when dropped, so a failing
/// test leaves no server behind.
pub struct Serve {
    pub child: Child,
    pub url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn serve(dir: &std::path::Path, log: &std::path::Path) -> Serve {
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo-rows",
            "200",
            "--data-dir",
        ])
        .arg(dir)
        .env("OPENINSIGHTS__LOG__FILTER", "debug")
        .env("OPENINSIGHTS__LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    Serve { child, url }
}

/// The URL a starting server prints on its first line (`listening on URL`).
pub fn listening_url(child: &mut std::process::Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .to_string()
}

async fn form(http: &reqwest::Client, url: &str, pairs: &[(&str, &str)]) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    http.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_first_start_identity_commands_shutdown_and_no_secret_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    let mut s = serve(&data, &log);

    // First start: the demo credentials (owner-only) and the admin token.
    let creds_path = data.join("demo-credentials.json");
    let creds: Value = serde_json::from_slice(&std::fs::read(&creds_path).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&creds_path, &data.join("admin-token")] {
            assert_eq!(
                std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
                0o600,
                "{f:?}"
            );
        }
    }
    for key in [
        "baseUrl",
        "tenantId",
        "tokenUrl",
        "clientId",
        "clientSecret",
        "username",
        "password",
        "storeApplicationIds",
    ] {
        assert!(!creds[key].is_null(), "{key}");
    }
    assert_eq!(creds["baseUrl"], s.url.as_str());
    let text = |k: &str| creds[k].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let mut secrets = vec![
        text("clientSecret"),
        text("password"),
        std::fs::read_to_string(data.join("admin-token")).unwrap(),
    ];

    // Identity commands on the same data dir while the server runs.
    let o = bin()
        .args([
            "user",
            "create",
            "--tenant",
            &text("tenantId"),
            "--username",
            "cli@x.test",
            "--role",
            "ReportViewer",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"a cli password\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    secrets.push("a cli password".into());
    let o = bin()
        .args([
            "app",
            "create",
            "--tenant",
            &text("tenantId"),
            "--name",
            "cli app",
            "--role",
            "ReportViewer",
            "--api",
            "insights",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let app: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (cli_client, cli_secret) = (
        app[0]["clientId"].as_str().unwrap().to_string(),
        app[0]["clientSecret"].as_str().unwrap().to_string(),
    );
    secrets.push(cli_secret.clone());
    let listed = bin()
        .args(["app", "list", "--tenant", &text("tenantId"), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&cli_secret));

    // Token flows: client credentials (the CLI-made app), password with
    // openid, refresh; a failed attempt; API calls with the tokens.
    let token_url = text("tokenUrl");
    let cc = form(
        &http,
        &token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &cli_client),
            ("client_secret", &cli_secret),
            ("resource", INSIGHTS),
        ],
    )
    .await;
    let access = cc["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{cc}"))
        .to_string();
    let pw = form(
        &http,
        &token_url,
        &[
            ("grant_type", "password"),
            ("client_id", &text("clientId")),
            ("client_secret", &text("clientSecret")),
            ("username", "cli@x.test"),
            ("password", "a cli password"),
            ("resource", INSIGHTS),
            ("scope", "openid"),
        ],
    )
    .await;
    let refresh = pw["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{pw}"))
        .to_string();
    let rf = form(
        &http,
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &text("clientId")),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    let bad = form(
        &http,
        &token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &cli_client),
            ("client_secret", "WrongSecretValue123"),
            ("resource", INSIGHTS),
        ],
    )
    .await;
    assert_eq!(bad["error"], "invalid_client");
    secrets.push("WrongSecretValue123".into());
    for t in [
        &access,
        pw["access_token"].as_str().unwrap(),
        rf["access_token"].as_str().unwrap(),
    ] {
        let res = http
            .get(format!("{}/insights/v1/mpn/ScheduledQueries", s.url))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        secrets.push(t.to_string());
    }
    secrets.push(refresh);
    secrets.push(rf["refresh_token"].as_str().unwrap().to_string());
    secrets.push(pw["id_token"].as_str().unwrap().to_string());

    // Key rotation from the CLI: old tokens keep working, new ones use the new key.
    let o = bin()
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kid = serde_json::from_slice::<Value>(&o.stdout).unwrap()[0]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = http
        .get(format!("{}/insights/v1/mpn/ScheduledDataset", s.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let fresh = form(
        &http,
        &token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &cli_client),
            ("client_secret", &cli_secret),
            ("resource", INSIGHTS),
        ],
    )
    .await;
    let fresh = fresh["access_token"].as_str().unwrap().to_string();
    let header: Value = {
        use base64::Engine as _;
        let h = fresh.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["kid"], kid.as_str());
    secrets.push(fresh);

    // SIGTERM: a clean exit.
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut waited = 0;
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            waited < 200,
            "the server did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    };
    assert!(status.success(), "{status:?}");

    // The whole debug log: requests were logged, secrets were not.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("correlation_id"),
        "no request lines in the log"
    );
    assert!(text.contains("token issued"));
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret or token is in the log: {}…",
            &secret[..secret.len().min(8)]
        );
    }
}

/// On SIGTERM a replica first fails `/readyz` (still serving everything
/// else, so a load balancer can move away), then after `drain_secs` stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_fails_readiness_first_then_drains_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-demo",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("OPENINSIGHTS__DRAIN_SECS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    let s = Serve { child, url };
    let http = reqwest::Client::new();
    let ready = http.get(format!("{}/readyz", s.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let sent = std::time::Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &s.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let draining = http.get(format!("{}/readyz", s.url)).send().await.unwrap();
    assert_eq!(draining.status(), 503);
    let body: Value = draining.json().await.unwrap();
    assert_eq!(body["reason"], "the replica is shutting down");
    let health = http.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!(health.status(), 200, "still serving while draining");
    let mut s = s;
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        sent.elapsed() >= Duration::from_secs(2),
        "stopped before the drain delay"
    );
}
