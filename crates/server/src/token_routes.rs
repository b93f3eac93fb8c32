//! The built-in token service: `/{tenant}/oauth2/token` (v1) and
//! `/{tenant}/oauth2/v2.0/token` with the client_credentials, password and
//! refresh_token grants, the JWKS and OpenID metadata documents. Failed
//! credential checks spend the same Argon2 work whichever part was wrong
//! and are delayed exponentially per client id and per user name.

use auth::Secret;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::{App, RefreshToken, Tenant, User};

use crate::Shared;
use crate::body::{MAX_BODY, format_time};
use crate::error::json_response;
use crate::http::correlation_id;

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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(state, tenant, headers, body, Version::V1).await
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(state, tenant, headers, body, Version::V2).await
}

async fn token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    version: Version,
) -> Response {
    match grant(&state, &tenant, &headers, &body, version).await {
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
    api: &'static str,
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

/// Refuses a key that must wait after failures.
fn throttled(state: &Shared, key: &str) -> Result<(), OAuthError> {
    state.failures.check(key, state.wall.now()).map_err(|wait| {
        let secs = wait.num_seconds().max(1) as u64;
        OAuthError {
            retry_after: Some(secs),
            ..oauth(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                50196,
                format!("Too many failed sign-in attempts; retry after {secs} seconds."),
            )
        }
    })
}

/// Checks a client secret against the app's live secrets, spending the
/// same Argon2 work when the app does not exist or has no secret.
async fn secret_matches(app: Option<&App>, secret: &str, now: DateTime<Utc>) -> bool {
    let hashes: Vec<String> = app
        .map(|a| {
            a.secrets
                .iter()
                .filter(|s| s.expires_at.is_none_or(|e| e > now))
                .map(|s| s.hash.clone())
                .collect()
        })
        .unwrap_or_default();
    let secret = Secret::new(secret);
    tokio::task::spawn_blocking(move || {
        if hashes.is_empty() {
            return auth::verify_secret_or_dummy(None, &secret);
        }
        // Every live secret is checked, so timing does not tell which matched.
        hashes
            .iter()
            .map(|h| auth::verify_secret(h, &secret))
            .fold(false, |acc, ok| acc | ok)
    })
    .await
    .unwrap_or(false)
}

async fn password_matches(user: Option<&User>, password: &str) -> bool {
    let hash = user.map(|u| u.password_hash.clone());
    let password = Secret::new(password);
    tokio::task::spawn_blocking(move || auth::verify_secret_or_dummy(hash.as_deref(), &password))
        .await
        .unwrap_or(false)
}

fn bad_client(client_id: &str) -> OAuthError {
    oauth(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided for app '{client_id}'. Ensure the secret is the one created for this app and has not expired."
        ),
    )
}

fn unknown_client(client_id: &str, tenant: &str) -> OAuthError {
    oauth(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
        ),
    )
}

fn refresh_value() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value = URL_SAFE_NO_PAD.encode(bytes);
    (value.clone(), fingerprint(&value))
}

fn fingerprint(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

async fn grant(
    state: &Shared,
    tenant_key: &str,
    headers: &HeaderMap,
    body: &[u8],
    version: Version,
) -> Result<Response, OAuthError> {
    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?.to_string();
    if !state.tokens.config.builtin {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The built-in token service is switched off; get tokens from the configured external issuer.",
        ));
    }
    let tenant = find_tenant(state, tenant_key).await?;
    match grant_type.as_str() {
        "client_credentials" => client_credentials(state, &tenant, &form, version).await,
        "password" => password(state, &tenant, &form, version).await,
        "refresh_token" => refresh(state, &tenant, &form, version).await,
        other => Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!(
                "The grant type '{other}' is not supported. Use client_credentials, password or refresh_token."
            ),
        )),
    }
}

/// The outcome of the client check of a token request. The grants decide
/// on it only after spending their own credential checks, so that timing
/// does not tell which part was wrong.
struct ClientCheck {
    client_id: String,
    app: Option<App>,
    ok: bool,
}

impl ClientCheck {
    /// The app, or the error for an unknown client or a wrong secret.
    fn accepted(self, tenant: &Tenant) -> Result<App, OAuthError> {
        match (self.app, self.ok) {
            (Some(app), true) => Ok(app),
            (None, _) => Err(unknown_client(&self.client_id, &tenant.id)),
            (Some(_), false) => Err(bad_client(&self.client_id)),
        }
    }
}

