//! The Store analytics API (`/v1.0/my/analytics/...`): one generic handler
//! for every method of `query::storeapi::methods::METHODS`. A request's
//! parameters are resolved (pure, in `query`) into a `Plan`, run on the
//! engine over the tenant's Store datasets, and shaped into the envelope
//! `{Value, @nextLink, TotalCount}` (or the method's own shape: the funnel's
//! four rows, the bare array of Xbox concurrency, precomputed documents, a
//! 302 to a signed CAB link). Failures use the error JSON of spec §1.7.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use engine::arrow::array::{Array, AsArray, RecordBatch};
use engine::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use hmac::Mac;
use query::storeapi::methods::{self, DateFormat, Scope, Shape};
use query::storeapi::{self, FieldSource, ParamError, Params, StoreQuery};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::error::{ApiError, ErrorCode, json_bytes};
use crate::http::Caller;
use crate::tokens::Api;

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
    Router::new().route("/store/cab/{tenant}/{file}", get(cab_file))
}

/// A failure in the shape of spec §1.7.
#[derive(Debug)]
pub struct StoreError {
    pub error: ApiError,
    /// `innererror.data`: one message per problem.
    pub data: Vec<String>,
}

impl From<ApiError> for StoreError {
    fn from(error: ApiError) -> Self {
        let data = vec![error.message.clone()];
        StoreError { error, data }
    }
}

impl From<engine::EngineError> for StoreError {
    fn from(e: engine::EngineError) -> Self {
        ApiError::internal(e).into()
    }
}

impl From<Vec<ParamError>> for StoreError {
    fn from(errors: Vec<ParamError>) -> Self {
        let data: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        StoreError {
            error: ApiError::bad_request(data.join("; ")),
            data,
        }
    }
}

impl IntoResponse for StoreError {
    fn into_response(self) -> Response {
        let code = self.error.code;
        let (outer, outer_message, inner, inner_message) = match code {
            ErrorCode::BadRequest => (
                "BadRequest",
                "The calling client sent a bad request to the service.",
                "InvalidQueryParameters",
                "One or More Query Parameters has invalid values.",
            ),
            ErrorCode::Unauthorized => (
                "Unauthorized",
                "The calling client is not authorized: the access token is missing, invalid or expired.",
                "InvalidAccessToken",
                "Get a token for https://manage.devcenter.microsoft.com from the token endpoint and send it as 'Authorization: Bearer <token>'.",
            ),
            ErrorCode::Forbidden => (
                "Forbidden",
                "The calling client is not allowed to read analytics.",
                "InsufficientRole",
                "The app or user needs the Manager or Developer role.",
            ),
            ErrorCode::NotFound => (
                "NotFound",
                "The requested resource was not found.",
                "ResourceNotFound",
                "No such application, product or method for this account.",
            ),
            ErrorCode::RateLimited => (
                "TooManyRequests",
                "Rate limit is exceeded.",
                "RateLimitExceeded",
                "Too many requests for this account; wait for Retry-After seconds.",
            ),
            ErrorCode::Timeout => (
                "GatewayTimeout",
                "The query took too long.",
                "QueryTimeout",
                "Narrow the date range or the groupby fields.",
            ),
            ErrorCode::Unavailable => (
                "ServiceUnavailable",
                "The service is unavailable.",
                "ServiceUnavailable",
                "Try again shortly.",
            ),
            ErrorCode::MethodNotAllowed => (
                "MethodNotAllowed",
                "Every Store analytics method is a GET.",
                "MethodNotAllowed",
                "Use GET.",
            ),
            _ => (
                "InternalServerError",
                "The service failed to answer.",
                "InternalError",
                "The correlation id identifies the failure in the server log.",
            ),
        };
        let body = json!({
            "code": outer,
            "data": [],
            "details": [],
            "innererror": {
                "code": inner,
                "data": self.data,
                "details": [],
                "message": inner_message,
                "source": "AnalyticsAPI",
            },
            "message": outer_message,
            "source": "AnalyticsAPI",
        });
        let mut res = json_bytes(code.status(), body.to_string());
        if let Some(wait) = self.error.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        res
    }
}

