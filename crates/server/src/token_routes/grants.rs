//! The grants: client and user credential checks (the same Argon2 work
//! whichever part was wrong, delayed exponentially after failures),
//! client_credentials, password and refresh_token, and the token answer.

use auth::{Api, Secret};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::{App, RefreshToken, Tenant, User};

use super::{Form, OAuthError, Target, Version, find_tenant, invalid_request, oauth, target};
use crate::Shared;
use crate::error::json_response;
use crate::http::Peer;

/// The longest client id or user name looked at; longer ones are refused
/// before any work (client ids are GUIDs, user names e-mail addresses).
const MAX_NAME: usize = 256;

/// A client id or user name, refused when longer than [`MAX_NAME`].
fn bounded<'f>(form: &'f Form, field: &str) -> Result<&'f str, OAuthError> {
    let value = form.require(field)?;
    if value.len() > MAX_NAME {
        return Err(invalid_request(
            900144,
            format!("The parameter '{field}' is longer than {MAX_NAME} characters."),
        ));
    }
    Ok(value)
}

/// The failure-limiter key of a name in one tenant from one address:
/// failures sent to another tenant's endpoint, or from another address,
/// never lock the owner out.
fn limiter_key(kind: &str, tenant: &Tenant, name: &str, peer: Peer) -> String {
    format!("{kind}:{}:{name}@{peer}", tenant.id)
}

/// Runs an Argon2 check under the server's bound on concurrent checks:
/// waits up to `limits.hash_wait_ms` for a permit, then answers 503 with
/// `Retry-After`, so a burst of bad requests cannot exhaust memory.
async fn hashing<T: Send + 'static>(
    state: &Shared,
    check: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OAuthError> {
    let wait = std::time::Duration::from_millis(state.config.limits.hash_wait_ms);
    state.hashing.run(wait, check).await.map_err(|e| {
        if e == crate::hashpool::HashPoolError::Gone {
            tracing::error!(error = %e, "credential check not run");
        }
        OAuthError {
            retry_after: Some(1),
            ..oauth(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                50196,
                "The token service is busy checking other credentials; retry after 1 second.",
            )
        }
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
async fn secret_matches(
    state: &Shared,
    app: Option<&App>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<bool, OAuthError> {
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
    hashing(state, move || {
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
}

async fn password_matches(
    state: &Shared,
    user: Option<&User>,
    password: &str,
) -> Result<bool, OAuthError> {
    let hash = user.map(|u| u.password_hash.clone());
    let password = Secret::new(password);
    hashing(state, move || {
        auth::verify_secret_or_dummy(hash.as_deref(), &password)
    })
    .await
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

pub(super) async fn grant(
    state: &Shared,
    tenant_key: &str,
    peer: Peer,
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
    // The tenant exists: the call is journaled under it (bounded values).
    let bounded_field = |name: &str| {
        form.get(name)
            .filter(|v| v.len() <= 256)
            .map(str::to_string)
    };
    crate::journal::note(crate::journal::Identity {
        tenant: tenant.id.clone(),
        client_id: bounded_field("client_id"),
        user: bounded_field("username"),
    });
    if let Some(res) = injected(state, tenant_key, &tenant.id, &form, version).await? {
        return Ok(res);
    }
    match grant_type.as_str() {
        "client_credentials" => client_credentials(state, &tenant, &form, version, peer).await,
        "password" => password(state, &tenant, &form, version, peer).await,
        "refresh_token" => refresh(state, &tenant, &form, version, peer).await,
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

/// A fault rule on the token endpoint: OAuth2's own errors (503, 429 and
/// 504 → `temporarily_unavailable` with `Retry-After`, 500 →
/// `server_error`, 401 → `invalid_client`), latency, or a reset.
async fn injected(
    state: &Shared,
    tenant_key: &str,
    tenant: &str,
    form: &Form,
    version: Version,
) -> Result<Option<Response>, OAuthError> {
    if !state.faults.armed() {
        return Ok(None);
    }
    let path = match version {
        Version::V1 => format!("/{tenant_key}/oauth2/token"),
        Version::V2 => format!("/{tenant_key}/oauth2/v2.0/token"),
    };
    let call = crate::faults::Call {
        api: crate::faults::FaultApi::Token,
        method: "POST",
        path: &path,
        tenant,
        client_id: form.get("client_id"),
    };
    let Some(fired) = crate::inject::check(state, &call) else {
        return Ok(None);
    };
    match fired.action {
        crate::faults::Action::Status {
            status,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut e = match status {
                500 => oauth(
                    code,
                    "server_error",
                    50000,
                    "The token service hit an internal error; try again.",
                ),
                401 => oauth(
                    code,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret is the one created for this app and has not expired.",
                ),
                _ => oauth(
                    code,
                    "temporarily_unavailable",
                    50001,
                    "The token service is temporarily unavailable; retry after the Retry-After interval.",
                ),
            };
            if status != 500 && status != 401 {
                e.retry_after = Some(retry_after);
            }
            Err(e)
        }
        crate::faults::Action::Latency(wait) => {
            tokio::time::sleep(wait).await;
            Ok(None)
        }
        crate::faults::Action::Reset => Ok(Some(crate::inject::reset())),
        _ => Ok(None),
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
    peer: Peer,
) -> Result<ClientCheck, OAuthError> {
    let client_id = bounded(form, "client_id")?.to_lowercase();
    let key = limiter_key("client", tenant, &client_id, peer);
    throttled(state, &key)?;
    let app = state
        .store
        .app(&client_id)
        .await?
        .filter(|a| a.tenant_id == tenant.id);
    let secret = form.get("client_secret");
    let confidential = app.as_ref().is_none_or(|a| a.confidential);
    let ok = match (secret, confidential) {
        (Some(secret), _) => secret_matches(state, app.as_ref(), secret, state.wall.now()).await?,
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
    if app.apis.iter().any(|a| a == target.api.name()) {
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
    peer: Peer,
) -> Result<Response, OAuthError> {
    let target = target(state, form, version)?;
    form.require("client_id")?;
    if form.get("client_secret").is_none() {
        return Err(invalid_request(
            7000218,
            "The request body must contain the following parameter: 'client_secret'.",
        ));
    }
    let app = client(state, tenant, form, true, peer)
        .await?
        .accepted(tenant)?;
    require_api(&app, &target)?;
    answer(state, tenant, &app, None, &target, version).await
}

async fn password(
    state: &Shared,
    tenant: &Tenant,
    form: &Form,
    version: Version,
    peer: Peer,
) -> Result<Response, OAuthError> {
    let target = target(state, form, version)?;
    form.require("client_id")?;
    let username = bounded(form, "username")?.to_lowercase();
    let given = form.require("password")?.to_string();
    let user_key = limiter_key("user", tenant, &username, peer);
    throttled(state, &user_key)?;
    let checked = client(state, tenant, form, true, peer).await?;
    let user = state.store.user_by_name(&tenant.id, &username).await?;
    // Always spend the password check, so timing does not tell whether the
    // client or the user was wrong.
    let password_ok = password_matches(state, user.as_ref(), &given).await?;
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
    peer: Peer,
) -> Result<Response, OAuthError> {
    form.require("client_id")?;
    let value = form.require("refresh_token")?.to_string();
    let app = client(state, tenant, form, false, peer)
        .await?
        .accepted(tenant)?;
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
            .map_or(Api::Insights, |(_, api)| api),
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
