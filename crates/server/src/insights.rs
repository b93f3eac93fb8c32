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
use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use proto::{DatasetItem, Envelope, ExecutionItem, QueryItem, ReportItem};
use query::catalog::Dataset;
use query::{Catalog, TimeWindow};
use store::{
    Execution, ExecutionFilter, ExecutionStatus, NewExecution, Report, ReportStatus, StoredQuery,
};

use crate::Shared;
use crate::body::{Fields, RequestFields, format_time, parse_bool, parse_timestamp};
use crate::error::{ApiError, ErrorCode, json_response};
use crate::http::Caller;

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

fn system_query(id: &str) -> Option<&'static query::catalog::SystemQuery> {
    catalog()
        .system_queries()
        .iter()
        .find(|q| q.query_id.eq_ignore_ascii_case(id.trim()))
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
        callback_method: r.callback_method.clone(),
        format: r.format.clone(),
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
        callback_method: r.map_or_else(|| "POST".into(), |r| r.callback_method.clone()),
        format: r.map_or_else(|| "csv".into(), |r| r.format.clone()),
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

fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::bad_request(if min > 0 {
            format!("{field} must be between {min} and {max} characters long, got {n}")
        } else {
            format!("{field} must be at most {max} characters long, got {n}")
        }));
    }
    Ok(())
}

fn required(fields: &Fields, name: &str) -> Result<String, ApiError> {
    fields
        .string(name)?
        .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

fn check_query(text: &str) -> Result<query::Plan, ApiError> {
    query::check(text, catalog()).map_err(|e| ApiError::bad_request(e.to_string()))
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
    let name = required(&fields, "Name")?;
    length("Name", &name, 1, 200)?;
    let description = fields.string("Description")?.unwrap_or_default();
    length("Description", &description, 0, 1000)?;
    let text = required(&fields, "Query")?;
    let plan = check_query(&text)?;
    let q = StoredQuery {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: caller.tenant().to_string(),
        name,
        description,
        text,
        dataset: plan.dataset,
        created_by: caller.user(),
        created_at: state.clock.now(),
    };
    state.store.create_query(&q).await?;
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
    if system_query(&id).is_some() {
        return Err(ApiError::bad_request("System queries cannot be deleted"));
    }
    let deleted = state
        .store
        .delete_query(caller.tenant(), &id)
        .await
        .inspect(|_| state.list_cache.forget(caller.tenant()))?
        .ok_or_else(|| ApiError::not_found(format!("Query '{id}' not found")))?;
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
        (None, Some(id)) => match system_query(id) {
            Some(q) => q.query.clone(),
            None => state
                .store
                .query(caller.tenant(), id)
                .await?
                .map(|q| q.text)
                .ok_or_else(|| ApiError::not_found(format!("Query '{id}' not found")))?,
        },
        _ => {
            return Err(ApiError::bad_request(
                "Give exactly one of exportQuery (the query text) or queryId",
            ));
        }
    };
    let plan = check_query(&text)?;
    let window = match (params.get("startTime"), params.get("endTime")) {
        (None, None) => plan.time_window(state.clock.now()),
        (Some(start), Some(end)) => {
            let start = parse_timestamp("startTime", start)?;
            let end = parse_timestamp("endTime", end)?;
            if start >= end {
                return Err(ApiError::bad_request("startTime must be before endTime"));
            }
            let column = catalog()
                .dataset(&plan.dataset)
                .and_then(|d| d.date_column.clone())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "startTime and endTime cannot be used: dataset '{}' has no date column",
                        plan.dataset
                    ))
                })?;
            Some(TimeWindow {
                column,
                from: Some(start),
                to: Some(end),
            })
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

/// The schedule part of a report body, validated as the spec's table says.
struct Schedule {
    start_time: DateTime<Utc>,
    recurrence_interval: i64,
    recurrence_count: Option<i64>,
    format: String,
    callback_url: Option<String>,
    callback_method: String,
}

