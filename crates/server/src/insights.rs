//! The Partner Insights programmatic access API (`/insights/v1/mpn`):
//! datasets, queries (with the test-query preview), reports, pause/resume
//! and executions. Handlers are thin: read the request, call the store,
//! the query checker or the engine, and answer with `proto` items in the
//! envelope. Every lookup is by the caller's tenant, so another tenant's id
//! answers exactly like an unknown one.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use proto::{DatasetItem, Envelope, ExecutionItem, QueryItem, ReportItem};
use query::Catalog;
use query::catalog::Dataset;
use store::{Execution, ExecutionFilter, ExecutionStatus, Report, StoredQuery};

use crate::Shared;
use crate::body::{Fields, RequestFields, format_time, parse_bool, parse_timestamp};
use crate::error::{ApiError, ErrorCode, json_response};
use crate::http::Caller;
use crate::service::queries;
use crate::service::reports::{ReportRequest, Reports, Rules};

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
struct Params(HashMap<String, String>);

impl Params {
    fn parse(raw: Option<String>) -> Params {
        let mut map = HashMap::new();
        if let Some(raw) = raw {
            for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
                map.entry(k.to_lowercase())
                    .or_insert_with(|| v.into_owned());
            }
        }
        Params(map)
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
    params: &Params,
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

fn catalog() -> &'static query::StaticCatalog {
    query::builtin()
}

fn dataset_item(d: &Dataset) -> DatasetItem {
    DatasetItem {
        dataset_name: d.name.clone(),
        selectable_columns: d.columns.iter().map(|c| c.name.clone()).collect(),
        available_metrics: d.metrics.iter().map(|m| m.name.clone()).collect(),
        available_date_ranges: d
            .available_date_ranges
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        minimum_recurrence_interval: d.minimum_recurrence_interval,
    }
}

fn user_query_item(q: &StoredQuery) -> QueryItem {
    QueryItem {
        query_id: q.id.clone(),
        name: q.name.clone(),
        description: q.description.clone(),
        query: q.text.clone(),
        kind: "userDefined".into(),
        user: Some(q.created_by.clone()),
        created_time: format_time(q.created_at),
    }
}

fn system_query_item(q: &query::catalog::SystemQuery) -> QueryItem {
    QueryItem {
        query_id: q.query_id.clone(),
        name: q.dataset.clone(),
        description: format!("System query: every column of {}", q.dataset),
        query: q.query.clone(),
        kind: "system".into(),
        user: None,
        created_time: SYSTEM_CREATED.into(),
    }
}

fn report_item(r: &Report) -> ReportItem {
    ReportItem {
        report_id: r.id.clone(),
        report_name: r.name.clone(),
        description: r.description.clone(),
        query_id: r.query_id.clone(),
        query: r.query_text.clone(),
        user: r.created_by.clone(),
        created_time: format_time(r.created_at),
        modified_time: r.modified_at.map(format_time),
        execute_now: r.execute_now,
        start_time: format_time(r.start_time),
        report_status: r.status.as_str().into(),
        recurrence_interval: r.recurrence_interval,
        recurrence_count: r.recurrence_count,
        callback_url: r.callback_url.clone(),
        callback_method: r.callback_method.as_str().into(),
        format: r.format.as_str().into(),
    }
}

fn execution_item(state: &Shared, e: &Execution, r: Option<&Report>) -> ExecutionItem {
    let link = match (e.status, e.expiry_time) {
        (ExecutionStatus::Completed, Some(expiry)) => {
            Some(crate::downloads::link(state, &e.id, expiry))
        }
        _ => None,
    };
    ExecutionItem {
        execution_id: e.id.clone(),
        report_id: e.report_id.clone(),
        recurrence_interval: r.map_or(0, |r| r.recurrence_interval),
        recurrence_count: r.and_then(|r| r.recurrence_count),
        callback_url: r.and_then(|r| r.callback_url.clone()),
        callback_method: r
            .map_or(store::CallbackMethod::Post, |r| r.callback_method)
            .as_str()
            .into(),
        format: r
            .map_or(store::ReportFormat::Csv, |r| r.format)
            .as_str()
            .into(),
        execution_status: e.status.as_str().into(),
        report_location: e.location.clone(),
        report_access_secure_link: link,
        report_expiry_time: e.expiry_time.map(format_time),
        report_generated_time: e.generated_time.map(format_time),
        due_time: format_time(e.due_time),
        started_time: e.started_time.map(format_time),
        row_count: e.row_count,
        byte_count: e.byte_count,
        sha256: e.sha256.clone(),
        failure_reason: e.failure_reason.clone(),
    }
}

