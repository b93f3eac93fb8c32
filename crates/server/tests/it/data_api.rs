//! The admin data API: every format and mode, gzip bodies, atomic
//! rejections with editor line numbers, the dataset list, and concurrent
//! loads into one dataset.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const HEADER: &str = "CustomerName,Month,PaidAvailableUnits\n";

async fn upload(
    server: &TestServer,
    tenant: &str,
    dataset: &str,
    query: &str,
    content_type: &str,
    gzip: bool,
    body: Vec<u8>,
) -> Answer {
    let mut req = server
        .http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/datasets/{dataset}/rows{query}",
            server.url
        ))
        .bearer_auth(&server.admin)
        .header("Content-Type", content_type);
    let body = if gzip {
        req = req.header("Content-Encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&body).unwrap();
        enc.finish().unwrap()
    } else {
        body
    };
    answer(req.body(body).send().await.unwrap()).await
}

async fn states(server: &TestServer, tenant: &str) -> Vec<Value> {
    let a = server
        .get(
            &format!("/admin/v1/tenants/{tenant}/datasets"),
            &server.admin,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["value"].as_array().unwrap().clone()
}

async fn state_of(server: &TestServer, tenant: &str, dataset: &str) -> Value {
    states(server, tenant)
        .await
        .into_iter()
        .find(|d| d["dataset"] == dataset)
        .unwrap_or_else(|| panic!("{dataset} is not listed"))
}

fn rows(month: &str, n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{prefix}{i},{month},{i}\n"))
        .collect()
}

async fn empty_tenant(server: &TestServer) -> String {
    server.new_tenant("Manager").await.0
}

#[tokio::test]
async fn each_format_and_mode_loads_atomically() {
    let server = TestServer::start(Db::Sqlite).await;
    let tenant = empty_tenant(&server).await;
    let before = state_of(&server, &tenant, "OfficeUsage").await;
    assert_eq!(before["rows"], 0);
    assert_eq!(before["version"], 0);
    assert_eq!(before["lastLoadTime"], Value::Null);

    // CSV, appended (the default mode).
    let csv = format!(
        "{HEADER}{}{}",
        rows("2024-01-01", 3, "a"),
        rows("2024-02-01", 2, "b")
    );
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "",
        "text/csv",
        false,
        csv.into_bytes(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["dataset"], "OfficeUsage");
    assert_eq!(a.body["rowsLoaded"], 5);
    assert_eq!(a.body["version"], 1);
    assert!(a.body["elapsedMs"].is_u64());
    let s = state_of(&server, &tenant, "OfficeUsage").await;
    assert_eq!(
        (s["rows"].as_u64(), s["version"].as_u64()),
        (Some(5), Some(1))
    );
    assert!(s["lastLoadTime"].as_str().unwrap().ends_with('Z'), "{s}");

    // NDJSON, gzip-compressed, appended; dataset names in any case.
    let ndjson = "{\"customername\":\"n1\",\"Month\":\"2024-03-01\",\"PaidAvailableUnits\":7}\n{\"CustomerName\":\"n2\",\"Month\":\"2024-03-01\"}\n";
    let a = upload(
        &server,
        &tenant,
        "officeusage",
        "?mode=append",
        "application/x-ndjson",
        true,
        ndjson.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["rowsLoaded"], 2);
    assert_eq!(state_of(&server, &tenant, "OfficeUsage").await["rows"], 7);

    // replace-range: February's 2 rows become 4.
    let feb = format!("{HEADER}{}", rows("2024-02-15", 4, "f"));
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "?mode=replace-range&from=2024-02&to=2024-02",
        "text/csv; charset=utf-8",
        false,
        feb.into_bytes(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(state_of(&server, &tenant, "OfficeUsage").await["rows"], 9);
    // A row outside the replaced range is refused, naming it.
    let outside = format!("{HEADER}x,2024-05-01,1\n");
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "?mode=replace-range&from=2024-02-01&to=2024-02-29",
        "text/csv",
        false,
        outside.into_bytes(),
    )
    .await;
    assert!(
        a.error(400).contains("outside the replaced range"),
        "{}",
        a.body
    );

    // A rejected batch changes nothing: CRLF lines, numbered as an editor
    // shows them.
    let version = state_of(&server, &tenant, "OfficeUsage").await["version"].clone();
    let bad = "CustomerName,Month,PaidAvailableUnits\r\nok,2024-01-01,1\r\nbad,2024-01-01,many\r\n";
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "?mode=replace-all",
        "text/csv",
        false,
        bad.as_bytes().to_vec(),
    )
    .await;
    let message = a.error(400);
    assert!(
        message.contains("body:3: column 'PaidAvailableUnits': 'many' is not a valid int"),
        "{message}"
    );
    let s = state_of(&server, &tenant, "OfficeUsage").await;
    assert_eq!(
        (s["rows"].clone(), s["version"].clone()),
        (Value::from(9), version)
    );

    // Parquet: the demo tenant's own part file, loaded into this tenant
    // with replace-all.
    let demo = server.tenant();
    let dir = server
        .state()
        .config
        .data_dir
        .join(format!("data/OfficeUsage/tenant={demo}"));
    let part = walk(&dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a demo part file");
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "?mode=replace-all",
        "application/vnd.apache.parquet",
        false,
        std::fs::read(&part).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let loaded = a.body["rowsLoaded"].as_u64().unwrap();
    assert!(loaded > 0);
    assert_eq!(
        state_of(&server, &tenant, "OfficeUsage").await["rows"],
        loaded
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn bad_requests_name_what_is_allowed() {
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.demo = false;
        c.limits.max_upload_mb = 1;
    })
    .await;
    let tenant = empty_tenant(&server).await;
    let csv = || format!("{HEADER}a,2024-01-01,1\n").into_bytes();
    let cases: Vec<(&str, &str, &str, u16, &str)> = vec![
        (
            "OfficeUsage",
            "",
            "application/json",
            400,
            "send text/csv, application/x-ndjson or application/vnd.apache.parquet",
        ),
        (
            "OfficeUsag",
            "",
            "text/csv",
            404,
            "Did you mean 'OfficeUsage'",
        ),
        (
            "OfficeUsage",
            "?mode=upsert",
            "text/csv",
            400,
            "use append, replace-all or replace-range",
        ),
        (
            "OfficeUsage",
            "?mode=replace-range&from=2024-01-01",
            "text/csv",
            400,
            "needs from and to",
        ),
    ];
    for (dataset, query, content_type, status, needle) in cases {
        let a = upload(&server, &tenant, dataset, query, content_type, false, csv()).await;
        assert!(
            a.error(status).contains(needle),
            "{dataset}{query}: {}",
            a.body
        );
    }
    let a = upload(
        &server,
        "no-such-tenant",
        "OfficeUsage",
        "",
        "text/csv",
        false,
        csv(),
    )
    .await;
    a.error(404);
    // Not gzip although it says so.
    let a = server
        .http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/datasets/OfficeUsage/rows",
            server.url
        ))
        .bearer_auth(&server.admin)
        .header("Content-Type", "text/csv")
        .header("Content-Encoding", "gzip")
        .body(csv())
        .send()
        .await
        .unwrap();
    let a = answer(a).await;
    assert!(a.error(400).contains("not valid gzip"), "{}", a.body);
    // Larger than limits.max_upload_mb (1 MiB here), also when it only
    // grows that large once decompressed.
    let big = format!("{HEADER}{}", rows("2024-01-01", 80_000, "big"));
    assert!(big.len() > 1 << 20);
    let a = upload(
        &server,
        &tenant,
        "OfficeUsage",
        "",
        "text/csv",
        true,
        big.into_bytes(),
    )
    .await;
    assert!(a.error(413).contains("limits.max_upload_mb"), "{}", a.body);
    // Without the admin credential: nothing.
    let a = server
        .http
        .post(format!(
            "{}/admin/v1/tenants/{tenant}/datasets/OfficeUsage/rows",
            server.url
        ))
        .header("Content-Type", "text/csv")
        .body(csv())
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(state_of(&server, &tenant, "OfficeUsage").await["rows"], 0);
}

