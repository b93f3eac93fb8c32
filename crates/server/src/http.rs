//! Request plumbing shared by every route: path normalisation (repeated
//! and trailing slashes, case of the Insights paths), the correlation id
//! (`MS-CorrelationId` header, log span, panics turned into a 500
//! envelope), the request log line, and for the Insights API the token
//! check, role check and per-tenant rate limit that produce the [`Caller`]
//! handlers receive.

use std::time::Instant;

use auth::{Api, Principal, Role};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tracing::Instrument;

use crate::Shared;
use crate::error::{ApiError, ErrorCode};
use crate::ratelimit::Decision;

tokio::task_local! {
    /// The correlation id of the request being served.
    pub static CORRELATION_ID: String;
}

/// The current request's correlation id (empty outside a request).
pub fn correlation_id() -> String {
    CORRELATION_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Collapses repeated slashes, drops a trailing one, and lower-cases the
/// Insights API's paths (their ids are case-insensitive UUIDs) and the
/// Store API's method paths.
pub fn normalize(mut req: Request) -> Request {
    let original = OriginalPath(req.uri().path().to_string());
    req.extensions_mut().insert(original);
    let uri = req.uri();
    let path = uri.path();
    let mut clean = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        clean.push('/');
        clean.push_str(segment);
    }
    if clean.is_empty() {
        clean.push('/');
    }
    // Swagger UI redirects `/swagger` to `/swagger/`: keep that slash.
    if path.ends_with('/')
        && clean
            .to_ascii_lowercase()
            .ends_with("/insights/v1/mpn/swagger")
    {
        clean.push('/');
    }
    if clean.len() >= 10 && clean[..10].eq_ignore_ascii_case("/insights/") {
        clean = clean.to_lowercase();
    }
    // Store method names are case-insensitive too (`/v1.0/my/analytics/AppAcquisitions`).
    if clean.len() >= 18 && clean[..18].eq_ignore_ascii_case("/v1.0/my/analytics") {
        clean = clean.to_lowercase();
    }
    if clean != path {
        let with_query = match uri.query() {
            Some(q) => format!("{clean}?{q}"),
            None => clean,
        };
        if let Ok(new) = with_query.parse::<Uri>() {
            *req.uri_mut() = new;
        }
    }
    req
}

/// The outermost middleware: correlation id, request log, panic safety.
pub async fn correlate(req: Request, next: Next) -> Response {
    // A caller's own correlation id (a UUID) is kept, so both sides' logs
    // name the call alike; anything else gets a fresh one.
    let id = req
        .headers()
        .get("ms-correlationid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
        .to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", correlation_id = %id, %method, %path);
    let run = CORRELATION_ID.scope(
        id.clone(),
        std::panic::AssertUnwindSafe(next.run(req).instrument(span.clone())).catch_unwind(),
    );
    let mut res = match run.await {
        Ok(res) => res,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            span.in_scope(|| tracing::error!(panic = %what, "handler panicked"));
            ApiError::new(
                ErrorCode::Internal,
                format!("An internal error occurred (correlation id {id}); the server log has the details"),
            )
            .into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("ms-correlationid", v);
    }
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        )
    });
    res
}

/// The path as the client sent it (before `normalize`), for the journal.
#[derive(Debug, Clone)]
pub struct OriginalPath(pub String);

