//! The admin API (`/admin/v1`), guarded by the admin credential (compared
//! by SHA-256 fingerprint in constant time): tenants, apps with their
//! secrets, users, and signing key rotation. The same operations back the
//! `openinsights tenant|app|user|keys` commands (`identity`, `tokens`).

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, Utc};
use proto::Envelope;
use proto::admin::{
    AppItem, AppSecretItem, CallbackKeyItem, NewAppItem, NewSecretItem, NewUserItem,
    RotatedKeyItem, TenantItem, UserItem,
};
use sha2::{Digest, Sha256};
use store::{App, Tenant, User};
use subtle::ConstantTimeEq;

use crate::Shared;
use crate::body::{Fields, RequestFields, format_time};
use crate::error::{ApiError, json_response};
use crate::http::bearer;
use crate::service::identity::{self, AppSpec};

pub fn routes(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/admin/v1/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/admin/v1/tenants/{tenant}",
            get(get_tenant).delete(delete_tenant),
        )
        .route(
            "/admin/v1/tenants/{tenant}/apps",
            get(list_apps).post(create_app),
        )
        .route(
            "/admin/v1/tenants/{tenant}/apps/{client}",
            delete(delete_app),
        )
        .route(
            "/admin/v1/tenants/{tenant}/apps/{client}/secrets",
            post(add_secret),
        )
        .route(
            "/admin/v1/tenants/{tenant}/users",
            get(list_users).post(create_user),
        )
        .route(
            "/admin/v1/tenants/{tenant}/users/{username}",
            delete(delete_user),
        )
        .route("/admin/v1/tenants/{tenant}/callback-key", get(callback_key))
        .route("/admin/v1/keys/rotate", post(rotate))
        .merge(crate::data_api::routes())
        .merge(crate::clock_api::routes())
        .merge(crate::journal_api::routes())
        .merge(crate::faults_api::routes())
        .merge(crate::snapshots_api::routes())
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
}

/// The SHA-256 fingerprint of an admin credential.
pub fn fingerprint(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let given = bearer(req.headers()).map(|t| fingerprint(&t));
    match given {
        Some(hash) if bool::from(hash.ct_eq(&state.admin_hash)) => next.run(req).await,
        _ => ApiError::unauthorized(
            "The admin API needs 'Authorization: Bearer <admin token>' (the token is in <data dir>/admin-token, or admin.token in the configuration)",
        )
        .into_response(),
    }
}

fn answer<T: serde::Serialize>(status: StatusCode, items: Vec<T>, message: &str) -> Response {
    let mut env = Envelope::ok(items, message);
    env.status_code = status.as_u16();
    json_response(status, &env)
}

pub fn tenant_item(t: &Tenant) -> TenantItem {
    TenantItem {
        tenant_id: t.id.clone(),
        name: t.name.clone(),
        domains: t.domains.clone(),
        created_time: format_time(t.created_at),
    }
}

pub fn app_item(a: &App) -> AppItem {
    AppItem {
        client_id: a.client_id.clone(),
        tenant_id: a.tenant_id.clone(),
        name: a.name.clone(),
        roles: a.roles.clone(),
        apis: a.apis.clone(),
        confidential: a.confidential,
        created_time: format_time(a.created_at),
        secrets: a
            .secrets
            .iter()
            .map(|s| AppSecretItem {
                secret_id: s.id.clone(),
                hint: format!("{}…", s.hint),
                expires_time: s.expires_at.map(format_time),
                created_time: format_time(s.created_at),
            })
            .collect(),
    }
}

pub fn user_item(u: &User) -> UserItem {
    UserItem {
        user_id: u.id.clone(),
        tenant_id: u.tenant_id.clone(),
        username: u.username.clone(),
        roles: u.roles.clone(),
        created_time: format_time(u.created_at),
    }
}

/// A secret just added, shown this once.
pub fn new_secret_item(
    id: String,
    client_id: &str,
    secret: &auth::Secret,
    expires: Option<DateTime<Utc>>,
) -> NewSecretItem {
    NewSecretItem {
        secret_id: id,
        client_id: client_id.to_lowercase(),
        client_secret: secret.expose().to_string(),
        expires_time: expires.map(format_time),
    }
}

fn list(fields: &Fields, name: &str) -> Result<Vec<String>, ApiError> {
    match fields.string(name) {
        Ok(Some(s)) => Ok(s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()),
        Ok(None) => Ok(Vec::new()),
        Err(_) => Err(ApiError::bad_request(format!(
            "{name} must be a string of names separated by commas"
        ))),
    }
}

async fn list_tenants(State(state): State<Shared>) -> Result<Response, ApiError> {
    let items = state
        .store
        .tenants()
        .await?
        .iter()
        .map(tenant_item)
        .collect();
    Ok(answer(
        StatusCode::OK,
        items,
        "Tenants fetched successfully",
    ))
}

async fn create_tenant(
    State(state): State<Shared>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let name = f
        .string("name")?
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    let tenant = identity::create_tenant(
        &state.store,
        f.string("tenantId")?.as_deref(),
        &name,
        &list(&f, "domains")?,
        state.wall.now(),
    )
    .await?;
    identity::clear_leftover_files(state.engine.store(), &tenant).await?;
    Ok(answer(
        StatusCode::OK,
        vec![tenant_item(&tenant)],
        "Tenant created successfully",
    ))
}

