//! The console's extension endpoints, behind the Insights gate (so a
//! ReportViewer's console sees what a ReportViewer's token sees):
//!
//! - `POST /console/api/check` `{"query", "cursor"}` → the diagnostics the
//!   Insights API would answer for this query and caller, with character
//!   spans and suggestions, and the completions at the cursor. Parse +
//!   resolve only: nothing is run, nothing is stored.
//! - `GET /console/api/datasets` → the catalog with column types,
//!   restricted marks, metric definitions and system queries.
//! - `GET /console/api/reports/{reportId}/deliveries` → the callback
//!   deliveries of one of the caller's reports (another tenant's id answers
//!   404 like an unknown one).
//!
//! Behind the Store gate: `GET /console/api/store/products` → the account's
//! products (the Store API has no list of them). Public:
//! `GET /console/api/config` → the two token resources and the service
//! time (what the sign-in form and the date pickers need; no secret).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use proto::console::{
    CheckRequest, CheckResponse, ColumnInfo, CompletionItem, ConsoleConfig, ConsoleList,
    DatasetInfo, DeliveryInfo, DiagnosticItem, MetricInfo, ProductInfo, SystemQueryInfo,
};
use query::Catalog;

use crate::Shared;
use crate::error::{ApiError, json_response};
use crate::http::Caller;
use crate::service::queries;

/// Deliveries listed per report, newest first.
const MAX_DELIVERIES: i64 = 200;

pub fn store_routes() -> Router<Shared> {
    Router::new().route("/console/api/store/products", get(products))
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/console/api/check", post(check))
        .route("/console/api/datasets", get(datasets))
        .route("/console/api/reports/{id}/deliveries", get(deliveries))
}

pub(super) async fn config(State(state): State<Shared>) -> Response {
    let tokens = &state.tokens.config;
    json_response(
        StatusCode::OK,
        &ConsoleConfig {
            insights_resource: tokens.insights_audience.clone(),
            store_resource: tokens.store_audience.clone(),
            now: crate::body::format_time(state.clock.now()),
        },
    )
}

async fn products(State(state): State<Shared>, caller: Caller) -> Response {
    match state.store_products.get(&state, caller.tenant()).await {
        Ok(rows) => {
            let value: Vec<ProductInfo> = rows
                .iter()
                .map(|p| ProductInfo {
                    application_id: p.id.clone(),
                    product_name: p.name.clone(),
                    product_type: p.kind.clone(),
                })
                .collect();
            json_response(StatusCode::OK, &ConsoleList { value })
        }
        Err(e) => e.into_response(),
    }
}

async fn check(caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    let req: CheckRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be JSON {{\"query\": \"<query text>\", \"cursor\": <character offset>}}: {e}"
        ))
    })?;
    Ok(json_response(StatusCode::OK, &checked(&req, caller.redact)))
}

/// The check itself, without HTTP.
fn checked(req: &CheckRequest, redact: bool) -> CheckResponse {
    let catalog = query::builtin();
    let text = &req.query;
    let whole = text.chars().count() as u32;
    let mut columns = Vec::new();
    let (diagnostics, dataset) = match query::check(text, catalog) {
        Ok(plan) => {
            let restricted =
                queries::check_restricted(&plan, redact)
                    .err()
                    .map(|e| DiagnosticItem {
                        code: "restricted".into(),
                        message: e.to_string(),
                        suggestion: None,
                        start: 0,
                        end: whole,
                    });
            columns = plan.outputs.iter().map(|o| o.name.clone()).collect();
            (restricted.into_iter().collect(), Some(plan.dataset.clone()))
        }
        Err(e) => {
            let items: Vec<DiagnosticItem> = e
                .diagnostics()
                .iter()
                .map(|d| DiagnosticItem {
                    code: d.code.as_str().into(),
                    message: d.message(),
                    suggestion: d.suggestion.clone(),
                    start: d.span.start.min(whole),
                    end: d.span.end.min(whole),
                })
                .collect();
            let dataset = query::parse(text)
                .ok()
                .and_then(|ast| catalog.dataset(&ast.from.name).map(|d| d.name.clone()));
            (items, dataset)
        }
    };
    let completion = req
        .cursor
        .map(|at| query::complete::complete(text, at, catalog))
        .unwrap_or_default();
    CheckResponse {
        valid: diagnostics.is_empty(),
        diagnostics,
        dataset,
        columns,
        replace_start: completion.span.start,
        replace_end: completion.span.end,
        completions: completion
            .items
            .into_iter()
            .map(|c| CompletionItem {
                label: c.label,
                kind: c.kind.as_str().into(),
                detail: c.detail,
            })
            .collect(),
    }
}

