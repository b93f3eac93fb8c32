//! The API client commands: `login` (a token per profile, cached in the
//! user's config dir with mode 0600 and renewed automatically), queries,
//! reports, executions and downloads against a running server, with
//! aligned tables by default and `--json` for scripts.
//!
//! Exit codes: 0 success, 2 the server refused the request as invalid
//! (400/409/413), 3 authentication or authorisation (401/403: run
//! `openinsights login`), 4 not found (404/410), 1 anything else.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use comfy_table::Table;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where profiles live: `$OPENINSIGHTS_CONFIG_DIR`, else the user's config
/// dir (`~/.config/openinsights`).
fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OPENINSIGHTS_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    Ok(dirs::config_dir()
        .context("no user config directory; set OPENINSIGHTS_CONFIG_DIR")?
        .join("openinsights"))
}

/// A logged-in profile: where the server is, how to get a token, and the
/// current token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    pub base_url: String,
    pub tenant: String,
    pub resource: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub expires_on: i64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

type Profiles = std::collections::BTreeMap<String, Profile>;

fn load_profiles() -> anyhow::Result<Profiles> {
    let path = config_dir()?.join("profiles.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a profiles file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_profiles(profiles: &Profiles) -> anyhow::Result<()> {
    let dir = config_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("profiles.json");
    let tmp = dir.join("profiles.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(profiles)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

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

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    pub common: Common,
    /// Take everything from a credentials file such as the server's
    /// demo-credentials.json.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// The server's base URL.
    #[arg(long)]
    pub url: Option<String>,
    /// The tenant id or domain.
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (first line).
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Sign in as this user (password grant); the password is read from
    /// standard input (after the client secret, if both are read).
    #[arg(long)]
    pub username: Option<String>,
    /// Which API the token is for: insights or store.
    #[arg(long, default_value = "insights")]
    pub api: String,
}

const INSIGHTS: &str = "https://api.partnercenter.microsoft.com";
const STORE: &str = "https://manage.devcenter.microsoft.com";

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

    /// One call; a 429 is retried after its `Retry-After` (up to 5 times).
    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut attempt = 0;
        loop {
            let token = self.token().await?;
            let mut req = self.http.request(method.clone(), url).bearer_auth(token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req
                .send()
                .await
                .with_context(|| format!("cannot reach {}", self.profile.base_url))?;
            let status = res.status().as_u16();
            if status == 429 && attempt < 5 {
                attempt += 1;
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .min(30);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let v: Value = res.json().await.context("the server did not answer JSON")?;
            if status >= 400 {
                return Err(failure_for(status, &error_message(&v)).into());
            }
            return Ok(v);
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

pub async fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let mut p = Profile::default();
    let mut password = None;
    if let Some(file) = &args.credentials {
        let c: Value = serde_json::from_slice(
            &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
        )
        .with_context(|| format!("{} is not JSON", file.display()))?;
        let text = |k: &str| c[k].as_str().map(str::to_string);
        p.base_url = text("baseUrl").context("the credentials file has no baseUrl")?;
        p.tenant = text("tenantId").context("the credentials file has no tenantId")?;
        p.client_id = text("clientId").context("the credentials file has no clientId")?;
        p.client_secret = text("clientSecret");
        if args.username.is_some() {
            p.username = text("username");
            password = text("password");
        }
    }
    if let Some(u) = args.url {
        p.base_url = u;
    }
    if let Some(t) = args.tenant {
        p.tenant = t;
    }
    if let Some(c) = args.client_id {
        p.client_id = c;
    }
    if args.client_secret_stdin {
        p.client_secret = Some(read_line("client secret")?);
    }
    if let Some(u) = &args.username
        && password.is_none()
    {
        p.username = Some(u.clone());
        password = Some(read_line("password")?);
    }
    if p.base_url.is_empty() || p.tenant.is_empty() || p.client_id.is_empty() {
        bail!(
            "give --credentials FILE, or --url, --tenant and --client-id (with --client-secret-stdin or --username)"
        );
    }
    p.resource = match args.api.as_str() {
        "insights" => INSIGHTS.into(),
        "store" => STORE.into(),
        other => bail!("--api must be insights or store, not '{other}'"),
    };
    let http = reqwest::Client::new();
    let p = request_token(&http, &p, password.as_deref()).await?;
    let mut profiles = load_profiles()?;
    profiles.insert(args.common.profile.clone(), p.clone());
    save_profiles(&profiles)?;
    let who = p.username.clone().unwrap_or_else(|| p.client_id.clone());
    if args.common.json {
        println!(
            "{}",
            json!({"profile": args.common.profile, "baseUrl": p.base_url, "tenant": p.tenant, "user": who, "expiresOn": p.expires_on})
        );
    } else {
        println!(
            "logged in to {} as {who} (profile '{}')",
            p.base_url, args.common.profile
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The server's datasets (all, or one by name).
pub async fn datasets(common: Common, name: Option<String>) -> anyhow::Result<ExitCode> {
    let mut c = Client::open(&common.profile)?;
    let path = match &name {
        Some(n) => format!("/ScheduledDataset?datasetName={}", q(n)),
        None => "/ScheduledDataset".to_string(),
    };
    let items = c.get(&path).await?;
    show(
        &items,
        &[
            "datasetName",
            "minimumRecurrenceInterval",
            "availableDateRanges",
        ],
        common.json,
    )
}

#[derive(Subcommand, Debug)]
pub enum RemoteQuery {
    /// Save a query on the server.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The query text.
        text: String,
    },
    /// List the saved and system queries.
    List {
        /// Only your own queries.
        #[arg(long)]
        mine: bool,
    },
    /// Run a saved query (`--id`) or a text now and show its first 100 rows.
    Test {
        #[arg(long)]
        id: Option<String>,
        text: Option<String>,
    },
    /// Delete a saved query.
    Delete { id: String },
}

pub async fn query(common: Common, command: RemoteQuery) -> anyhow::Result<ExitCode> {
    let mut c = Client::open(&common.profile)?;
    let cols = ["queryId", "name", "type", "query"];
    match command {
        RemoteQuery::Create {
            name,
            description,
            text,
        } => {
            let v = c
                .call(
                    reqwest::Method::POST,
                    "/ScheduledQueries",
                    Some(json!({"Name": name, "Description": description, "Query": text})),
                )
                .await?;
            show_value(&v, &cols, common.json)
        }
        RemoteQuery::List { mine } => {
            let path = if mine {
                "/ScheduledQueries?includeSystemQueries=false"
            } else {
                "/ScheduledQueries"
            };
            show(&c.get(path).await?, &cols, common.json)
        }
        RemoteQuery::Test { id, text } => {
            let path = match (id, text) {
                (Some(id), None) => format!("/ScheduledQueries/testQueryResult?queryId={}", q(&id)),
                (None, Some(t)) => {
                    format!("/ScheduledQueries/testQueryResult?exportQuery={}", q(&t))
                }
                _ => bail!("give either --id ID or the query text"),
            };
            let v = c.call(reqwest::Method::GET, &path, None).await?;
            let rows = v["value"].as_array().cloned().unwrap_or_default();
            let columns: Vec<String> = rows
                .first()
                .and_then(|r| r.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            show(&rows, &names, common.json)
        }
        RemoteQuery::Delete { id } => {
            let v = c
                .call(
                    reqwest::Method::DELETE,
                    &format!("/ScheduledQueries/{}", q(&id)),
                    None,
                )
                .await?;
            show_value(&v, &cols, common.json)
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RemoteReport {
    /// Create a report: run once now (--execute-now) or on a schedule.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        query_id: String,
        #[arg(long)]
        execute_now: bool,
        /// First run (UTC, yyyy-MM-ddTHH:mm:ssZ).
        #[arg(long)]
        start: Option<String>,
        /// Hours between runs.
        #[arg(long)]
        interval: Option<i64>,
        #[arg(long)]
        count: Option<i64>,
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// List reports.
    List,
    /// Change a report's name and schedule (every field as on create).
    Update {
        id: String,
        #[arg(long)]
        name: String,
        /// First run (UTC, yyyy-MM-ddTHH:mm:ssZ).
        #[arg(long)]
        start: String,
        /// Hours between runs.
        #[arg(long)]
        interval: i64,
        #[arg(long)]
        count: Option<i64>,
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// Pause a report.
    Pause { id: String },
    /// Resume a report.
    Resume { id: String },
    /// Delete a report, its executions and files.
    Delete { id: String },
}

fn report_path(action: &str, id: &str) -> String {
    format!("/ScheduledReport/{action}{}", q(id))
}

/// The optional fields shared by create and update.
fn with_optional(mut body: Value, count: Option<i64>, callback_url: Option<String>) -> Value {
    if let Some(n) = count {
        body["RecurrenceCount"] = n.into();
    }
    if let Some(u) = callback_url {
        body["CallbackUrl"] = u.into();
    }
    body
}

pub async fn report(common: Common, command: RemoteReport) -> anyhow::Result<ExitCode> {
    let mut c = Client::open(&common.profile)?;
    let cols = [
        "reportId",
        "reportName",
        "reportStatus",
        "startTime",
        "recurrenceInterval",
        "format",
    ];
    let v = match command {
        RemoteReport::Create {
            name,
            query_id,
            execute_now,
            start,
            interval,
            count,
            format,
            callback_url,
        } => {
            let mut body = json!({"ReportName": name, "QueryId": query_id, "ExecuteNow": execute_now, "Format": format});
            if let Some(s) = start {
                body["StartTime"] = s.into();
            }
            if let Some(i) = interval {
                body["RecurrenceInterval"] = i.into();
            }
            let body = with_optional(body, count, callback_url);
            c.call(reqwest::Method::POST, "/ScheduledReport", Some(body))
                .await?
        }
        RemoteReport::List => return show(&c.get("/ScheduledReport").await?, &cols, common.json),
        RemoteReport::Update {
            id,
            name,
            start,
            interval,
            count,
            format,
            callback_url,
        } => {
            let body = json!({"ReportName": name, "StartTime": start, "RecurrenceInterval": interval, "Format": format});
            let body = with_optional(body, count, callback_url);
            c.call(reqwest::Method::PUT, &report_path("", &id), Some(body))
                .await?
        }
        RemoteReport::Pause { id } => {
            c.call(reqwest::Method::PUT, &report_path("pause/", &id), None)
                .await?
        }
        RemoteReport::Resume { id } => {
            c.call(reqwest::Method::PUT, &report_path("resume/", &id), None)
                .await?
        }
        RemoteReport::Delete { id } => {
            c.call(reqwest::Method::DELETE, &report_path("", &id), None)
                .await?
        }
    };
    show_value(&v, &cols, common.json)
}

#[derive(Args, Debug)]
pub struct ExecutionsArgs {
    #[command(flatten)]
    pub common: Common,
    pub report_id: String,
    /// Every execution of the last 90 days, not only the newest.
    #[arg(long)]
    pub all: bool,
    /// Wait (with a spinner) until the newest execution is Completed or Failed.
    #[arg(long)]
    pub wait: bool,
}

const EXEC_COLS: [&str; 5] = [
    "executionId",
    "executionStatus",
    "dueTime",
    "rowCount",
    "reportGeneratedTime",
];

pub async fn executions(args: ExecutionsArgs) -> anyhow::Result<ExitCode> {
    let mut c = Client::open(&args.common.profile)?;
    let path = format!(
        "/ScheduledReport/execution/{}?getLatestExecution={}",
        q(&args.report_id),
        !args.all
    );
    if args.wait {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.enable_steady_tick(Duration::from_millis(120));
        loop {
            let items = c.get(&path).await?;
            let status = items
                .first()
                .and_then(|e| e["executionStatus"].as_str())
                .unwrap_or("")
                .to_string();
            spinner.set_message(format!("execution {status}"));
            if status == "Completed" || status == "Failed" {
                spinner.finish_and_clear();
                let code = show(&items, &EXEC_COLS, args.common.json)?;
                return Ok(if status == "Failed" {
                    ExitCode::from(1)
                } else {
                    code
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    show(&c.get(&path).await?, &EXEC_COLS, args.common.json)
}

#[derive(Args, Debug)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub common: Common,
    /// The report whose newest completed file is downloaded.
    pub report_id: String,
    /// A particular execution instead of the newest completed one.
    #[arg(long)]
    pub execution: Option<String>,
    /// Where to write (default: the file name the server suggests).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub async fn download(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    let mut c = Client::open(&args.common.profile)?;
    let mut path = format!(
        "/ScheduledReport/execution/{}?getLatestExecution=false&executionStatus=Completed",
        q(&args.report_id)
    );
    if let Some(e) = &args.execution {
        path.push_str(&format!("&executionId={}", q(e)));
    }
    let items = c.get(&path).await?;
    let e = items.first().cloned().context("no completed execution")?;
    let link = e["reportAccessSecureLink"]
        .as_str()
        .context("the execution has no download link")?
        .to_string();
    let expected = e["sha256"].as_str().map(str::to_string);
    let size = e["byteCount"].as_u64();
    let out = match &args.output {
        Some(p) => p.clone(),
        None => PathBuf::from(format!(
            "{}.{}",
            e["executionId"].as_str().unwrap_or("report"),
            e["format"].as_str().unwrap_or("csv")
        )),
    };
    // Resume a partial download with Range.
    let partial = out.with_extension(format!(
        "{}.part",
        out.extension().and_then(|x| x.to_str()).unwrap_or("")
    ));
    let have = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
    let mut req = c.http.get(&link);
    if have > 0 && size.is_some_and(|s| have < s) {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let mut res = req.send().await.context("cannot reach the download link")?;
    let status = res.status().as_u16();
    if status >= 400 {
        let v: Value = res.json().await.unwrap_or(Value::Null);
        return Err(failure_for(status, v["message"].as_str().unwrap_or("download failed")).into());
    }
    let append = status == 206;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(&partial)?;
    let bar = indicatif::ProgressBar::new(size.unwrap_or(0));
    bar.set_position(if append { have } else { 0 });
    while let Some(chunk) = res.chunk().await? {
        file.write_all(&chunk)?;
        bar.inc(chunk.len() as u64);
    }
    file.sync_all()?;
    bar.finish_and_clear();
    if let Some(expected) = expected {
        let mut hasher = Sha256::new();
        let mut f = std::fs::File::open(&partial)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        let got = hex::encode(hasher.finalize());
        if got != expected {
            std::fs::remove_file(&partial)?;
            bail!(
                "the downloaded file's SHA-256 {got} does not match the server's {expected}; run the command again"
            );
        }
    }
    std::fs::rename(&partial, &out)?;
    if args.common.json {
        println!(
            "{}",
            json!({"file": out.display().to_string(), "sha256": e["sha256"], "byteCount": e["byteCount"], "rowCount": e["rowCount"]})
        );
    } else {
        println!(
            "{} ({} bytes, {} rows, SHA-256 verified)",
            out.display(),
            e["byteCount"],
            e["rowCount"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// A running server's credentials file (its demo-credentials.json);
    /// without it a server is started on a temporary data dir.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

fn step(n: u32, title: &str, curl: &str) {
    println!("\n== {n}. {title}");
    println!("   $ {curl}");
}

/// The public docs' first-call walkthrough in one command, printing the
/// equivalent curl command at each step.
pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut _server = None;
    let mut _dir = None;
    let creds_path = match args.credentials {
        Some(p) => p,
        None => {
            let dir = tempfile::tempdir()?;
            let config = server::Config {
                data_dir: dir.path().to_path_buf(),
                listen: "127.0.0.1:0".into(),
                demo_rows: 2000,
                ..server::Config::default()
            };
            println!(
                "starting a server on a temporary data dir ({}) …",
                dir.path().display()
            );
            _server = Some(server::start(config).await?);
            let path = dir.path().join("demo-credentials.json");
            _dir = Some(dir);
            path
        }
    };
    let c: Value = serde_json::from_slice(
        &std::fs::read(&creds_path).with_context(|| format!("reading {}", creds_path.display()))?,
    )?;
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    let base = text("baseUrl");
    let profile = Profile {
        base_url: base.clone(),
        tenant: text("tenantId"),
        resource: INSIGHTS.into(),
        client_id: text("clientId"),
        client_secret: Some(text("clientSecret")),
        ..Profile::default()
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    step(
        1,
        "Get a token (client credentials)",
        &format!(
            "curl -s -X POST {}/{}/oauth2/token -d grant_type=client_credentials -d client_id={} --data-urlencode client_secret=$SECRET -d resource={INSIGHTS}",
            base, profile.tenant, profile.client_id
        ),
    );
    let profile = request_token(&http, &profile, None).await?;
    println!(
        "   token for {} valid until {}",
        profile.resource, profile.expires_on
    );
    let mut client = Client {
        http,
        name: String::new(),
        profile,
    };
    let auth = "-H \"Authorization: Bearer $TOKEN\"";

    step(
        2,
        "List the datasets",
        &format!("curl -s {base}/insights/v1/mpn/ScheduledDataset {auth}"),
    );
    let datasets = client.get("/ScheduledDataset").await?;
    let names: Vec<&str> = datasets
        .iter()
        .filter_map(|d| d["datasetName"].as_str())
        .collect();
    println!(
        "   {} datasets: {} …",
        names.len(),
        names.iter().take(6).copied().collect::<Vec<_>>().join(", ")
    );

    let query = "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage ORDER BY TotalMonthlyActiveUsers LIMIT 10 TIMESPAN LAST_6_MONTHS";
    step(
        3,
        "Save a query",
        &format!(
            "curl -s -X POST {base}/insights/v1/mpn/ScheduledQueries {auth} -H 'Content-Type: application/json' -d '{{\"Name\":\"Top customers\",\"Query\":\"{query}\"}}'"
        ),
    );
    let created = client.call(reqwest::Method::POST, "/ScheduledQueries", Some(json!({"Name": "Top customers", "Description": "openinsights demo", "Query": query}))).await?;
    let qid = created["value"][0]["queryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("   queryId {qid}");

    step(
        4,
        "Test it (first rows)",
        &format!(
            "curl -s '{base}/insights/v1/mpn/ScheduledQueries/testQueryResult?queryId={qid}' {auth}"
        ),
    );
    let rows = client
        .call(
            reqwest::Method::GET,
            &format!("/ScheduledQueries/testQueryResult?queryId={qid}"),
            None,
        )
        .await?;
    let rows = rows["value"].as_array().cloned().unwrap_or_default();
    show(
        &rows.iter().take(5).cloned().collect::<Vec<_>>(),
        &["CustomerName", "TotalMonthlyActiveUsers"],
        false,
    )?;

    step(
        5,
        "Run it once now as a report",
        &format!(
            "curl -s -X POST {base}/insights/v1/mpn/ScheduledReport {auth} -H 'Content-Type: application/json' -d '{{\"ReportName\":\"Top customers\",\"QueryId\":\"{qid}\",\"ExecuteNow\":true}}'"
        ),
    );
    let report = client
        .call(
            reqwest::Method::POST,
            "/ScheduledReport",
            Some(json!({"ReportName": "Top customers", "QueryId": qid, "ExecuteNow": true})),
        )
        .await?;
    let rid = report["value"][0]["reportId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("   reportId {rid}");

    step(
        6,
        "Wait for the execution",
        &format!("curl -s {base}/insights/v1/mpn/ScheduledReport/execution/{rid} {auth}"),
    );
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    let execution = loop {
        let items = client
            .get(&format!("/ScheduledReport/execution/{rid}"))
            .await?;
        let e = items.first().cloned().unwrap_or(Value::Null);
        let status = e["executionStatus"].as_str().unwrap_or("").to_string();
        spinner.set_message(format!("execution {status}"));
        if status == "Completed" {
            break e;
        }
        if status == "Failed" {
            spinner.finish_and_clear();
            bail!("the execution failed: {}", e["failureReason"]);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    spinner.finish_and_clear();
    println!(
        "   Completed: {} rows, {} bytes",
        execution["rowCount"], execution["byteCount"]
    );

    let link = execution["reportAccessSecureLink"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    step(
        7,
        "Download the file (no token needed until the link expires)",
        &format!("curl -s -o report.csv '{link}'"),
    );
    let body = client.http.get(&link).send().await?.text().await?;
    for line in body.lines().take(6) {
        println!("   {line}");
    }
    if _server.is_some() {
        println!(
            "\nDone. With your own server: `openinsights serve`, then `openinsights login --credentials openinsights-data/demo-credentials.json` and `openinsights --help`."
        );
    } else {
        println!(
            "\nDone. The same with the CLI: `openinsights login --credentials {}` and `openinsights --help`.",
            creds_path.display()
        );
    }
    if let Some(server) = _server {
        server.shutdown().await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `openinsights store <method>`: one Store analytics API call.
#[derive(Args, Debug)]
pub struct StoreArgs {
    #[command(flatten)]
    pub common: Common,
    /// The method below /v1.0/my/analytics/, e.g. appacquisitions,
    /// failurehits, desktop/installbasedaily, gameanalytics.
    pub method: String,
    #[arg(long)]
    pub application_id: Option<String>,
    /// Any date form the API accepts (2026-01-31, 1/31/2026, ...).
    #[arg(long)]
    pub start_date: Option<String>,
    #[arg(long)]
    pub end_date: Option<String>,
    /// e.g. "market eq 'US' and deviceType eq 'PC'".
    #[arg(long)]
    pub filter: Option<String>,
    /// e.g. date,market.
    #[arg(long)]
    pub groupby: Option<String>,
    /// e.g. "date desc".
    #[arg(long)]
    pub orderby: Option<String>,
    /// day, week, month (hour, minute where the method has them).
    #[arg(long)]
    pub aggregation_level: Option<String>,
    /// For gameanalytics: productvalues, achievements, concurrency, ...
    #[arg(long)]
    pub metric_type: Option<String>,
    #[arg(long)]
    pub top: Option<u64>,
    #[arg(long)]
    pub skip: Option<u64>,
    /// Any other parameter, as NAME=VALUE (repeatable): failureHash=...,
    /// cabId=..., inAppProductId=...
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Follow @nextLink to the last page.
    #[arg(long)]
    pub all: bool,
    /// Where a CAB download goes (cabdownload methods).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn store_query(args: &StoreArgs) -> anyhow::Result<String> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let named = [
        ("applicationId", &args.application_id),
        ("startDate", &args.start_date),
        ("endDate", &args.end_date),
        ("filter", &args.filter),
        ("groupby", &args.groupby),
        ("orderby", &args.orderby),
        ("aggregationLevel", &args.aggregation_level),
        ("metricType", &args.metric_type),
    ];
    for (k, v) in named {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    if let Some(t) = args.top {
        out.append_pair("top", &t.to_string());
    }
    if let Some(s) = args.skip {
        out.append_pair("skip", &s.to_string());
    }
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Failure {
                code: 2,
                message: format!("--param '{p}' is not NAME=VALUE"),
            }
            .into());
        };
        out.append_pair(k, v);
    }
    Ok(out.finish())
}

pub async fn store(args: StoreArgs) -> anyhow::Result<ExitCode> {
    let mut client = Client::open(&args.common.profile)?;
    if client.profile.resource.trim_end_matches('/') != STORE {
        return Err(Failure {
            code: 3,
            message: format!(
                "profile '{}' holds a token for {}, not the Store analytics API: run `openinsights login --api store --profile {}`",
                args.common.profile, client.profile.resource, args.common.profile
            ),
        }
        .into());
    }
    let method = args.method.trim_matches('/').to_string();
    let base = format!(
        "{}/v1.0/my/analytics/",
        client.profile.base_url.trim_end_matches('/')
    );
    let url = format!("{base}{method}?{}", store_query(&args)?);
    if method.ends_with("cabdownload") {
        return cab_download(&mut client, &url, args.output.as_deref()).await;
    }
    let mut answer = client.send(reqwest::Method::GET, &url, None).await?;
    if let Value::Array(items) = answer {
        // Xbox concurrency: a bare array.
        return show_rows(&items, args.common.json);
    }
    let total = answer["TotalCount"].clone();
    let mut rows: Vec<Value> = answer["Value"].as_array().cloned().unwrap_or_default();
    if args.all {
        while let Some(next) = answer["@nextLink"].as_str().filter(|s| !s.is_empty()) {
            let next = if next.starts_with("http") {
                next.to_string()
            } else {
                format!("{base}{next}")
            };
            answer = client.send(reqwest::Method::GET, &next, None).await?;
            rows.extend(answer["Value"].as_array().cloned().unwrap_or_default());
        }
    }
    if !args.common.json {
        eprintln!(
            "{} of {} rows{}",
            rows.len(),
            total,
            if answer["@nextLink"].is_string() && !args.all {
                " (more: --all, or --skip)"
            } else {
                ""
            }
        );
    }
    show_rows(&rows, args.common.json)
}

/// Rows as JSON, or as a table of the first row's fields.
fn show_rows(rows: &[Value], json: bool) -> anyhow::Result<ExitCode> {
    let columns: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    show(rows, &columns, json)
}

async fn cab_download(
    client: &mut Client,
    url: &str,
    output: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let Some(output) = output else {
        return Err(Failure {
            code: 2,
            message: "a CAB download needs --output FILE".into(),
        }
        .into());
    };
    let token = client.token().await?;
    let res = client
        .http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", client.profile.base_url))?;
    let status = res.status().as_u16();
    if status >= 400 {
        let v: Value = res.json().await.unwrap_or(Value::Null);
        return Err(failure_for(status, &error_message(&v)).into());
    }
    let bytes = res.bytes().await?;
    std::fs::write(output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("saved {} bytes to {}", bytes.len(), output.display());
    Ok(ExitCode::SUCCESS)
}
