//! The OpenAPI document: served, matching the routes, valid, and shown
//! by Swagger UI in a real browser.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_and_swagger_ui_are_served_and_match_the_routes() {
    let s = TestServer::start(Db::Sqlite).await;
    let doc = s
        .call(
            Method::GET,
            "/insights/v1/mpn/swagger/swagger.json",
            None,
            None,
        )
        .await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/insights/v1/mpn/ScheduledDataset",
        "/insights/v1/mpn/ScheduledQueries",
        "/insights/v1/mpn/ScheduledQueries/{queryId}",
        "/insights/v1/mpn/ScheduledQueries/testQueryResult",
        "/insights/v1/mpn/ScheduledReport",
        "/insights/v1/mpn/ScheduledReport/{reportId}",
        "/insights/v1/mpn/ScheduledReport/pause/{reportId}",
        "/insights/v1/mpn/ScheduledReport/resume/{reportId}",
        "/insights/v1/mpn/ScheduledReport/execution/{reportId}",
        "/insights/v1/mpn/download/{executionId}",
        "/{tenant}/oauth2/token",
        "/{tenant}/oauth2/v2.0/token",
        "/{tenant}/discovery/keys",
        "/{tenant}/.well-known/openid-configuration",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    // Every documented operation exists: without a token it is refused
    // (401/403/400), never unknown (404 "No such endpoint") or 405.
    let mut operations = 0;
    for (path, item) in paths {
        for (method, _) in item.as_object().unwrap() {
            let concrete = path
                .replace("{queryId}", &uuid::Uuid::new_v4().to_string())
                .replace("{reportId}", &uuid::Uuid::new_v4().to_string())
                .replace("{executionId}", &uuid::Uuid::new_v4().to_string())
                .replace("{tenant}", &s.tenant());
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let a = s.call(m, &concrete, None, None).await;
            assert!(
                ![404, 405].contains(&a.status.as_u16())
                    || a.message().contains("not found")
                        && !a.message().contains("No such endpoint"),
                "{method} {path}: {} {}",
                a.status,
                a.body
            );
            operations += 1;
        }
    }
    let mut store_paths: Vec<&str> = query::storeapi::methods::METHODS
        .iter()
        .map(|m| m.path)
        .collect();
    store_paths.dedup();
    for p in &store_paths {
        let item = &paths[&format!("/v1.0/my/analytics/{p}")];
        assert!(
            item["get"]["parameters"].as_array().unwrap().len() >= 5,
            "{p}"
        );
    }
    assert_eq!(
        paths["/v1.0/my/analytics/appacquisitions"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["properties"]["Value"]["items"]["properties"]["acquisitionQuantity"]["type"]
            [0],
        "integer"
    );
    assert_eq!(operations, 19 + store_paths.len());
    // Every response schema the document names is defined.
    let schemas = doc.body["components"]["schemas"].as_object().unwrap();
    for name in [
        "DatasetItem",
        "QueryItem",
        "ReportItem",
        "ExecutionItem",
        "TokenResponseV1",
        "TokenError",
        "CreateReportRequest",
        "StoreError",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    let ui = s
        .http
        .get(format!("{}/insights/v1/mpn/swagger/index.html", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger-ui"));
    let init = s
        .http
        .get(format!(
            "{}/insights/v1/mpn/swagger/swagger-initializer.js",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert!(
        init.text()
            .await
            .unwrap()
            .contains("/insights/v1/mpn/swagger/swagger.json")
    );
}

/// Swagger UI in a real headless Chromium (Debian's package; `.ci/run`
/// installs it when missing): the page renders every operation, and a
/// screenshot is written to the target directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_lists_the_operations_in_headless_chromium() {
    let s = TestServer::start(Db::Sqlite).await;
    let url = format!("{}/insights/v1/mpn/swagger/index.html", s.url);
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("Chromium is not installed: apt-get install -y chromium (the CI script does)");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--virtual-time-budget=15000",
    ];
    let run = |extra: Vec<String>| {
        let browser = browser.to_string();
        let mut args: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        args.extend(extra);
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(browser)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let dom = run(vec!["--dump-dom".into(), url.clone()]).await.unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    for op in [
        "/insights/v1/mpn/ScheduledQueries",
        "/insights/v1/mpn/ScheduledReport/execution/{reportId}",
        "/{tenant}/oauth2/token",
        "/v1.0/my/analytics/appacquisitions",
        "/v1.0/my/analytics/gameanalytics",
    ] {
        assert!(
            html.contains(op),
            "Swagger UI does not list {op}:\n{}",
            &html[..html.len().min(2000)]
        );
    }
    assert!(
        html.matches("opblock-summary-method").count() >= 19 + 40,
        "fewer operations than documented"
    );
    let shot = option_env!("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("swagger-ui.png");
    let _ = std::fs::remove_file(&shot);
    let out = run(vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,2400".into(),
        url,
    ])
    .await
    .unwrap();
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot {} bytes",
        png.len()
    );
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());
}

/// The served document passes a real OpenAPI validator
/// (`openapi-spec-validator` from PyPI, installed into a venv under the
/// target directory on first use).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_passes_a_validator() {
    let s = TestServer::start_with(Db::Sqlite, |c| c.demo = false).await;
    let doc = s
        .http
        .get(format!("{}/insights/v1/mpn/swagger/swagger.json", s.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc).unwrap();
    let validator = tokio::task::spawn_blocking(|| {
        engine::testing::python_venv("openapi-venv", "openapi-spec-validator")
            .join("bin/openapi-spec-validator")
    })
    .await
    .unwrap();
    let out = std::process::Command::new(validator)
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("OK"), "{text}");
}