/// The Store analytics API's gate: Store-audience tokens, Manager or
/// Developer, the §1.7 error shape.
const STORE: crate::http::Gate = crate::http::Gate {
    api: Api::StoreAnalytics,
    roles: &["Manager", "Developer"],
    unredacted: &[],
    no_token: "No access token: send 'Authorization: Bearer <token>' with a token for https://manage.devcenter.microsoft.com",
    no_role: "The token has neither the Manager nor the Developer role, which the Store analytics API requires",
    limited: store_limited,
    render: store_refusal,
};

fn store_limited(_: &Shared, _: &crate::ratelimit::Decision, wait: u64) -> String {
    format!("Rate limit is exceeded. Try again in {wait} seconds.")
}

fn store_refusal(e: ApiError) -> Response {
    StoreError::from(e).into_response()
}

/// The Store analytics API's authentication layer.
pub async fn store_auth(State(state): State<Shared>, req: Request, next: Next) -> Response {
    crate::http::admit(&STORE, &state, req, next).await
}

async fn not_a_get() -> StoreError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "Every Store analytics method is a GET",
    )
    .into()
}

async fn unknown_root() -> StoreError {
    ApiError::not_found(format!(
        "No method at {PREFIX}; methods: {}",
        method_names()
    ))
    .into()
}

fn method_names() -> String {
    let mut names: Vec<String> = methods::METHODS.iter().map(|m| m.label()).collect();
    names.dedup();
    names.join(", ")
}

/// One product of a tenant's account.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: String,
    pub kind: String,
}

/// A tenant's products and when they were read.
type Cached = (Instant, Arc<Vec<ProductRow>>);

/// The products of each tenant, read from its `store_products` dataset and
/// kept for a few seconds.
#[derive(Debug, Default)]
pub struct ProductCache {
    entries: Mutex<HashMap<String, Cached>>,
}

const PRODUCT_TTL: Duration = Duration::from_secs(5);

impl ProductCache {
    async fn get(&self, state: &Shared, tenant: &str) -> Result<Arc<Vec<ProductRow>>, StoreError> {
        if let Ok(map) = self.entries.lock()
            && let Some((at, rows)) = map.get(tenant)
            && at.elapsed() < PRODUCT_TTL
        {
            return Ok(Arc::clone(rows));
        }
        let tenant_id = engine::TenantId::parse(tenant)
            .map_err(|_| StoreError::from(ApiError::not_found("No Store data for this account")))?;
        let plan = products_plan();
        let batches = state
            .engine
            .dataframe(&tenant_id, &plan, &engine::ExecOptions::default())
            .await?
            .collect()
            .await
            .map_err(|e| StoreError::from(ApiError::internal(e)))?;
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                let id = string_at(b, 0, i).unwrap_or_default();
                let kind = string_at(b, 1, i).unwrap_or_default();
                rows.push(ProductRow { id, kind });
            }
        }
        let rows = Arc::new(rows);
        if let Ok(mut map) = self.entries.lock() {
            map.insert(tenant.to_string(), (Instant::now(), Arc::clone(&rows)));
        }
        Ok(rows)
    }
}

fn products_plan() -> query::Plan {
    use query::plan::{Output, Source};
    let out = |name: &str| Output {
        name: name.into(),
        ty: query::catalog::ColumnType::String,
        restricted: false,
        source: Source::Column,
    };
    query::Plan {
        dataset: "store_products".into(),
        distinct: false,
        outputs: vec![out("applicationId"), out("productType")],
        aggregates: Vec::new(),
        group_by: Vec::new(),
        row_filters: Vec::new(),
        group_filters: Vec::new(),
        order_by: Vec::new(),
        limit: None,
        offset: 0,
        condition: None,
        rollup: None,
        time: None,
    }
}

