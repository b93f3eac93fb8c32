//! The request journal: a tenant's calls newest first, with what a client
//! developer needs (path, masked query, status, latency, correlation id,
//! client, sizes) and never a token, secret or link signature.

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

async fn journal(s: &TestServer, tenant: &str, query: &str) -> Vec<Value> {
    let a = s
        .get(
            &format!("/admin/v1/tenants/{tenant}/journal{query}"),
            &s.admin,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn calls_are_journaled_newest_first_without_secrets() {
    let s = TestServer::start_with(Db::Sqlite, |c| c.journal.per_tenant = 50).await;
    let tenant = s.tenant();
    let token = s.demo_token().await;
    let listed = s
        .http
        .get(format!("{}/insights/v1/mpn/ScheduledQueries?top=5", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let correlation = listed.headers()["ms-correlationid"]
        .to_str()
        .unwrap()
        .to_string();
    let missing = s
        .get(
            "/insights/v1/mpn/ScheduledReport/execution/no-such-report",
            &token,
        )
        .await;
    assert_eq!(missing.status, 404);
    // A download whose link does not verify names no tenant, so it is not
    // journaled (a verified one is, its signature masked: unit-tested).
    let forged = s
        .http
        .get(format!(
            "{}/insights/v1/mpn/download/nothing?expiry=1&signature=00ff",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let entries = journal(&s, &tenant, "").await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        !text.contains("00ff"),
        "an unverified download in the journal"
    );
    assert!(!text.contains(&token), "a token in the journal");
    assert!(
        !text.contains(&s.cred("clientSecret")),
        "a secret in the journal"
    );
    // Newest first: the 404, the list, the token request.
    assert_eq!(
        entries[0]["path"],
        "/insights/v1/mpn/ScheduledReport/execution/no-such-report"
    );
    assert_eq!(entries[0]["status"], 404);
    let list = &entries[1];
    assert_eq!(list["method"], "GET");
    assert_eq!(list["path"], "/insights/v1/mpn/ScheduledQueries");
    assert_eq!(list["query"], "top=5");
    assert_eq!(list["status"], 200);
    assert_eq!(list["correlationId"], correlation.as_str());
    assert_eq!(list["clientId"], s.cred("clientId").as_str());
    assert!(list["latencyMs"].as_f64().unwrap() >= 0.0);
    assert!(list["responseBytes"].as_u64().unwrap() > 0, "{list}");
    assert!(entries[0]["seq"].as_u64() > list["seq"].as_u64());
    let grant = entries
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("/oauth2/token"))
        .expect("the token request is journaled");
    assert_eq!(grant["method"], "POST");
    assert_eq!(grant["clientId"], s.cred("clientId").as_str());
    assert!(grant["requestBytes"].as_u64().unwrap() > 0);
    // since and limit.
    let newest = entries[0]["seq"].as_u64().unwrap();
    assert!(
        journal(&s, &tenant, &format!("?since={newest}"))
            .await
            .is_empty()
    );
    let since = list["seq"].as_u64().unwrap();
    assert_eq!(
        journal(&s, &tenant, &format!("?since={since}")).await.len(),
        1
    );
    assert_eq!(journal(&s, &tenant, "?limit=1").await.len(), 1);
    let a = s
        .get(
            &format!("/admin/v1/tenants/{tenant}/journal?limit=many"),
            &s.admin,
        )
        .await;
    assert!(
        a.error(400).contains("limit must be a whole number"),
        "{}",
        a.body
    );
    let a = s.get("/admin/v1/tenants/nobody/journal", &s.admin).await;
    a.error(404);
    let a = s
        .call(
            Method::GET,
            &format!("/admin/v1/tenants/{tenant}/journal"),
            Some(&token),
            None,
        )
        .await;
    a.error(401);

    // Another tenant's calls are its own; the ring keeps the newest 50.
    let (other, client, secret) = s.new_tenant("ExecutiveReportViewer").await;
    let other_token = s.app_token(&other, &client, &secret, INSIGHTS).await;
    for _ in 0..60 {
        s.get("/insights/v1/mpn/ScheduledDataset", &other_token)
            .await;
    }
    let theirs = journal(&s, &other, "?limit=1000").await;
    assert_eq!(theirs.len(), 50);
    assert!(theirs.iter().all(|e| e["clientId"] == client.as_str()));
    let ours = journal(&s, &tenant, "?limit=1000").await;
    assert_eq!(ours.len(), entries.len());
}
