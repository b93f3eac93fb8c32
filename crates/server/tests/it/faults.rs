//! Fault rules over real HTTP: each rule kind on each API in that API's
//! own error shape and headers, `count`, a seeded `probability` that
//! repeats, a reset connection, latency, Failed executions and failing
//! callbacks, and the journal naming the rule that fired.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";
const APP: &str = "9NBLGGH4R315";

async fn add(s: &TestServer, rule: Value) -> Value {
    let a = s
        .call(
            Method::POST,
            "/admin/v1/faults",
            Some(&s.admin),
            Some(rule.clone()),
        )
        .await;
    assert_eq!(a.status, 200, "{rule}: {}", a.body);
    a.body
}

async fn clear(s: &TestServer) {
    let a = s
        .call(Method::DELETE, "/admin/v1/faults", Some(&s.admin), None)
        .await;
    assert_eq!(a.status, 200);
}

async fn store_get(s: &TestServer, token: &str, method: &str) -> Answer {
    s.get(
        &format!("/v1.0/my/analytics/{method}?applicationId={APP}"),
        token,
    )
    .await
}

#[tokio::test]
async fn rules_are_listed_counted_and_removed() {
    let s = TestServer::start_with(Db::Sqlite, |c| c.demo = false).await;
    let rule = add(&s, json!({"api": "insights", "status": 503, "count": 2})).await;
    let id = rule["id"].as_str().unwrap().to_string();
    assert_eq!(rule["hits"], 0);
    assert_eq!(rule["remaining"], 2);
    assert_eq!(rule["api"], "insights");
    let listed = s.get("/admin/v1/faults", &s.admin).await;
    assert_eq!(listed.body["value"][0]["id"], id.as_str());
    for (rule, needle) in [
        (json!({"api": "insights"}), "needs one action"),
        (
            json!({"api": "insights", "status": 418}),
            "use 429, 401, 500, 503 or 504",
        ),
        (json!({"api": "ftp", "status": 503}), "unknown variant"),
        (
            json!({"api": "store", "status": 503, "probability": 1.5}),
            "probability must be",
        ),
    ] {
        let a = s
            .call(
                Method::POST,
                "/admin/v1/faults",
                Some(&s.admin),
                Some(rule.clone()),
            )
            .await;
        assert!(a.error(400).contains(needle), "{rule}: {}", a.body);
    }
    let a = s
        .call(
            Method::DELETE,
            "/admin/v1/faults/f999",
            Some(&s.admin),
            None,
        )
        .await;
    a.error(404);
    let a = s
        .call(
            Method::DELETE,
            &format!("/admin/v1/faults/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        s.get("/admin/v1/faults", &s.admin).await.body["value"],
        json!([])
    );
    let a = s.call(Method::GET, "/admin/v1/faults", None, None).await;
    a.error(401);
}

#[tokio::test]
async fn insights_store_and_token_faults_answer_in_each_apis_shape() {
    let s = TestServer::start(Db::Sqlite).await;
    let tenant = s.tenant();
    let token = s.demo_token().await;
    let store_token = s
        .app_token(&tenant, &s.cred("clientId"), &s.cred("clientSecret"), STORE)
        .await;

    // Insights 429 with Retry-After, the envelope and the rate headers,
    // for the next two calls only.
    let rule = add(&s, json!({"api": "insights", "path": "/insights/v1/mpn/scheduledqueries", "status": 429, "retryAfter": 7, "count": 2})).await;
    for _ in 0..2 {
        let a = s.get(Q, &token).await;
        assert!(a.error(429).contains("retry after 7 s"), "{}", a.body);
        assert_eq!(a.headers["retry-after"], "7");
        assert_eq!(a.headers["x-ratelimit-remaining"], "0");
    }
    assert_eq!(s.get(Q, &token).await.status, 200, "count honoured");
    let listed = s.get("/admin/v1/faults", &s.admin).await;
    assert_eq!(listed.body["value"][0]["hits"], 2);
    assert_eq!(listed.body["value"][0]["remaining"], 0);
    // The journal names the rule.
    let journal = s
        .get(
            &format!("/admin/v1/tenants/{tenant}/journal?limit=3"),
            &s.admin,
        )
        .await;
    let faulted: Vec<&Value> = journal.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fault"] == rule["id"])
        .collect();
    assert_eq!(faulted.len(), 2, "{}", journal.body);
    // And counted for the operator.
    let metrics = s
        .http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("openinsights_faults_injected_total{api=\"insights\"} 2"),
        "{metrics}"
    );
    clear(&s).await;

    // 401 as an expired token: what a real expired token gets.
    add(&s, json!({"api": "insights", "status": 401, "count": 1})).await;
    let a = s.get(Q, &token).await;
    assert!(a.error(401).contains("the token has expired"), "{}", a.body);

    // The Store API: 504 on failurehits only, in its §1.7 shape.
    add(
        &s,
        json!({"api": "store", "path": "*/FAILUREHITS", "status": 504}),
    )
    .await;
    let a = store_get(&s, &store_token, "failurehits").await;
    assert_eq!(a.status, 504, "{}", a.body);
    assert_eq!(a.body["source"], "AnalyticsAPI", "{}", a.body);
    assert!(a.body["code"].is_string() && a.body["message"].is_string());
    assert_eq!(
        store_get(&s, &store_token, "appacquisitions").await.status,
        200
    );
    clear(&s).await;

    // The token endpoint: OAuth2 errors with Retry-After.
    add(
        &s,
        json!({"api": "token", "status": 503, "retryAfter": 3, "count": 1}),
    )
    .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &s.cred("clientId")),
        ("client_secret", &s.cred("clientSecret")),
        ("resource", INSIGHTS),
    ];
    let a = s.token_request(&tenant, true, &form).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.body["error"], "temporarily_unavailable");
    assert_eq!(a.headers["retry-after"], "3");
    add(&s, json!({"api": "token", "status": 500, "count": 1})).await;
    let a = s.token_request(&tenant, false, &form).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body["error"], "server_error");
    assert_eq!(s.token_request(&tenant, false, &form).await.status, 200);

    // Latency, then a closed connection.
    add(&s, json!({"api": "insights", "latencyMs": 400, "count": 1})).await;
    let started = Instant::now();
    assert_eq!(s.get(Q, &token).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    add(&s, json!({"api": "insights", "reset": true, "count": 1})).await;
    let reset = async {
        let res = s
            .http
            .get(format!("{}{Q}", s.url))
            .bearer_auth(&token)
            .send()
            .await?;
        res.bytes().await
    }
    .await;
    assert!(reset.is_err(), "a reset connection answered {reset:?}");
    assert_eq!(s.get(Q, &token).await.status, 200);
}