fn string_at(b: &RecordBatch, col: usize, row: usize) -> Option<String> {
    match engine::preview::cell(b.column(col), row) {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn not_found_product(what: &str, id: &str) -> StoreError {
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
) -> Result<Response, StoreError> {
    let raw = raw.unwrap_or_default();
    let params = Params::new(form_urlencoded::parse(raw.as_bytes()).into_owned());
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
    let today = Utc::now().date_naive();
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
        .map_err(|_| StoreError::from(ApiError::not_found("No Store data for this account")))?;
    let opts = engine::ExecOptions {
        window: query.window.clone(),
        ..engine::ExecOptions::default()
    };
    // Answers are cached under the dataset's manifest version: a load
    // makes a new version, so a cached answer is never stale, and paging
    // through @nextLink runs the query once.
    let version = state
        .engine
        .store()
        .manifest_version(&query.plan.dataset, &tenant_id)
        .await?;
    let key = format!(
        "{tenant}\n{}@{version}\n{}\n{:?}",
        query.plan.dataset, query.plan, query.window
    );
    let run = async {
        state
            .store_results
            .get_or_run(key, || async {
                state
                    .engine
                    .dataframe(&tenant_id, &query.plan, &opts)
                    .await?
                    .collect()
                    .await
                    .map_err(engine::EngineError::from)
            })
            .await
    };
    let batches = match tokio::time::timeout(QUERY_BUDGET, run).await {
        Ok(r) => r?,
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
        Some(cap) if matches!(query.level.as_str(), "week" | "month") => {
            Arc::new(cap_failure_buckets(&query, &batches, cap)?)
        }
        _ => batches,
    };
    match method.shape {
        Shape::Redirect => redirect(&state, &tenant_id, &batches).await,
        Shape::BareArray => Ok(concurrency(&query, &params, &batches)),
        Shape::Funnel => Ok(funnel(&batches)),
        Shape::Envelope | Shape::Document | Shape::Insights => {
            Ok(envelope(&state, &query, &params, &path, &batches))
        }
    }
}

const QUERY_BUDGET: Duration = Duration::from_secs(100);

/// Store API answers (the full, unpaged result batches) by query and data
/// version, least recently used first out, within a byte budget. Callers
/// of the same query at the same time share one execution.
#[derive(Debug)]
pub struct ResultCache {
    budget: usize,
    inner: Mutex<CacheMap>,
}

type Batches = Arc<Vec<RecordBatch>>;

#[derive(Debug, Default)]
struct CacheMap {
    tick: u64,
    bytes: usize,
    entries: HashMap<String, CacheEntry>,
}

#[derive(Debug)]
struct CacheEntry {
    used: u64,
    bytes: usize,
    cell: Arc<tokio::sync::OnceCell<Batches>>,
}

impl ResultCache {
    pub fn new(budget_bytes: usize) -> ResultCache {
        ResultCache {
            budget: budget_bytes,
            inner: Mutex::new(CacheMap::default()),
        }
    }

    async fn get_or_run<F, Fut>(&self, key: String, run: F) -> Result<Batches, engine::EngineError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<RecordBatch>, engine::EngineError>>,
    {
        if self.budget == 0 {
            return run().await.map(Arc::new);
        }
        let cell = {
            let Ok(mut map) = self.inner.lock() else {
                return run().await.map(Arc::new);
            };
            map.tick += 1;
            let tick = map.tick;
            let entry = map
                .entries
                .entry(key.clone())
                .or_insert_with(|| CacheEntry {
                    used: tick,
                    bytes: 0,
                    cell: Arc::new(tokio::sync::OnceCell::new()),
                });
            entry.used = tick;
            Arc::clone(&entry.cell)
        };
        let batches = cell
            .get_or_try_init(|| async { run().await.map(Arc::new) })
            .await;
        let batches = match batches {
            Ok(b) => Arc::clone(b),
            Err(e) => {
                if let Ok(mut map) = self.inner.lock() {
                    map.entries.remove(&key);
                }
                return Err(e);
            }
        };
        let size: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        if let Ok(mut map) = self.inner.lock() {
            let mut added = 0;
            if let Some(e) = map.entries.get_mut(&key)
                && e.bytes == 0
            {
                e.bytes = size.max(1);
                added = e.bytes;
            }
            map.bytes += added;
            while map.bytes > self.budget && map.entries.len() > 1 {
                let Some(oldest) = map
                    .entries
                    .iter()
                    .filter(|(k, e)| e.bytes > 0 && **k != key)
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(e) = map.entries.remove(&oldest) {
                    map.bytes -= e.bytes;
                }
            }
        }
        Ok(batches)
    }
}

/// A 400 about one parameter.
fn param_error(param: &str, message: String) -> StoreError {
    vec![ParamError {
        param: param.into(),
        message,
    }]
    .into()
}

/// Week and month failure answers keep the `cap` failure buckets
/// (`failureHash`, else `failureName`) with the most events (spec §2.2).
fn cap_failure_buckets(
    query: &StoreQuery,
    batches: &[RecordBatch],
    cap: usize,
) -> Result<Vec<RecordBatch>, StoreError> {
    let outputs = &query.plan.outputs;
    let key = ["failureHash", "failureName"]
        .iter()
        .find_map(|k| outputs.iter().position(|o| o.name == *k));
    let events = outputs.iter().position(|o| o.name == "eventCount");
    let (Some(key), Some(events)) = (key, events) else {
        return Ok(batches.to_vec());
    };
    let mut totals: HashMap<Option<String>, i64> = HashMap::new();
    for (b, i) in rows(batches) {
        let n = match cell(b, events, i, false, DateFormat::Day) {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            _ => 0,
        };
        *totals.entry(string_at(b, key, i)).or_default() += n;
    }
    if totals.len() <= cap {
        return Ok(batches.to_vec());
    }
    let mut ranked: Vec<(Option<String>, i64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept: std::collections::HashSet<Option<String>> =
        ranked.into_iter().take(cap).map(|(k, _)| k).collect();
    batches
        .iter()
        .map(|b| {
            let mask: engine::arrow::array::BooleanArray = (0..b.num_rows())
                .map(|i| Some(kept.contains(&string_at(b, key, i))))
                .collect();
            engine::arrow::compute::filter_record_batch(b, &mask)
                .map_err(|e| StoreError::from(ApiError::internal(e)))
        })
        .collect()
}

/// The value of one cell as JSON, typed as the field says.
fn cell(b: &RecordBatch, col: usize, row: usize, boolean: bool, fmt: DateFormat) -> Value {
    let a = b.column(col);
    if a.is_null(row) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Int64 => {
            let v = a.as_primitive::<Int64Type>().value(row);
            if boolean {
                Value::Bool(v != 0)
            } else {
                Value::from(v)
            }
        }
        DataType::Float64 => {
            // Sums of amounts carry binary noise (39.879999999999995):
            // answer with at most 6 decimals.
            let v = (a.as_primitive::<Float64Type>().value(row) * 1e6).round() / 1e6;
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        DataType::Date32 => {
            let days = a.as_primitive::<Date32Type>().value(row);
            engine::ingest::days_to_date(days)
                .map_or(Value::Null, |d| Value::from(format_date(d, None, fmt)))
        }
        _ => engine::preview::cell(a, row),
    }
}

fn format_date(d: NaiveDate, hour: Option<i64>, fmt: DateFormat) -> String {
    let day = d.format("%Y-%m-%d");
    match (fmt, hour) {
        (_, Some(h)) => format!("{day} {h:02}:00:00"),
        (DateFormat::Day, None) => day.to_string(),
        (DateFormat::DayTime, None) => format!("{day} 00:00:00"),
        (DateFormat::Iso7, None) => format!("{day}T00:00:00.0000000Z"),
        (DateFormat::IsoPlain, None) => format!("{day}T00:00:00"),
    }
}

fn rows(batches: &[RecordBatch]) -> impl Iterator<Item = (&RecordBatch, usize)> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)))
}

