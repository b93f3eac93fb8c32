//! `POST /admin/v1/tenants/{tenant}/reset`,
//! `POST|GET /admin/v1/tenants/{tenant}/snapshots` and
//! `POST /admin/v1/tenants/{tenant}/snapshots/{name}/restore` (admin
//! credential); the rules are `service::snapshots`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use proto::admin::{ResetItem, SnapshotItem, ValueList};

use crate::Shared;
use crate::body::{RequestFields, format_time};
use crate::error::{ApiError, json_response};
use crate::service::snapshots::{self, SnapshotInfo};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/v1/tenants/{tenant}/reset", post(reset))
        .route("/admin/v1/tenants/{tenant}/snapshots", get(list).post(save))
        .route(
            "/admin/v1/tenants/{tenant}/snapshots/{name}/restore",
            post(restore),
        )
}

fn item(i: SnapshotInfo) -> SnapshotItem {
    SnapshotItem {
        name: i.name,
        created_time: format_time(i.created),
        queries: i.queries,
        reports: i.reports,
        executions: i.executions,
        objects: i.objects,
    }
}

async fn reset(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    snapshots::reset(&state, &tenant).await?;
    Ok(json_response(
        StatusCode::OK,
        &ResetItem {
            tenant_id: tenant,
            reset: true,
        },
    ))
}

async fn save(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let name = f
        .string("name")?
        .ok_or_else(|| ApiError::bad_request("name is required: {\"name\": \"baseline\"}"))?;
    let saved = snapshots::save(&state, &tenant, &name).await?;
    Ok(json_response(StatusCode::OK, &item(saved)))
}

async fn list(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let value = snapshots::list(&state, &tenant)
        .await?
        .into_iter()
        .map(item)
        .collect();
    Ok(json_response(StatusCode::OK, &ValueList { value }))
}

async fn restore(
    State(state): State<Shared>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let restored = snapshots::restore(&state, &tenant, &name).await?;
    Ok(json_response(StatusCode::OK, &item(restored)))
}