fn tenant_id(caller: &Caller) -> Result<engine::TenantId, ApiError> {
    engine::TenantId::parse(caller.tenant()).map_err(|_| {
        ApiError::forbidden(format!(
            "The token's tenant '{}' cannot own data",
            caller.tenant()
        ))
    })
}

// ----- datasets ---------------------------------------------------------------

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledDataset", tag = "Insights",
    params(("datasetName" = Option<String>, Query, description = "One dataset, name in any case")),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::DatasetItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn datasets(
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw);
    if params.get("datasetName").is_none() {
        // The catalog never changes while the server runs: answer the
        // full list from bytes made once.
        static ALL: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
        let bytes = ALL.get_or_init(|| {
            let items: Vec<DatasetItem> = catalog().datasets().iter().map(dataset_item).collect();
            serde_json::to_vec(&Envelope::ok(items, "Datasets fetched successfully"))
                .unwrap_or_default()
                .into()
        });
        return Ok(crate::error::json_bytes(StatusCode::OK, bytes.clone()));
    }
    let items: Vec<DatasetItem> = match params.get("datasetName") {
        Some(name) => {
            let d = catalog().dataset(name).ok_or_else(|| {
                ApiError::not_found(format!(
                    "Dataset '{name}' not found. Datasets: {}",
                    catalog()
                        .datasets()
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            vec![dataset_item(d)]
        }
        None => catalog().datasets().iter().map(dataset_item).collect(),
    };
    Ok(ok(items, "Datasets fetched successfully"))
}

// ----- queries ------------------------------------------------------------------

#[utoipa::path(post, path = "/insights/v1/mpn/ScheduledQueries", tag = "Insights",
    request_body = proto::CreateQueryRequest,
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::QueryItem>), (status = 413, description = "Body larger than 1 MiB", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn create_query(
    State(state): State<Shared>,
    caller: Caller,
    RequestFields(fields): RequestFields,
) -> Result<Response, ApiError> {
    let new = queries::NewQuery {
        name: fields.string("Name")?,
        description: fields.string("Description")?,
        text: fields.string("Query")?,
    };
    let q = queries::create(
        &state.store,
        caller.tenant(),
        caller.user(),
        state.clock.now(),
        new,
    )
    .await?;
    state.list_cache.forget(caller.tenant());
    Ok(ok(vec![user_query_item(&q)], "Query created successfully"))
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledQueries", tag = "Insights",
    params(("queryId" = Option<String>, Query), ("queryName" = Option<String>, Query),
        ("includeSystemQueries" = Option<bool>, Query), ("includeOnlySystemQueries" = Option<bool>, Query),
        ("top" = Option<u32>, Query), ("skip" = Option<u32>, Query), ("continuationToken" = Option<String>, Query)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::QueryItem>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn list_queries(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let key = raw.clone().unwrap_or_default();
    if let Some(bytes) = state.list_cache.get(caller.tenant(), &key) {
        return Ok(crate::error::json_bytes(StatusCode::OK, bytes));
    }
    let params = Params::parse(raw);
    let include_system = params.boolean("includeSystemQueries", true)?;
    let only_system = params.boolean("includeOnlySystemQueries", false)?;
    let mut items = Vec::new();
    if !only_system {
        items.extend(
            state
                .store
                .queries(caller.tenant())
                .await?
                .iter()
                .map(user_query_item),
        );
    }
    if include_system || only_system {
        items.extend(catalog().system_queries().iter().map(system_query_item));
    }
    if let Some(id) = params.get("queryId") {
        items.retain(|q| q.query_id.eq_ignore_ascii_case(id));
    }
    if let Some(name) = params.get("queryName") {
        items.retain(|q| q.name.eq_ignore_ascii_case(name));
    }
    let (page, next) = paginate(&state, "/insights/v1/mpn/ScheduledQueries", &params, items)?;
    let mut env = Envelope::ok(page, "Queries fetched successfully");
    env.next_link = next;
    let bytes = axum::body::Bytes::from(serde_json::to_vec(&env).map_err(ApiError::internal)?);
    state.list_cache.put(caller.tenant(), &key, bytes.clone());
    Ok(crate::error::json_bytes(StatusCode::OK, bytes))
}

#[utoipa::path(delete, path = "/insights/v1/mpn/ScheduledQueries/{queryId}", tag = "Insights",
    params(("queryId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::QueryItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), (status = 409, description = "Used by an active or paused report", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn delete_query(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let deleted = queries::delete(&state.store, caller.tenant(), &id).await?;
    state.list_cache.forget(caller.tenant());
    Ok(ok(
        vec![user_query_item(&deleted)],
        "Query deleted successfully",
    ))
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledQueries/testQueryResult", tag = "Insights",
    params(("exportQuery" = Option<String>, Query), ("queryId" = Option<String>, Query),
        ("startTime" = Option<String>, Query), ("endTime" = Option<String>, Query)),
    responses((status = 200, description = "The first 100 rows as objects keyed by column", body = proto::Envelope<serde_json::Value>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), (status = 504, description = "The query took longer than 100 s", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn test_query(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw);
    let text = match (params.get("exportQuery"), params.get("queryId")) {
        (Some(text), None) => text.to_string(),
        (None, Some(id)) => queries::text_of(&state.store, caller.tenant(), id).await?,
        _ => {
            return Err(ApiError::bad_request(
                "Give exactly one of exportQuery (the query text) or queryId",
            ));
        }
    };
    let plan = queries::check_query(&text)?;
    let window = match (params.get("startTime"), params.get("endTime")) {
        (None, None) => plan.time_window(state.clock.now()),
        (Some(start), Some(end)) => {
            let start = parse_timestamp("startTime", start)?;
            let end = parse_timestamp("endTime", end)?;
            if start >= end {
                return Err(ApiError::bad_request("startTime must be before endTime"));
            }
            Some(plan.explicit_window(start, end).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "startTime and endTime cannot be used: dataset '{}' has no date column",
                    plan.dataset
                ))
            })?)
        }
        _ => {
            return Err(ApiError::bad_request(
                "Give both startTime and endTime, or neither",
            ));
        }
    };
    let tenant = tenant_id(&caller)?;
    let opts = engine::ExecOptions {
        window,
        redact_restricted: caller.redact,
        max_rows: Some(PREVIEW_ROWS),
        base_rows_only: false,
    };
    let run = async {
        let stream = state.engine.execute(&tenant, &plan, &opts).await?;
        let batches: Vec<_> = stream
            .try_collect()
            .await
            .map_err(engine::EngineError::from)?;
        Ok::<_, engine::EngineError>(batches)
    };
    let batches = tokio::time::timeout(PREVIEW_TIMEOUT, run)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::Timeout,
                "The query did not finish within 100 seconds; narrow it (fewer columns, a WHERE filter or a shorter TIMESPAN) or schedule it as a report",
            )
        })??;
    let rows = engine::preview::rows_json(&batches, PREVIEW_ROWS);
    let mut env = Envelope::ok(rows, "Query executed successfully");
    env.data_redacted = caller.redact && plan.outputs.iter().any(|o| o.restricted);
    Ok(json_response(StatusCode::OK, &env))
}

// ----- reports --------------------------------------------------------------------

/// A report body's fields, typed. ExecuteNow reports ignore the schedule
/// fields and an update ignores the query fields, so those are not read
/// (a malformed ignored field is not an error).
fn report_request(fields: &Fields, update: bool) -> Result<ReportRequest, ApiError> {
    let mut req = ReportRequest {
        name: fields.string("ReportName")?,
        description: fields.string("Description")?,
        ..ReportRequest::default()
    };
    if !update {
        req.query_id = fields.string("QueryId")?;
        req.execute_now = fields.boolean("ExecuteNow")?;
        req.query_start = fields.timestamp("QueryStartTime")?;
        req.query_end = fields.timestamp("QueryEndTime")?;
    }
    if update || req.execute_now != Some(true) {
        req.start_time = fields.timestamp("StartTime")?;
        req.recurrence_interval = fields.integer("RecurrenceInterval")?;
        req.recurrence_count = fields.integer("RecurrenceCount")?;
    }
    req.format = fields.string("Format")?;
    req.callback_url = fields.string("CallbackUrl")?;
    req.callback_method = fields.string("CallbackMethod")?;
    Ok(req)
}

fn report_rules(state: &Shared) -> Rules {
    Rules {
        min_start_lead: state.min_start_lead,
        allow_private_callbacks: state.config.callbacks.allow_private,
    }
}

#[utoipa::path(post, path = "/insights/v1/mpn/ScheduledReport", tag = "Insights",
    request_body = proto::CreateReportRequest,
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn create_report(
    State(state): State<Shared>,
    caller: Caller,
    RequestFields(fields): RequestFields,
) -> Result<Response, ApiError> {
    let req = report_request(&fields, false)?;
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules)
        .create(caller.user(), req)
        .await?;
    state.scheduler.wake();
    Ok(ok(
        vec![report_item(&report)],
        "Report created successfully",
    ))
}

