//! The admin API (`/admin/v1`) and the `openinsights tenant|app|user|keys`
//! commands: the items they answer, inside the Insights envelope over HTTP
//! and as a JSON array on the command line. Also the demo credentials file
//! a first start writes.

use serde::{Deserialize, Serialize};

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantItem {
    pub tenant_id: String,
    pub name: String,
    pub domains: Vec<String>,
    pub created_time: String,
}

/// One client secret of an app: never the secret itself, a hint of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSecretItem {
    pub secret_id: String,
    /// The secret's first characters and an ellipsis.
    pub hint: String,
    pub expires_time: Option<String>,
    pub created_time: String,
}

/// An app registration (a client id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppItem {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    /// `insights` and/or `store`.
    pub apis: Vec<String>,
    /// Whether the app authenticates with a secret.
    pub confidential: bool,
    pub created_time: String,
    pub secrets: Vec<AppSecretItem>,
}

/// An app just created: its generated secret is shown this once (null for
/// a public app).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAppItem {
    #[serde(flatten)]
    pub app: AppItem,
    pub client_secret: Option<String>,
}

/// A secret just added to an app, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewSecretItem {
    pub secret_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub expires_time: Option<String>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserItem {
    pub user_id: String,
    pub tenant_id: String,
    pub username: String,
    pub roles: Vec<String>,
    pub created_time: String,
}

/// A user just created: a generated password is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUserItem {
    #[serde(flatten)]
    pub user: UserItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A tenant's callback signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackKeyItem {
    pub tenant_id: String,
    /// Hex-encoded key bytes.
    pub callback_signing_key: String,
    pub algorithm: String,
}

/// The signing key a rotation made current.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotatedKeyItem {
    pub kid: String,
}

/// What a command-line delete removed (by id or name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeletedItem {
    pub deleted: String,
}

/// `demo-credentials.json`: how to call the demo tenant (written owner-only
/// on the first start); `openinsights login --credentials` reads it (or a
/// hand-written file with at least the url, tenant and client id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoCredentials {
    pub base_url: String,
    pub tenant_id: String,
    #[serde(default)]
    pub token_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub insights_resource: String,
    #[serde(default)]
    pub store_resource: String,
    /// The Store IDs of the demo apps.
    #[serde(default)]
    pub store_application_ids: Vec<String>,
    /// The web console, where these credentials sign in.
    #[serde(default)]
    pub console_url: String,
}

/// `GET /readyz`: whether this replica should get traffic, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// `ok` or what went wrong.
    pub metadata_store: String,
    pub object_store: String,
    /// Why the replica is not ready (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /admin/v1/tenants/{tenant}/datasets/{dataset}/rows`: what a load did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedItem {
    pub dataset: String,
    pub rows_loaded: u64,
    /// The dataset's version after the load (answers cached under older
    /// versions are never served again).
    pub version: u64,
    pub elapsed_ms: u64,
}

/// `GET /admin/v1/tenants/{tenant}/datasets`: one dataset's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetStateItem {
    pub dataset: String,
    pub rows: u64,
    /// 0 when nothing was ever loaded.
    pub version: u64,
    /// RFC 3339; null when nothing was ever loaded.
    pub last_load_time: Option<String>,
}

/// A bare `{"value": [...]}` list (the admin data API's lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueList<T> {
    pub value: Vec<T>,
}

/// `GET`/`POST /admin/v1/clock`: the deployment's service time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockItem {
    /// The service time now (RFC 3339, seconds).
    pub now: String,
    /// Service seconds per wall second (0 for a clock that only moves when
    /// told to).
    pub rate: f64,
}

/// `GET /admin/v1/tenants/{tenant}/journal`: one call a client made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntryItem {
    /// Increases with every call journaled; `since` takes one.
    pub seq: u64,
    /// Service time (RFC 3339, milliseconds).
    pub time: String,
    pub method: String,
    /// As the client sent it.
    pub path: String,
    /// Credential values (signature, secrets, passwords, tokens) masked.
    pub query: Option<String>,
    pub status: u16,
    pub latency_ms: f64,
    pub correlation_id: Option<String>,
    pub client_id: Option<String>,
    pub user: Option<String>,
    pub request_bytes: Option<u64>,
    pub response_bytes: Option<u64>,
    /// The fault rule that fired, if any.
    pub fault: Option<String>,
}

/// A tenant's snapshot (`/admin/v1/tenants/{tenant}/snapshots`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotItem {
    pub name: String,
    /// Service time when it was saved (RFC 3339).
    pub created_time: String,
    pub queries: usize,
    pub reports: usize,
    pub executions: usize,
    /// Objects (data, report and CAB files) copied; absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
}

/// `POST /admin/v1/tenants/{tenant}/reset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetItem {
    pub tenant_id: String,
    pub reset: bool,
}

/// `POST /admin/v1/clock`: exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveClockRequest {
    /// A positive duration such as `4h`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
    /// An RFC 3339 instant, not in the past.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}