fn row_json(query: &StoreQuery, b: &RecordBatch, i: usize) -> Map<String, Value> {
    let method = query.method;
    let mut m = Map::new();
    for f in &query.fields {
        let v = match &f.source {
            FieldSource::Output(col) => {
                let is_date = query
                    .plan
                    .outputs
                    .get(*col)
                    .is_some_and(|o| o.ty == query::catalog::ColumnType::Date);
                match (is_date, query.hour_output) {
                    (true, Some(h)) => {
                        let hour = match cell(b, h, i, false, method.date_format) {
                            Value::Number(n) => n.as_i64(),
                            _ => None,
                        };
                        let days = b.column(*col);
                        if days.is_null(i) {
                            Value::Null
                        } else {
                            let d = days.as_primitive::<Date32Type>().value(i);
                            engine::ingest::days_to_date(d).map_or(Value::Null, |d| {
                                Value::from(format_date(d, hour, method.date_format))
                            })
                        }
                    }
                    _ => cell(b, *col, i, f.boolean, method.date_format),
                }
            }
            FieldSource::All => Value::from("All"),
            FieldSource::Null => Value::Null,
        };
        m.insert(f.wire.clone(), v);
    }
    m
}

fn envelope(
    state: &Shared,
    query: &StoreQuery,
    params: &Params,
    path: &str,
    batches: &[RecordBatch],
) -> Response {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
    let top = usize::try_from(query.top).unwrap_or(usize::MAX);
    let page: Vec<Value> = rows(batches)
        .skip(skip)
        .take(top)
        .map(|(b, i)| {
            let row = row_json(query, b, i);
            match query.method.shape {
                Shape::Document => row
                    .get("document")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(Value::Null),
                Shape::Insights => {
                    let mut row = row;
                    if let Some(Value::String(s)) = row.get("insightDetail") {
                        let parsed = serde_json::from_str(s).unwrap_or(Value::Array(Vec::new()));
                        row.insert("insightDetail".into(), parsed);
                    }
                    Value::Object(row)
                }
                _ => Value::Object(row),
            }
        })
        .collect();
    let mut body = Map::new();
    body.insert("Value".into(), Value::Array(page));
    let next = skip.saturating_add(top);
    if top > 0 && next < total {
        body.insert(
            "@nextLink".into(),
            Value::from(next_link(state, path, params, query.top, next as u64)),
        );
    }
    body.insert("TotalCount".into(), Value::from(total));
    if query.method.freshness {
        body.insert(
            "DataFreshnessTimestamp".into(),
            Value::from(freshness(Utc::now())),
        );
    }
    json_bytes(StatusCode::OK, Value::Object(body).to_string())
}