/// The report service for this caller, now.
fn reports<'a>(state: &'a Shared, caller: &'a Caller, rules: &'a Rules) -> Reports<'a> {
    Reports {
        store: &state.store,
        rules,
        tenant: caller.tenant(),
        now: state.clock.now(),
    }
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledReport", tag = "Insights",
    params(("reportId" = Option<String>, Query), ("reportName" = Option<String>, Query), ("queryId" = Option<String>, Query),
        ("top" = Option<u32>, Query), ("skip" = Option<u32>, Query), ("continuationToken" = Option<String>, Query)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn list_reports(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw);
    let mut reports = state.store.reports(caller.tenant()).await?;
    if let Some(id) = params.get("reportId") {
        reports.retain(|r| r.id.eq_ignore_ascii_case(id));
    }
    if let Some(name) = params.get("reportName") {
        reports.retain(|r| r.name.eq_ignore_ascii_case(name));
    }
    if let Some(q) = params.get("queryId") {
        reports.retain(|r| r.query_id.eq_ignore_ascii_case(q));
    }
    let items: Vec<ReportItem> = reports.iter().map(report_item).collect();
    let (page, next) = paginate(&state, "/insights/v1/mpn/ScheduledReport", &params, items)?;
    Ok(paged(page, next, "Reports fetched successfully"))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)), request_body = proto::CreateReportRequest,
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn update_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    RequestFields(fields): RequestFields,
) -> Result<Response, ApiError> {
    let req = report_request(&fields, true)?;
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules).update(&id, req).await?;
    Ok(ok(
        vec![report_item(&report)],
        "Report updated successfully",
    ))
}