/// Counts every request for `/metrics`: its API, its route template (never
/// the raw path, so callers cannot grow the label set), status and time;
/// and journals it under its tenant once authentication named one.
pub async fn measure(
    axum::extract::State(state): axum::extract::State<crate::Shared>,
    req: Request,
    next: Next,
) -> Response {
    let operation = match req.extensions().get::<axum::extract::MatchedPath>() {
        // The Store API has one route for every method: name the method
        // when the table knows it (a closed set), never the raw path.
        Some(route) if route.as_str().ends_with("{*method}") => {
            let name = req.uri().path().rsplit('/').find(|s| !s.is_empty());
            match name.and_then(|n| {
                query::storeapi::methods::METHODS
                    .iter()
                    .find(|m| m.path.eq_ignore_ascii_case(n))
            }) {
                Some(m) => crate::metrics::operation(req.method(), "/v1.0/my/analytics/", m.path),
                None => crate::metrics::operation(req.method(), "", route.as_str()),
            }
        }
        Some(route) => crate::metrics::operation(req.method(), "", route.as_str()),
        None => "unmatched",
    };
    let api = crate::metrics::ApiLabel::of_path(req.uri().path());
    let journal = state.journal.enabled().then(|| {
        let who = crate::journal::Who::default();
        let path = req
            .extensions()
            .get::<OriginalPath>()
            .map_or_else(|| req.uri().path().to_string(), |p| p.0.clone());
        let bytes = content_length(req.headers());
        (
            who,
            req.method().to_string(),
            path,
            req.uri().query().map(crate::journal::masked_query),
            bytes,
        )
    });
    let started = Instant::now();
    let res = match &journal {
        Some((who, ..)) => who.clone().scope(next.run(req)).await,
        None => next.run(req).await,
    };
    let elapsed = started.elapsed();
    state
        .metrics
        .request(api, operation, res.status().as_u16(), elapsed);
    if let Some((who, method, path, query, request_bytes)) = journal
        && let Some(identity) = who.get()
    {
        let correlation = correlation_id();
        state.journal.record(
            &identity.tenant,
            crate::journal::Entry {
                seq: 0,
                time: state.clock.now_precise(),
                method,
                path,
                query,
                status: res.status().as_u16(),
                latency_ms: elapsed.as_secs_f64() * 1000.0,
                correlation_id: (!correlation.is_empty()).then_some(correlation),
                client_id: identity.client_id,
                user: identity.user,
                request_bytes,
                response_bytes: content_length(res.headers())
                    .or_else(|| axum::body::HttpBody::size_hint(res.body()).exact()),
                fault: who.fault(),
            },
        );
    }
    res
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The bearer token of a request: `Authorization: Bearer <jwt>` or the raw
/// `X-AadUserTicket: <jwt>`.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim().to_string());
        }
    }
    headers
        .get("x-aaduserticket")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
                v[7..].trim().to_string()
            } else {
                v.to_string()
            }
        })
        .filter(|v| !v.is_empty())
}

/// The verified caller of an API request. Handlers that need a tenant take
/// this; it exists only after [`admit`] ran.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: std::sync::Arc<Principal>,
    /// True when restricted columns must be redacted (ReportViewer only).
    pub redact: bool,
}

impl Caller {
    pub fn tenant(&self) -> &str {
        &self.principal.tenant
    }

    /// Who the token speaks for: the user name, else the app id.
    pub fn user(&self) -> String {
        self.principal
            .user
            .clone()
            .unwrap_or_else(|| self.principal.app_id.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("route without the authentication layer"))
    }
}

/// The address a request came from (the TCP peer), when known; a server
/// behind a load balancer sees the balancer's.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

/// How an API admits calls: the token's audience, the roles that may call,
/// the roles that see restricted columns, its messages and its error shape.
pub struct Gate {
    pub api: Api,
    /// Any of these roles admits the call.
    pub roles: &'static [Role],
    /// Roles that see restricted columns unredacted; empty when the API
    /// has nothing restricted.
    pub unredacted: &'static [Role],
    pub no_token: &'static str,
    pub no_role: &'static str,
    /// The 429 message for a wait of that many seconds.
    pub limited: fn(&Shared, &Decision, u64) -> String,
    /// A refusal in the API's error shape.
    pub render: fn(ApiError) -> Response,
}

/// The Insights API's gate: its envelope, ExecutiveReportViewer or
/// ReportViewer (redacted).
pub const INSIGHTS: Gate = Gate {
    api: Api::Insights,
    roles: &[Role::ExecutiveReportViewer, Role::ReportViewer],
    unredacted: &[Role::ExecutiveReportViewer],
    no_token: "No access token: send 'Authorization: Bearer <token>' (or 'X-AadUserTicket: <token>') with a token from the token endpoint",
    no_role: "The token has neither the ExecutiveReportViewer nor the ReportViewer role, which the Insights API requires",
    limited: insights_limited,
    render: IntoResponse::into_response,
};

fn insights_limited(state: &Shared, decision: &Decision, wait: u64) -> String {
    format!(
        "Too many requests for this tenant: the limit is {} at once, refilled at {} per second; retry after {wait} s",
        decision.limit, state.config.rate_limit.per_second
    )
}

