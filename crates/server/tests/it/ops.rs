//! The operator's endpoints: `/readyz` follows the metadata store and the
//! process's own shutdown, `/metrics` moves with traffic and is readable
//! only by whom `metrics.access` allows.

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use store::testing::Link;

use crate::support::*;

async fn readyz(server: &TestServer) -> (StatusCode, serde_json::Value) {
    let a = answer(
        server
            .http
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    (a.status, a.body)
}

/// Waits (up to 15 s) until `/readyz` answers `want`.
async fn readyz_becomes(server: &TestServer, want: StatusCode) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..60 {
        let (status, body) = readyz(server).await;
        if status == want {
            return body;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("/readyz never answered {want}; last: {last}");
}

#[tokio::test]
async fn readyz_follows_the_database_and_shutdown() {
    let (mut link, through_link) = Link::to_postgres(&store::testing::postgres_url().await).await;
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.database_url = Some(through_link.clone());
    })
    .await;
    let body = readyz_becomes(&server, StatusCode::OK).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["metadataStore"], "ok");
    assert_eq!(body["objectStore"], "ok");

    link.cut();
    let body = readyz_becomes(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("metadata store"),
        "{body}"
    );
    // Liveness is not readiness: the process still answers.
    let health = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    link.restore().await;
    readyz_becomes(&server, StatusCode::OK).await;

    // Asked to stop, a replica fails readiness before it stops serving.
    server.state().draining.store(true, Ordering::Relaxed);
    let body = readyz_becomes(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["reason"], "the replica is shutting down");
}

fn sample(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(line_start))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_move_with_traffic() {
    let server = TestServer::start(Db::Sqlite).await;
    let scrape = || async {
        let res = server
            .http
            .get(format!("{}/metrics", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        res.text().await.unwrap()
    };
    let before = scrape().await;
    let token = server.demo_token().await;
    for _ in 0..3 {
        let a = server
            .get("/insights/v1/mpn/ScheduledDataset", &token)
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let store_token = server
        .app_token(
            &server.tenant(),
            &server.cred("clientId"),
            &server.cred("clientSecret"),
            STORE,
        )
        .await;
    let app = server.creds["storeApplicationIds"][0]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let a = server
            .get(
                &format!("/v1.0/my/analytics/appacquisitions?applicationId={app}"),
                &store_token,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    let after = scrape().await;
    let requests = "openinsights_http_requests_total{api=\"insights\",operation=\"GET /insights/v1/mpn/scheduleddataset\",status=\"200\"}";
    assert_eq!(sample(&before, requests), 0.0);
    assert_eq!(sample(&after, requests), 3.0, "{after}");
    let hits = "openinsights_cache_requests_total{cache=\"store_answers\",result=\"hit\"}";
    let misses = "openinsights_cache_requests_total{cache=\"store_answers\",result=\"miss\"}";
    assert_eq!(sample(&after, misses), 1.0, "{after}");
    assert_eq!(sample(&after, hits), 1.0, "{after}");
    assert!(
        sample(
            &after,
            "openinsights_query_duration_seconds_count{kind=\"store\"}"
        ) >= 1.0
    );
    let store = "openinsights_http_requests_total{api=\"store\",operation=\"GET /v1.0/my/analytics/appacquisitions\",status=\"200\"}";
    assert_eq!(sample(&after, store), 2.0, "{after}");
    assert!(sample(&after, "openinsights_http_request_duration_seconds_count") >= 5.0);
    for family in [
        "openinsights_executions_pending",
        "openinsights_scheduler_lag_seconds",
        "# TYPE openinsights_data_loads counter",
        "# TYPE openinsights_callback_deliveries counter",
        "# TYPE openinsights_executions counter",
    ] {
        assert!(after.contains(family), "{family} missing:\n{after}");
    }
    // Path text never becomes a label: unknown paths are one series.
    let _ = server
        .http
        .get(format!("{}/no/such/{}", server.url, "x".repeat(40)))
        .send()
        .await
        .unwrap();
    assert!(!scrape().await.contains("xxxxxxxx"));
}

#[tokio::test]
async fn metrics_are_private_behind_a_proxy() {
    let server = TestServer::start_with(Db::Sqlite, |c| c.demo = false).await;
    // On loopback, but forwarded by a proxy: another machine's caller.
    let res = server
        .http
        .get(format!("{}/metrics", server.url))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = server
        .http
        .get(format!("{}/metrics", server.url))
        .header("X-Forwarded-For", "203.0.113.9")
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let admin_only = TestServer::start_with(Db::Sqlite, |c| {
        c.demo = false;
        c.metrics.access = server::config::MetricsAccess::Admin;
    })
    .await;
    let res = admin_only
        .http
        .get(format!("{}/metrics", admin_only.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