/// The app of a token request, after the client checks common to every grant.
async fn client(
    state: &Shared,
    tenant: &Tenant,
    form: &Form,
    secret_required: bool,
) -> Result<ClientCheck, OAuthError> {
    let client_id = form.require("client_id")?.to_lowercase();
    let key = format!("client:{client_id}");
    throttled(state, &key)?;
    let app = state
        .store
        .app(&client_id)
        .await?
        .filter(|a| a.tenant_id == tenant.id);
    let secret = form.get("client_secret");
    let confidential = app.as_ref().is_none_or(|a| a.confidential);
    let ok = match (secret, confidential) {
        (Some(secret), _) => secret_matches(app.as_ref(), secret, state.wall.now()).await,
        (None, true) if secret_required => {
            return Err(invalid_request(
                7000218,
                "The request body must contain the following parameter: 'client_secret'.",
            ));
        }
        (None, _) => app.is_some(),
    };
    if ok {
        state.failures.record_success(&key);
    } else {
        state.failures.record_failure(&key, state.wall.now());
    }
    Ok(ClientCheck { client_id, app, ok })
}

fn require_api(app: &App, target: &Target) -> Result<(), OAuthError> {
    if app.apis.iter().any(|a| a == target.api) {
        Ok(())
    } else {
        Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The app '{}' may not request tokens for '{}'; it is registered for: {}.",
                app.client_id,
                target.audience,
                app.apis.join(", ")
            ),
        ))
    }
}

async fn client_credentials(
    state: &Shared,
    tenant: &Tenant,
    form: &Form,
    version: Version,
) -> Result<Response, OAuthError> {
    let target = target(state, form, version)?;
    form.require("client_id")?;
    if form.get("client_secret").is_none() {
        return Err(invalid_request(
            7000218,
            "The request body must contain the following parameter: 'client_secret'.",
        ));
    }
    let app = client(state, tenant, form, true).await?.accepted(tenant)?;
    require_api(&app, &target)?;
    answer(state, tenant, &app, None, &target, version).await
}

async fn password(
    state: &Shared,
    tenant: &Tenant,
    form: &Form,
    version: Version,
) -> Result<Response, OAuthError> {
    let target = target(state, form, version)?;
    form.require("client_id")?;
    let username = form.require("username")?.to_lowercase();
    let given = form.require("password")?.to_string();
    let user_key = format!("user:{}:{username}", tenant.id);
    throttled(state, &user_key)?;
    let checked = client(state, tenant, form, true).await?;
    let user = state.store.user_by_name(&tenant.id, &username).await?;
    // Always spend the password check, so timing does not tell whether the
    // client or the user was wrong.
    let password_ok = password_matches(user.as_ref(), &given).await;
    let app = checked.accepted(tenant)?;
    let user = match (user, password_ok) {
        (Some(user), true) => {
            state.failures.record_success(&user_key);
            user
        }
        _ => {
            state.failures.record_failure(&user_key, state.wall.now());
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            ));
        }
    };
    require_api(&app, &target)?;
    answer(state, tenant, &app, Some(&user), &target, version).await
}

async fn refresh(
    state: &Shared,
    tenant: &Tenant,
    form: &Form,
    version: Version,
) -> Result<Response, OAuthError> {
    form.require("client_id")?;
    let value = form.require("refresh_token")?.to_string();
    let app = client(state, tenant, form, false).await?.accepted(tenant)?;
    let invalid_grant = || {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "The refresh token is invalid, expired or already used. Sign in again with the password grant.",
        )
    };
    // Taking the token deletes it: it works once, even under races.
    let stored = state
        .store
        .take_refresh_token(&fingerprint(&value))
        .await?
        .ok_or_else(invalid_grant)?;
    if stored.client_id != app.client_id
        || stored.tenant_id != tenant.id
        || stored.expires_at <= state.wall.now()
    {
        return Err(invalid_grant());
    }
    let user = state
        .store
        .user(&tenant.id, &stored.user_id)
        .await?
        .ok_or_else(invalid_grant)?;
    let target = Target {
        api: state
            .tokens
            .audience_of(&stored.resource)
            .map_or("insights", |(_, api)| api),
        audience: stored.resource.clone(),
        openid: stored
            .scope
            .split_whitespace()
            .any(|s| s.eq_ignore_ascii_case("openid")),
        scope: match version {
            Version::V1 => stored.scope.clone(),
            Version::V2 => format!("{}/.default", stored.resource.trim_end_matches('/')),
        },
    };
    require_api(&app, &target)?;
    answer(state, tenant, &app, Some(&user), &target, version).await
}