/// Authenticates a call as `gate` says (token → `Principal`, role check,
/// per-tenant rate limit), adds the `X-RateLimit-*` headers, and hands the
/// handlers a [`Caller`].
pub async fn admit(gate: &Gate, state: &Shared, mut req: Request, next: Next) -> Response {
    let principal = match bearer(req.headers()) {
        None => Err(ApiError::unauthorized(gate.no_token)),
        Some(token) => state
            .tokens
            .authenticate(&token, gate.api)
            .await
            .map_err(ApiError::from),
    };
    let principal = match principal {
        Ok(p) => p,
        Err(e) => {
            // Unauthenticated callers are limited per source address, and
            // their answers carry the headers too.
            let peer = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "-".to_string(), |c| c.0.ip().to_string());
            let decision = state.rate.check(&format!("peer:{peer}"));
            let mut res = match decision.retry_after {
                Some(wait) => {
                    let mut e = ApiError::new(
                        ErrorCode::RateLimited,
                        (gate.limited)(state, &decision, wait),
                    );
                    e.retry_after = Some(wait);
                    (gate.render)(e)
                }
                None => (gate.render)(e),
            };
            rate_limit_headers(&mut res, &decision);
            return res;
        }
    };
    // From here on the call is the tenant's: journal it, refused or not.
    crate::journal::note(crate::journal::Identity {
        tenant: principal.tenant.clone(),
        client_id: Some(principal.app_id.clone()),
        user: principal.user.clone(),
    });
    // Injected faults draw before the ordinary rate limiter.
    if state.faults.armed() {
        let path = req
            .extensions()
            .get::<OriginalPath>()
            .map_or_else(|| req.uri().path().to_string(), |p| p.0.clone());
        let call = crate::faults::Call {
            api: match gate.api {
                Api::Insights => crate::faults::FaultApi::Insights,
                Api::StoreAnalytics => crate::faults::FaultApi::Store,
            },
            method: req.method().as_str(),
            path: &path,
            tenant: &principal.tenant,
            client_id: Some(&principal.app_id),
        };
        let fired = crate::inject::check(state, &call);
        match crate::inject::http_outcome(fired, |status, retry| {
            crate::inject::api_status(gate, state, status, retry)
        }) {
            crate::inject::Outcome::Answer(res) => return res,
            crate::inject::Outcome::Delay(wait) => tokio::time::sleep(wait).await,
            crate::inject::Outcome::Serve => {}
        }
    }
    let decision = state.rate.check(&principal.tenant);
    let mut res = if let Some(wait) = decision.retry_after {
        let mut e = ApiError::new(
            ErrorCode::RateLimited,
            (gate.limited)(state, &decision, wait),
        );
        e.retry_after = Some(wait);
        (gate.render)(e)
    } else if gate.roles.iter().any(|r| principal.has_role(*r)) {
        let redact =
            !gate.unredacted.is_empty() && !gate.unredacted.iter().any(|r| principal.has_role(*r));
        req.extensions_mut().insert(Caller { principal, redact });
        next.run(req).await
    } else {
        (gate.render)(ApiError::forbidden(gate.no_role))
    };
    rate_limit_headers(&mut res, &decision);
    res
}

/// The Insights API's authentication layer.
pub async fn insights_auth(State(state): State<Shared>, req: Request, next: Next) -> Response {
    admit(&INSIGHTS, &state, req, next).await
}

/// `X-RateLimit-Limit` and `X-RateLimit-Remaining` of a rate-limit decision.
pub fn rate_limit_headers(res: &mut Response, decision: &Decision) {
    let headers = res.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
}

/// Answers unknown paths with the envelope.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No such endpoint: {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(path: &str) -> String {
        let req = Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        normalize(req).uri().to_string()
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(
            norm("//insights/v1/mpn/ScheduledQueries/"),
            "/insights/v1/mpn/scheduledqueries"
        );
        assert_eq!(
            norm("/insights//v1/mpn/ScheduledQueries?queryName=A+B"),
            "/insights/v1/mpn/scheduledqueries?queryName=A+B"
        );
        assert_eq!(
            norm("/Contoso.com/oauth2/token"),
            "/Contoso.com/oauth2/token"
        );
        assert_eq!(norm("/"), "/");
    }
}
