//! Calls to a server's admin API from the command line: the admin token
//! from a file or stdin (never an argument, which `ps` shows), and
//! `openinsights clock show|advance|set` (`GET`/`POST /admin/v1/clock`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

/// The admin token in `source` (a file, or `-` for stdin).
pub fn admin_token(source: Option<&Path>) -> anyhow::Result<String> {
    let text = match source {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the admin token from stdin")?;
            text
        }
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading the admin token from {}", p.display()))?,
        None => bail!(
            "the admin API needs its token: --admin-token-file PATH (e.g. <data dir>/admin-token), or - to read it from stdin"
        ),
    };
    let token = text.trim().to_string();
    if token.is_empty() {
        bail!("the admin token file is empty");
    }
    Ok(token)
}

/// Sends an admin call; the JSON answer, or the exit code after printing
/// the server's message (3 refused credential, 4 not found, 2 refused as
/// invalid, 1 anything else).
async fn call(
    req: reqwest::RequestBuilder,
    token: &str,
    what: &str,
) -> anyhow::Result<Result<serde_json::Value, ExitCode>> {
    let res = req
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("calling {what}"))?;
    let status = res.status();
    let value: serde_json::Value = res.json().await.unwrap_or_default();
    if status.is_success() {
        return Ok(Ok(value));
    }
    eprintln!(
        "error: {}",
        value["message"]
            .as_str()
            .unwrap_or("the server refused the call")
    );
    Ok(Err(match status.as_u16() {
        401 | 403 => ExitCode::from(3),
        404 => ExitCode::from(4),
        400..=499 => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }))
}

#[derive(Args, Debug)]
pub struct ClockArgs {
    /// The server (or load balancer) URL.
    #[arg(long, value_name = "URL", env = "OPENINSIGHTS_URL")]
    pub url: String,
    /// The file holding the admin token, or - for stdin.
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Option<ClockAction>,
}

#[derive(Subcommand, Debug)]
pub enum ClockAction {
    /// The service time and rate (the default).
    Show,
    /// Moves the service clock forward by a duration (`4h`, `90m`, `1d 2h`).
    Advance { by: String },
    /// Moves the service clock forward to an RFC 3339 instant.
    Set { to: String },
}

pub fn clock(args: ClockArgs) -> anyhow::Result<ExitCode> {
    let token = admin_token(args.admin_token_file.as_deref())?;
    let url = format!("{}/admin/v1/clock", args.url.trim_end_matches('/'));
    let body = match &args.action {
        None | Some(ClockAction::Show) => None,
        Some(ClockAction::Advance { by }) => Some(proto::admin::MoveClockRequest {
            advance: Some(by.clone()),
            set: None,
        }),
        Some(ClockAction::Set { to }) => Some(proto::admin::MoveClockRequest {
            advance: None,
            set: Some(to.clone()),
        }),
    };
    crate::data::runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let req = match body {
            None => http.get(&url),
            Some(b) => http.post(&url).json(&b),
        };
        let value = match call(req, &token, &url).await? {
            Ok(value) => value,
            Err(code) => return Ok(code),
        };
        let item: proto::admin::ClockItem =
            serde_json::from_value(value).context("reading the server's answer")?;
        println!("{} (rate {})", item.now, item.rate);
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Args, Debug)]
pub struct JournalArgs {
    /// The server URL (a replica's: each journals the calls it served).
    #[arg(long, value_name = "URL", env = "OPENINSIGHTS_URL")]
    pub url: String,
    /// The file holding the admin token, or - for stdin.
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
    /// The tenant whose calls are shown.
    #[arg(long)]
    pub tenant: String,
    /// How many of the newest calls to show first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Keep printing new calls as they come (every second) until stopped.
    #[arg(long)]
    pub follow: bool,
    /// Print JSON lines (the API's items) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `openinsights journal`: a tenant's last calls, oldest of them first.
pub fn journal(args: JournalArgs) -> anyhow::Result<ExitCode> {
    let token = admin_token(args.admin_token_file.as_deref())?;
    let base = format!(
        "{}/admin/v1/tenants/{}/journal",
        args.url.trim_end_matches('/'),
        args.tenant
    );
    crate::data::runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let mut since = 0u64;
        let mut first = true;
        loop {
            let url = if first {
                format!("{base}?limit={}", args.limit)
            } else {
                format!("{base}?since={since}&limit=10000")
            };
            let value = match call(http.get(&url), &token, &base).await? {
                Ok(value) => value,
                Err(code) => return Ok(code),
            };
            let list: proto::admin::ValueList<proto::admin::JournalEntryItem> =
                serde_json::from_value(value).context("reading the server's answer")?;
            let mut entries = list.value;
            entries.reverse(); // oldest first, as a log reads
            if let Some(last) = entries.last() {
                since = since.max(last.seq);
            }
            print_entries(&entries, args.json, first);
            first = false;
            if !args.follow {
                return Ok(ExitCode::SUCCESS);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
}

fn print_entries(entries: &[proto::admin::JournalEntryItem], json: bool, header: bool) {
    if json {
        for e in entries {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        }
        return;
    }
    if entries.is_empty() && !header {
        return;
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    if header {
        table.set_header([
            "seq", "time", "method", "path", "status", "ms", "client", "user", "fault",
        ]);
    }
    for e in entries {
        let path = match &e.query {
            Some(q) if !q.is_empty() => format!("{}?{q}", e.path),
            _ => e.path.clone(),
        };
        table.add_row([
            e.seq.to_string(),
            e.time.clone(),
            e.method.clone(),
            path,
            e.status.to_string(),
            format!("{:.1}", e.latency_ms),
            e.client_id.clone().unwrap_or_default(),
            e.user.clone().unwrap_or_default(),
            e.fault.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
}

#[derive(Args, Debug)]
pub struct FaultsArgs {
    /// The server URL (rules live in the process that answers).
    #[arg(long, value_name = "URL", env = "OPENINSIGHTS_URL")]
    pub url: String,
    /// The file holding the admin token, or - for stdin.
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
    #[command(subcommand)]
    pub action: FaultsAction,
}

#[derive(Subcommand, Debug)]
pub enum FaultsAction {
    /// Adds a rule given as JSON, e.g.
    /// '{"api":"store","status":429,"retryAfter":2,"probability":0.5,"seed":7}'.
    Add { rule: String },
    /// Lists the rules with their hits and remaining counts.
    List,
    /// Removes one rule.
    Delete { id: String },
    /// Removes every rule.
    Clear,
}

/// `openinsights faults add|list|delete|clear` (`/admin/v1/faults`).
pub fn faults(args: FaultsArgs) -> anyhow::Result<ExitCode> {
    let token = admin_token(args.admin_token_file.as_deref())?;
    let base = format!("{}/admin/v1/faults", args.url.trim_end_matches('/'));
    crate::data::runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let req = match &args.action {
            FaultsAction::Add { rule } => {
                let body: serde_json::Value = serde_json::from_str(rule)
                    .context("the rule is not JSON; see `openinsights faults add --help`")?;
                http.post(&base).json(&body)
            }
            FaultsAction::List => http.get(&base),
            FaultsAction::Delete { id } => http.delete(format!("{base}/{id}")),
            FaultsAction::Clear => http.delete(&base),
        };
        let value = match call(req, &token, &base).await? {
            Ok(value) => value,
            Err(code) => return Ok(code),
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        Ok(ExitCode::SUCCESS)
    })
}
