//! The Insights API over real HTTP: the first-call walkthrough, every
//! endpoint, validation rows, request-body rules and the envelope on error
//! paths. Runs on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Db, TestServer, later};

mod openapi;
mod resilience;
mod validation;

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
