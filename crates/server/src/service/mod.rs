//! The server's business rules, apart from HTTP: no module here imports
//! axum. Handlers extract a request into plain values, call a service
//! function, and convert its answer into `proto` items; a failure is a
//! [`ServiceError`], which `error` maps to the answer of each API (the
//! Insights envelope, the Store API's §1.7 JSON) in one exhaustive table.
//!
//! - `identity`: tenants, apps, users and secrets (shared by the admin API,
//!   the demo tenant and the CLI);
//! - `tokens`: verifying tokens into principals (with the caches that make it
//!   cheap), issuing access and ID tokens;
//! - `keys`: the stored signing key set, created once and rotated;
//! - `queries`, `report_rules` and `reports`: the Insights API's rules for
//!   saved queries and reports (names, schedules, delivery settings) and
//!   the reports' lifecycle (pause, resume, update, delete).

pub mod data;
pub mod identity;
pub mod keys;
pub mod queries;
pub mod report_rules;
pub mod reports;
pub mod snapshots;
pub mod tokens;

/// Why a service call failed. The message is for the caller; internal
/// details are logged when the error is made, never answered.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong: the message names what and what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// No valid credential.
    #[error("{0}")]
    Unauthorized(String),
    /// A credential that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown (or another tenant's, which looks the same).
    #[error("{0}")]
    NotFound(String),
    /// In use or changed meanwhile.
    #[error("{0}")]
    Conflict(String),
    /// Took longer than its budget.
    #[error("{0}")]
    Timeout(String),
    /// A dependency (an external issuer, the metadata store) is down.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// A bug or a broken invariant; the detail was logged.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> ServiceError {
        ServiceError::NotFound(message.into())
    }
    pub fn unauthorized(message: impl Into<String>) -> ServiceError {
        ServiceError::Unauthorized(message.into())
    }
    pub fn forbidden(message: impl Into<String>) -> ServiceError {
        ServiceError::Forbidden(message.into())
    }
    /// An unexpected failure: logged with its detail here.
    pub fn internal(detail: impl std::fmt::Display) -> ServiceError {
        tracing::error!(error = %detail, "internal error");
        ServiceError::Internal(detail.to_string())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