async fn datasets(_caller: Caller) -> Response {
    let catalog = query::builtin();
    let value: Vec<DatasetInfo> = catalog
        .datasets()
        .iter()
        .map(|d| DatasetInfo {
            dataset_name: d.name.clone(),
            columns: d
                .columns
                .iter()
                .map(|c| ColumnInfo {
                    name: c.name.clone(),
                    ty: c.ty.as_str().into(),
                    restricted: c.restricted,
                })
                .collect(),
            metrics: d
                .metrics
                .iter()
                .map(|m| MetricInfo {
                    name: m.name.clone(),
                    definition: match &m.column {
                        Some(c) => format!("{}({c})", m.kind.as_str()),
                        None => m.kind.as_str().into(),
                    },
                    ty: m.ty.as_str().into(),
                    restricted: m.restricted,
                })
                .collect(),
            date_column: d.date_column.clone(),
            available_date_ranges: d
                .available_date_ranges
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            minimum_recurrence_interval: d.minimum_recurrence_interval,
            system_queries: catalog
                .system_queries()
                .iter()
                .filter(|q| d.answers_to(&q.dataset))
                .map(|q| SystemQueryInfo {
                    query_id: q.query_id.clone(),
                    query: q.query.clone(),
                })
                .collect(),
        })
        .collect();
    json_response(StatusCode::OK, &ConsoleList { value })
}

async fn deliveries(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("No report with id '{id}'"));
    let report = state
        .store
        .report(caller.tenant(), &id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(missing)?;
    let rows = state
        .store
        .report_deliveries(caller.tenant(), &report.id, MAX_DELIVERIES)
        .await
        .map_err(ApiError::from)?;
    let value: Vec<DeliveryInfo> = rows
        .into_iter()
        .map(|d| DeliveryInfo {
            delivery_id: d.id,
            execution_id: d.execution_id,
            method: d.method.as_str().into(),
            url: d.url,
            status: d.status,
            attempts: d.attempts,
            next_attempt_time: crate::body::format_time(d.next_attempt_at),
            last_error: d.last_error,
            created_time: crate::body::format_time(d.created_at),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &ConsoleList { value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, cursor: Option<u32>, redact: bool) -> CheckResponse {
        checked(
            &CheckRequest {
                query: text.into(),
                cursor,
            },
            redact,
        )
    }

    #[test]
    fn a_misspelt_column_is_spanned_with_its_suggestion() {
        let r = check("SELECT CustomerNam FROM CustomersAndTenants", None, false);
        assert!(!r.valid);
        let d = &r.diagnostics[0];
        assert_eq!((d.start, d.end), (7, 18));
        assert_eq!(d.suggestion.as_deref(), Some("CustomerName"));
        assert!(
            d.message.contains("Did you mean 'CustomerName'?"),
            "{}",
            d.message
        );
        assert_eq!(r.dataset.as_deref(), Some("CustomersAndTenants"));
    }

    #[test]
    fn restricted_filters_are_refused_for_a_redacted_caller_only() {
        let q = "SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants WHERE BilledRevenueUSD > 5";
        assert!(check(q, None, false).valid);
        let r = check(q, None, true);
        assert!(!r.valid);
        assert_eq!(r.diagnostics[0].code, "restricted");
    }

    #[test]
    fn completions_at_the_cursor() {
        let r = check("SELECT CustomerName FROM Customers", Some(34), false);
        assert_eq!((r.replace_start, r.replace_end), (25, 34));
        assert_eq!(r.completions[0].label, "CustomersAndTenants");
        assert_eq!(r.completions[0].kind, "dataset");
    }
}
