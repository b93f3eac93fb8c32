//! The Store analytics API (`/v1.0/my/analytics/...`): one generic handler
//! for every method of `query::storeapi::methods::METHODS`. A request's
//! parameters are resolved (pure, in `query`) into a `Plan`, run on the
//! engine over the tenant's Store datasets, and shaped into the envelope
//! `{Value, @nextLink, TotalCount}` (or the method's own shape: the funnel's
//! four rows, the bare array of Xbox concurrency, precomputed documents, a
//! 302 to a signed CAB link). Failures use the error JSON of spec §1.7.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use engine::store_answer;
use query::storeapi::methods::{self, Scope, Shape};
use query::storeapi::{self, StoreParams, StoreQuery};

use crate::Shared;
use crate::error::{ApiError, ErrorCode, json_response};
use crate::http::Caller;

mod answers;
mod cab;
mod error;
mod gate;
mod products;

pub use answers::ResultCache;
pub use error::StoreApiError;
pub use gate::store_auth;
pub use products::{ProductCache, ProductRow};

use error::param_error;
use gate::{not_a_get, unknown_root};

/// The prefix every Store method lives under.
pub const PREFIX: &str = "/v1.0/my/analytics";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            &format!("{PREFIX}/{{*method}}"),
            get(handle).fallback(not_a_get),
        )
        .route(PREFIX, get(unknown_root).fallback(not_a_get))
}

/// Routes that carry their own credentials (signed links).
pub fn public_routes() -> Router<Shared> {
    Router::new().route("/store/cab/{tenant}/{file}", get(cab::cab_file))
}

fn method_names() -> String {
    let mut names: Vec<String> = methods::METHODS.iter().map(|m| m.label()).collect();
    names.dedup();
    names.join(", ")
}

fn not_found_product(what: &str, id: &str) -> StoreApiError {
    ApiError::not_found(format!(
        "{what} '{}' is not a product of this account",
        id.chars().take(64).collect::<String>()
    ))
    .into()
}

/// The one handler of every Store method.
async fn handle(
    State(state): State<Shared>,
    caller: Caller,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, StoreApiError> {
    let raw = raw.unwrap_or_default();
    let params = StoreParams::new(form_urlencoded::parse(raw.as_bytes()).into_owned());
    let path = path.trim_matches('/').to_ascii_lowercase();
    let metric_type = params.get("metricType");
    let Some(method) = methods::find(&path, metric_type) else {
        if path == "gameanalytics" {
            let types: Vec<&str> = methods::METHODS
                .iter()
                .filter(|m| m.path == "gameanalytics")
                .map(|m| m.metric_type)
                .collect();
            return Err(param_error(
                "metricType",
                format!(
                    "metricType must be one of {}, not '{}'",
                    types.join(", "),
                    metric_type.unwrap_or("")
                ),
            ));
        }
        return Err(ApiError::not_found(format!(
            "No Store analytics method '{path}'; methods: {}",
            method_names()
        ))
        .into());
    };
    let tenant = caller.tenant().to_string();
    let today = state.clock.today();
    // The application or product named must be this account's; it is then
    // spelled as the account does (the engine compares ids exactly). Invalid
    // parameters are reported (400) before an unknown product (404).
    let products = state.store_products.get(&state, &tenant).await?;
    let mut params = params;
    let named = match method.product.filter(|p| params.value(p.name).is_some()) {
        Some(p) => Some(p.name),
        None => (method.scope != Scope::Account).then_some("applicationId"),
    };
    let mut unknown = None;
    if let Some(param) = named
        && let Some(id) = params.value(param).map(str::to_string)
    {
        match products.iter().find(|p| p.id.eq_ignore_ascii_case(&id)) {
            Some(p) => params.set(param, &p.id),
            None => unknown = Some((param, id)),
        }
    }
    let query = storeapi::resolve(method, &params, today)?;
    if let Some((param, id)) = unknown {
        return Err(not_found_product(param, &id));
    }

    let tenant_id = engine::TenantId::parse(&tenant)
        .map_err(|_| StoreApiError::from(ApiError::not_found("No Store data for this account")))?;
    let opts = engine::ExecOptions {
        window: query.window.clone(),
        ..engine::ExecOptions::default()
    };
    // Answers are cached under the dataset's manifest version (and its
    // write time): a load through any replica makes a new version, so a
    // cached answer is never stale, and paging through @nextLink runs the
    // query once.
    let version = state
        .engine
        .store()
        .data_stamp(&query.plan.dataset, &tenant_id)
        .await?;
    let key = format!(
        "{tenant}\n{}@{version}\n{}\n{:?}",
        query.plan.dataset, query.plan, query.window
    );
    let missed = std::sync::atomic::AtomicBool::new(false);
    let run = async {
        state
            .store_results
            .get_or_run(key, || {
                missed.store(true, std::sync::atomic::Ordering::Relaxed);
                let (engine, tenant, plan, opts) = (
                    state.engine.clone(),
                    tenant_id.clone(),
                    query.plan.clone(),
                    opts.clone(),
                );
                // On the query runtime: a heavy answer never holds a
                // request thread.
                state.on_query_runtime("store", async move {
                    engine
                        .dataframe(&tenant, &plan, &opts)
                        .await?
                        .collect()
                        .await
                        .map_err(engine::EngineError::from)
                })
            })
            .await
    };
    let batches = match tokio::time::timeout(QUERY_BUDGET, run).await {
        Ok(r) => {
            let hit = !missed.load(std::sync::atomic::Ordering::Relaxed);
            state.metrics.cache("store_answers", hit);
            r?
        }
        Err(_) => {
            return Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "The query ran longer than {} s; narrow the dates or the groupby fields",
                    QUERY_BUDGET.as_secs()
                ),
            )
            .into());
        }
    };
    let batches = match method.bucket_cap {
        Some(cap) if query.level.spans_days() => Arc::new(
            store_answer::cap_failure_buckets(&query, &batches, cap)
                .map_err(|e| StoreApiError::from(ApiError::internal(e)))?,
        ),
        _ => batches,
    };
    match method.shape {
        Shape::Redirect => cab::redirect(&state, &tenant_id, &batches).await,
        Shape::BareArray => Ok(concurrency(&query, &params, &batches, state.clock.now())),
        Shape::Funnel => Ok(funnel(&batches)),
        Shape::Envelope | Shape::Document | Shape::Insights => {
            Ok(envelope(&state, &query, &params, &path, &batches))
        }
    }
}

