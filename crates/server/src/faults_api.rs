//! `POST/GET/DELETE /admin/v1/faults` and `DELETE /admin/v1/faults/{id}`
//! (admin credential): add, list and remove fault rules (`faults`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use proto::admin::{DeletedItem, ValueList};

use crate::Shared;
use crate::error::{ApiError, json_response};
use crate::faults::RuleSpec;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/v1/faults", get(list).post(add).delete(clear))
        .route("/admin/v1/faults/{id}", delete(remove))
}

async fn add(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let spec: RuleSpec = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "The rule is not valid JSON of the rule shape: {e} (fields: api, method, path, tenant, clientId, status, retryAfter, latencyMs, jitterMs, reset, outcome, failureReason, delayMs, fail, probability, seed, count)"
        ))
    })?;
    let item = state.faults.add(spec).map_err(ApiError::bad_request)?;
    Ok(json_response(StatusCode::OK, &item))
}

async fn list(State(state): State<Shared>) -> Response {
    json_response(
        StatusCode::OK,
        &ValueList {
            value: state.faults.list(),
        },
    )
}

async fn clear(State(state): State<Shared>) -> Response {
    state.faults.clear();
    json_response(StatusCode::OK, &ValueList::<RuleSpec> { value: Vec::new() })
}

async fn remove(State(state): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    if state.faults.delete(&id) {
        Ok(json_response(StatusCode::OK, &DeletedItem { deleted: id }))
    } else {
        Err(ApiError::not_found(format!("No fault rule '{id}'")))
    }
}
