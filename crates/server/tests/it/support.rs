//! A running test server with the demo tenant, and an HTTP client.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::{Config, RunningServer};

pub const INSIGHTS: &str = "https://api.partnercenter.microsoft.com";
pub const STORE: &str = "https://manage.devcenter.microsoft.com";

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub url: String,
    pub creds: Value,
    pub admin: String,
    pub http: reqwest::Client,
    // Kept for its lifetime: the data dir is removed when the server goes.
    _dir: tempfile::TempDir,
}

/// An answer: status, headers, JSON body (Null when not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
    pub fn first(&self) -> &Value {
        &self.body["value"][0]
    }
    /// Asserts the envelope's failure shape and returns the message.
    pub fn error(&self, status: u16) -> &str {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["statusCode"], status, "{}", self.body);
        assert_eq!(self.body["value"], json!([]));
        assert_eq!(self.body["totalCount"], 0);
        assert!(self.headers.contains_key("ms-correlationid"));
        self.message()
    }
}

/// Where every test server's service clock starts: the instant in
/// `OPENINSIGHTS_TEST_NOW` (RFC 3339, or a date meaning 10:00 UTC that day),
/// else a fixed Wednesday. The demo data ends two days before it, so no test
/// depends on the day it runs; `scripts/calendar-tests.sh` runs the date-
/// sensitive suites on a dozen awkward dates.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    static NOW: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| {
        let text = std::env::var("OPENINSIGHTS_TEST_NOW")
            .unwrap_or_else(|_| "2026-12-02T10:00:00Z".into());
        let text = text.trim();
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(10, 0, 0).unwrap().and_utc())
            })
            .unwrap_or_else(|_| {
                panic!("OPENINSIGHTS_TEST_NOW={text}: not an RFC 3339 instant or a date")
            })
    })
}

/// The service date of every test server (see [`test_now`]).
pub fn today() -> chrono::NaiveDate {
    test_now().date_naive()
}

pub fn config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        demo_rows: 300,
        clock_start: Some(test_now().to_rfc3339()),
        ..Config::default()
    };
    c.rate_limit.burst = 10_000;
    c.rate_limit.per_second = 10_000.0;
    c.callbacks.allow_private = false;
    c
}

impl TestServer {
    pub async fn start(db: Db) -> TestServer {
        TestServer::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        if let Db::Postgres = db {
            c.database_url = Some(store::testing::postgres_url().await);
        }
        tweak(&mut c);
        let demo = c.demo;
        let server = server::start(c).await.unwrap();
        let url = server.url.clone();
        let creds = if demo {
            serde_json::from_slice(
                &std::fs::read(dir.path().join("demo-credentials.json")).unwrap(),
            )
            .unwrap()
        } else {
            Value::Null
        };
        let admin = std::fs::read_to_string(dir.path().join("admin-token")).unwrap_or_default();
        TestServer {
            server: Some(server),
            url,
            creds,
            admin,
            // Idle connections are dropped before the server's 10 s
            // keep-alive limit, so a call never reuses one the server is
            // closing at that moment (IncompleteMessage after a long sleep).
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .pool_idle_timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    pub fn cred(&self, name: &str) -> String {
        self.creds[name].as_str().unwrap().to_string()
    }

    pub fn tenant(&self) -> String {
        self.cred("tenantId")
    }

    /// Any request; `body` is sent as JSON when it is an object.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        answer(res).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// A token request (form body) to `/{tenant}/oauth2/<version>token`.
    pub async fn token_request(&self, tenant: &str, v2: bool, form: &[(&str, &str)]) -> Answer {
        let path = if v2 {
            "oauth2/v2.0/token"
        } else {
            "oauth2/token"
        };
        let res = self
            .http
            .post(format!("{}/{tenant}/{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        answer(res).await
    }

    /// An Insights token for the demo app (client credentials).
    pub async fn demo_token(&self) -> String {
        self.app_token(
            &self.tenant(),
            &self.cred("clientId"),
            &self.cred("clientSecret"),
            INSIGHTS,
        )
        .await
    }

    pub async fn app_token(
        &self,
        tenant: &str,
        client: &str,
        secret: &str,
        resource: &str,
    ) -> String {
        let a = self
            .token_request(
                tenant,
                false,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client),
                    ("client_secret", secret),
                    ("resource", resource),
                ],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["access_token"].as_str().unwrap().to_string()
    }

    /// A token of a new app of the demo tenant with `roles` (Insights).
    pub async fn token_with_roles(&self, roles: &str) -> String {
        let tenant = self.tenant();
        let app = self
            .call(
                Method::POST,
                &format!("/admin/v1/tenants/{tenant}/apps"),
                Some(&self.admin),
                Some(json!({"name": roles, "roles": roles, "apis": "insights"})),
            )
            .await;
        assert_eq!(app.status, 200, "{}", app.body);
        let client = app.first()["clientId"].as_str().unwrap().to_string();
        let secret = app.first()["clientSecret"].as_str().unwrap().to_string();
        self.app_token(&tenant, &client, &secret, INSIGHTS).await
    }

    /// Creates a tenant with an app of `roles` through the admin API;
    /// returns (tenant id, client id, secret).
    pub async fn new_tenant(&self, roles: &str) -> (String, String, String) {
        let t = self
            .call(
                Method::POST,
                "/admin/v1/tenants",
                Some(&self.admin),
                Some(json!({"name": "Other"})),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.body);
        let tenant = t.first()["tenantId"].as_str().unwrap().to_string();
        let a = self
            .call(
                Method::POST,
                &format!("/admin/v1/tenants/{tenant}/apps"),
                Some(&self.admin),
                Some(json!({"name": "app", "roles": roles})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        (
            tenant,
            a.first()["clientId"].as_str().unwrap().to_string(),
            a.first()["clientSecret"].as_str().unwrap().to_string(),
        )
    }

    pub fn state(&self) -> &server::Shared {
        &self.server.as_ref().unwrap().state
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The runtime of the test ends with it; the server task goes too.
        let _ = self.server.take();
    }
}

pub async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// A start time far enough ahead for the default 4 h lead.
pub fn later(hours: i64) -> String {
    (test_now() + chrono::Duration::hours(hours))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Runs an async test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($db: $crate::support::Db) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::support::Db::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run($crate::support::Db::Postgres).await }
        }
    };
}
