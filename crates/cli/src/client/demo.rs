//! `demo`: the walkthrough against a server of its own.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::login::Profile;
use super::{Client, INSIGHTS, request_token, show};

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
    let c = super::login::read_credentials(&creds_path)?;
    let base = c.base_url.clone();
    let profile = Profile {
        base_url: base.clone(),
        tenant: c.tenant_id,
        resource: INSIGHTS.into(),
        client_id: c.client_id,
        client_secret: c.client_secret,
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
    let created = client
        .call(
            reqwest::Method::POST,
            "/ScheduledQueries",
            Some(serde_json::to_value(proto::CreateQueryRequest {
                name: "Top customers".into(),
                description: Some("openinsights demo".into()),
                query: query.to_string(),
            })?),
        )
        .await?;
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
            Some(serde_json::to_value(proto::CreateReportRequest {
                report_name: "Top customers".into(),
                description: None,
                query_id: qid.to_string(),
                execute_now: Some(true),
                start_time: None,
                query_start_time: None,
                query_end_time: None,
                recurrence_interval: None,
                recurrence_count: None,
                format: None,
                callback_url: None,
                callback_method: None,
            })?),
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
