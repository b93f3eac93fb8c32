//! The web console: its page and assets over HTTP (policy, caching,
//! compression), its extension API's rules (who may call, what it
//! answers), and the whole console in headless Chromium driven by
//! Playwright (`console/tests/e2e.mjs`: sign-in, datasets, the editor's
//! live diagnostics and completion, preview table and chart, saving, a
//! run-now report downloaded and compared with the API's file, Store
//! dashboards, a ReportViewer's redaction, axe-core on every page).

use std::path::PathBuf;
use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::support::{Db, STORE, TestServer};

fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../console")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_assets_carry_the_policy_and_cache_headers() {
    let s = TestServer::start(Db::Sqlite).await;
    let res = s
        .http
        .get(format!("{}/console/", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let page = res.text().await.unwrap();
    let script = page
        .split("src=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(
        script.starts_with("assets/") && script.ends_with("js/main.mjs"),
        "{script}"
    );

    // Assets: immutable, gzip when asked, revalidated by ETag.
    let asset = format!("{}/console/{script}", s.url);
    let res = s
        .http
        .get(&asset)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let etag = res.headers()["etag"].clone();
    let again = s
        .http
        .get(&asset)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Another build's address, or a path outside the files: 404.
    for path in [
        script.replacen("assets/", "assets/0000", 1),
        script.replace("js/main.mjs", "../../../Cargo.toml"),
        script.replace("js/main.mjs", "index.html"),
    ] {
        let res = s
            .http
            .get(format!("{}/console/{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    // `/console` goes to `/console/`, so relative addresses resolve.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirect
        .get(format!("{}/console", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "console/");
    // The demo credentials point at it.
    assert_eq!(s.cred("consoleUrl"), format!("{}/console/", s.url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_api_keeps_the_api_rules() {
    let s = TestServer::start(Db::Sqlite).await;
    let token = s.demo_token().await;
    let check = |token: Option<String>, body: serde_json::Value| {
        let s = &s;
        async move {
            s.call(
                Method::POST,
                "/console/api/check",
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    // No token: the Insights API's 401.
    let a = check(None, json!({"query": "SELECT"})).await;
    assert_eq!(a.status, 401, "{}", a.body);
    // A Store token is the wrong audience.
    let store = s
        .app_token(
            &s.tenant(),
            &s.cred("clientId"),
            &s.cred("clientSecret"),
            STORE,
        )
        .await;
    assert_eq!(
        check(Some(store.clone()), json!({"query": "SELECT"}))
            .await
            .status,
        401
    );
    // Diagnostics with spans and the suggestion; completions at the cursor.
    let a = check(
        Some(token.clone()),
        json!({"query": "SELECT CustomerNme FROM CustomersAndTenants", "cursor": 14}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["valid"], false);
    let d = &a.body["diagnostics"][0];
    assert_eq!(
        (d["start"].as_u64(), d["end"].as_u64()),
        (Some(7), Some(18))
    );
    assert_eq!(d["suggestion"], "CustomerName");
    assert_eq!(d["code"], "unknown_column");
    assert_eq!(a.body["completions"][0]["label"], "CustomerName");
    assert_eq!(a.body["replaceStart"], 7);
    // A valid query: its columns in SELECT order.
    let a = check(
        Some(token.clone()),
        json!({"query": "SELECT Month, CustomerName FROM CustomersAndTenants"}),
    )
    .await;
    assert_eq!(a.body["valid"], true);
    assert_eq!(a.body["columns"], json!(["Month", "CustomerName"]));
    // A bad body names what is expected; a huge query is bounded by the
    // query crate (64 KiB), the body by the server's limit.
    let a = s
        .http
        .post(format!("{}/console/api/check", s.url))
        .bearer_auth(&token)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 400);
    assert!(a.text().await.unwrap().contains("\\\"query\\\""));
    let huge = "x".repeat(100_000);
    let a = check(
        Some(token.clone()),
        json!({"query": huge, "cursor": 99_999}),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["diagnostics"][0]["code"], "query_too_long");
    assert_eq!(a.body["completions"], json!([]));

    // A ReportViewer is told it may not filter on a restricted column.
    let viewer = s.token_with_roles("ReportViewer").await;
    let q =
        json!({"query": "SELECT CustomerName FROM CustomersAndTenants WHERE BilledRevenueUSD > 1"});
    assert_eq!(
        check(Some(token.clone()), q.clone()).await.body["valid"],
        true
    );
    let a = check(Some(viewer), q).await;
    assert_eq!(a.body["diagnostics"][0]["code"], "restricted");

    // The catalog, with types and restricted marks.
    let a = s.get("/console/api/datasets", &token).await;
    let ct = a.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["datasetName"] == "CustomersAndTenants")
        .unwrap();
    let revenue = ct["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "BilledRevenueUSD")
        .unwrap();
    assert_eq!(revenue["restricted"], true);
    assert_eq!(revenue["definition"], "sum(BilledRevenueUSD)");

    // Deliveries: another tenant's report is answered like an unknown one.
    let (other, client, secret) = s.new_tenant("ExecutiveReportViewer").await;
    let other_token = s
        .app_token(&other, &client, &secret, crate::support::INSIGHTS)
        .await;
    let system = s
        .get(
            "/insights/v1/mpn/ScheduledQueries?includeOnlySystemQueries=true",
            &token,
        )
        .await;
    let query_id = system.first()["queryId"].as_str().unwrap().to_string();
    let created = s
        .post(
            "/insights/v1/mpn/ScheduledReport",
            &token,
            json!({"ReportName": "r", "QueryId": query_id, "ExecuteNow": true}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let report = created.first()["reportId"].as_str().unwrap().to_string();
    let path = format!("/console/api/reports/{report}/deliveries");
    let mine = s.get(&path, &token).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["value"], json!([]));
    let theirs = s.get(&path, &other_token).await;
    assert_eq!(theirs.status, 404);
    let unknown = s
        .get("/console/api/reports/nope/deliveries", &other_token)
        .await;
    assert_eq!(
        unknown.body["message"],
        theirs.body["message"]
            .as_str()
            .unwrap()
            .replace(&report, "nope")
    );

    // Store products: a Store token only.
    let a = s.get("/console/api/store/products", &store).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["value"].as_array().unwrap().len() >= 3);
    assert_eq!(
        s.get("/console/api/store/products", &token).await.status,
        401
    );
}

/// Installs the browser tests' packages once per test binary: `npm ci`
/// from the lockfile, then the check that the committed chart library is
/// the lockfile's, byte for byte.
fn npm_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        let npm = |args: &[&str]| {
            let out = Command::new("npm")
                .args(args)
                .current_dir(console_dir())
                .output()
                .expect("npm is not installed: apt-get install -y nodejs npm (the CI script does)");
            assert!(
                out.status.success(),
                "npm {args:?} failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        npm(&["run", "--silent", "vendor:check"]);
    });
}

/// Runs `console/tests/e2e.mjs` against `s` with a ReportViewer of the demo
/// tenant; `extra` adds environment variables (`RENEWAL`). Artifacts go
/// to `<target>/tmp/<artifacts>`.
async fn run_browser(s: &TestServer, artifacts: &str, extra: &[(&str, &str)]) {
    let viewer_name = format!("viewer-{artifacts}@demo.openinsights.test");
    let user = s
        .call(
            Method::POST,
            &format!("/admin/v1/tenants/{}/users", s.tenant()),
            Some(&s.admin),
            Some(json!({"username": viewer_name, "roles": "ReportViewer"})),
        )
        .await;
    assert_eq!(user.status, 200, "{}", user.body);
    let viewer = json!({"username": viewer_name, "password": user.first()["password"]});
    let work = tempfile::tempdir().unwrap();
    let creds = work.path().join("demo-credentials.json");
    std::fs::write(&creds, serde_json::to_vec(&s.creds).unwrap()).unwrap();
    let artifacts = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(artifacts);
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .expect("Chromium is not installed: apt-get install -y chromium (the CI script does)");
    let url = format!("{}/console/", s.url);
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/e2e.mjs")
            .current_dir(console_dir())
            .env("CONSOLE_URL", url)
            .env("CREDS", creds)
            .env("VIEWER", viewer.to_string())
            .env("ARTIFACTS", &artifacts)
            .env("CHROMIUM", which(browser))
            .envs(extra)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the console's browser tests failed:\n{stderr}\n{stdout}"
    );
}

/// The console in a real browser. Needs Node.js and npm (on the machine;
/// `.ci/run` installs Debian's when missing), `npm ci` from the lockfile
/// (playwright-core, axe-core, chart.js), and Debian's Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_end_to_end_in_headless_chromium() {
    npm_ready();
    let s = TestServer::start(Db::Sqlite).await;
    run_browser(&s, "console-e2e", &[]).await;
}

/// Tokens that live a minute are renewed by the console (refresh grants,
/// one per API) and the renewed ones work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_renews_its_tokens_before_they_expire() {
    npm_ready();
    let s = TestServer::start_with(Db::Sqlite, |c| c.tokens.lifetime_secs = 60).await;
    run_browser(&s, "console-renewal", &[("RENEWAL", "1")]).await;
}

/// The absolute path of a program on PATH.
fn which(program: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .map_or_else(|| program.to_string(), |p| p.display().to_string())
}
