//! Datasets, saved queries and the test-query preview.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures::TryStreamExt;
use proto::{DatasetItem, Envelope};
use query::Catalog as _;

use super::items::{catalog, dataset_item, system_query_item, user_query_item};
use super::{InsightsParams, PREVIEW_ROWS, PREVIEW_TIMEOUT, ok, paginate, tenant_id};
use crate::Shared;
use crate::body::{RequestFields, parse_timestamp};
use crate::error::{ApiError, ErrorCode, json_response};
use crate::http::Caller;
use crate::service::queries;

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledDataset", tag = "Insights",
    params(("datasetName" = Option<String>, Query, description = "One dataset, name in any case")),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::DatasetItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn datasets(
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = InsightsParams::parse(raw);
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
    let cached = state.list_cache.get(caller.tenant(), &key);
    if state.list_cache.enabled() {
        state.metrics.cache("query_lists", cached.is_some());
    }
    if let Some(bytes) = cached {
        return Ok(crate::error::json_bytes(StatusCode::OK, bytes));
    }
    let params = InsightsParams::parse(raw);
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
    let params = InsightsParams::parse(raw);
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
    queries::check_restricted(&plan, caller.redact)?;
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
    let (engine, query) = (state.engine.clone(), plan.clone());
    let run = state.on_query_runtime("preview", async move {
        let stream = engine.execute(&tenant, &query, &opts).await?;
        let batches: Vec<_> = stream
            .try_collect()
            .await
            .map_err(engine::EngineError::from)?;
        Ok(batches)
    });
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