#[tokio::test]
async fn concurrent_loads_into_one_dataset_all_land() {
    let server = TestServer::start_with(Db::Sqlite, |c| c.demo = false).await;
    let tenant = empty_tenant(&server).await;
    let loads = (0..6).map(|i| {
        let body = format!("{HEADER}{}", rows("2024-01-01", 100 + i, &format!("c{i}-")));
        upload(
            &server,
            &tenant,
            "OfficeUsage",
            "",
            "text/csv",
            false,
            body.into_bytes(),
        )
    });
    let answers = futures::future::join_all(loads).await;
    let mut versions: Vec<u64> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            a.body["version"].as_u64().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6], "each load is its own version");
    let s = state_of(&server, &tenant, "OfficeUsage").await;
    assert_eq!(s["rows"], (0..6).map(|i| 100 + i).sum::<usize>());
}

#[tokio::test]
async fn a_store_load_is_answered_at_once() {
    let server = TestServer::start(Db::Sqlite).await;
    let tenant = server.tenant();
    let token = server
        .app_token(
            &tenant,
            &server.cred("clientId"),
            &server.cred("clientSecret"),
            STORE,
        )
        .await;
    let app = server.creds["storeApplicationIds"][0]
        .as_str()
        .unwrap()
        .to_string();
    let day = (today() - chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let query = format!(
        "/v1.0/my/analytics/appacquisitions?applicationId={app}&startDate={day}&endDate={day}&aggregationLevel=day&groupby=market&filter=market eq 'ZZ'"
    );
    let a = server.get(&query, &token).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["TotalCount"], 0, "{}", a.body);
    // The Store dataset's columns, as the catalog names them (an app's
    // own acquisitions have productType 'app').
    let csv = format!(
        "date,applicationId,applicationName,productType,acquisitionType,ageGroup,deviceType,gender,market,osVersion,paymentInstrumentType,sandboxId,storeClient,acquisitionQuantity\n{day},{app},Demo,app,Free,25-34,PC,m,ZZ,Windows 11,,RETAIL,Web,5\n"
    );
    let a = upload(
        &server,
        &tenant,
        "store_acquisitions",
        "",
        "text/csv",
        false,
        csv.into_bytes(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = server.get(&query, &token).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["TotalCount"], 1, "{}", a.body);
    assert_eq!(a.body["Value"][0]["acquisitionQuantity"], 5, "{}", a.body);
}
