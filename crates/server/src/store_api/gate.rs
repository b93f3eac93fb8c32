//! The Store analytics API's gate: Store-audience tokens, the Manager or
//! Developer role, throttling messages, and refusals in the §1.7 shape;
//! plus the answers to non-GET methods and to the bare prefix.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::StoreApiError;
use super::{PREFIX, method_names};
use crate::Shared;
use crate::error::{ApiError, ErrorCode};
use auth::{Api, Role};

/// The Store analytics API's gate: Store-audience tokens, Manager or
/// Developer, the §1.7 error shape.
const STORE: crate::http::Gate = crate::http::Gate {
    api: Api::StoreAnalytics,
    roles: &[Role::Manager, Role::Developer],
    unredacted: &[],
    no_token: "No access token: send 'Authorization: Bearer <token>' with a token for https://manage.devcenter.microsoft.com",
    no_role: "The token has neither the Manager nor the Developer role, which the Store analytics API requires",
    limited: store_limited,
    render: store_refusal,
};

fn store_limited(_: &Shared, _: &crate::ratelimit::Decision, wait: u64) -> String {
    format!("Rate limit is exceeded. Try again in {wait} seconds.")
}

fn store_refusal(e: ApiError) -> Response {
    StoreApiError::from(e).into_response()
}

/// The Store analytics API's authentication layer.
pub async fn store_auth(State(state): State<Shared>, req: Request, next: Next) -> Response {
    crate::http::admit(&STORE, &state, req, next).await
}

pub(super) async fn not_a_get() -> StoreApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "Every Store analytics method is a GET",
    )
    .into()
}

pub(super) async fn unknown_root() -> StoreApiError {
    ApiError::not_found(format!(
        "No method at {PREFIX}; methods: {}",
        method_names()
    ))
    .into()
}
