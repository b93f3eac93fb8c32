//! The operator's endpoints, outside every public API: `/healthz`
//! (liveness: the process answers), `/readyz` (readiness: the metadata
//! store and the object store answer and the process is not stopping; a
//! load balancer routes by it) and `/metrics` (Prometheus, see `metrics`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use crate::Shared;
use crate::config::MetricsAccess;
use crate::error::{ApiError, json_response};
use crate::http::Peer;

/// How long each readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(state): State<Shared>) -> Response {
    let (metadata, objects) = tokio::join!(metadata_check(&state), object_check(&state));
    let draining = state.draining.load(Ordering::Relaxed);
    let reason = if draining {
        Some("the replica is shutting down".to_string())
    } else {
        match (&metadata, &objects) {
            (Ok(()), Ok(())) => None,
            (Err(e), _) => Some(format!("the metadata store does not answer: {e}")),
            (_, Err(e)) => Some(format!("the object store does not answer: {e}")),
        }
    };
    let status = if reason.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let show = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => e.clone(),
    };
    let body = proto::admin::Readiness {
        status: if reason.is_none() {
            "ready"
        } else {
            "unavailable"
        }
        .into(),
        metadata_store: show(&metadata),
        object_store: show(&objects),
        reason,
    };
    let mut res = json_response(status, &body);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn metadata_check(state: &Shared) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: metadata store");
            Err("the query failed".into())
        }
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

async fn object_check(state: &Shared) -> Result<(), String> {
    use object_store::ObjectStoreExt;
    let probe = object_store::path::Path::from("_readyz");
    let store = state.engine.store().object_store();
    match tokio::time::timeout(CHECK_TIMEOUT, store.head(&probe)).await {
        Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: object store");
            Err("the request failed".into())
        }
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

/// True when a request reached us directly from this machine: a loopback
/// peer and no proxy header (behind a load balancer on the same machine
/// the peer is loopback for everyone, so a forwarded request never counts).
fn direct_from_loopback(peer: Peer, req: &Request) -> bool {
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    !forwarded && peer.0.is_some_and(|ip| ip.is_loopback())
}

async fn metrics(State(state): State<Shared>, peer: Peer, req: Request) -> Response {
    let admin = crate::http::bearer(req.headers())
        .map(|t| crate::admin::fingerprint(&t))
        .is_some_and(|hash| bool::from(hash.ct_eq(&state.admin_hash)));
    let allowed = admin
        || match state.config.metrics.access {
            MetricsAccess::Public => true,
            MetricsAccess::Loopback => direct_from_loopback(peer, &req),
            MetricsAccess::Admin => false,
        };
    if !allowed {
        return ApiError::unauthorized(
            "/metrics needs 'Authorization: Bearer <admin token>' from here (metrics.access decides who may read it: loopback, public or admin)",
        )
        .into_response();
    }
    // The backlog is the database's, shared by every replica: read it now.
    match state.store.executions_waiting(state.clock.now()).await {
        Ok(n) => {
            state.metrics.executions_pending.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting pending executions"),
    }
    let mut res = state.metrics.encode().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}
