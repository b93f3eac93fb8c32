//! Secure download links and the download endpoint. A link names the
//! execution and its expiry and carries an HMAC-SHA256 of both under the
//! server's link key, so it works without a token until it expires: a
//! changed id, expiry or signature is a 403, an expired link a 410. The
//! file streams from the object store (never loaded whole) with
//! Content-Type, Content-Disposition, Content-Length, ETag and Range, and
//! gzip when the client accepts it (or always, by setting).

use std::io::Write;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use object_store::{GetOptions, GetRange, ObjectStoreExt};
use sha2::Sha256;

use crate::Shared;
use crate::error::{ApiError, ErrorCode};

pub(crate) type HmacSha256 = Hmac<Sha256>;

pub fn routes() -> Router<Shared> {
    Router::new().route("/insights/v1/mpn/download/{execution}", get(download))
}

fn mac(key: &[u8; 32], execution: &str, expiry: i64) -> HmacSha256 {
    let mut mac = keyed(key);
    mac.update(execution.to_lowercase().as_bytes());
    mac.update(b"\n");
    mac.update(expiry.to_string().as_bytes());
    mac
}

/// An HMAC-SHA256 under `key`.
#[allow(clippy::panic)]
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of every length; this cannot happen.
        Err(_) => panic!("HMAC accepts keys of every length"),
    }
}

/// The absolute secure link of an execution's file.
pub fn link(state: &Shared, execution: &str, expiry: DateTime<Utc>) -> String {
    let sig = hex::encode(
        mac(&state.link_key, execution, expiry.timestamp())
            .finalize()
            .into_bytes(),
    );
    format!(
        "{}/insights/v1/mpn/download/{}?expiry={}&signature={sig}",
        state.public_url,
        execution.to_lowercase(),
        expiry.timestamp()
    )
}

/// The per-tenant key that signs callbacks (HMAC of the tenant id under
/// the server key), so one tenant cannot forge another's callbacks.
pub fn callback_key(state: &Shared, tenant: &str) -> Vec<u8> {
    let mut m = keyed(&state.link_key);
    m.update(b"callback\n");
    m.update(tenant.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn forbidden() -> ApiError {
    ApiError::forbidden(
        "The download link is not valid: its signature does not match the execution and expiry; use reportAccessSecureLink exactly as the executions list gives it",
    )
}

/// A parsed `Range: bytes=...` header (one range).
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let unsatisfiable = || {
        ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            format!(
                "Range '{value}' cannot be served: the file has {size} bytes; use bytes=START-END"
            ),
        )
    };
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(unsatisfiable)?;
    if spec.contains(',') {
        return Err(unsatisfiable());
    }
    let (a, b) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| unsatisfiable())?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (s, "") => (
            s.parse().map_err(|_| unsatisfiable())?,
            size.saturating_sub(1),
        ),
        (s, e) => (
            s.parse().map_err(|_| unsatisfiable())?,
            e.parse::<u64>()
                .map_err(|_| unsatisfiable())?
                .min(size.saturating_sub(1)),
        ),
    };
    if size == 0 || start > end || start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// True when `Accept-Encoding` admits gzip (by name or `*`, not `q=0`).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

#[utoipa::path(get, path = "/insights/v1/mpn/download/{executionId}", tag = "Insights",
    params(("executionId" = String, Path), ("expiry" = i64, Query), ("signature" = String, Query)),
    responses((status = 200, description = "The report file (text/csv or text/tab-separated-values)"),
        (status = 206, description = "A byte range of the file"),
        (status = 403, description = "The link's signature does not match", body = proto::Envelope<serde_json::Value>),
        (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), (status = 410, description = "The link expired", body = proto::Envelope<serde_json::Value>),
        (status = 416, description = "Range not satisfiable", body = proto::Envelope<serde_json::Value>)))]
