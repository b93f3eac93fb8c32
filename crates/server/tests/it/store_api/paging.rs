//! Paging and next links.

use super::*;

/// Pages are disjoint and their union is the one big page; @nextLink is
/// relative and absent on the last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_walks_every_row_once() {
    let s = Store::start().await;
    let params = [
        ("applicationId", APP),
        ("startDate", "2020-01-01"),
        ("endDate", "12/31/9999"),
        ("groupby", "date,market"),
        ("aggregationLevel", "week"),
        ("orderby", "date desc"),
    ];
    let mut all = params.to_vec();
    all.push(("top", "10000"));
    let big = s.get("appacquisitions", &all).await;
    assert_eq!(big.status, 200);
    assert!(big.body.get("@nextLink").is_none());
    let total = big.body["TotalCount"].as_u64().unwrap();
    assert_eq!(big.body["Value"].as_array().unwrap().len() as u64, total);
    assert!(big.body["DataFreshnessTimestamp"].as_str().unwrap().len() == 19);
    let mut seen = Vec::new();
    let mut first = params.to_vec();
    first.push(("top", "97"));
    let mut a = s.get("appacquisitions", &first).await;
    loop {
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["TotalCount"].as_u64().unwrap(), total);
        seen.extend(a.body["Value"].as_array().unwrap().iter().cloned());
        let Some(next) = a.body["@nextLink"].as_str() else {
            break;
        };
        assert!(next.starts_with("appacquisitions?"), "relative: {next}");
        let res = s
            .server
            .http
            .get(format!("{}/v1.0/my/analytics/{next}", s.server.url))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap();
        a = answer(res).await;
    }
    assert_eq!(seen, big.body["Value"].as_array().unwrap().clone());
    let keys: HashSet<String> = seen
        .iter()
        .map(|r| format!("{}{}", r["date"], r["market"]))
        .collect();
    assert_eq!(keys.len(), seen.len(), "pages are disjoint");
    let dates: Vec<&str> = seen.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "ordered by date desc"
    );
}

/// Absolute next links are a server setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_links_can_be_absolute() {
    let server =
        TestServer::start_with(Db::Sqlite, |c| c.store_api.absolute_next_links = true).await;
    let token = server
        .app_token(
            &server.tenant(),
            &server.cred("clientId"),
            &server.cred("clientSecret"),
            STORE,
        )
        .await;
    let s = Store { server, token };
    let a = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("startDate", &day(60)),
                ("endDate", &day(0)),
                ("groupby", "date"),
                ("top", "5"),
            ],
        )
        .await;
    let next = a.body["@nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/my/analytics/installs?", s.server.url)),
        "{next}"
    );
    let b = answer(
        s.server
            .http
            .get(next)
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b.status, 200);
    assert_ne!(a.body["Value"][0], b.body["Value"][0]);
}
