//! The holes an outside review found, each as an attack over real HTTP
//! that must fail: restricted values reaching a ReportViewer through report
//! files, WHERE and ORDER BY, and secure links of other users' reports.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Db, INSIGHTS, TestServer};

const Q: &str = "/insights/v1/mpn/ScheduledQueries";
const R: &str = "/insights/v1/mpn/ScheduledReport";
const REVENUE: &str = "SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants";

/// Saves `text` and runs it once as an ExecuteNow report; the completed
/// execution as the creator lists it.
async fn run_once(s: &TestServer, token: &str, text: &str) -> (String, Value) {
    let q = s.post(Q, token, json!({"Name": "q", "Query": text})).await;
    assert_eq!(q.status, 200, "{}", q.body);
    let qid = q.first()["queryId"].as_str().unwrap();
    let r = s
        .post(
            R,
            token,
            json!({"ReportName": "r", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    for _ in 0..300 {
        let a = s.get(&format!("{R}/execution/{rid}"), token).await;
        if let Some(e) = a.body["value"].as_array().and_then(|v| v.first())
            && e["executionStatus"] == "Completed"
        {
            return (rid, e.clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("report {rid} did not complete");
}

async fn download(s: &TestServer, link: &str) -> String {
    let res = s.http.get(link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The revenue column of a CSV report file: its non-empty values.
fn revenues(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next())
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

on_both!(
    restricted_values_never_reach_a_report_viewer_through_reports,
    |db| {
        let s = TestServer::start(db).await;
        let viewer = s.token_with_roles("ReportViewer").await;
        let executive = s.demo_token().await;

        // The viewer's own report file holds the revenue redacted (empty).
        let (_, mine) = run_once(&s, &viewer, REVENUE).await;
        let csv = download(&s, mine["reportAccessSecureLink"].as_str().unwrap()).await;
        assert!(csv.lines().count() > 1, "{csv}");
        assert!(revenues(&csv).is_empty(), "redacted values in {csv}");

        // The executive's file holds them; the viewer is not given its link.
        let (rid, theirs) = run_once(&s, &executive, REVENUE).await;
        let csv = download(&s, theirs["reportAccessSecureLink"].as_str().unwrap()).await;
        assert!(!revenues(&csv).is_empty(), "{csv}");
        let seen = s.get(&format!("{R}/execution/{rid}"), &viewer).await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        assert_eq!(seen.first()["executionStatus"], "Completed");
        assert!(
            seen.first()["reportAccessSecureLink"].is_null(),
            "{}",
            seen.body
        );

        // Nor may the viewer redirect or reschedule that report.
        let a = s
            .call(
                Method::PUT,
                &format!("{R}/{rid}"),
                Some(&viewer),
                Some(json!({"ReportName": "mine now", "CallbackUrl": "https://example.com/cb"})),
            )
            .await;
        assert!(a.error(403).contains("ExecutiveReportViewer"), "{}", a.body);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_values_cannot_be_searched_through_where_or_order_by() {
    let s = TestServer::start(Db::Sqlite).await;
    let viewer = s.token_with_roles("ReportViewer").await;
    let executive = s.demo_token().await;
    let preview = |text: &str| {
        format!(
            "{Q}/testQueryResult?exportQuery={}",
            form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
        )
    };
    for text in [
        format!("{REVENUE} WHERE CustomerName = 'X' AND BilledRevenueUSD > 1000"),
        format!("{REVENUE} ORDER BY BilledRevenueUSD DESC"),
    ] {
        let a = s.get(&preview(&text), &viewer).await;
        assert!(a.error(403).contains("'BilledRevenueUSD'"), "{}", a.body);
        // The same query is fine for an ExecutiveReportViewer.
        let a = s.get(&preview(&text), &executive).await;
        assert_eq!(a.status, 200, "{}", a.body);
        // And a viewer cannot schedule it either.
        let q = s
            .post(Q, &viewer, json!({"Name": "q", "Query": text}))
            .await;
        let qid = q.first()["queryId"].as_str().unwrap();
        let r = s
            .post(
                R,
                &viewer,
                json!({"ReportName": "r", "QueryId": qid, "ExecuteNow": true}),
            )
            .await;
        assert!(r.error(403).contains("'BilledRevenueUSD'"), "{}", r.body);
    }
}

/// Secrets at rest: a data dir and database left readable by everyone
/// (0755, 0644) are tightened on start; the WAL, shared-memory and admin
/// token files are the owner's only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_at_rest_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = data.join("metadata.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = crate::support::config(&data);
    c.demo = false;
    let running = server::start(c).await.unwrap();
    assert_eq!(mode(&data), 0o700);
    for name in [
        "metadata.db",
        "metadata.db-wal",
        "metadata.db-shm",
        "admin-token",
    ] {
        let p = data.join(name);
        assert!(p.exists(), "{name}");
        assert_eq!(mode(&p), 0o600, "{name}");
    }
    drop(running);
}

/// A token request for `client` with `secret`, from `source` (a loopback
/// address of our choice: the server keys throttling on it).
async fn token_from(
    s: &TestServer,
    source: &str,
    tenant: &str,
    client: &str,
    secret: &str,
) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().ok())
        .build()
        .unwrap();
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("resource", INSIGHTS),
        ])
        .finish();
    http.post(format!("{}/{tenant}/oauth2/token", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_elsewhere_never_lock_the_owner_out() {
    let s = TestServer::start(Db::Sqlite).await;
    let (tenant, client, secret) = (s.tenant(), s.cred("clientId"), s.cred("clientSecret"));
    let (other, _, _) = s.new_tenant("ReportViewer").await;
    // An attacker hammers the owner's client id at another tenant's
    // endpoint, and at the owner's from another address.
    for _ in 0..8 {
        let r = token_from(&s, "127.0.0.2", &other, &client, "wrong").await;
        assert_ne!(r.status(), 200);
        let r = token_from(&s, "127.0.0.2", &tenant, &client, "wrong").await;
        assert_ne!(r.status(), 200);
    }
    // The attacker's address is slowed down...
    let r = token_from(&s, "127.0.0.2", &tenant, &client, &secret).await;
    assert_eq!(r.status(), 429);
    // ...the owner is not.
    let r = token_from(&s, "127.0.0.1", &tenant, &client, &secret).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Keys are length-checked before any work: a 100 kB client id is a
    // plain 400.
    let huge = "x".repeat(100_000);
    let r = token_from(&s, "127.0.0.3", &tenant, &huge, "wrong").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("longer than 256 characters"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_credential_checks_are_bounded() {
    let s = TestServer::start_with(Db::Sqlite, |c| {
        c.limits.hash_concurrency = 1;
        c.limits.hash_wait_ms = 0;
    })
    .await;
    let (tenant, client) = (s.tenant(), s.cred("clientId"));
    let answers = futures::future::join_all(
        (0..12).map(|_| token_from(&s, "127.0.0.4", &tenant, &client, "wrong")),
    )
    .await;
    let busy: Vec<_> = answers.iter().filter(|r| r.status() == 503).collect();
    assert!(!busy.is_empty(), "no request was turned away");
    assert!(busy.iter().all(|r| r.headers().contains_key("retry-after")));
    assert!(answers.iter().all(|r| r.status() != 500));
}

/// DNS rebinding: the delivery client connects only to addresses its own
/// resolver checked, so a name that reaches loopback at delivery time gets
/// nowhere, whatever the check at creation said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_connect_only_to_the_addresses_they_checked() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(3), listener.accept())
            .await
            .is_ok()
    });
    let http = server::callbacks::client(false);
    let err = http
        .get(format!("http://localhost:{port}/cb"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(!accepted.await.unwrap(), "the callback reached loopback");
}

/// Slowloris: a connection that never finishes its headers, or sits idle,
/// is closed after the header-read timeout; at the connection limit new
/// connections wait until one ends instead of piling up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_and_bounded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(Db::Sqlite, |c| {
        c.demo = false;
        c.limits.header_read_timeout_secs = 1;
        c.limits.max_connections = 2;
    })
    .await;
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Both slots are taken: a real request waits for one to free up.
    let started = std::time::Instant::now();
    let res = s
        .http
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "served before a slot was free: {:?}",
        started.elapsed()
    );
    // The server closed both after the timeout (EOF, or a reset).
    for conn in [&mut slow, &mut idle] {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the connection is still open");
        assert!(matches!(n, Ok(0) | Err(_)) || n.as_ref().is_ok_and(|n| *n > 0));
        if let Ok(n) = n
            && n > 0
        {
            // hyper may answer 408 before closing.
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
}

/// Every file below `dir` whose path mentions `needle`.
fn files_mentioning(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(needle) {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tenant_leaves_nothing_behind() {
    let s = TestServer::start(Db::Sqlite).await;
    let tenant = s.tenant();
    let t = s.demo_token().await;
    let preview = format!("{Q}/testQueryResult?exportQuery=SELECT+CustomerName+FROM+OfficeUsage");
    assert!(
        s.get(&preview, &t).await.body["totalCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    run_once(&s, &t, "SELECT CustomerName FROM OfficeUsage").await;
    let data_dir = s.state().config.data_dir.clone();
    assert!(!files_mentioning(&data_dir, &tenant).is_empty());

    let a = s
        .call(
            Method::DELETE,
            &format!("/admin/v1/tenants/{tenant}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let left = files_mentioning(&data_dir, &tenant);
    assert!(
        left.is_empty(),
        "{} files left, such as {:?}",
        left.len(),
        left.iter().take(3).collect::<Vec<_>>()
    );

    // A file a crashed deletion left behind is cleared when the id is
    // created again; the re-created tenant starts empty.
    let stray = data_dir.join(format!("data/OfficeUsage/tenant={tenant}/month=2026-01"));
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("part-left.parquet"), b"old rows").unwrap();
    let a = s
        .call(
            Method::POST,
            "/admin/v1/tenants",
            Some(&s.admin),
            Some(json!({"tenantId": tenant, "name": "again"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(files_mentioning(&data_dir, &tenant).is_empty());
    let token = s.token_with_roles("ExecutiveReportViewer").await;
    let a = s.get(&preview, &token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["totalCount"], 0, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_or_a_report_takes_its_rights_and_callbacks() {
    let s = TestServer::start(Db::Sqlite).await;
    let tenant = s.tenant();
    // A user's token stops working within seconds of the user's deletion.
    let a = s
        .call(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/users"),
            Some(&s.admin),
            Some(json!({"username": "gone@x.test", "password": "correct horse battery", "roles": "ExecutiveReportViewer"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let t = s
        .token_request(
            &tenant,
            false,
            &[
                ("grant_type", "password"),
                ("client_id", &s.cred("clientId")),
                ("client_secret", &s.cred("clientSecret")),
                ("username", "gone@x.test"),
                ("password", "correct horse battery"),
                ("resource", INSIGHTS),
            ],
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    let token = t.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(s.get(Q, &token).await.status, 200);
    let a = s
        .call(
            Method::DELETE,
            &format!("/admin/v1/tenants/{tenant}/users/gone@x.test"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.get(Q, &token).await.status, 401);

    // A deleted report's pending callback retries are cancelled.
    let exec = s.demo_token().await;
    let q = s
        .post(
            Q,
            &exec,
            json!({"Name": "q", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    let qid = q.first()["queryId"].as_str().unwrap();
    let r = s
        .post(
            R,
            &exec,
            json!({"ReportName": "r", "QueryId": qid, "ExecuteNow": true, "CallbackUrl": "http://8.8.8.8:9/cb"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let mut execution = None;
    for _ in 0..300 {
        let a = s.get(&format!("{R}/execution/{rid}"), &exec).await;
        if a.first()["executionStatus"] == "Completed" {
            execution = a.first()["executionId"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let execution = execution.expect("the report completed");
    let store = &s.state().store;
    assert_eq!(store.deliveries(&execution).await.unwrap().len(), 1);
    let a = s
        .call(Method::DELETE, &format!("{R}/{rid}"), Some(&exec), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(store.deliveries(&execution).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_in_its_apis_shape() {
    let s = TestServer::start(Db::Sqlite).await;
    // The token endpoint's 413 is an OAuth JSON error, not plain text,
    // also for a body far over the limit: the server reads the rest of it
    // before refusing, so a client that writes it all before reading gets
    // the 413, not a broken pipe.
    for size in [(1 << 20) + 1, 4 << 20, 12 << 20] {
        let res = s
            .http
            .post(format!("{}/{}/oauth2/token", s.url, s.tenant()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'a'; size])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: {e:?}"));
        assert_eq!(res.status(), 413, "{size} bytes");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
    }

    // The CAB route without its signature: the Store API's JSON, 403.
    let res = s
        .http
        .get(format!("{}/store/cab/{}/x.cab", s.url, s.tenant()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["code"].is_string() || body["innererror"].is_object(),
        "{body}"
    );

    // More than 100 headers are refused before routing.
    let mut req = s.http.get(format!("{}/healthz", s.url));
    for i in 0..150 {
        req = req.header(format!("x-h{i}"), "a");
    }
    let res = req.send().await;
    assert!(res.as_ref().map_or(true, |r| r.status() == 431), "{res:?}");

    // 401 answers carry the rate-limit headers too.
    let a = s.get(Q, "not-a-token").await;
    assert_eq!(a.status, 401);
    assert!(
        a.headers.contains_key("x-ratelimit-limit"),
        "{:?}",
        a.headers
    );
    assert!(a.headers.contains_key("x-ratelimit-remaining"));

    // A report named in UTF-8 downloads with RFC 6266 `filename*`.
    let t = s.demo_token().await;
    let q = s
        .post(
            Q,
            &t,
            json!({"Name": "q", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    let qid = q.first()["queryId"].as_str().unwrap();
    let r = s
        .post(
            R,
            &t,
            json!({"ReportName": "Übersicht Ä", "QueryId": qid, "ExecuteNow": true}),
        )
        .await;
    let rid = r.first()["reportId"].as_str().unwrap().to_string();
    let mut link = None;
    for _ in 0..300 {
        let a = s.get(&format!("{R}/execution/{rid}"), &t).await;
        if let Some(l) = a.first()["reportAccessSecureLink"].as_str() {
            link = Some(l.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = s.http.get(link.unwrap()).send().await.unwrap();
    let cd = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.is_ascii(), "{cd}");
    assert!(
        cd.contains("filename*=UTF-8''%C3%9Cbersicht%20%C3%84_"),
        "{cd}"
    );
}
