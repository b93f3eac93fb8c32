//! The Insights API over real HTTP: the first-call walkthrough, every
//! endpoint, validation rows, request-body rules and the envelope on error
//! paths. Runs on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Db, TestServer, later};

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";

on_both!(first_call_walkthrough, |db| {
    let s = TestServer::start(db).await;
    // Token exactly as the public docs' curl sends it (note the space).
    let tok = s
        .token_request(
            &s.tenant(),
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.cred("clientId")),
                ("client_secret", &s.cred("clientSecret")),
                ("resource", " https://api.partnercenter.microsoft.com"),
            ],
        )
        .await;
    assert_eq!(tok.status, 200, "{}", tok.body);
    let t = tok.body["access_token"].as_str().unwrap().to_string();

    let ds = s.get("/insights/v1/mpn/ScheduledDataset", &t).await;
    assert_eq!(ds.status, 200);
    assert_eq!(ds.body["totalCount"], 23);
    assert_eq!(ds.body["message"], "Datasets fetched successfully");
    let one = s
        .get(
            "/insights/v1/mpn/ScheduledDataset?datasetName=officeusage",
            &t,
        )
        .await;
    assert_eq!(one.first()["datasetName"], "OfficeUsage");
    for key in [
        "selectableColumns",
        "availableMetrics",
        "availableDateRanges",
        "minimumRecurrenceInterval",
    ] {
        assert!(!one.first()[key].is_null(), "{key}");
    }
    assert!(
        s.get("/insights/v1/mpn/ScheduledDataset?datasetName=Nope", &t)
            .await
            .error(404)
            .contains("Dataset 'Nope' not found")
    );

    let text = "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage ORDER BY TotalMonthlyActiveUsers TIMESPAN LAST_6_MONTHS";
    let q = s
        .post(
            Q,
            &t,
            json!({"Name": "Usage", "Description": "d", "Query": text}),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(q.message(), "Query created successfully");
    let item = q.first().clone();
    let qid = item["queryId"].as_str().unwrap().to_string();
    assert_eq!(item["type"], "userDefined");
    assert_eq!(item["query"], text);
    assert_eq!(item["user"], s.cred("clientId"));
    assert!(item["createdTime"].as_str().unwrap().ends_with('Z'));

    let preview = s
        .get(&format!("{Q}/testQueryResult?queryId={qid}"), &t)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let rows = preview.body["value"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 100);
    assert_eq!(preview.body["totalCount"], rows.len());
    assert!(rows[0]["CustomerName"].is_string());
    assert!(rows[0]["TotalMonthlyActiveUsers"].is_number());
    // Descending by default.
    let first = rows[0]["TotalMonthlyActiveUsers"].as_i64().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["TotalMonthlyActiveUsers"].as_i64().unwrap() <= first)
    );
    // exportQuery with '+' for spaces, a window that holds no data.
    let empty = s
        .get(&format!("{Q}/testQueryResult?exportQuery=SELECT+CustomerName+FROM+OfficeUsage&startTime=2001-01-01T00:00:00Z&endTime=2001-02-01T00:00:00Z"), &t)
        .await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["totalCount"], 0);

    let rep = s
        .post(R, &t, json!({"ReportName": "Weekly", "QueryId": qid, "StartTime": later(5), "RecurrenceInterval": 168, "Format": "tsv", "CallbackUrl": "https://8.8.8.8/cb", "CallbackMethod": "get"}))
        .await;
    assert_eq!(rep.status, 200, "{}", rep.body);
    assert_eq!(rep.message(), "Report created successfully");
    let r = rep.first().clone();
    let rid = r["reportId"].as_str().unwrap().to_string();
    assert_eq!(r["format"], "tsv");
    assert_eq!(r["callbackMethod"], "GET");
    assert_eq!(r["reportStatus"], "Active");
    assert_eq!(r["executeNow"], false);
    assert_eq!(r["recurrenceCount"], Value::Null);
    assert_eq!(r["modifiedTime"], Value::Null);
    assert_eq!(r["query"], text);

    let now = s
        .post(
            R,
            &t,
            json!({"ReportName": "Now", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    assert_eq!(now.status, 200, "{}", now.body);
    assert_eq!(now.first()["recurrenceInterval"], 0);
    assert_eq!(now.first()["recurrenceCount"], 1);
    let now_id = now.first()["reportId"].as_str().unwrap().to_string();

    // The one-off report runs at once: poll until its execution completed.
    let mut ex = s.get(&format!("{R}/execution/{now_id}"), &t).await;
    assert_eq!(ex.status, 200, "{}", ex.body);
    assert!(
        ["Pending", "Running", "Completed"]
            .contains(&ex.first()["executionStatus"].as_str().unwrap())
    );
    for _ in 0..300 {
        if ex.first()["executionStatus"] == "Completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ex = s.get(&format!("{R}/execution/{now_id}"), &t).await;
    }
    let e = ex.first().clone();
    assert_eq!(e["executionStatus"], "Completed", "{e}");
    assert_eq!(e["reportId"], now_id);
    for key in [
        "executionId",
        "recurrenceInterval",
        "recurrenceCount",
        "callbackMethod",
        "format",
        "dueTime",
        "reportLocation",
        "reportAccessSecureLink",
        "reportExpiryTime",
        "reportGeneratedTime",
        "rowCount",
        "byteCount",
        "sha256",
    ] {
        assert!(!e[key].is_null(), "{key}: {e}");
    }
    // The secure link downloads the file without a token.
    let file = s
        .http
        .get(e["reportAccessSecureLink"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
    let text = file.text().await.unwrap();
    assert!(
        text.starts_with("CustomerName,TotalMonthlyActiveUsers\r\n"),
        "{text}"
    );
    assert_eq!(text.len() as i64, e["byteCount"].as_i64().unwrap());
    assert_eq!(
        text.lines().count() as i64 - 1,
        e["rowCount"].as_i64().unwrap()
    );
    // Several reports at once, newest execution of each.
    let both = s.get(&format!("{R}/execution/{now_id};{rid}"), &t).await;
    assert_eq!(both.body["totalCount"], 2);
    let none = s
        .get(
            &format!("{R}/execution/{now_id}?executionStatus=Failed"),
            &t,
        )
        .await;
    assert!(none.error(404).contains("No execution matched"));
    assert!(
        s.get(&format!("{R}/execution/{now_id}?executionStatus=Done"), &t)
            .await
            .error(400)
            .contains("Pending, Running, Paused, Completed, Failed")
    );
    assert!(
        s.get(
            &format!("{R}/execution/{now_id}?getLatestExecution=maybe"),
            &t
        )
        .await
        .error(400)
        .contains("getLatestExecution must be true or false")
    );
    let all = s
        .get(
            &format!(
                "{R}/execution/{now_id}?getLatestExecution=FALSE&executionStatus=pending;running;COMPLETED"
            ),
            &t,
        )
        .await;
    assert_eq!(all.body["totalCount"], 1);

    // Lists and filters.
    let list = s.get(&format!("{R}?reportName=weekly"), &t).await;
    assert_eq!(list.body["totalCount"], 1);
    assert_eq!(
        s.get(&format!("{R}?queryId={qid}"), &t).await.body["totalCount"],
        2
    );
    let queries = s.get(Q, &t).await;
    assert_eq!(queries.body["totalCount"], 21);
    assert_eq!(
        s.get(&format!("{Q}?includeSystemQueries=false"), &t)
            .await
            .body["totalCount"],
        1
    );
    let system = s
        .get(&format!("{Q}?includeOnlySystemQueries=True"), &t)
        .await;
    assert_eq!(system.body["totalCount"], 20);
    assert_eq!(system.first()["type"], "system");
    assert_eq!(system.first()["user"], Value::Null);
    assert_eq!(
        s.get(
            &format!("{Q}?queryName=USAGE&includeSystemQueries=false"),
            &t
        )
        .await
        .body["totalCount"],
        1
    );
    assert!(
        s.get(&format!("{Q}?includeSystemQueries=yes"), &t)
            .await
            .error(400)
            .contains("includeSystemQueries must be true or false")
    );

    // Paging: nextLink is absolute and walks every item once.
    let mut seen = Vec::new();
    let mut next = Some(format!("{}{Q}?top=8", s.url));
    while let Some(link) = next {
        let page =
            crate::support::answer(s.http.get(&link).bearer_auth(&t).send().await.unwrap()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for q in page.body["value"].as_array().unwrap() {
            seen.push(q["queryId"].as_str().unwrap().to_string());
        }
        next = page.body["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 21);
    assert_eq!(
        s.get(&format!("{Q}?skip=20"), &t).await.body["totalCount"],
        1
    );

    // Update, pause, resume.
    let up = s
        .call(Method::PUT, &format!("{R}/{rid}"), Some(&t), Some(json!({"ReportName": "Renamed", "StartTime": later(6), "RecurrenceInterval": 24, "RecurrenceCount": 3})))
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.first()["reportName"], "Renamed");
    assert_eq!(up.first()["recurrenceCount"], 3);
    assert!(up.first()["modifiedTime"].is_string());
    let paused = s
        .call(Method::PUT, &format!("{R}/pause/{rid}"), Some(&t), None)
        .await;
    assert_eq!(paused.first()["reportStatus"], "Paused");
    let again = s
        .call(Method::PUT, &format!("{R}/pause/{rid}"), Some(&t), None)
        .await;
    assert_eq!(again.status, 200);
    let ex = s.get(&format!("{R}/execution/{rid}"), &t).await;
    assert_eq!(ex.first()["executionStatus"], "Paused");
    let resumed = s
        .call(Method::PUT, &format!("{R}/resume/{rid}"), Some(&t), None)
        .await;
    assert_eq!(resumed.first()["reportStatus"], "Active");
    assert_eq!(
        s.get(&format!("{R}/execution/{rid}"), &t).await.first()["executionStatus"],
        "Pending"
    );

    // A live report protects its query; deleting reports frees it.
    let conflict = s
        .call(Method::DELETE, &format!("{Q}/{qid}"), Some(&t), None)
        .await;
    assert!(conflict.error(409).contains(&rid));
    for id in [&rid, &now_id] {
        let d = s
            .call(Method::DELETE, &format!("{R}/{id}"), Some(&t), None)
            .await;
        assert_eq!(d.status, 200, "{}", d.body);
        assert_eq!(d.first()["reportId"], id.as_str());
    }
    assert!(
        s.get(&format!("{R}/execution/{rid}"), &t)
            .await
            .error(404)
            .contains("No execution")
    );
    let d = s
        .call(Method::DELETE, &format!("{Q}/{qid}"), Some(&t), None)
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.first()["queryId"], qid);
    let sys = system.first()["queryId"].as_str().unwrap().to_string();
    assert_eq!(
        s.call(Method::DELETE, &format!("{Q}/{sys}"), Some(&t), None)
            .await
            .error(400),
        "System queries cannot be deleted"
    );
});

/// One row of the report-creation rules: a body change and the message.
fn report_rows(qid: &str) -> Vec<(Value, &'static str)> {
    let base = |extra: Value| {
        let mut b = json!({"ReportName": "r", "QueryId": qid, "StartTime": later(5), "RecurrenceInterval": 24});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    vec![
        (base(json!({"ReportName": null})), "ReportName is required"),
        (
            base(json!({"ReportName": ""})),
            "ReportName must be between 1 and 200 characters",
        ),
        (
            base(json!({"ReportName": "x".repeat(201)})),
            "ReportName must be between 1 and 200 characters",
        ),
        (
            base(json!({"Description": "x".repeat(1001)})),
            "Description must be at most 1000 characters",
        ),
        (base(json!({"QueryId": null})), "QueryId is required"),
        (
            base(json!({"QueryId": "00000000-0000-0000-0000-000000000000"})),
            "Invalid QueryId",
        ),
        (base(json!({"QueryId": "not-a-uuid"})), "Invalid QueryId"),
        (
            base(json!({"StartTime": null})),
            "StartTime is required unless ExecuteNow is true",
        ),
        (
            base(json!({"StartTime": later(1)})),
            "StartTime must be at least 4 hours after the current time",
        ),
        (
            base(json!({"StartTime": "tomorrow"})),
            "StartTime 'tomorrow' is not a valid timestamp",
        ),
        (
            base(json!({"RecurrenceInterval": null})),
            "RecurrenceInterval is required unless ExecuteNow is true",
        ),
        (
            base(json!({"RecurrenceInterval": 3})),
            "Recurrence interval should be between 4 and 2160",
        ),
        (
            base(json!({"RecurrenceInterval": 2161})),
            "Recurrence interval should be between 4 and 2160",
        ),
        (
            base(json!({"RecurrenceInterval": "24"})),
            "Field 'RecurrenceInterval' must be a whole number",
        ),
        (
            base(json!({"RecurrenceCount": 0})),
            "RecurrenceCount must be at least 1",
        ),
        (
            base(json!({"Format": "xlsx"})),
            "Format must be CSV or TSV, got 'xlsx'",
        ),
        (
            base(json!({"CallbackUrl": "ftp://x.com/a"})),
            "must use http or https",
        ),
        (
            base(json!({"CallbackUrl": "http://127.0.0.1:9/cb"})),
            "resolves to 127.0.0.1",
        ),
        (
            base(json!({"CallbackUrl": format!("https://x.com/{}", "a".repeat(2048))})),
            "longer than 2048",
        ),
        (
            base(json!({"CallbackMethod": "PUT"})),
            "CallbackMethod must be GET or POST, got 'PUT'",
        ),
        (
            base(json!({"QueryStartTime": later(-48), "QueryEndTime": later(-24)})),
            "only allowed with ExecuteNow=true",
        ),
        (
            base(json!({"ExecuteNow": true, "QueryStartTime": later(-48)})),
            "Give both QueryStartTime and QueryEndTime, or neither",
        ),
        (
            base(
                json!({"ExecuteNow": true, "QueryStartTime": later(-24), "QueryEndTime": later(-48)}),
            ),
            "QueryStartTime must be before QueryEndTime",
        ),
        (
            base(json!({"ExecuteNow": "yes"})),
            "Field 'ExecuteNow' must be true or false",
        ),
        (
            base(json!({"ReportName": "a", "reportName": "b"})),
            "is given twice with different values",
        ),
    ]
}

on_both!(report_validation_rows, |db| {
    let s = TestServer::start(db).await;
    let t = s.demo_token().await;
    let q = s
        .post(
            Q,
            &t,
            json!({"Name": "q", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    let qid = q.first()["queryId"].as_str().unwrap().to_string();
    for (body, expected) in report_rows(&qid) {
        let a = s.post(R, &t, body.clone()).await;
        let msg = a.error(400);
        assert!(
            msg.contains(expected),
            "{body}\n→ {msg}\n(expected: {expected})"
        );
    }
    // Nothing was created by the refused requests.
    assert_eq!(s.get(R, &t).await.body["totalCount"], 0);
    // A dataset's minimum interval applies beyond the global 4.
    use query::Catalog as _;
    let min_sys = query::builtin()
        .datasets()
        .iter()
        .find(|d| d.minimum_recurrence_interval > 4)
        .map(|d| (d.name.clone(), d.minimum_recurrence_interval));
    if let Some((name, min)) = min_sys {
        let sq = query::Catalog::system_queries(query::builtin())
            .iter()
            .find(|q| q.dataset == name)
            .unwrap();
        let a = s.post(R, &t, json!({"ReportName": "r", "QueryId": sq.query_id, "StartTime": later(5), "RecurrenceInterval": 4})).await;
        assert!(
            a.error(400)
                .contains(&format!("at least {min} hours for dataset '{name}'")),
            "{}",
            a.body
        );
    }
    // Query rules.
    let rows: Vec<(Value, &str)> = vec![
        (
            json!({"Query": "SELECT CustomerName FROM OfficeUsage"}),
            "Name is required",
        ),
        (
            json!({"Name": "x".repeat(201), "Query": "SELECT CustomerName FROM OfficeUsage"}),
            "Name must be between 1 and 200",
        ),
        (
            json!({"Name": "n", "Description": "x".repeat(1001), "Query": "SELECT CustomerName FROM OfficeUsage"}),
            "Description must be at most 1000",
        ),
        (json!({"Name": "n"}), "Query is required"),
        (
            json!({"Name": "n", "Query": "SELECT Custmer FROM OfficeUsage"}),
            "Unknown column 'Custmer' in dataset 'OfficeUsage' at position 8. Did you mean 'CustomerName'?",
        ),
        (
            json!({"Name": 5, "Query": "SELECT CustomerName FROM OfficeUsage"}),
            "Field 'Name' must be a string",
        ),
    ];
    for (body, expected) in rows {
        let a = s.post(Q, &t, body.clone()).await;
        assert!(a.error(400).contains(expected), "{body} → {}", a.message());
    }
    // testQueryResult rules.
    for (query, expected) in [
        ("", "exactly one of exportQuery"),
        (
            &format!("?exportQuery=SELECT+CustomerName+FROM+OfficeUsage&queryId={qid}") as &str,
            "exactly one of exportQuery",
        ),
        (
            &format!("?queryId={qid}&startTime=2021-01-01T00:00:00Z"),
            "both startTime and endTime",
        ),
        (
            &format!("?queryId={qid}&startTime=2021-02-01T00:00:00Z&endTime=2021-01-01T00:00:00Z"),
            "startTime must be before endTime",
        ),
        (
            &format!("?queryId={qid}&startTime=x&endTime=y"),
            "startTime 'x' is not a valid timestamp",
        ),
        (
            "?exportQuery=SELECT+Nope+FROM+OfficeUsage",
            "Unknown column 'Nope'",
        ),
    ] {
        let a = s.get(&format!("{Q}/testQueryResult{query}"), &t).await;
        assert!(a.error(400).contains(expected), "{query} → {}", a.message());
    }
    assert_eq!(
        s.get(
            &format!("{Q}/testQueryResult?queryId=00000000-0000-0000-0000-000000000000"),
            &t
        )
        .await
        .status,
        404
    );
});

on_both!(bodies_paths_and_envelope, |db| {
    let s = TestServer::start(db).await;
    let t = s.demo_token().await;
    // Duplicated Pascal/camel fields that agree, null agreeing with anything.
    let a = s.post(Q, &t, json!({"Name": "n", "name": "n", "Query": "SELECT CustomerName FROM OfficeUsage", "query": null, "Unknown": 1})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // A form body under a JSON content type.
    let res = s
        .http
        .post(format!("{}{Q}", s.url))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("Name=formq&Query=SELECT+CustomerName+FROM+OfficeUsage")
        .send()
        .await
        .unwrap();
    let a = crate::support::answer(res).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.first()["name"], "formq");
    // Not JSON, too large.
    let res = s
        .http
        .post(format!("{}{Q}", s.url))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert!(
        crate::support::answer(res)
            .await
            .error(400)
            .contains("not a JSON object")
    );
    let big = format!("{{\"Name\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let res = s
        .http
        .post(format!("{}{Q}", s.url))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert!(
        crate::support::answer(res)
            .await
            .error(413)
            .contains("1 MiB")
    );
    // Paths: repeated and trailing slashes, any case.
    let a = s.get("//insights/v1/mpn//scheduledDATASET/", &t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/json; charset=utf-8");
    assert!(uuid::Uuid::parse_str(a.headers["ms-correlationid"].to_str().unwrap()).is_ok());
    assert_eq!(a.headers["x-ratelimit-limit"], "10000");
    // A caller's correlation id is echoed; garbage is replaced.
    let mine = uuid::Uuid::new_v4().to_string();
    let res = s
        .http
        .get(format!("{}/insights/v1/mpn/ScheduledDataset", s.url))
        .bearer_auth(&t)
        .header("MS-CorrelationId", &mine)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["ms-correlationid"], mine.as_str());
    let res = s
        .http
        .get(format!("{}/insights/v1/mpn/ScheduledDataset", s.url))
        .bearer_auth(&t)
        .header("MS-CorrelationId", "x'; DROP")
        .send()
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(res.headers()["ms-correlationid"].to_str().unwrap()).is_ok());
    // Unknown paths and methods answer with the envelope.
    assert!(
        s.get("/insights/v1/mpn/Nope", &t)
            .await
            .error(404)
            .contains("No such endpoint")
    );
    assert_eq!(
        s.call(Method::PATCH, Q, Some(&t), None).await.error(405),
        "This method is not allowed on this path"
    );
    // No token → 401 envelope.
    assert!(
        s.call(Method::GET, Q, None, None)
            .await
            .error(401)
            .contains("No access token")
    );
});

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

on_both!(report_viewers_get_restricted_columns_redacted, |db| {
    let s = TestServer::start(db).await;
    let viewer = s.token_with_roles("ReportViewer").await;
    let executive = s.demo_token().await;
    let path = format!(
        "{Q}/testQueryResult?exportQuery=SELECT+CustomerName,TotalACR+FROM+AzureUsage+TIMESPAN+LAST_3_MONTHS"
    );
    let full = s.get(&path, &executive).await;
    assert_eq!(full.status, 200, "{}", full.body);
    assert_eq!(full.body["dataRedacted"], false);
    let rows = full.body["value"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().any(|r| r["TotalACR"].is_number()));
    let redacted = s.get(&path, &viewer).await;
    assert_eq!(redacted.status, 200, "{}", redacted.body);
    assert_eq!(redacted.body["dataRedacted"], true);
    let rows = redacted.body["value"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["TotalACR"].is_null() && r["CustomerName"].is_string())
    );
    // Without a restricted column nothing is redacted.
    let plain = s
        .get(
            &format!("{Q}/testQueryResult?exportQuery=SELECT+CustomerName+FROM+AzureUsage"),
            &viewer,
        )
        .await;
    assert_eq!(plain.body["dataRedacted"], false);
});

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
        let base = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
            });
        let venv = base.join("test-tools/openapi-venv");
        let bin = venv.join("bin/openapi-spec-validator");
        if !bin.exists() {
            let ok = std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed");
            assert!(ok.success());
            let ok = std::process::Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "openapi-spec-validator"])
                .status()
                .expect("pip runs");
            assert!(ok.success(), "pip install openapi-spec-validator failed");
        }
        bin
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