/// When the data was last refreshed: daily at 08:00 UTC (yesterday's run
/// before 08:00).
fn freshness(now: DateTime<Utc>) -> String {
    let refresh = now - chrono::Duration::hours(8);
    format!("{}T08:00:00", refresh.date_naive().format("%Y-%m-%d"))
}

/// The same call with `skip` advanced: relative to `/v1.0/my/analytics/`
/// by default, absolute when `store_api.absolute_next_links` is set.
fn next_link(state: &Shared, path: &str, params: &Params, top: u64, skip: u64) -> String {
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
fn funnel(batches: &[RecordBatch]) -> Response {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for (b, i) in rows(batches) {
        let metric = string_at(b, 0, i).unwrap_or_default();
        let users = match cell(b, 1, i, false, DateFormat::Day) {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            _ => 0,
        };
        *counts.entry(metric).or_default() += users;
    }
    let value: Vec<Value> = ["PageView", "Acquisition", "Install", "Usage"]
        .iter()
        .map(|m| json!({"MetricType": m, "UserCount": counts.get(*m).copied().unwrap_or(0)}))
        .collect();
    json_bytes(
        StatusCode::OK,
        json!({"Value": value, "TotalCount": 4}).to_string(),
    )
}

/// Xbox concurrency: averages per minute, hour or day, as a bare array.
fn concurrency(query: &StoreQuery, params: &Params, batches: &[RecordBatch]) -> Response {
    let (bucket_minutes, default_records, cap): (i64, usize, usize) = match query.level.as_str() {
        "minute" => (1, 60, 1440),
        "hour" => (60, 24, 720),
        _ => (1440, 7, 60),
    };
    let mut buckets: std::collections::BTreeMap<i64, (f64, u32)> = Default::default();
    for (b, i) in rows(batches) {
        let Some(day) = b
            .column(0)
            .as_primitive_opt::<Date32Type>()
            .filter(|a| !a.is_null(i))
            .map(|a| i64::from(a.value(i)))
        else {
            continue;
        };
        let minute = match cell(b, 1, i, false, DateFormat::Day) {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            _ => 0,
        };
        let count = match cell(b, 2, i, false, DateFormat::Day) {
            Value::Number(n) => n.as_f64().unwrap_or(0.0),
            _ => 0.0,
        };
        let at = day * 1440 + minute;
        let e = buckets
            .entry(at - at.rem_euclid(bucket_minutes))
            .or_insert((0.0, 0));
        e.0 += count;
        e.1 += 1;
    }
    // Nothing after now (a day's series ends at the current minute).
    let now_minute = Utc::now().timestamp().div_euclid(60);
    buckets.retain(|at, _| *at <= now_minute);
    let dated = params.get("startDate").is_some() || params.get("endDate").is_some();
    let keep = if dated { cap } else { default_records.min(cap) };
    let skip = buckets.len().saturating_sub(keep);
    let out: Vec<Value> = buckets
        .into_iter()
        .skip(skip)
        .map(|(at, (sum, n))| {
            let secs = at * 60;
            let when = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
            let avg = (sum / f64::from(n.max(1)) * 100.0).round() / 100.0;
            json!({
                "Count": avg,
                "Date": when.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "SeriesName": "UserConcurrency",
            })
        })
        .collect();
    json_bytes(StatusCode::OK, Value::Array(out).to_string())
}

/// The signature of a CAB link: the server's link key (as for report
/// downloads) over tenant, CAB and expiry.
fn cab_mac(state: &Shared, tenant: &str, key: &str, expiry: i64) -> crate::downloads::HmacSha256 {
    let mut mac = crate::downloads::keyed(&state.link_key);
    mac.update(format!("cab\n{tenant}\n{key}\n{expiry}").as_bytes());
    mac
}

/// How long a CAB download link is valid.
const CAB_LINK_SECS: i64 = 3600;

async fn redirect(
    state: &Shared,
    tenant: &engine::TenantId,
    batches: &[RecordBatch],
) -> Result<Response, StoreError> {
    let Some(key) = rows(batches).find_map(|(b, i)| string_at(b, 0, i)) else {
        return Err(ApiError::not_found(
            "No CAB with this id for this account (CABs of the last 30 days can be downloaded)",
        )
        .into());
    };
    let expiry = Utc::now().timestamp() + CAB_LINK_SECS;
    let mac = cab_mac(state, tenant.as_str(), &key, expiry);
    let sig = hex::encode(mac.finalize().into_bytes());
    let location = format!(
        "{}/store/cab/{tenant}/{}.cab?expiry={expiry}&signature={sig}",
        state.public_url,
        urlencode(&key)
    );
    let mut res = StatusCode::FOUND.into_response();
    let value =
        HeaderValue::from_str(&location).map_err(|e| StoreError::from(ApiError::internal(e)))?;
    res.headers_mut().insert(header::LOCATION, value);
    Ok(res)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(serde::Deserialize)]
struct CabLink {
    expiry: i64,
    signature: String,
}

/// Serves a CAB file to whoever holds a valid signed link.
async fn cab_file(
    State(state): State<Shared>,
    Path((tenant, file)): Path<(String, String)>,
    axum::extract::Query(link): axum::extract::Query<CabLink>,
) -> Result<Response, StoreError> {
    let forbidden = || {
        StoreError::from(ApiError::forbidden(
            "The CAB link is not valid or has expired; ask cabdownload for a new one",
        ))
    };
    let key = file.strip_suffix(".cab").unwrap_or(&file);
    let Ok(sig) = hex::decode(&link.signature) else {
        return Err(forbidden());
    };
    let mac = cab_mac(&state, &tenant, key, link.expiry);
    if mac.verify_slice(&sig).is_err() || link.expiry < Utc::now().timestamp() {
        return Err(forbidden());
    }
    let tenant = engine::TenantId::parse(&tenant).map_err(|_| forbidden())?;
    let path = object_store::path::Path::from(engine::store_demo::cab_path(&tenant, key));
    use object_store::ObjectStoreExt;
    let bytes = match state.engine.store().object_store().get(&path).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|e| StoreError::from(ApiError::internal(e)))?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(ApiError::not_found("The CAB file no longer exists").into());
        }
        Err(e) => return Err(ApiError::internal(e).into()),
    };
    let mut res = (StatusCode::OK, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.ms-cab-compressed"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{key}.cab\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::arrow::array::{Int64Array, StringArray};
    use engine::arrow::datatypes::{Field, Schema};

    #[test]
    fn failure_buckets_are_capped_by_events() {
        let method = methods::find("failurehits", None).unwrap();
        let params = Params::new(vec![
            ("applicationId".to_string(), "A".to_string()),
            ("groupby".to_string(), "failureHash".to_string()),
            ("aggregationLevel".to_string(), "week".to_string()),
        ]);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let query = storeapi::resolve(method, &params, today).unwrap();
        // A batch shaped like the plan's outputs, strings for simplicity
        // where only the key and eventCount matter.
        let fields: Vec<Field> = query
            .plan
            .outputs
            .iter()
            .map(|o| match o.name.as_str() {
                "eventCount" | "deviceCount" => Field::new(&o.name, DataType::Int64, true),
                _ => Field::new(&o.name, DataType::Utf8, true),
            })
            .collect();
        let hashes = ["a", "b", "c", "a", "c"];
        let events = [5i64, 1, 7, 5, 0];
        let columns: Vec<engine::arrow::array::ArrayRef> = fields
            .iter()
            .map(|f| -> engine::arrow::array::ArrayRef {
                match f.name().as_str() {
                    "failureHash" => Arc::new(StringArray::from(hashes.to_vec())),
                    "eventCount" | "deviceCount" => Arc::new(Int64Array::from(events.to_vec())),
                    _ => Arc::new(StringArray::from(vec!["x"; 5])),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let kept = cap_failure_buckets(&query, std::slice::from_ref(&batch), 2).unwrap();
        let kept_hashes: Vec<String> = rows(&kept)
            .map(|(b, i)| {
                string_at(
                    b,
                    query
                        .plan
                        .outputs
                        .iter()
                        .position(|o| o.name == "failureHash")
                        .unwrap(),
                    i,
                )
                .unwrap()
            })
            .collect();
        // a = 10 events, c = 7, b = 1: b is dropped.
        assert_eq!(kept_hashes, ["a", "c", "a", "c"]);
        assert_eq!(
            cap_failure_buckets(&query, &[batch], 3).unwrap()[0].num_rows(),
            5
        );
    }
}