#[utoipa::path(delete, path = "/insights/v1/mpn/ScheduledReport/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn delete_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let (report, files) = reports(&state, &caller, &rules).delete(&id).await?;
    for location in &files {
        let path = object_store::path::Path::from(location.as_str());
        if let Err(e) = state.engine.store().object_store().delete(&path).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            tracing::warn!(error = %e, location, "could not remove a deleted report's file");
        }
    }
    Ok(ok(
        vec![report_item(&report)],
        "Report deleted successfully",
    ))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/pause/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn pause_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules).pause(&id).await?;
    Ok(ok(vec![report_item(&report)], "Report paused successfully"))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/resume/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn resume_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let (report, planned) = reports(&state, &caller, &rules).resume(&id).await?;
    if planned {
        state.scheduler.wake();
    }
    Ok(ok(
        vec![report_item(&report)],
        "Report resumed successfully",
    ))
}

fn split_ids(text: &str) -> Vec<String> {
    text.split(';')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledReport/execution/{reportId}", tag = "Insights",
    params(("reportId" = String, Path, description = "One or more ids separated by ';'"),
        ("executionId" = Option<String>, Query), ("executionStatus" = Option<String>, Query),
        ("getLatestExecution" = Option<bool>, Query), ("top" = Option<u32>, Query), ("skip" = Option<u32>, Query),
        ("continuationToken" = Option<String>, Query)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ExecutionItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn executions(
    State(state): State<Shared>,
    caller: Caller,
    Path(report_ids): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw);
    let latest = params.boolean("getLatestExecution", true)?;
    let mut statuses = Vec::new();
    if let Some(text) = params.get("executionStatus") {
        for s in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            statuses.push(ExecutionStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "executionStatus '{s}' is not a status; use {} (several separated by ';')",
                    ExecutionStatus::ALL.map(|s| s.as_str()).join(", ")
                ))
            })?);
        }
    }
    let filter = ExecutionFilter {
        report_ids: split_ids(&report_ids),
        execution_ids: params.get("executionId").map(split_ids).unwrap_or_default(),
        statuses,
        due_since: (!latest).then(|| state.clock.now() - Duration::days(HISTORY_DAYS)),
    };
    let mut found = state.store.executions(caller.tenant(), &filter).await?;
    if latest {
        let mut seen = std::collections::HashSet::new();
        found.retain(|e| seen.insert(e.report_id.clone()));
    }
    if found.is_empty() {
        return Err(ApiError::not_found(
            "No execution matched the filters (reportId, executionId, executionStatus)",
        ));
    }
    let mut reports: HashMap<String, Report> = HashMap::new();
    for e in &found {
        if !reports.contains_key(&e.report_id)
            && let Some(r) = state.store.report(caller.tenant(), &e.report_id).await?
        {
            reports.insert(r.id.clone(), r);
        }
    }
    let items: Vec<ExecutionItem> = found
        .iter()
        .map(|e| execution_item(&state, e, reports.get(&e.report_id)))
        .collect();
    let path = format!("/insights/v1/mpn/ScheduledReport/execution/{report_ids}");
    let (page, next) = paginate(&state, &path, &params, items)?;
    Ok(paged(page, next, "Executions fetched successfully"))
}
