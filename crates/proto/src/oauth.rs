//! The token service: token answers (v1 with numbers as strings, v2),
//! errors in auth.md's shape, and the form-encoded request.

use serde::{Deserialize, Serialize};

/// A v1 token answer: every number is a string, as the public service does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponseV1 {
    pub token_type: String,
    pub expires_in: String,
    pub ext_expires_in: String,
    pub expires_on: String,
    pub not_before: String,
    pub resource: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// A v2 token answer: numbers, and `scope` instead of `resource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponseV2 {
    pub token_type: String,
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub scope: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// A token endpoint failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenError {
    pub error: String,
    pub error_description: String,
    pub error_codes: Vec<u32>,
    pub timestamp: String,
    pub trace_id: String,
    pub correlation_id: String,
}

/// A token request (form-encoded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`, `password` or `refresh_token`.
    pub grant_type: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// v1: the API's resource URL.
    #[serde(default)]
    pub resource: Option<String>,
    /// v2: `<resource>/.default`, optionally with `openid`.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The claims of an OpenID Connect ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The app's client id.
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub sub: String,
    pub oid: String,
    pub upn: String,
    pub unique_name: String,
    pub preferred_username: String,
    pub name: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// `1.0` or `2.0`.
    pub ver: String,
}

/// A tenant's OpenID Connect metadata (`.well-known/openid-configuration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub tenant_region_scope: String,
    pub generated_at: String,
}
