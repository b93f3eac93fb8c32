//! The key set (JWKS) and OpenID Connect metadata documents.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{OAuthError, Version, find_tenant};
use crate::Shared;
use crate::body::format_time;
use crate::error::json_response;

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
    let names = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let doc = proto::OpenIdConfiguration {
        issuer: state.tokens.issuer(id, version.as_str()),
        token_endpoint: token,
        jwks_uri: keys,
        token_endpoint_auth_methods_supported: names(&["client_secret_post"]),
        grant_types_supported: names(&["client_credentials", "password", "refresh_token"]),
        response_types_supported: names(&["token", "id_token"]),
        subject_types_supported: names(&["pairwise"]),
        id_token_signing_alg_values_supported: names(&["RS256"]),
        scopes_supported: names(&["openid", "offline_access"]),
        claims_supported: names(&[
            "aud", "iss", "tid", "oid", "appid", "upn", "roles", "iat", "nbf", "exp", "ver",
        ]),
        tenant_region_scope: "WW".into(),
        generated_at: format_time(state.wall.now()),
    };
    json_response(StatusCode::OK, &doc)
}

#[utoipa::path(get, path = "/{tenant}/.well-known/openid-configuration", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "OpenID Connect metadata (v1 endpoints)", body = proto::OpenIdConfiguration),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn metadata_v1(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Response {
    metadata(state, tenant, Version::V1).await
}

#[utoipa::path(get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "Tokens",
    params(("tenant" = String, Path, description = "Tenant id or domain")),
    responses((status = 200, description = "OpenID Connect metadata (v2 endpoints)", body = proto::OpenIdConfiguration),
        (status = 400, description = "Unknown tenant", body = proto::TokenError)))]
pub(crate) async fn metadata_v2(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Response {
    metadata(state, tenant, Version::V2).await
}
