//! `openinsights ingest --url URL`: loads files through a server's admin
//! data API (`POST /admin/v1/tenants/{tenant}/datasets/{dataset}/rows`)
//! instead of writing the data directory, so an operator needs no shell
//! on the server's machine. Each file is one atomic load, streamed from
//! disk with a progress bar; the admin token comes from a file or stdin,
//! never from the command line (where `ps` would show it).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use engine::ingest::{Format, LoadMode};
use futures::StreamExt;

use crate::data::IngestArgs;

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv",
        Format::Ndjson => "application/x-ndjson",
        Format::Parquet => "application/vnd.apache.parquet",
    }
}

fn mode_query(mode: LoadMode) -> String {
    match mode {
        LoadMode::Append => "mode=append".into(),
        LoadMode::ReplaceAll => "mode=replace-all".into(),
        LoadMode::ReplaceRange { from, to } => format!("mode=replace-range&from={from}&to={to}"),
    }
}

pub fn ingest(args: &IngestArgs, url: &str, mode: LoadMode) -> anyhow::Result<ExitCode> {
    if args.files.len() > 1 && mode != LoadMode::Append {
        bail!(
            "with --url each file is its own load: replace one file at a time (or append several)"
        );
    }
    let token = crate::admin_client::admin_token(args.admin_token_file.as_deref())?;
    let base = url.trim_end_matches('/').to_string();
    let runtime = crate::data::runtime()?;
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .build()
            .context("starting the HTTP client")?;
        for file in &args.files {
            let code = upload(&http, &base, &token, args, file, mode).await?;
            if code != ExitCode::SUCCESS {
                return Ok(code);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    args: &IngestArgs,
    file: &PathBuf,
    mode: LoadMode,
) -> anyhow::Result<ExitCode> {
    let format = match Format::from_path(file) {
        Ok(f) => f,
        Err(e) => return crate::data::report(e),
    };
    let handle = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let size = handle.metadata().await?.len();
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(file.display().to_string());
    let progress = bar.clone();
    let chunks = futures::stream::unfold(handle, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
    .inspect(move |chunk| {
        if let Ok(c) = chunk {
            progress.inc(c.len() as u64);
        }
    });
    let target = format!(
        "{base}/admin/v1/tenants/{}/datasets/{}/rows?{}",
        args.tenant,
        args.dataset,
        mode_query(mode)
    );
    let res = http
        .post(&target)
        .bearer_auth(token)
        .header("Content-Type", content_type(format))
        .header("Content-Length", size)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .with_context(|| format!("sending {} to {base}", file.display()));
    bar.finish_and_clear();
    let res = res?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        let loaded: proto::admin::LoadedItem =
            serde_json::from_value(body).context("reading the server's answer")?;
        eprintln!(
            "loaded {} rows from {} into {} for tenant {} in {:.2}s (version {})",
            loaded.rows_loaded,
            file.display(),
            loaded.dataset,
            args.tenant,
            loaded.elapsed_ms as f64 / 1000.0,
            loaded.version
        );
        return Ok(ExitCode::SUCCESS);
    }
    let message = body["message"]
        .as_str()
        .unwrap_or("the server refused the load");
    eprintln!("error: {}", message.trim_end());
    Ok(match status.as_u16() {
        401 | 403 => ExitCode::from(3),
        404 => ExitCode::from(4),
        400..=499 => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    })
}
