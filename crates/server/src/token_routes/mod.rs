//! The built-in token service: `/{tenant}/oauth2/token` (v1) and
//! `/{tenant}/oauth2/v2.0/token` with the client_credentials, password and
//! refresh_token grants, the JWKS and OpenID metadata documents. Failed
//! credential checks spend the same Argon2 work whichever part was wrong
//! and are delayed exponentially per client id and per user name.

//!
//! | module | what |
//! |---|---|
//! | (here) | routes, the OAuth error shape, the form, the requested audience |
//! | `grants` | client and user checks, throttling, the three grants, the answer |
//! | `discovery` | JWKS and OpenID Connect metadata |

pub(crate) mod discovery;
mod grants;

use auth::Api;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use store::Tenant;

use crate::Shared;
use crate::body::{BodyRefused, MAX_BODY};
use crate::error::json_response;
use crate::http::{Peer, correlation_id};
use discovery::{jwks_v1, jwks_v2, metadata_v1, metadata_v2};
use grants::grant;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{tenant}/oauth2/token", post(token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
        .route("/{tenant}/discovery/keys", get(jwks_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(jwks_v2))
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(metadata_v1),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(metadata_v2),
        )
}

/// An OAuth error answer.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
    retry_after: Option<u64>,
}

fn oauth(
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: impl Into<String>,
) -> OAuthError {
    OAuthError {
        status,
        error,
        code,
        description: description.into(),
        retry_after: None,
    }
}

fn invalid_request(code: u32, description: impl Into<String>) -> OAuthError {
    oauth(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        code,
        description,
    )
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let correlation = correlation_id();
        let body = proto::TokenError {
            error: self.error.to_string(),
            error_description: format!(
                "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
                self.code,
                self.description,
                correlation,
                correlation,
                Utc::now().format("%Y-%m-%d %H:%M:%SZ")
            ),
            error_codes: vec![self.code],
            timestamp: Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            trace_id: correlation.clone(),
            correlation_id: correlation,
        };
        let mut res = json_response(self.status, &body);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<crate::error::ApiError> for OAuthError {
    fn from(e: crate::error::ApiError) -> Self {
        oauth(e.code.status(), "server_error", 50000, e.message)
    }
}

impl From<crate::service::ServiceError> for OAuthError {
    fn from(e: crate::service::ServiceError) -> Self {
        crate::error::ApiError::from(e).into()
    }
}

impl From<store::StoreError> for OAuthError {
    fn from(e: store::StoreError) -> Self {
        crate::error::ApiError::from(e).into()
    }
}

/// The form fields of a token request, trimmed.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(invalid_request(
                900144,
                format!(
                    "The token request must be sent as application/x-www-form-urlencoded, not '{content_type}'."
                ),
            ));
        }
        if body.len() > MAX_BODY {
            return Err(invalid_request(
                900144,
                "The request body is larger than 1 MiB.",
            ));
        }
        Ok(Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        ))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            invalid_request(
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            )
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "1.0",
            Version::V2 => "2.0",
        }
    }
}

#[utoipa::path(post, path = "/{tenant}/oauth2/token", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    request_body(content = proto::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Success, in the envelope", body = proto::TokenResponseV1), (status = 400, description = "Invalid input; the message names the field", body = proto::TokenError),
        (status = 401, description = "Wrong client secret", body = proto::TokenError),
        (status = 429, description = "Too many failed attempts", body = proto::TokenError)))]
pub(crate) async fn token_v1(
    state: State<Shared>,
    tenant: Path<String>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, tenant, peer, headers, body, Version::V1).await
}

#[utoipa::path(post, path = "/{tenant}/oauth2/v2.0/token", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    request_body(content = proto::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Success, in the envelope", body = proto::TokenResponseV2), (status = 400, description = "Invalid input; the message names the field", body = proto::TokenError),
        (status = 401, description = "Wrong client secret", body = proto::TokenError),
        (status = 429, description = "Too many failed attempts", body = proto::TokenError)))]
pub(crate) async fn token_v2(
    state: State<Shared>,
    tenant: Path<String>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(state, tenant, peer, headers, body, Version::V2).await
}

async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
    version: Version,
) -> Response {
    // Read here, not by the `Bytes` extractor, whose refusal is plain text.
    let body = match crate::body::read_limited(body, MAX_BODY).await {
        Ok(body) => body,
        Err(refused) => {
            let (status, message) = match refused {
                BodyRefused::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is larger than 1 MiB.",
                ),
                BodyRefused::Broken => (
                    StatusCode::BAD_REQUEST,
                    "The request body could not be read to its end.",
                ),
            };
            return oauth(status, "invalid_request", 900144, message).into_response();
        }
    };
    match grant(&state, &tenant, peer, &headers, &body, version).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn find_tenant(state: &Shared, tenant: &str) -> Result<Tenant, OAuthError> {
    state.store.resolve_tenant(tenant).await?.ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!("Tenant '{tenant}' not found. Use a registered tenant id or one of its domain names."),
        )
    })
}

/// What the token is for: the audience, and the scope text echoed by v2.
struct Target {
    audience: String,
    api: Api,
    scope: String,
    openid: bool,
}

fn target(state: &Shared, form: &Form, version: Version) -> Result<Target, OAuthError> {
    let invalid_resource = |what: &str| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource '{what}' was not found. Resources are '{}' (Insights) and '{}' (Store analytics){}.",
                state.tokens.config.insights_audience,
                state.tokens.config.store_audience,
                if version == Version::V2 {
                    ", requested as scope '<resource>/.default'"
                } else {
                    ""
                }
            ),
        )
    };
    let scope = form.get("scope").unwrap_or("");
    let openid = scope
        .split_whitespace()
        .any(|s| s.eq_ignore_ascii_case("openid"));
    let resource = match version {
        Version::V1 => form.require("resource")?.to_string(),
        Version::V2 => {
            let default = scope
                .split_whitespace()
                .find_map(|s| s.strip_suffix("/.default"))
                .ok_or_else(|| {
                    invalid_request(
                        900144,
                        "The request body must contain the parameter 'scope' naming '<resource>/.default'.",
                    )
                })?;
            default.to_string()
        }
    };
    let (audience, api) = state
        .tokens
        .audience_of(&resource)
        .ok_or_else(|| invalid_resource(&resource))?;
    let scope = match version {
        Version::V1 => scope.to_string(),
        Version::V2 => format!("{}/.default", audience.trim_end_matches('/')),
    };
    Ok(Target {
        audience,
        api,
        scope,
        openid,
    })
}