async fn schedule(
    state: &Shared,
    fields: &Fields,
    dataset: Option<&Dataset>,
    now: DateTime<Utc>,
) -> Result<Schedule, ApiError> {
    let start_time = fields
        .timestamp("StartTime")?
        .ok_or_else(|| ApiError::bad_request("StartTime is required unless ExecuteNow is true"))?;
    let earliest = now + state.min_start_lead;
    if start_time < earliest {
        return Err(ApiError::bad_request(format!(
            "StartTime must be at least {} after the current time: got {}, the earliest allowed is {}",
            lead_text(state.min_start_lead),
            format_time(start_time),
            format_time(earliest)
        )));
    }
    let interval = fields.integer("RecurrenceInterval")?.ok_or_else(|| {
        ApiError::bad_request("RecurrenceInterval is required unless ExecuteNow is true")
    })?;
    if !(4..=2160).contains(&interval) {
        return Err(ApiError::bad_request(
            "Recurrence interval should be between 4 and 2160",
        ));
    }
    if let Some(d) = dataset
        && interval < i64::from(d.minimum_recurrence_interval)
    {
        return Err(ApiError::bad_request(format!(
            "RecurrenceInterval must be at least {} hours for dataset '{}', got {interval}",
            d.minimum_recurrence_interval, d.name
        )));
    }
    let count = fields.integer("RecurrenceCount")?;
    if count.is_some_and(|c| c < 1) {
        return Err(ApiError::bad_request(
            "RecurrenceCount must be at least 1 (leave it out for no end)",
        ));
    }
    let (format, callback_url, callback_method) = delivery(state, fields).await?;
    Ok(Schedule {
        start_time,
        recurrence_interval: interval,
        recurrence_count: count,
        format,
        callback_url,
        callback_method,
    })
}

