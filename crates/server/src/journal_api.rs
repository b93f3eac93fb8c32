//! `GET /admin/v1/tenants/{tenant}/journal?since=&limit=` (admin
//! credential): a tenant's last calls, newest first (`journal`).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use proto::admin::{JournalEntryItem, ValueList};

use crate::Shared;
use crate::error::{ApiError, json_response};

/// Entries answered when `limit` is absent, and at most.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

pub fn routes() -> Router<Shared> {
    Router::new().route("/admin/v1/tenants/{tenant}/journal", get(journal))
}

fn number(name: &str, text: Option<&str>, max: u64) -> Result<Option<u64>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} must be a whole number from 0 to {max}, not '{text}'"
            ))
        })
}

async fn journal(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = crate::body::QueryParams::parse(raw.as_deref());
    let since = number("since", params.get("since"), u64::MAX)?.unwrap_or(0);
    let limit = number("limit", params.get("limit"), MAX_LIMIT as u64)?
        .map_or(DEFAULT_LIMIT, |n| n as usize);
    let Some(tenant) = state.store.tenant(&tenant).await? else {
        return Err(ApiError::not_found(format!("No tenant '{tenant}'")));
    };
    let value = state
        .journal
        .read(&tenant.id, since, limit)
        .into_iter()
        .map(|e| JournalEntryItem {
            seq: e.seq,
            time: e.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: e.method,
            path: e.path,
            query: e.query,
            status: e.status,
            latency_ms: (e.latency_ms * 1000.0).round() / 1000.0,
            correlation_id: e.correlation_id,
            client_id: e.client_id,
            user: e.user,
            request_bytes: e.request_bytes,
            response_bytes: e.response_bytes,
            fault: e.fault,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &ValueList { value }))
}
