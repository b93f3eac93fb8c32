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
        Some(ClockAction::Advance { by }) => Some(serde_json::json!({ "advance": by })),
        Some(ClockAction::Set { to }) => Some(serde_json::json!({ "set": to })),
    };
    crate::data::runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let req = match body {
            None => http.get(&url),
            Some(b) => http.post(&url).json(&b),
        };
        let res = req
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = res.status();
        let value: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() {
            let item: proto::admin::ClockItem =
                serde_json::from_value(value).context("reading the server's answer")?;
            println!("{} (rate {})", item.now, item.rate);
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "error: {}",
            value["message"]
                .as_str()
                .unwrap_or("the server refused the call")
        );
        Ok(match status.as_u16() {
            401 | 403 => ExitCode::from(3),
            400..=499 => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        })
    })
}