const QUERY_BUDGET: Duration = Duration::from_secs(100);

/// One page of rows in the envelope.
fn envelope(
    state: &Shared,
    query: &StoreQuery,
    params: &StoreParams,
    path: &str,
    batches: &[engine::arrow::array::RecordBatch],
) -> Response {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
    let top = usize::try_from(query.top).unwrap_or(usize::MAX);
    let next = skip.saturating_add(top);
    let answer = proto::store::StoreEnvelope {
        value: store_answer::page(query, batches, skip, top),
        next_link: (top > 0 && next < total)
            .then(|| next_link(state, path, params, query.top, next as u64)),
        total_count: total,
        data_freshness_timestamp: query.method.freshness.then(|| freshness(state.clock.now())),
    };
    json_response(StatusCode::OK, &answer)
}

/// When the data was last refreshed: daily at 08:00 UTC (yesterday's run
/// before 08:00).
fn freshness(now: DateTime<Utc>) -> String {
    let refresh = now - chrono::Duration::hours(8);
    format!("{}T08:00:00", refresh.date_naive().format("%Y-%m-%d"))
}

/// The same call with `skip` advanced: relative to `/v1.0/my/analytics/`
/// by default, absolute when `store_api.absolute_next_links` is set.
fn next_link(state: &Shared, path: &str, params: &StoreParams, top: u64, skip: u64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.pairs() {
        let bare = k.trim_start_matches('$');
        if bare.eq_ignore_ascii_case("skip") || bare.eq_ignore_ascii_case("top") {
            continue;
        }
        out.append_pair(k, v);
    }
    out.append_pair("top", &top.to_string());
    out.append_pair("skip", &skip.to_string());
    let relative = format!("{path}?{}", out.finish());
    if state.config.store_api.absolute_next_links {
        format!("{}{PREFIX}/{relative}", state.public_url)
    } else {
        relative
    }
}

/// The funnel: always PageView, Acquisition, Install, Usage.
fn funnel(batches: &[engine::arrow::array::RecordBatch]) -> Response {
    let value: Vec<proto::store::FunnelStep> = store_answer::funnel(batches)
        .into_iter()
        .map(|(step, users)| proto::store::FunnelStep {
            metric_type: step.into(),
            user_count: users,
        })
        .collect();
    let answer = proto::store::FunnelAnswer {
        total_count: value.len(),
        value,
    };
    json_response(StatusCode::OK, &answer)
}

/// Xbox concurrency: averages per minute, hour or day, as a bare array.
fn concurrency(
    query: &StoreQuery,
    params: &StoreParams,
    batches: &[engine::arrow::array::RecordBatch],
    now: DateTime<Utc>,
) -> Response {
    let dated = params.get("startDate").is_some() || params.get("endDate").is_some();
    let points: Vec<proto::store::ConcurrencyPoint> =
        store_answer::concurrency(query.level, dated, batches, now)
            .into_iter()
            .map(|p| proto::store::ConcurrencyPoint {
                count: p.average,
                date: p.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                series_name: "UserConcurrency".into(),
            })
            .collect();
    json_response(StatusCode::OK, &points)
}
