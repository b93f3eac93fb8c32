//! The server's error vocabulary and the one table that maps it to HTTP
//! status codes. Every failure leaves as the Insights envelope (or, on the
//! token endpoints, the OAuth error shape built in `token_routes`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What kind of failure; the only input to the status table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    Gone,
    PayloadTooLarge,
    RangeNotSatisfiable,
    RateLimited,
    Internal,
    Unavailable,
    Timeout,
}

impl ErrorCode {
    /// The status table: exhaustive, no fallback arm.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Gone => StatusCode::GONE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// A failure answered with the envelope. `message` is for the caller;
/// internal details go to the log only.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }
    /// An unexpected failure: logged with its detail, answered without it.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "An internal error occurred; the correlation id identifies it in the server log",
        )
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        use store::StoreError as S;
        match e {
            S::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            S::Conflict { what } => ApiError::new(ErrorCode::Conflict, what),
            S::Unavailable(source) => {
                tracing::error!(error = %source, "metadata store unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "The metadata store is unavailable; try again shortly",
                )
            }
            e @ (S::Migrate(_) | S::Corrupt(_)) => ApiError::internal(e),
        }
    }
}

/// The one map from service failures to the envelope's codes: exhaustive,
/// no fallback arm (the Store API's §1.7 shape starts from the same
/// `ApiError`).
impl From<crate::service::ServiceError> for ApiError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as S;
        match e {
            S::Invalid(m) => ApiError::bad_request(m),
            S::Unauthorized(m) => ApiError::unauthorized(m),
            S::Forbidden(m) => ApiError::forbidden(m),
            S::NotFound(m) => ApiError::not_found(m),
            S::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            S::Timeout(m) => ApiError::new(ErrorCode::Timeout, m),
            S::Unavailable(m) => ApiError::new(ErrorCode::Unavailable, m),
            S::Store(e) => ApiError::from(e),
            S::Engine(e) => ApiError::from(e),
            // Logged when it was made; answered without the detail.
            S::Internal(_) => ApiError::new(
                ErrorCode::Internal,
                "An internal error occurred; the correlation id identifies it in the server log",
            ),
        }
    }
}

impl From<engine::EngineError> for ApiError {
    fn from(e: engine::EngineError) -> Self {
        if e.is_memory_limit() {
            tracing::warn!(error = %e, "a query hit the memory limit");
            return ApiError::bad_request(
                "The query needs more memory than this server gives a query (limits.query_memory_mb); narrow it (fewer columns, a WHERE filter, a shorter TIMESPAN) or schedule it as a report",
            );
        }
        ApiError::internal(e)
    }
}

/// Already serialised JSON with the content type every answer carries.
pub fn json_bytes(status: StatusCode, bytes: impl Into<axum::body::Bytes>) -> Response {
    let bytes: axum::body::Bytes = bytes.into();
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// JSON with the content type every answer carries.
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "serialising a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = proto::Envelope::<serde_json::Value>::error(status.as_u16(), self.message);
        let mut res = json_response(status, &body);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