fn lead_text(lead: Duration) -> String {
    let secs = lead.num_seconds();
    if secs % 3600 == 0 {
        format!("{} hours", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

async fn delivery(
    state: &Shared,
    fields: &Fields,
) -> Result<(String, Option<String>, String), ApiError> {
    let format = match fields.string("Format")? {
        None => "csv".to_string(),
        Some(f) if f.eq_ignore_ascii_case("csv") => "csv".into(),
        Some(f) if f.eq_ignore_ascii_case("tsv") => "tsv".into(),
        Some(f) => {
            return Err(ApiError::bad_request(format!(
                "Format must be CSV or TSV, got '{f}'"
            )));
        }
    };
    let callback_url = match fields.string("CallbackUrl")? {
        Some(url) if !url.trim().is_empty() => {
            crate::netguard::check_callback(url.trim(), state.config.callbacks.allow_private)
                .await
                .map_err(ApiError::bad_request)?;
            Some(url.trim().to_string())
        }
        _ => None,
    };
    let callback_method = match fields.string("CallbackMethod")? {
        None => "POST".to_string(),
        Some(m) if m.eq_ignore_ascii_case("get") => "GET".into(),
        Some(m) if m.eq_ignore_ascii_case("post") => "POST".into(),
        Some(m) => {
            return Err(ApiError::bad_request(format!(
                "CallbackMethod must be GET or POST, got '{m}'"
            )));
        }
    };
    Ok((format, callback_url, callback_method))
}

/// The query a report names: a system query or one of the tenant's.
async fn report_query(
    state: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(String, String, String), ApiError> {
    if let Some(q) = system_query(id) {
        return Ok((q.query_id.clone(), q.query.clone(), q.dataset.clone()));
    }
    if uuid::Uuid::parse_str(id.trim()).is_ok()
        && let Some(q) = state.store.query(caller.tenant(), id.trim()).await?
    {
        return Ok((q.id, q.text, q.dataset));
    }
    Err(ApiError::bad_request("Invalid QueryId"))
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
    let now = state.clock.now();
    let name = required(&fields, "ReportName")?;
    length("ReportName", &name, 1, 200)?;
    let description = fields.string("Description")?.unwrap_or_default();
    length("Description", &description, 0, 1000)?;
    let query_id =
        required(&fields, "QueryId").map_err(|_| ApiError::bad_request("QueryId is required"))?;
    let (query_id, query_text, dataset) = report_query(&state, &caller, &query_id).await?;
    let dataset = catalog().dataset(&dataset);
    let execute_now = fields.boolean("ExecuteNow")?.unwrap_or(false);
    let query_start = fields.timestamp("QueryStartTime")?;
    let query_end = fields.timestamp("QueryEndTime")?;
    let (schedule, query_start, query_end) = if execute_now {
        match (query_start, query_end) {
            (Some(s), Some(e)) if s >= e => {
                return Err(ApiError::bad_request(
                    "QueryStartTime must be before QueryEndTime",
                ));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(ApiError::bad_request(
                    "Give both QueryStartTime and QueryEndTime, or neither",
                ));
            }
            _ => {}
        }
        // StartTime, RecurrenceInterval and RecurrenceCount are ignored.
        let (format, callback_url, callback_method) = delivery(&state, &fields).await?;
        let once = Schedule {
            start_time: now,
            recurrence_interval: 0,
            recurrence_count: Some(1),
            format,
            callback_url,
            callback_method,
        };
        (once, query_start, query_end)
    } else {
        if query_start.is_some() || query_end.is_some() {
            return Err(ApiError::bad_request(
                "QueryStartTime and QueryEndTime are only allowed with ExecuteNow=true",
            ));
        }
        (schedule(&state, &fields, dataset, now).await?, None, None)
    };
    let report = Report {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: caller.tenant().to_string(),
        name,
        description,
        query_id,
        query_text,
        created_by: caller.user(),
        created_at: now,
        modified_at: None,
        execute_now,
        start_time: schedule.start_time,
        status: ReportStatus::Active,
        recurrence_interval: schedule.recurrence_interval,
        recurrence_count: schedule.recurrence_count,
        callback_url: schedule.callback_url,
        callback_method: schedule.callback_method,
        format: schedule.format,
        query_start,
        query_end,
    };
    let first = NewExecution {
        id: uuid::Uuid::new_v4().to_string(),
        due_time: report.start_time,
    };
    state.store.create_report(&report, &[first], now).await?;
    state.scheduler.wake();
    Ok(ok(
        vec![report_item(&report)],
        "Report created successfully",
    ))
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

async fn existing_report(state: &Shared, caller: &Caller, id: &str) -> Result<Report, ApiError> {
    state
        .store
        .report(caller.tenant(), id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Report '{id}' not found")))
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
    let now = state.clock.now();
    let mut report = existing_report(&state, &caller, &id).await?;
    if report.execute_now {
        return Err(ApiError::bad_request(
            "This report was created with ExecuteNow=true and runs once; create a scheduled report instead of updating it",
        ));
    }
    let name = required(&fields, "ReportName")?;
    length("ReportName", &name, 1, 200)?;
    let description = fields.string("Description")?.unwrap_or_default();
    length("Description", &description, 0, 1000)?;
    let dataset = catalog()
        .system_queries()
        .iter()
        .find(|q| q.query_id == report.query_id)
        .map(|q| q.dataset.clone());
    let dataset = match dataset {
        Some(d) => Some(d),
        None => state
            .store
            .query(caller.tenant(), &report.query_id)
            .await?
            .map(|q| q.dataset),
    };
    let s = schedule(
        &state,
        &fields,
        dataset.as_deref().and_then(|d| catalog().dataset(d)),
        now,
    )
    .await?;
    report.name = name;
    report.description = description;
    report.start_time = s.start_time;
    report.recurrence_interval = s.recurrence_interval;
    report.recurrence_count = s.recurrence_count;
    report.format = s.format;
    report.callback_url = s.callback_url;
    report.callback_method = s.callback_method;
    report.modified_at = Some(now);
    if report.status == ReportStatus::Inactive {
        report.status = ReportStatus::Active;
    }
    // Executions not started yet are re-planned from the new schedule.
    let replan = match report.status {
        ReportStatus::Active => vec![NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time: report.start_time,
        }],
        _ => Vec::new(),
    };
    if !state
        .store
        .update_report(&report, Some(&replan), now)
        .await?
    {
        return Err(ApiError::not_found(format!("Report '{id}' not found")));
    }
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
    let (report, executions) = state
        .store
        .delete_report(caller.tenant(), id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Report '{id}' not found")))?;
    for location in executions.iter().filter_map(|e| e.location.as_deref()) {
        let path = object_store::path::Path::from(location);
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
    let now = state.clock.now();
    let mut report = existing_report(&state, &caller, &id).await?;
    if report.status == ReportStatus::Active {
        if state
            .store
            .pause_report(caller.tenant(), &report.id, now)
            .await?
        {
            report.status = ReportStatus::Paused;
            report.modified_at = Some(now);
        } else {
            // Changed meanwhile by another request: answer what is stored.
            report = existing_report(&state, &caller, &id).await?;
        }
    }
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
    let now = state.clock.now();
    let mut report = existing_report(&state, &caller, &id).await?;
    if report.status == ReportStatus::Paused {
        let next = if report.execute_now {
            Some(now)
        } else {
            scheduler::plan::first_from(&report, now)
        };
        let next = next.map(|due_time| NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time,
        });
        if state
            .store
            .resume_report(caller.tenant(), &report.id, next.as_ref(), now)
            .await?
        {
            report.status = match next {
                Some(_) => ReportStatus::Active,
                None => ReportStatus::Inactive,
            };
            report.modified_at = Some(now);
            state.scheduler.wake();
        } else {
            // Changed meanwhile by another request: answer what is stored.
            report = existing_report(&state, &caller, &id).await?;
        }
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