async fn answer(
    state: &Shared,
    tenant: &Tenant,
    app: &App,
    user: Option<&User>,
    target: &Target,
    version: Version,
) -> Result<Response, OAuthError> {
    let (access, iat, exp) = state
        .tokens
        .issue_access(&tenant.id, app, user, &target.audience, version.as_str())
        .await?;
    let (mut refresh_token, mut id_token) = (None, None);
    if let Some(user) = user {
        let (value, hash) = refresh_value();
        state
            .store
            .insert_refresh_token(&RefreshToken {
                token_hash: hash,
                tenant_id: tenant.id.clone(),
                client_id: app.client_id.clone(),
                user_id: user.id.clone(),
                resource: target.audience.clone(),
                scope: target.scope.clone(),
                version: version.as_str().to_string(),
                expires_at: state.wall.now()
                    + Duration::days(state.tokens.config.refresh_lifetime_days),
                created_at: state.wall.now(),
            })
            .await?;
        refresh_token = Some(value);
        if target.openid {
            id_token = Some(
                state
                    .tokens
                    .issue_id_token(&tenant.id, app, user, version.as_str())
                    .await?,
            );
        }
    }
    let lifetime = (exp - iat).num_seconds();
    let mut res = match version {
        Version::V1 => json_response(
            StatusCode::OK,
            &proto::TokenResponseV1 {
                token_type: "Bearer".into(),
                expires_in: lifetime.to_string(),
                ext_expires_in: lifetime.to_string(),
                expires_on: exp.timestamp().to_string(),
                not_before: iat.timestamp().to_string(),
                resource: target.audience.clone(),
                access_token: access,
                refresh_token,
                id_token,
            },
        ),
        Version::V2 => json_response(
            StatusCode::OK,
            &proto::TokenResponseV2 {
                token_type: "Bearer".into(),
                expires_in: lifetime,
                ext_expires_in: lifetime,
                scope: target.scope.clone(),
                access_token: access,
                refresh_token,
                id_token,
            },
        ),
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(tenant = %tenant.id, client_id = %app.client_id, user = user.is_some(), "token issued");
    Ok(res)
}

#[utoipa::path(get, path = "/{tenant}/discovery/keys", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "The JSON Web Key Set that verifies access tokens", body = serde_json::Value),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn jwks_v1(state: State<Shared>, tenant: Path<String>) -> Response {
    jwks(state, tenant).await
}

#[utoipa::path(get, path = "/{tenant}/discovery/v2.0/keys", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "The JSON Web Key Set that verifies access tokens", body = serde_json::Value),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn jwks_v2(state: State<Shared>, tenant: Path<String>) -> Response {
    jwks(state, tenant).await
}

async fn jwks(State(state): State<Shared>, Path(tenant): Path<String>) -> Response {
    if let Err(e) = find_tenant(&state, &tenant).await {
        return e.into_response();
    }
    match state.tokens.jwks().await {
        Ok(doc) => json_response(StatusCode::OK, &doc),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

async fn metadata(state: Shared, tenant: String, version: Version) -> Response {
    let tenant = match find_tenant(&state, &tenant).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let base = &state.public_url;
    let id = &tenant.id;
    let (token, keys) = match version {
        Version::V1 => (
            format!("{base}/{id}/oauth2/token"),
            format!("{base}/{id}/discovery/keys"),
        ),
        Version::V2 => (
            format!("{base}/{id}/oauth2/v2.0/token"),
            format!("{base}/{id}/discovery/v2.0/keys"),
        ),
    };
    let doc = serde_json::json!({
        "issuer": state.tokens.issuer(id, version.as_str()),
        "token_endpoint": token,
        "jwks_uri": keys,
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "response_types_supported": ["token", "id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "offline_access"],
        "claims_supported": ["aud", "iss", "tid", "oid", "appid", "upn", "roles", "iat", "nbf", "exp", "ver"],
        "tenant_region_scope": "WW",
        "generated_at": format_time(state.wall.now()),
    });
    json_response(StatusCode::OK, &doc)
}

#[utoipa::path(get, path = "/{tenant}/.well-known/openid-configuration", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "OpenID Connect metadata (v1 endpoints)", body = serde_json::Value),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn metadata_v1(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Response {
    metadata(state, tenant, Version::V1).await
}

#[utoipa::path(get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "OpenID Connect metadata (v2 endpoints)", body = serde_json::Value),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn metadata_v2(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Response {
    metadata(state, tenant, Version::V2).await
}
