//! The report-creation rules row by row, request-body rules, paths, the
//! envelope on error paths, and restricted columns redacted for report
//! viewers.

use super::*;

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