async fn get_tenant(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let t = state
        .store
        .resolve_tenant(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Tenant '{id}' not found")))?;
    Ok(answer(
        StatusCode::OK,
        vec![tenant_item(&t)],
        "Tenant fetched successfully",
    ))
}

async fn delete_tenant(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (t, files) = identity::delete_tenant(&state.store, state.engine.store(), &id).await?;
    state.tokens.forget_apps();
    state.list_cache.forget(&t.id);
    state.store_products.forget(&t.id);
    state.store_results.forget_tenant(&t.id);
    state.journal.forget_tenant(&t.id);
    tracing::info!(tenant = %t.id, files, "deleted a tenant and its files");
    Ok(answer(
        StatusCode::OK,
        vec![tenant_item(&t)],
        "Tenant deleted successfully",
    ))
}

async fn list_apps(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let items = state
        .store
        .apps(&tenant.to_lowercase())
        .await?
        .iter()
        .map(app_item)
        .collect();
    Ok(answer(StatusCode::OK, items, "Apps fetched successfully"))
}

async fn create_app(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let spec = AppSpec {
        name: f
            .string("name")?
            .ok_or_else(|| ApiError::bad_request("name is required"))?,
        client_id: f.string("clientId")?,
        roles: list(&f, "roles")?,
        apis: list(&f, "apis")?,
        public: f.boolean("public")?.unwrap_or(false),
        secret_days: f.integer("secretDays")?,
    };
    let (app, secret) =
        identity::create_app(&state.store, &tenant, &spec, state.wall.now()).await?;
    let item = NewAppItem {
        app: app_item(&app),
        client_secret: secret.map(|s| s.expose().to_string()),
    };
    Ok(answer(
        StatusCode::OK,
        vec![item],
        "App created successfully; the client secret is shown only now",
    ))
}

async fn delete_app(
    State(state): State<Shared>,
    Path((tenant, client)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let app = state
        .store
        .app(&client)
        .await?
        .filter(|a| a.tenant_id == tenant.to_lowercase())
        .ok_or_else(|| {
            ApiError::not_found(format!("App '{client}' not found in tenant '{tenant}'"))
        })?;
    state
        .store
        .delete_app(&app.tenant_id, &app.client_id)
        .await?;
    state.tokens.forget_apps();
    Ok(answer(
        StatusCode::OK,
        vec![app_item(&app)],
        "App deleted successfully",
    ))
}

async fn add_secret(
    State(state): State<Shared>,
    Path((tenant, client)): Path<(String, String)>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let days = f.integer("secretDays")?;
    if days.is_some_and(|d| d < 1) {
        return Err(ApiError::bad_request("secretDays must be at least 1"));
    }
    let (id, secret) =
        identity::add_secret(&state.store, &tenant, &client, days, state.wall.now()).await?;
    let expires = days.map(|d| state.wall.now() + Duration::days(d));
    let item = new_secret_item(id, &client, &secret, expires);
    Ok(answer(
        StatusCode::OK,
        vec![item],
        "Secret added; it is shown only now",
    ))
}

async fn list_users(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let items = state
        .store
        .users(&tenant.to_lowercase())
        .await?
        .iter()
        .map(user_item)
        .collect();
    Ok(answer(StatusCode::OK, items, "Users fetched successfully"))
}

async fn create_user(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let username = f
        .string("username")?
        .ok_or_else(|| ApiError::bad_request("username is required"))?;
    let password = f.string("password")?.map(auth::Secret::new);
    let (user, generated) = identity::create_user(
        &state.store,
        &tenant,
        &username,
        password,
        &list(&f, "roles")?,
        state.wall.now(),
    )
    .await?;
    let item = NewUserItem {
        user: user_item(&user),
        password: generated.map(|p| p.expose().to_string()),
    };
    Ok(answer(
        StatusCode::OK,
        vec![item],
        "User created successfully",
    ))
}

async fn delete_user(
    State(state): State<Shared>,
    Path((tenant, username)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user = state
        .store
        .user_by_name(&tenant.to_lowercase(), &username)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("User '{username}' not found in tenant '{tenant}'"))
        })?;
    state
        .store
        .delete_user(&user.tenant_id, &user.username)
        .await?;
    // Its tokens stop working at once here (within a second elsewhere).
    state.tokens.forget_apps();
    Ok(answer(
        StatusCode::OK,
        vec![user_item(&user)],
        "User deleted successfully",
    ))
}

/// The key a tenant's callback receivers verify `X-Insights-Signature` with.
async fn callback_key(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let t = state
        .store
        .resolve_tenant(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Tenant '{id}' not found")))?;
    let key = hex::encode(crate::downloads::callback_key(&state, &t.id));
    Ok(answer(
        StatusCode::OK,
        vec![CallbackKeyItem {
            tenant_id: t.id,
            callback_signing_key: key,
            algorithm: "HMAC-SHA256, hex key bytes".into(),
        }],
        "Callback signing key fetched",
    ))
}

async fn rotate(State(state): State<Shared>) -> Result<Response, ApiError> {
    let kid = crate::service::keys::rotate_keys(
        &state.store,
        state.wall.now(),
        Duration::seconds(state.tokens.config.lifetime_secs),
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(answer(
        StatusCode::OK,
        vec![RotatedKeyItem { kid }],
        "Signing key rotated; older keys verify until their tokens expire",
    ))
}