pub(crate) async fn download(
    State(state): State<Shared>,
    Path(execution): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut expiry = None;
    let mut signature = None;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "expiry" => expiry = v.parse::<i64>().ok(),
            "signature" => signature = hex::decode(v.as_bytes()).ok(),
            _ => {}
        }
    }
    let (Some(expiry), Some(signature)) = (expiry, signature) else {
        return Err(forbidden());
    };
    if mac(&state.link_key, &execution, expiry)
        .verify_slice(&signature)
        .is_err()
    {
        return Err(forbidden());
    }
    if expiry <= state.clock.now().timestamp() {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "The download link has expired; list the report's executions for a fresh link",
        ));
    }
    let e = state
        .store
        .execution_by_id(&execution)
        .await?
        .filter(|e| e.status == store::ExecutionStatus::Completed)
        .ok_or_else(|| ApiError::not_found("The report file no longer exists"))?;
    crate::journal::note(crate::journal::Identity {
        tenant: e.tenant_id.clone(),
        client_id: None,
        user: None,
    });
    if state.faults.armed() {
        let path = format!("/insights/v1/mpn/download/{execution}");
        let call = crate::faults::Call {
            api: crate::faults::FaultApi::Download,
            method: "GET",
            path: &path,
            tenant: &e.tenant_id,
            client_id: None,
        };
        let fired = crate::inject::check(&state, &call);
        match crate::inject::http_outcome(fired, |status, retry| {
            crate::inject::api_status(&crate::http::INSIGHTS, &state, status, retry)
        }) {
            crate::inject::Outcome::Answer(res) => return Ok(res),
            crate::inject::Outcome::Delay(wait) => tokio::time::sleep(wait).await,
            crate::inject::Outcome::Serve => {}
        }
    }
    let location = e
        .location
        .clone()
        .ok_or_else(|| ApiError::not_found("The report file no longer exists"))?;
    let report = state.store.report(&e.tenant_id, &e.report_id).await?;
    let path = object_store::path::Path::from(location.as_str());
    let store = state.engine.store().object_store();
    let meta = store.head(&path).await.map_err(|err| match err {
        object_store::Error::NotFound { .. } => {
            ApiError::not_found("The report file no longer exists")
        }
        other => ApiError::internal(other),
    })?;
    let size = meta.size;
    let tsv = location.ends_with(".tsv");
    let gzip = state.config.reports.always_gzip || accepts_gzip(&headers);
    let wanted = if gzip { None } else { range(&headers, size)? };
    let opts = GetOptions {
        range: wanted.map(|(s, e)| GetRange::Bounded(s..e + 1)),
        ..GetOptions::default()
    };
    let got = store
        .get_opts(&path, opts)
        .await
        .map_err(ApiError::internal)?;
    let stream = got.into_stream();
    let name = report.map_or_else(|| "report".to_string(), |r| r.name);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let generated = e
        .generated_time
        .map_or_else(String::new, |t| t.format("%Y%m%d%H%M%S").to_string());
    let filename = format!("{safe}_{generated}.{}", if tsv { "tsv" } else { "csv" });
    let mut res = Response::builder()
        .header(
            header::CONTENT_TYPE,
            if tsv {
                "text/tab-separated-values; charset=utf-8"
            } else {
                "text/csv; charset=utf-8"
            },
        )
        .header(header::CONTENT_DISPOSITION, content_disposition(&filename))
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-store");
    if let Some(sha) = &e.sha256 {
        res = res.header(header::ETAG, format!("\"{sha}\""));
    }
    let body = if gzip {
        res = res
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::VARY, "Accept-Encoding");
        Body::from_stream(gzip_stream(stream))
    } else {
        match wanted {
            Some((start, end)) => {
                res = res
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                    .header(header::CONTENT_LENGTH, end - start + 1);
            }
            None => res = res.header(header::CONTENT_LENGTH, size),
        }
        Body::from_stream(stream)
    };
    res.body(body).map_err(ApiError::internal)
}

/// Compresses a byte stream chunk by chunk.
fn gzip_stream(
    input: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    futures::stream::unfold((input, Some(encoder)), |(mut input, encoder)| async move {
        let mut encoder = encoder?;
        match input.next().await {
            Some(Ok(chunk)) => {
                let out = encoder
                    .write_all(&chunk)
                    .map(|()| Bytes::from(std::mem::take(encoder.get_mut())));
                Some((out, (input, Some(encoder))))
            }
            Some(Err(e)) => Some((Err(std::io::Error::other(e)), (input, None))),
            None => Some((encoder.finish().map(Bytes::from), (input, None))),
        }
    })
}

/// The header value of a callback signature: `sha256=<hex>`.
pub fn signature(key: &[u8], payload: &[u8]) -> HeaderValue {
    let mut m = keyed(key);
    m.update(payload);
    HeaderValue::from_str(&format!(
        "sha256={}",
        hex::encode(m.finalize().into_bytes())
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sha256="))
}

/// RFC 5987 `attr-char`s stay as they are in `filename*`; the rest is
/// percent-encoded UTF-8.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition` for a download (RFC 6266): an ASCII `filename`
/// (other characters as `_`) and, when the name is not plain ASCII, the
/// exact name as `filename*=UTF-8''…`.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        let exact = percent_encoding::utf8_percent_encode(name, ATTR_CHAR);
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
    }
}
