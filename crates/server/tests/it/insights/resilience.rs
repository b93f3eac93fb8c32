//! The rate limit, panics and an unreachable metadata store: clear
//! answers, and the server keeps serving.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_rate_limit() {
    let s = TestServer::start_with(Db::Sqlite, |c| {
        c.rate_limit.burst = 3;
        c.rate_limit.per_second = 0.01;
    })
    .await;
    let t = s.demo_token().await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let a = s.get("/insights/v1/mpn/ScheduledDataset", &t).await;
        assert_eq!(a.status, 200);
        remaining.push(
            a.headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = s.get("/insights/v1/mpn/ScheduledDataset", &t).await;
    assert!(refused.error(429).contains("Too many requests"));
    assert!(
        refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(refused.headers["x-ratelimit-limit"], "3");
}

#[tokio::test]
async fn panics_become_a_500_envelope_and_the_server_keeps_serving() {
    use axum::routing::get;
    use tower::ServiceExt;
    let app = axum::Router::new()
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .route("/fine", get(|| async { "fine" }))
        .layer(axum::middleware::from_fn(server::http::correlate));
    let req = |p: &str| {
        axum::http::Request::builder()
            .uri(p)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let res = app.clone().oneshot(req("/boom")).await.unwrap();
    assert_eq!(res.status(), 500);
    let id = res.headers()["ms-correlationid"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["statusCode"], 500);
    assert!(body["message"].as_str().unwrap().contains(&id));
    assert_eq!(app.oneshot(req("/fine")).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_a_503_and_the_server_recovers() {
    let url = store::testing::postgres_url().await;
    let db = url.rsplit('/').next().unwrap().to_string();
    let admin_url = url.replace(&db, "postgres");
    let s = TestServer::start_with(Db::Sqlite, |c| c.database_url = Some(url.clone())).await;
    let t = s.demo_token().await;
    assert_eq!(s.get(Q, &t).await.status, 200);
    // Cut the database off: no new connections, existing ones killed.
    let run = |sql: String| {
        let admin_url = admin_url.clone();
        async move {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut c = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
            sqlx::Executor::execute(&mut c, sqlx::AssertSqlSafe(sql))
                .await
                .unwrap();
        }
    };
    run(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    let a = s
        .post(
            Q,
            &t,
            json!({"Name": "n", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    assert!(
        a.error(503).contains("metadata store is unavailable"),
        "{}",
        a.body
    );
    // Back again: the same server answers without a restart.
    run(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    let mut ok = false;
    for _ in 0..50 {
        if s.post(
            Q,
            &t,
            json!({"Name": "n", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await
        .status
            == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ok, "the server did not recover");
}
