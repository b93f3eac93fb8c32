//! The Store analytics API's failures: the error JSON of spec §1.7
//! (`proto::store::StoreErrorBody`), one message per problem in
//! `innererror.data`, `Retry-After` when throttled.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use proto::store::{ERROR_SOURCE, StoreErrorBody, StoreInnerError};
use query::storeapi::ParamError;

use crate::error::{ApiError, ErrorCode, json_response};
use crate::service::ServiceError;

/// A failure in the shape of spec §1.7.
#[derive(Debug)]
pub struct StoreApiError {
    pub error: ApiError,
    /// `innererror.data`: one message per problem.
    pub data: Vec<String>,
}

impl From<ApiError> for StoreApiError {
    fn from(error: ApiError) -> Self {
        let data = vec![error.message.clone()];
        StoreApiError { error, data }
    }
}

impl From<ServiceError> for StoreApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<engine::EngineError> for StoreApiError {
    fn from(e: engine::EngineError) -> Self {
        ApiError::internal(e).into()
    }
}

impl From<Vec<ParamError>> for StoreApiError {
    fn from(errors: Vec<ParamError>) -> Self {
        let data: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        StoreApiError {
            error: ApiError::bad_request(data.join("; ")),
            data,
        }
    }
}

impl IntoResponse for StoreApiError {
    fn into_response(self) -> Response {
        let code = self.error.code;
        let (outer, outer_message, inner, inner_message) = match code {
            ErrorCode::BadRequest => (
                "BadRequest",
                "The calling client sent a bad request to the service.",
                "InvalidQueryParameters",
                "One or More Query Parameters has invalid values.",
            ),
            ErrorCode::Unauthorized => (
                "Unauthorized",
                "The calling client is not authorized: the access token is missing, invalid or expired.",
                "InvalidAccessToken",
                "Get a token for https://manage.devcenter.microsoft.com from the token endpoint and send it as 'Authorization: Bearer <token>'.",
            ),
            ErrorCode::Forbidden => (
                "Forbidden",
                "The calling client is not allowed to read analytics.",
                "InsufficientRole",
                "The app or user needs the Manager or Developer role.",
            ),
            ErrorCode::NotFound => (
                "NotFound",
                "The requested resource was not found.",
                "ResourceNotFound",
                "No such application, product or method for this account.",
            ),
            ErrorCode::RateLimited => (
                "TooManyRequests",
                "Rate limit is exceeded.",
                "RateLimitExceeded",
                "Too many requests for this account; wait for Retry-After seconds.",
            ),
            ErrorCode::Timeout => (
                "GatewayTimeout",
                "The query took too long.",
                "QueryTimeout",
                "Narrow the date range or the groupby fields.",
            ),
            ErrorCode::Unavailable => (
                "ServiceUnavailable",
                "The service is unavailable.",
                "ServiceUnavailable",
                "Try again shortly.",
            ),
            ErrorCode::MethodNotAllowed => (
                "MethodNotAllowed",
                "Every Store analytics method is a GET.",
                "MethodNotAllowed",
                "Use GET.",
            ),
            ErrorCode::Conflict
            | ErrorCode::Gone
            | ErrorCode::PayloadTooLarge
            | ErrorCode::RangeNotSatisfiable
            | ErrorCode::Internal => (
                "InternalServerError",
                "The service failed to answer.",
                "InternalError",
                "The correlation id identifies the failure in the server log.",
            ),
        };
        let body = StoreErrorBody {
            code: outer.into(),
            data: Vec::new(),
            details: Vec::new(),
            innererror: StoreInnerError {
                code: inner.into(),
                data: self.data,
                details: Vec::new(),
                message: inner_message.into(),
                source: ERROR_SOURCE.into(),
            },
            message: outer_message.into(),
            source: ERROR_SOURCE.into(),
        };
        let mut res = json_response(code.status(), &body);
        if let Some(wait) = self.error.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        res
    }
}

/// A 400 about one parameter.
pub(super) fn param_error(param: &str, message: String) -> StoreApiError {
    vec![ParamError {
        param: param.into(),
        message,
    }]
    .into()
}
