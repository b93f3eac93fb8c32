//! The Insights API commands: datasets, queries, reports, executions and
//! report downloads.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use proto::{CreateQueryRequest, CreateReportRequest, UpdateReportRequest};

use super::{Client, Common, failure_for, q, show, show_value};

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
                    Some(serde_json::to_value(CreateQueryRequest {
                        name,
                        description: Some(description),
                        query: text,
                    })?),
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
            let body = CreateReportRequest {
                report_name: name,
                description: None,
                query_id,
                execute_now: Some(execute_now),
                start_time: start,
                query_start_time: None,
                query_end_time: None,
                recurrence_interval: interval,
                recurrence_count: count,
                format: Some(format),
                callback_url,
                callback_method: None,
            };
            c.call(
                reqwest::Method::POST,
                "/ScheduledReport",
                Some(serde_json::to_value(body)?),
            )
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
            let body = UpdateReportRequest {
                report_name: name,
                description: None,
                start_time: start,
                recurrence_interval: interval,
                recurrence_count: count,
                format: Some(format),
                callback_url,
                callback_method: None,
            };
            c.call(
                reqwest::Method::PUT,
                &report_path("", &id),
                Some(serde_json::to_value(body)?),
            )
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
