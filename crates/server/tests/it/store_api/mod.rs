//! The Store analytics API end to end: every method of the contract over
//! real HTTP against the demo tenant's generated data.

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use query::storeapi::methods::{METHODS, Method, Scope, Shape, Stored};
use serde_json::Value;

use crate::support::{Answer, Db, STORE, TestServer, answer, today};

mod answers;
mod bucket;
mod documented;
mod errors;
mod filters;
mod paging;
mod parameters;

use documented::documented;

const APP: &str = "9NBLGGH4R315";
const GAME: &str = "9NBLGGGZ5QDR";
const DESKTOP: &str = "10293847";
const DRIVER: &str = "14567890";

struct Store {
    server: TestServer,
    token: String,
}

impl Store {
    async fn start() -> Store {
        Store::start_on(Db::Sqlite).await
    }

    async fn start_on(db: Db) -> Store {
        Store::start_with(db, |_| {}).await
    }

    async fn start_with(db: Db, tweak: impl FnOnce(&mut server::Config)) -> Store {
        let server = TestServer::start_with(db, tweak).await;
        let token = server
            .app_token(
                &server.tenant(),
                &server.cred("clientId"),
                &server.cred("clientSecret"),
                STORE,
            )
            .await;
        Store { server, token }
    }

    async fn get_with(&self, token: Option<&str>, method: &str, params: &[(&str, &str)]) -> Answer {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut req = self.server.http.get(format!(
            "{}/v1.0/my/analytics/{method}?{query}",
            self.server.url
        ));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn get(&self, method: &str, params: &[(&str, &str)]) -> Answer {
        self.get_with(Some(&self.token), method, params).await
    }

    /// A 200 answer's rows.
    async fn rows(&self, method: &str, params: &[(&str, &str)]) -> Vec<Value> {
        let a = self.get(method, params).await;
        assert_eq!(a.status, 200, "{method} {params:?}: {}", a.body);
        a.body["Value"].as_array().cloned().unwrap_or_default()
    }
}

fn day(offset: i64) -> String {
    (today() - Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// Asserts the error JSON of spec §1.7 and returns `innererror.data`.
fn store_error(a: &Answer, status: u16, code: &str) -> Vec<String> {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    assert_eq!(a.body["source"], "AnalyticsAPI");
    assert_eq!(a.body["data"], serde_json::json!([]));
    assert_eq!(a.body["innererror"]["source"], "AnalyticsAPI");
    assert!(a.body["innererror"]["message"].is_string());
    assert!(a.body["message"].is_string());
    a.body["innererror"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn product_for(m: &Method) -> Option<&'static str> {
    if m.scope == Scope::Account {
        return None;
    }
    Some(match m.path.split('/').next().unwrap_or("") {
        "desktop" => DESKTOP,
        "driver" => DRIVER,
        "xbox" | "gameanalytics" => GAME,
        _ => APP,
    })
}

/// What a failure-related method needs: a failureHash and a CAB key of
/// the product (or account).
async fn failure_ids(s: &Store, prefix: &str, app: Option<&str>) -> (String, String) {
    let hits = format!("{prefix}failurehits");
    let mut params = vec![
        ("startDate", day(29)),
        ("endDate", day(0)),
        ("groupby", "failureHash".to_string()),
    ];
    if let Some(a) = app {
        params.push(("applicationId", a.to_string()));
    }
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rows = s.rows(&hits, &p).await;
    assert!(!rows.is_empty(), "{hits} has rows");
    let hash = rows[0]["failureHash"].as_str().unwrap().to_string();
    let mut params = vec![("failureHash", hash.clone())];
    if let Some(a) = app {
        params.push(("applicationId", a.to_string()));
    }
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let details = s.rows(&format!("{prefix}failuredetails"), &p).await;
    assert!(
        !details.is_empty(),
        "{prefix}failuredetails has rows for {hash}"
    );
    let key = details[0]
        .get("cabId")
        .or_else(|| details[0].get("cabIdHash"))
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    (hash, key)
}

fn sum(rows: &[Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap()).sum()
}

fn sum_f(rows: &[Value], field: &str) -> f64 {
    rows.iter().map(|r| r[field].as_f64().unwrap()).sum()
}
