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
