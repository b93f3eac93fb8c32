//! `store`: every Store analytics method, paged with `--all`, CAB files
//! saved with `--output`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::{Client, Common, Failure, STORE, error_message, failure_for, show};

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
    let res = client.request(reqwest::Method::GET, url, None).await?;
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
