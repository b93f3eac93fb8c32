//! The API client commands: `login` (a token per profile, cached in the
//! user's config dir with mode 0600 and renewed automatically), queries,
//! reports, executions and downloads against a running server, with
//! aligned tables by default and `--json` for scripts.
//!
//! Exit codes: 0 success, 2 the server refused the request as invalid
//! (400/409/413), 3 authentication or authorisation (401/403: run
//! `openinsights login`), 4 not found (404/410), 1 anything else.
//!
//! | module | commands |
//! |---|---|
//! | `login` | `login`, the profiles file |
//! | `insights` | `datasets`, `query`, `report`, `executions`, `download` |
//! | `store` | `store` (every Store analytics method) |
//! | `demo` | `demo`, the walkthrough |

mod demo;
mod insights;
mod login;
mod store;

pub use demo::{DemoArgs, demo};
pub use insights::{
    DownloadArgs, ExecutionsArgs, RemoteQuery, RemoteReport, datasets, download, executions, query,
    report,
};
pub use login::{LoginArgs, login};
pub use store::{StoreArgs, store};

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use comfy_table::Table;
use serde_json::Value;

use login::{Profile, load_profiles, save_profiles};

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The profile to use (see `openinsights login`).
    #[arg(
        long,
        env = "OPENINSIGHTS_PROFILE",
        default_value = "default",
        global = true
    )]
    pub profile: String,
    /// Print JSON (the API's `value` items) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

const INSIGHTS: &str = auth::Api::Insights.public_resource();
const STORE: &str = auth::Api::StoreAnalytics.public_resource();

/// A failed call, with the exit code scripts can rely on.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn failure_for(status: u16, message: &str) -> Failure {
    let (code, hint) = match status {
        401 => (
            3,
            " — the token expired or is not valid: run `openinsights login`",
        ),
        403 => (3, " — the token lacks the needed role"),
        404 | 410 => (4, ""),
        400 | 409 | 413 | 416 => (2, ""),
        _ => (1, ""),
    };
    Failure {
        code,
        message: format!("{message} (HTTP {status}){hint}"),
    }
}

struct Client {
    http: reqwest::Client,
    name: String,
    profile: Profile,
}

async fn request_token(
    http: &reqwest::Client,
    p: &Profile,
    password: Option<&str>,
) -> anyhow::Result<Profile> {
    let mut form: Vec<(&str, String)> = vec![
        ("client_id", p.client_id.clone()),
        ("resource", p.resource.clone()),
    ];
    match (&p.refresh_token, password, &p.username) {
        (_, Some(pw), Some(user)) => {
            form.push(("grant_type", "password".into()));
            form.push(("username", user.clone()));
            form.push(("password", pw.to_string()));
        }
        (Some(rt), None, Some(_)) => {
            form.push(("grant_type", "refresh_token".into()));
            form.push(("refresh_token", rt.clone()));
        }
        _ => form.push(("grant_type", "client_credentials".into())),
    }
    if let Some(secret) = &p.client_secret {
        form.push(("client_secret", secret.clone()));
    }
    let url = format!(
        "{}/{}/oauth2/token",
        p.base_url.trim_end_matches('/'),
        p.tenant
    );
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let res = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach the token endpoint {url}"))?;
    let status = res.status().as_u16();
    let v: Value = res
        .json()
        .await
        .context("the token endpoint did not answer JSON")?;
    if status != 200 {
        let why = v["error_description"].as_str().unwrap_or("refused");
        return Err(Failure {
            code: 3,
            message: format!(
                "sign-in failed: {} ({why})",
                v["error"].as_str().unwrap_or("error")
            ),
        }
        .into());
    }
    let mut out = p.clone();
    out.access_token = v["access_token"].as_str().unwrap_or_default().to_string();
    out.expires_on = v["expires_on"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if let Some(rt) = v["refresh_token"].as_str() {
        out.refresh_token = Some(rt.to_string());
    }
    Ok(out)
}

impl Client {
    fn open(name: &str) -> anyhow::Result<Client> {
        let profiles = load_profiles()?;
        let profile = profiles.get(name).cloned().ok_or_else(|| Failure {
            code: 3,
            message: format!("no profile '{name}': run `openinsights login` first"),
        })?;
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            name: name.to_string(),
            profile,
        })
    }

    /// A token valid for at least a minute more, renewed when needed.
    async fn token(&mut self) -> anyhow::Result<String> {
        if self.profile.expires_on - 60 > Utc::now().timestamp() {
            return Ok(self.profile.access_token.clone());
        }
        self.profile = request_token(&self.http, &self.profile, None).await?;
        let mut profiles = load_profiles()?;
        profiles.insert(self.name.clone(), self.profile.clone());
        save_profiles(&profiles)?;
        Ok(self.profile.access_token.clone())
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/insights/v1/mpn{path}",
            self.profile.base_url.trim_end_matches('/')
        )
    }

    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = self.url(path);
        self.send(method, &url, body).await
    }

    /// One call answered with JSON; a 429 is retried (see [`Client::request`]).
    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let res = self.request(method, url, body.as_ref()).await?;
        let status = res.status().as_u16();
        let v: Value = res.json().await.context("the server did not answer JSON")?;
        if status >= 400 {
            return Err(failure_for(status, &error_message(&v)).into());
        }
        Ok(v)
    }

    /// One authenticated call; a 429 is retried after its `Retry-After`
    /// (at most 30 s, up to 5 times), any other answer is returned as is.
    async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            let token = self.token().await?;
            let mut req = self.http.request(method.clone(), url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("cannot reach {}", self.profile.base_url))?;
            if res.status().as_u16() != 429 || attempt >= 5 {
                return Ok(res);
            }
            attempt += 1;
            let wait = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1)
                .min(30);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut v = self.call(reqwest::Method::GET, path, None).await?;
        loop {
            items.extend(v["value"].as_array().cloned().unwrap_or_default());
            let Some(next) = v["nextLink"].as_str().map(str::to_string) else {
                break;
            };
            v = self.send(reqwest::Method::GET, &next, None).await?;
        }
        Ok(items)
    }
}

/// What a failure answer says: the Store API's `innererror.data` (one
/// message per problem), else the Insights envelope's `message`.
fn error_message(v: &Value) -> String {
    if let Some(data) = v["innererror"]["data"].as_array()
        && !data.is_empty()
    {
        return data
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; ");
    }
    v["message"].as_str().unwrap_or("failed").to_string()
}

fn q(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Prints items as JSON or as a table of the given columns.
fn show(items: &[Value], columns: &[&str], json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, items)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_header(columns.to_vec());
    for item in items {
        table.add_row(columns.iter().map(|c| match &item[*c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
    }
    writeln!(out, "{table}")?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the `value` items of an API answer.
fn show_value(answer: &Value, columns: &[&str], json: bool) -> anyhow::Result<ExitCode> {
    show(
        answer["value"].as_array().map_or(&[][..], |a| a),
        columns,
        json,
    )
}

/// Runs a client command, turning failures into their exit codes.
pub fn run(
    f: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    match crate::data::runtime()?.block_on(f) {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<Failure>() {
            Some(failure) => {
                eprintln!("error: {failure}");
                Ok(ExitCode::from(failure.code))
            }
            None => Err(e),
        },
    }
}

/// One line of standard input without its line end (secrets, passwords).
pub(crate) fn read_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
