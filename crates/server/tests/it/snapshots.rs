//! Reset and snapshots: a snapshot restores queries, reports, executions
//! and report files exactly (ids, SHA-256 of the downloaded file) on
//! SQLite and PostgreSQL, with local storage and an S3 bucket; a reset
//! leaves the demo tenant with its demo data and nothing else.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::*;

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";

async fn completed_execution(s: &TestServer, token: &str, rid: &str) -> Value {
    for _ in 0..300 {
        let a = s
            .get(
                &format!("{R}/execution/{rid}?getLatestExecution=false"),
                token,
            )
            .await;
        if let Some(e) = a.body["value"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["executionStatus"] == "Completed"))
        {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{rid} never completed");
}

async fn download_sha(s: &TestServer, link: &str) -> String {
    use sha2::Digest;
    let bytes = s
        .http
        .get(link)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    hex::encode(sha2::Sha256::digest(&bytes))
}

async fn ids(s: &TestServer, token: &str, path: &str, key: &str) -> Vec<String> {
    let a = s.get(path, token).await;
    let mut ids: Vec<String> = a.body["value"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn admin_post(s: &TestServer, path: &str, body: Value) -> Answer {
    s.call(Method::POST, path, Some(&s.admin), Some(body)).await
}

/// The tenant to snapshot: the demo tenant, or (`demo` false) a new one
/// with a few rows loaded through the data API.
async fn subject(s: &TestServer, demo: bool) -> (String, String) {
    if demo {
        return (s.tenant(), s.demo_token().await);
    }
    let (tenant, client, secret) = s.new_tenant("ExecutiveReportViewer").await;
    let rows: String = (0..50)
        .map(|i| {
            format!(
                "c{i},{},{i}\n",
                (today() - chrono::Duration::days(40)).format("%Y-%m-01")
            )
        })
        .collect();
    let a = s
        .http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/datasets/OfficeUsage/rows",
            s.url
        ))
        .bearer_auth(&s.admin)
        .header("Content-Type", "text/csv")
        .body(format!("CustomerName,Month,MonthlyActiveUsers\n{rows}"))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 200);
    let token = s.app_token(&tenant, &client, &secret, INSIGHTS).await;
    (tenant, token)
}

async fn round_trip(s: &TestServer, demo: bool) {
    let (tenant, token) = subject(s, demo).await;
    let q = s
        .post(Q, &token, json!({"Name": "kept", "Query": "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS"}))
        .await;
    let qid = q.first()["queryId"].as_str().unwrap().to_string();
    let r = s
        .post(
            R,
            &token,
            json!({"ReportName": "kept", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let done = completed_execution(s, &token, &rid).await;
    let link = done["reportAccessSecureLink"].as_str().unwrap().to_string();
    let sha = done["sha256"].as_str().unwrap().to_string();
    assert_eq!(download_sha(s, &link).await, sha);
    let queries_before = ids(
        s,
        &token,
        &format!("{Q}?includeSystemQueries=false"),
        "queryId",
    )
    .await;
    let reports_before = ids(s, &token, R, "reportId").await;

    let saved = admin_post(
        s,
        &format!("/admin/v1/tenants/{tenant}/snapshots"),
        json!({"name": "baseline"}),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["queries"], 1);
    assert_eq!(saved.body["reports"], 1);
    assert!(saved.body["objects"].as_u64().unwrap() > 1);
    let again = admin_post(
        s,
        &format!("/admin/v1/tenants/{tenant}/snapshots"),
        json!({"name": "baseline"}),
    )
    .await;
    assert!(
        again.error(409).contains("already has a snapshot"),
        "{}",
        again.body
    );
    let bad = admin_post(
        s,
        &format!("/admin/v1/tenants/{tenant}/snapshots"),
        json!({"name": "../x"}),
    )
    .await;
    bad.error(400);

    // Change everything: a new query, the report deleted, a reset.
    s.post(
        Q,
        &token,
        json!({"Name": "later", "Query": "SELECT CustomerName FROM OfficeUsage"}),
    )
    .await;
    let a = s
        .call(Method::DELETE, &format!("{R}/{rid}"), Some(&token), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let reset = admin_post(s, &format!("/admin/v1/tenants/{tenant}/reset"), json!({})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(
        ids(
            s,
            &token,
            &format!("{Q}?includeSystemQueries=false"),
            "queryId"
        )
        .await
        .is_empty()
    );
    // The demo tenant keeps its demo data after a reset; another is empty.
    let preview = s
        .get(&format!("{Q}/testQueryResult?exportQuery=SELECT+CustomerName+FROM+OfficeUsage+TIMESPAN+LAST_6_MONTHS"), &token)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let rows = preview.body["value"].as_array().unwrap().len();
    assert_eq!(rows > 0, demo, "{rows} rows after the reset");

    // Restore: the same ids, the same file.
    let restored = admin_post(
        s,
        &format!("/admin/v1/tenants/{tenant}/snapshots/baseline/restore"),
        json!({}),
    )
    .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(
        ids(
            s,
            &token,
            &format!("{Q}?includeSystemQueries=false"),
            "queryId"
        )
        .await,
        queries_before
    );
    assert_eq!(ids(s, &token, R, "reportId").await, reports_before);
    let back = completed_execution(s, &token, &rid).await;
    assert_eq!(back["executionId"], done["executionId"]);
    assert_eq!(back["sha256"], sha.as_str());
    assert_eq!(
        download_sha(s, back["reportAccessSecureLink"].as_str().unwrap()).await,
        sha,
        "the restored file is byte-exact"
    );
    let listed = s
        .get(&format!("/admin/v1/tenants/{tenant}/snapshots"), &s.admin)
        .await;
    assert_eq!(
        listed.body["value"][0]["name"], "baseline",
        "{}",
        listed.body
    );
    let missing = admin_post(
        s,
        &format!("/admin/v1/tenants/{tenant}/snapshots/nope/restore"),
        json!({}),
    )
    .await;
    missing.error(404);
    let other = admin_post(s, "/admin/v1/tenants/nobody/reset", json!({})).await;
    other.error(404);
}

on_both!(a_snapshot_round_trips_exactly, |db| {
    let s = TestServer::start_with(db, |c| c.min_start_lead = "0s".into()).await;
    round_trip(&s, true).await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_round_trips_on_a_bucket() {
    let moto = engine::testing::start_moto("snapshots");
    let endpoint = moto.endpoint.clone();
    let s = TestServer::start_with(Db::Postgres, |c| {
        c.min_start_lead = "0s".into();
        c.demo = false;
        c.storage.s3_bucket = Some("snapshots".into());
        c.storage.s3_endpoint = Some(endpoint);
        c.storage.s3_region = Some("us-east-1".into());
        c.storage.s3_access_key_id = Some("test".into());
        c.storage.s3_secret_access_key = Some("test".into());
    })
    .await;
    round_trip(&s, false).await;
}
