//! The admin API's data routes: `POST /admin/v1/tenants/{tenant}/datasets/
//! {dataset}/rows` loads one file sent as the body (CSV, NDJSON or Parquet
//! by `Content-Type`, optionally gzip `Content-Encoding`) and
//! `GET /admin/v1/tenants/{tenant}/datasets` lists each dataset's state.
//!
//! The body is streamed to a private spool file under the data dir (never
//! held in memory, so a 1 GB upload costs what a small one does), bounded
//! by `limits.max_upload_mb`, then loaded atomically by
//! `service::data::load_file` on the query runtime.

use std::io::Write;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures::StreamExt;
use proto::admin::{DatasetStateItem, LoadedItem, ValueList};

use crate::Shared;
use crate::body::format_time;
use crate::error::{ApiError, ErrorCode, json_response};
use crate::service::data;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/v1/tenants/{tenant}/datasets", get(list_datasets))
        .route(
            "/admin/v1/tenants/{tenant}/datasets/{dataset}/rows",
            post(load_rows),
        )
}

async fn tenant_of(state: &Shared, tenant: &str) -> Result<engine::TenantId, ApiError> {
    let missing = || ApiError::not_found(format!("No tenant '{tenant}'"));
    if state.store.tenant(tenant).await?.is_none() {
        return Err(missing());
    }
    engine::TenantId::parse(tenant).map_err(|_| missing())
}

async fn list_datasets(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant_of(&state, &tenant).await?;
    let states = data::dataset_states(state.engine.store(), &tenant).await?;
    let value = states
        .into_iter()
        .map(|s| DatasetStateItem {
            dataset: s.dataset.to_string(),
            rows: s.rows,
            version: s.version,
            last_load_time: s.last_load.map(format_time),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &ValueList { value }))
}

/// Whether the body is gzip (`Content-Encoding: gzip`) or plain.
fn gzipped(headers: &HeaderMap) -> Result<bool, ApiError> {
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") | Some("") => Ok(false),
        Some("gzip" | "x-gzip") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "Content-Encoding '{other}' is not supported; send the file as is or gzip-compressed"
        ))),
    }
}

async fn load_rows(
    State(state): State<Shared>,
    Path((tenant, dataset)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = load(&state, &tenant, &dataset, raw, &headers, body).await;
    state.metrics.data_load(result.is_ok());
    let loaded = result?;
    let item = LoadedItem {
        dataset: loaded.0.to_string(),
        rows_loaded: loaded.1.rows,
        version: loaded.1.version,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    Ok(json_response(StatusCode::OK, &item))
}

async fn load(
    state: &Shared,
    tenant: &str,
    dataset: &str,
    raw: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, data::Loaded), ApiError> {
    let tenant = tenant_of(state, tenant).await?;
    let dataset = data::dataset(dataset)?;
    let params = crate::body::QueryParams::parse(raw.as_deref());
    let mode = data::mode_of(params.get("mode"), params.get("from"), params.get("to"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = data::format_of(content_type)?;
    let gzip = gzipped(headers)?;
    let spool = spool(state, body, gzip).await?;
    let engine = state.engine.clone();
    let path = spool.path().to_path_buf();
    let tenant_id = tenant.clone();
    // The loader reads the file with blocking IO: a blocking thread drives
    // it, on the query runtime's IO and timers.
    let queries = state.queries.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        // The spool file lives until the load is done.
        let _spool = spool;
        queries.block_on(data::load_file(
            &engine, dataset, &tenant_id, &path, format, "body", mode,
        ))
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(
        tenant = %tenant,
        dataset = %dataset.name,
        rows = loaded.rows,
        version = loaded.version,
        "rows loaded through the admin API"
    );
    Ok((dataset.name.as_str(), loaded))
}

/// Writes the body to a private temporary file under the data dir (a
/// gzip body is decompressed on the way), at most `limits.max_upload_mb`.
async fn spool(
    state: &Shared,
    body: Body,
    gzip: bool,
) -> Result<tempfile::NamedTempFile, ApiError> {
    let limit = (state.config.limits.max_upload_mb as u64).saturating_mul(1 << 20);
    let dir = state.config.data_dir.join("uploads");
    let spool_dir = dir.clone();
    let file = tokio::task::spawn_blocking(move || {
        crate::private_files::private_dir(&spool_dir)?;
        Ok::<_, anyhow::Error>(tempfile::NamedTempFile::new_in(&spool_dir)?)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<axum::body::Bytes>(8);
    let writer = {
        let file = file.reopen().map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || write_spool(file, rx, gzip, limit))
    };
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let mut failed = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                received += bytes.len() as u64;
                if tx.send(bytes).is_err() {
                    break; // the writer stopped: its error says why
                }
            }
            Err(e) => {
                failed = Some(ApiError::bad_request(format!(
                    "The upload was cut off after {received} bytes: {e}"
                )));
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(ApiError::internal)?;
    if let Some(e) = failed {
        return Err(e);
    }
    written?;
    Ok(file)
}

/// The blocking half of [`spool`]: chunks in, (decompressed) bytes to disk.
fn write_spool(
    file: std::fs::File,
    chunks: std::sync::mpsc::Receiver<axum::body::Bytes>,
    gzip: bool,
    limit: u64,
) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The upload is larger than {} MiB (limits.max_upload_mb); split it into several loads",
                limit >> 20
            ),
        )
    };
    let out = Limited {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        left: limit,
    };
    let io_error = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            too_large()
        } else if e.kind() == std::io::ErrorKind::InvalidData
            || e.kind() == std::io::ErrorKind::InvalidInput
        {
            ApiError::bad_request(format!("The body is not valid gzip: {e}"))
        } else {
            ApiError::internal(e)
        }
    };
    if gzip {
        let mut decoder = flate2::write::MultiGzDecoder::new(out);
        for chunk in chunks {
            decoder.write_all(&chunk).map_err(io_error)?;
        }
        let mut out = decoder.finish().map_err(io_error)?;
        out.flush().map_err(io_error)?;
    } else {
        let mut out = out;
        for chunk in chunks {
            out.write_all(&chunk).map_err(io_error)?;
        }
        out.flush().map_err(io_error)?;
    }
    Ok(())
}

/// A writer that fails with `FileTooLarge` past `left` bytes.
struct Limited<W: Write> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
