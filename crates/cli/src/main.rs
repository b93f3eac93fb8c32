//! The `openinsights` binary, one tool for every role:
//!
//! | module | commands |
//! |---|---|
//! | `ops` | `serve`, `tenant`/`app`/`user`/`keys` (identity over a data dir) |
//! | `data` | `ingest`, `seed`, `query run` (operator commands over a data dir) |
//! | `remote_ingest` | `ingest --url` (loads through the admin data API) |
//! | `admin_client` | `clock`, `journal`, `faults` (the admin API's clock, request journal and fault rules), the admin token |
//! | `client` | `login`, `query`, `report`, `executions`, `download`, `store`, `demo` (API client) |
//! | (here) | `datasets` (the catalog), `query check` (the checker), argument parsing |
//!
//! Exit codes: 0 success, 2 a query that does not check, a rejected batch,
//! a request the server refused as invalid or a usage error, 3 a refused
//! token or role, 4 not found, 1 anything else.

mod admin_client;
mod client;
mod data;
mod ops;
mod remote_ingest;

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use query::Catalog;
use query::catalog::Dataset;

#[derive(Parser)]
#[command(
    name = "openinsights",
    version,
    about = "Self-hostable Partner Insights and Store analytics APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the Insights datasets, or show one dataset's columns and metrics.
    Datasets {
        /// A dataset name (any case, aliases accepted).
        name: Option<String>,
        /// Print JSON items shaped like the API's ScheduledDataset answer.
        #[arg(long)]
        json: bool,
        /// Ask the server of the profile (see `openinsights login`) instead
        /// of the built-in catalog.
        #[arg(long)]
        remote: bool,
        /// The profile for --remote.
        #[arg(long, env = "OPENINSIGHTS_PROFILE", default_value = "default")]
        profile: String,
    },
    /// Work with report queries (offline: check, run; on the server:
    /// create, list, test, delete).
    Query {
        #[command(flatten)]
        common: client::Common,
        #[command(subcommand)]
        command: QueryCommand,
    },
    /// Sign in to a server and cache the token in a profile.
    Login(client::LoginArgs),
    /// Work with reports on the server.
    Report {
        #[command(flatten)]
        common: client::Common,
        #[command(subcommand)]
        command: client::RemoteReport,
    },
    /// Call a Store analytics API method (`openinsights login --api store`
    /// first), e.g. `openinsights store appacquisitions --application-id
    /// 9NBLGGH4R315 --groupby date,market --aggregation-level week`.
    Store(client::StoreArgs),
    /// A report's executions on the server (`--wait` for the newest to finish).
    Executions(client::ExecutionsArgs),
    /// Download a report's file (resumes with Range, verifies SHA-256).
    Download(client::DownloadArgs),
    /// The first-call walkthrough of the public docs in one command, with
    /// the equivalent curl command at each step.
    Demo(client::DemoArgs),
    /// Load rows into a tenant's dataset from CSV, NDJSON or Parquet files,
    /// in one atomic batch.
    Ingest(data::IngestArgs),
    /// Show or move a server's service clock (admin API).
    Clock(admin_client::ClockArgs),
    /// A tenant's last calls to a server, as it journaled them (admin API).
    Journal(admin_client::JournalArgs),
    /// Add, list or remove a server's fault rules (admin API).
    Faults(admin_client::FaultsArgs),
    /// Generate realistic, deterministic demo data for a tenant, replacing
    /// its rows of the chosen datasets.
    Seed(data::SeedArgs),
    /// Run the server: token service and APIs over the data dir.
    Serve(ops::ServeArgs),
    /// Administer tenants.
    Tenant {
        #[command(flatten)]
        dir: ops::ServerDir,
        #[command(subcommand)]
        command: ops::TenantCommand,
    },
    /// Administer apps (OAuth clients) and their secrets.
    App {
        #[command(flatten)]
        dir: ops::ServerDir,
        #[command(subcommand)]
        command: ops::AppCommand,
    },
    /// Administer users.
    User {
        #[command(flatten)]
        dir: ops::ServerDir,
        #[command(subcommand)]
        command: ops::UserCommand,
    },
    /// Manage the token signing keys.
    Keys {
        #[command(flatten)]
        dir: ops::ServerDir,
        #[command(subcommand)]
        command: ops::KeysCommand,
    },
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Parse and resolve a query offline; print its plan or what is wrong.
    Check {
        /// The query text, or `-` to read it from standard input.
        text: String,
        /// Reference instant for the TIMESPAN window (RFC 3339); default now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Run a query over a tenant's data in the data directory and write the
    /// report file (CSV or TSV) to a file or standard output.
    Run(data::RunArgs),
    #[command(flatten)]
    Remote(client::RemoteQuery),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let catalog = query::builtin();
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Datasets {
            name,
            json,
            remote: true,
            profile,
        } => client::run(client::datasets(client::Common { profile, json }, name)),
        Command::Datasets { name, json, .. } => {
            let datasets: Vec<&Dataset> = match &name {
                None => catalog.datasets().iter().collect(),
                Some(n) => match engine::schema::dataset(n) {
                    Ok(d) => vec![d],
                    Err(e) => return data::report(e),
                },
            };
            if json {
                let items: Vec<serde_json::Value> =
                    datasets.iter().map(|d| dataset_json(d)).collect();
                serde_json::to_writer_pretty(&mut out, &items)?;
                writeln!(out)?;
            } else if name.is_some() {
                for d in datasets {
                    writeln!(out, "{}", dataset_detail(d))?;
                }
            } else {
                writeln!(out, "{}", dataset_table(&datasets))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(args) => data::ingest(args),
        Command::Clock(args) => admin_client::clock(args),
        Command::Journal(args) => admin_client::journal(args),
        Command::Faults(args) => admin_client::faults(args),
        Command::Seed(args) => data::seed(args),
        Command::Serve(args) => ops::serve(args),
        Command::Tenant { dir, command } => ops::identity(&dir, ops::Identity::Tenant(command)),
        Command::App { dir, command } => ops::identity(&dir, ops::Identity::App(command)),
        Command::User { dir, command } => ops::identity(&dir, ops::Identity::User(command)),
        Command::Keys { dir, command } => ops::identity(&dir, ops::Identity::Keys(command)),
        Command::Login(args) => client::run(client::login(args)),
        Command::Report { common, command } => client::run(client::report(common, command)),
        Command::Executions(args) => client::run(client::executions(args)),
        Command::Store(args) => client::run(client::store(args)),
        Command::Download(args) => client::run(client::download(args)),
        Command::Demo(args) => client::run(client::demo(args)),
        Command::Query {
            command: QueryCommand::Remote(command),
            common,
        } => client::run(client::query(common, command)),
        Command::Query {
            command: QueryCommand::Run(args),
            ..
        } => data::run(args),
        Command::Query {
            command: QueryCommand::Check { text, at },
            ..
        } => {
            let text = if text == "-" {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .context("reading the query from standard input")?;
                buf
            } else {
                text
            };
            let at = match at {
                None => Utc::now(),
                Some(s) => DateTime::parse_from_rfc3339(&s)
                    .with_context(|| {
                        format!(
                            "--at '{s}' is not an RFC 3339 timestamp such as 2026-11-21T10:00:00Z"
                        )
                    })?
                    .with_timezone(&Utc),
            };
            match query::check(&text, catalog) {
                Ok(plan) => {
                    write!(out, "{plan}")?;
                    if let Some(w) = plan.time_window(at) {
                        writeln!(out, "window at {}: {w}", at.format("%Y-%m-%dT%H:%M:%SZ"))?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprintln!("{}", error.render(&text));
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

/// The query text, or standard input for `-`.
fn read_query_text(text: String) -> anyhow::Result<String> {
    if text != "-" {
        return Ok(text);
    }
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .context("reading the query from standard input")?;
    Ok(buf)
}

/// An optional RFC 3339 instant given as a flag.
fn parse_instant(flag: &str, value: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
    value
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| {
                    format!(
                        "{flag} '{s}' is not an RFC 3339 timestamp such as 2026-11-21T10:00:00Z"
                    )
                })
        })
        .transpose()
}

/// A dataset as the API's `GET /ScheduledDataset` lists it.
fn dataset_json(d: &Dataset) -> serde_json::Value {
    serde_json::to_value(server::insights::items::dataset_item(d)).unwrap_or_default()
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

fn dataset_table(datasets: &[&Dataset]) -> Table {
    let mut table = new_table(&[
        "dataset",
        "date column",
        "date ranges",
        "columns",
        "metrics",
        "min. interval",
    ]);
    for d in datasets {
        table.add_row(vec![
            d.name.clone(),
            d.date_column.clone().unwrap_or_else(|| "-".into()),
            d.available_date_ranges
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            d.columns.len().to_string(),
            d.metrics.len().to_string(),
            format!("{} h", d.minimum_recurrence_interval),
        ]);
    }
    table
}

fn dataset_detail(d: &Dataset) -> String {
    let mut table = new_table(&["name", "kind", "type", "restricted", "definition"]);
    for c in &d.columns {
        let definition = if d.date_column.as_deref() == Some(c.name.as_str()) {
            "TIMESPAN filters this column"
        } else {
            ""
        };
        table.add_row(vec![
            c.name.clone(),
            "column".into(),
            c.ty.to_string(),
            yes(c.restricted),
            definition.into(),
        ]);
    }
    for m in &d.metrics {
        let definition = match &m.column {
            Some(c) => format!("{}({c})", m.kind.as_str()),
            None => m.kind.as_str().to_string(),
        };
        table.add_row(vec![
            m.name.clone(),
            "metric".into(),
            m.ty.to_string(),
            yes(m.restricted),
            definition,
        ]);
    }
    let aliases = if d.aliases.is_empty() {
        String::new()
    } else {
        format!(" (also: {})", d.aliases.join(", "))
    };
    let ranges: Vec<&str> = d.available_date_ranges.iter().map(|r| r.as_str()).collect();
    format!(
        "{}{aliases}\ndate ranges: {}; minimum recurrence interval: {} h\n{table}",
        d.name,
        ranges.join(", "),
        d.minimum_recurrence_interval
    )
}

fn yes(b: bool) -> String {
    if b { "yes".into() } else { String::new() }
}
