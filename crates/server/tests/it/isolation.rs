//! Tenant isolation: for every endpoint, tenant B naming tenant A's ids
//! gets exactly the answer of a random id (same status, same message with
//! the id swapped), and A's data never shows up in B's results.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{INSIGHTS, TestServer, later};

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";

on_both!(another_tenants_ids_answer_like_random_ids, |db| {
    let s = TestServer::start(db).await;
    let a = s.demo_token().await;
    let (tb, cb, sb) = s.new_tenant("ExecutiveReportViewer").await;
    let b = s.app_token(&tb, &cb, &sb, INSIGHTS).await;

    let qa = s
        .post(
            Q,
            &a,
            json!({"Name": "secret-query", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    let qid = qa.first()["queryId"].as_str().unwrap().to_string();
    let ra = s.post(R, &a, json!({"ReportName": "secret-report", "QueryId": qid, "StartTime": later(5), "RecurrenceInterval": 24})).await;
    let rid = ra.first()["reportId"].as_str().unwrap().to_string();
    let eid = s.get(&format!("{R}/execution/{rid}"), &a).await.first()["executionId"]
        .as_str()
        .unwrap()
        .to_string();
    let random = uuid::Uuid::new_v4().to_string();

    let update = json!({"ReportName": "x", "StartTime": later(5), "RecurrenceInterval": 24});
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::DELETE, format!("{Q}/{{id}}"), None),
        (
            Method::GET,
            format!("{Q}/testQueryResult?queryId={{id}}"),
            None,
        ),
        (
            Method::GET,
            format!("{Q}?queryId={{id}}&includeSystemQueries=false"),
            None,
        ),
        (Method::GET, format!("{R}?reportId={{id}}"), None),
        (Method::GET, format!("{R}?queryId={{id}}"), None),
        (Method::PUT, format!("{R}/{{id}}"), Some(update)),
        (Method::DELETE, format!("{R}/{{id}}"), None),
        (Method::PUT, format!("{R}/pause/{{id}}"), None),
        (Method::PUT, format!("{R}/resume/{{id}}"), None),
        (Method::GET, format!("{R}/execution/{{id}}"), None),
        (
            Method::GET,
            format!("{R}/execution/{rid}?executionId={{id}}"),
            None,
        ),
        (
            Method::POST,
            R.to_string(),
            Some(
                json!({"ReportName": "r", "QueryId": "{id}", "StartTime": later(5), "RecurrenceInterval": 24}),
            ),
        ),
    ];
    for theirs in [&qid, &rid, &eid] {
        for (method, path, body) in &endpoints {
            let fill = |id: &str| {
                let body = body.as_ref().map(|b| {
                    serde_json::from_str::<Value>(&b.to_string().replace("{id}", id)).unwrap()
                });
                (path.replace("{id}", id), body)
            };
            let (p1, b1) = fill(theirs);
            let (p2, b2) = fill(&random);
            let other = s.call(method.clone(), &p1, Some(&b), b1).await;
            let unknown = s.call(method.clone(), &p2, Some(&b), b2).await;
            assert_eq!(
                other.status, unknown.status,
                "{method} {p1}: {}",
                other.body
            );
            assert_eq!(
                other.message().replace(theirs.as_str(), "ID"),
                unknown.message().replace(&random, "ID"),
                "{method} {p1}"
            );
            assert_eq!(other.body["value"], unknown.body["value"], "{method} {p1}");
            assert!(
                !other.body.to_string().contains("secret-"),
                "{method} {p1} leaked: {}",
                other.body
            );
        }
    }
    // Tenant A's things are intact, and B's lists never show them.
    assert_eq!(
        s.get(&format!("{R}?reportId={rid}"), &a).await.body["totalCount"],
        1
    );
    assert_eq!(
        s.get(&format!("{Q}?queryId={qid}"), &a).await.body["totalCount"],
        1
    );
    assert_eq!(s.get(R, &b).await.body["totalCount"], 0);
    assert_eq!(
        s.get(&format!("{Q}?includeSystemQueries=false"), &b)
            .await
            .body["totalCount"],
        0
    );
    // Data rows: A has demo data, B has none.
    let text = "SELECT+CustomerName+FROM+OfficeUsage+TIMESPAN+LAST_6_MONTHS";
    assert!(
        s.get(&format!("{Q}/testQueryResult?exportQuery={text}"), &a)
            .await
            .body["totalCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        s.get(&format!("{Q}/testQueryResult?exportQuery={text}"), &b)
            .await
            .body["totalCount"],
        0
    );
    // The token endpoint: A's client at B's token URL is an unknown client.
    let cross = s
        .token_request(
            &tb,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.cred("clientId")),
                ("client_secret", &s.cred("clientSecret")),
                ("resource", INSIGHTS),
            ],
        )
        .await;
    let none = s
        .token_request(
            &tb,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &random),
                ("client_secret", "x"),
                ("resource", INSIGHTS),
            ],
        )
        .await;
    assert_eq!(cross.status, none.status);
    assert_eq!(cross.body["error"], none.body["error"]);
});
