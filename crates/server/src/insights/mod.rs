//! The Partner Insights programmatic access API (`/insights/v1/mpn`):
//! datasets, queries (with the test-query preview), reports, pause/resume
//! and executions. Handlers are thin: read the request, call the service
//! layer, the query checker or the engine, and answer with `proto` items
//! (made in `items`) in the envelope. Every lookup is by the caller's
//! tenant, so another tenant's id answers exactly like an unknown one.
//!
//! | module | what |
//! |---|---|
//! | `queries` | datasets, saved queries, the test-query preview |
//! | `reports` | reports, pause/resume, executions |
//! | `items` | store rows and catalog entries as `proto` items |

pub mod items;
pub mod queries;
pub mod reports;

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proto::Envelope;

use crate::Shared;
use crate::body::parse_bool;
use crate::error::{ApiError, json_response};
use crate::http::Caller;
use queries::{create_query, datasets, delete_query, list_queries, test_query};
use reports::{
    create_report, delete_report, executions, list_reports, pause_report, resume_report,
    update_report,
};

/// Items per page unless `top` asks for fewer.
pub const PAGE_SIZE: usize = 100;
/// The test-query preview's row count and time budget.
const PREVIEW_ROWS: usize = 100;
const PREVIEW_TIMEOUT: StdDuration = StdDuration::from_secs(100);
/// Executions older than this are not listed with getLatestExecution=false.
const HISTORY_DAYS: i64 = 90;
/// System queries have no creation time of their own.
const SYSTEM_CREATED: &str = "2021-01-01T00:00:00Z";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/insights/v1/mpn/scheduleddataset", get(datasets))
        .route(
            "/insights/v1/mpn/scheduledqueries",
            get(list_queries).post(create_query),
        )
        .route(
            "/insights/v1/mpn/scheduledqueries/testqueryresult",
            get(test_query),
        )
        .route(
            "/insights/v1/mpn/scheduledqueries/{id}",
            axum::routing::delete(delete_query),
        )
        .route(
            "/insights/v1/mpn/scheduledreport",
            get(list_reports).post(create_report),
        )
        .route(
            "/insights/v1/mpn/scheduledreport/{id}",
            put(update_report).delete(delete_report),
        )
        .route(
            "/insights/v1/mpn/scheduledreport/pause/{id}",
            put(pause_report),
        )
        .route(
            "/insights/v1/mpn/scheduledreport/resume/{id}",
            put(resume_report),
        )
        .route(
            "/insights/v1/mpn/scheduledreport/execution/{id}",
            get(executions),
        )
}

// ----- helpers -------------------------------------------------------------

/// Query-string parameters, names matched case-insensitively, values
/// percent-decoded once (`+` is a space).
struct InsightsParams(HashMap<String, String>);

impl InsightsParams {
    fn parse(raw: Option<String>) -> InsightsParams {
        let mut map = HashMap::new();
        if let Some(raw) = raw {
            for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
                map.entry(k.to_lowercase())
                    .or_insert_with(|| v.into_owned());
            }
        }
        InsightsParams(map)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(&name.to_lowercase())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn boolean(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_bool(name, v),
        }
    }
}

/// One page of a list and the link to the next.
fn paginate<T>(
    state: &Shared,
    path: &str,
    params: &InsightsParams,
    items: Vec<T>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let skip = match (params.get("continuationToken"), params.get("skip")) {
        (Some(token), _) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| ApiError::bad_request("continuationToken is not valid; use the nextLink of the previous page as it is"))?,
        (None, Some(skip)) => skip
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("skip must be a whole number ≥ 0, got '{skip}'")))?,
        (None, None) => 0,
    };
    let top = match params.get("top") {
        Some(top) => match top.parse::<usize>() {
            Ok(n) if (1..=PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "top must be between 1 and {PAGE_SIZE}, got '{top}'"
                )));
            }
        },
        None => PAGE_SIZE,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(skip).take(top).collect();
    let next = skip.saturating_add(top);
    let link = (next < total).then(|| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut keys: Vec<_> = params.0.iter().collect();
        keys.sort();
        for (k, v) in keys {
            if !matches!(k.as_str(), "skip" | "continuationtoken") {
                query.append_pair(k, v);
            }
        }
        query.append_pair(
            "continuationToken",
            &URL_SAFE_NO_PAD.encode(format!("offset:{next}")),
        );
        format!("{}{path}?{}", state.public_url, query.finish())
    });
    Ok((page, link))
}

fn ok<T: serde::Serialize>(items: Vec<T>, message: &str) -> Response {
    json_response(StatusCode::OK, &Envelope::ok(items, message))
}

fn paged<T: serde::Serialize>(items: Vec<T>, next: Option<String>, message: &str) -> Response {
    let mut env = Envelope::ok(items, message);
    env.next_link = next;
    json_response(StatusCode::OK, &env)
}

fn tenant_id(caller: &Caller) -> Result<engine::TenantId, ApiError> {
    engine::TenantId::parse(caller.tenant()).map_err(|_| {
        ApiError::forbidden(format!(
            "The token's tenant '{}' cannot own data",
            caller.tenant()
        ))
    })
}