#[tokio::test]
async fn a_seeded_probability_gives_the_same_sequence_twice() {
    let s = TestServer::start(Db::Sqlite).await;
    let token = s.demo_token().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        add(
            &s,
            json!({"api": "insights", "status": 503, "probability": 0.5, "seed": 7}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(s.get(Q, &token).await.status.as_u16());
        }
        clear(&s).await;
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    let failed = runs[0].iter().filter(|s| **s == 503).count();
    assert!((4..=20).contains(&failed), "{:?}", runs[0]);
}

#[tokio::test]
async fn executions_and_callbacks_fail_as_told() {
    let s = TestServer::start_with(Db::Sqlite, |c| {
        c.min_start_lead = "0s".into();
        c.callbacks.allow_private = true;
    })
    .await;
    let token = s.demo_token().await;
    let q = s
        .post(Q, &token, json!({"Name": "q", "Query": "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS"}))
        .await;
    let qid = q.first()["queryId"].as_str().unwrap().to_string();
    let rule = add(&s, json!({"api": "execution", "outcome": "Failed", "failureReason": "Injected: the warehouse is down", "count": 1})).await;
    let r = s
        .post(
            R,
            &token,
            json!({"ReportName": "fails", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let failed = wait_for_status(&s, &token, &rid, "Failed").await;
    assert_eq!(failed["failureReason"], "Injected: the warehouse is down");
    assert_eq!(
        s.get("/admin/v1/faults", &s.admin).await.body["value"][0]["hits"],
        1
    );
    assert_eq!(rule["remaining"], 1);

    // A callback that fails is retried as a real failure would be.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    add(&s, json!({"api": "callback", "fail": true})).await;
    let r = s
        .post(R, &token, json!({"ReportName": "calls back", "QueryId": qid, "ExecuteNow": true, "CallbackUrl": hook, "CallbackMethod": "POST"}))
        .await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let done = wait_for_status(&s, &token, &rid, "Completed").await;
    let execution = done["executionId"].as_str().unwrap().to_string();
    // A download fault: the envelope's 503 with Retry-After, once.
    add(
        &s,
        json!({"api": "download", "status": 503, "retryAfter": 2, "count": 1}),
    )
    .await;
    let link = done["reportAccessSecureLink"].as_str().unwrap().to_string();
    let a = answer(s.http.get(&link).send().await.unwrap()).await;
    a.error(503);
    assert_eq!(a.headers["retry-after"], "2");
    assert_eq!(s.http.get(&link).send().await.unwrap().status(), 200);
    let mut last_error = None;
    for _ in 0..100 {
        let deliveries = s.state().store.deliveries(&execution).await.unwrap();
        if let Some(d) = deliveries.first()
            && d.attempts >= 1
            && d.last_error.is_some()
        {
            last_error = d.last_error.clone();
            assert_eq!(d.status, "Pending", "a failed delivery is retried");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last_error = last_error.expect("the delivery was attempted");
    assert!(last_error.contains("injected fault"), "{last_error}");
    drop(listener);
}

async fn wait_for_status(s: &TestServer, token: &str, rid: &str, status: &str) -> Value {
    for _ in 0..200 {
        let a = s
            .get(
                &format!("{R}/execution/{rid}?getLatestExecution=false"),
                token,
            )
            .await;
        if let Some(e) = a.body["value"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["executionStatus"] == status))
        {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {status} execution of {rid}");
}
