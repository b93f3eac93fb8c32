//! Administration of tenants, apps and users, shared by the admin HTTP API
//! and the `openinsights tenant|app|user` commands: validation, generated
//! ids and secrets, Argon2id hashing (on the blocking pool). Generated
//! secrets and passwords are returned once and never stored in clear.

use auth::{Api, Role, Secret};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use store::{App, AppSecret, NewApp, Store, Tenant, User};

use crate::service::ServiceError;

/// A random secret: 32 bytes, base64url (43 characters).
pub fn new_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

pub async fn hash(secret: Secret) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || auth::hash_secret(&secret))
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)
}

/// Names of a closed set in their canonical spelling (any case, comma or
/// space separated accepted, each once); unknown ones are refused naming
/// the allowed ones.
fn canonical<T: Copy + PartialEq>(
    items: &[String],
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<Vec<String>, ServiceError> {
    let mut out: Vec<String> = Vec::new();
    for item in items
        .iter()
        .flat_map(|r| r.split([',', ' ']))
        .filter(|r| !r.is_empty())
    {
        let known = all
            .iter()
            .map(|k| name(*k))
            .find(|k| k.eq_ignore_ascii_case(item))
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|k| name(*k)).collect();
                ServiceError::invalid(format!(
                    "Unknown {what} '{item}'; {what}s are {}",
                    names.join(", ")
                ))
            })?;
        if !out.iter().any(|o| o == known) {
            out.push(known.to_string());
        }
    }
    Ok(out)
}

/// Roles in their canonical spelling; unknown ones are refused.
pub fn canonical_roles(roles: &[String]) -> Result<Vec<String>, ServiceError> {
    canonical(roles, &Role::ALL, Role::name, "role")
}

/// APIs in their canonical spelling; none given means both.
fn canonical_apis(apis: &[String]) -> Result<Vec<String>, ServiceError> {
    let out = canonical(apis, &Api::ALL, Api::name, "API")?;
    Ok(if out.is_empty() {
        Api::ALL.iter().map(|a| a.name().to_string()).collect()
    } else {
        out
    })
}

/// Removes files a tenant id left behind (a crash between a deletion's two
/// steps); called right after the tenant is created, before it can own
/// anything, so a re-created tenant always starts empty.
pub async fn clear_leftover_files(
    data: &engine::DataStore,
    tenant: &Tenant,
) -> Result<usize, ServiceError> {
    match engine::TenantId::parse(&tenant.id) {
        Ok(id) => Ok(data.delete_tenant(&id).await?),
        Err(_) => Ok(0),
    }
}

/// Deletes a tenant (by id or domain) with everything it has: its
/// metadata (apps, users, queries, reports, executions, deliveries — the
/// store cascades) first, so nothing new is scheduled, then its files in
/// the data store (datasets, rollups, report files, CAB files). Returns the
/// tenant and how many files went. In-memory caches are the caller's.
pub async fn delete_tenant(
    store: &Store,
    data: &engine::DataStore,
    id: &str,
) -> Result<(Tenant, usize), ServiceError> {
    let tenant = store
        .resolve_tenant(id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("Tenant '{id}' not found")))?;
    store.delete_tenant(&tenant.id).await?;
    let files = match engine::TenantId::parse(&tenant.id) {
        Ok(tenant_id) => data.delete_tenant(&tenant_id).await?,
        // An id that cannot own data has no files.
        Err(_) => 0,
    };
    Ok((tenant, files))
}

pub async fn create_tenant(
    store: &Store,
    id: Option<&str>,
    name: &str,
    domains: &[String],
    now: DateTime<Utc>,
) -> Result<Tenant, ServiceError> {
    let id = match id {
        Some(id) => {
            let lower = id.trim().to_lowercase();
            engine::TenantId::parse(&lower).map_err(|_| {
                ServiceError::invalid(format!(
                    "Tenant id '{id}' is not allowed: use letters, digits, '-' and '_' (a UUID is usual)"
                ))
            })?;
            lower
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "The tenant name must be 1 to 200 characters",
        ));
    }
    let mut clean = Vec::new();
    for d in domains {
        let d = d.trim().to_lowercase();
        let valid = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !valid {
            return Err(ServiceError::invalid(format!(
                "Domain '{d}' is not a domain name (like contoso.com)"
            )));
        }
        clean.push(d);
    }
    let tenant = Tenant {
        id,
        name: name.trim().to_string(),
        domains: clean,
        created_at: now,
    };
    store.create_tenant(&tenant).await?;
    Ok(tenant)
}

/// Options of a new app.
#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    pub name: String,
    pub client_id: Option<String>,
    pub roles: Vec<String>,
    pub apis: Vec<String>,
    /// A public client (no secret) may only use the password and refresh grants.
    pub public: bool,
    /// Days until the first secret expires; `None` = never.
    pub secret_days: Option<i64>,
}

async fn existing_tenant(store: &Store, tenant_id: &str) -> Result<Tenant, ServiceError> {
    store
        .tenant(&tenant_id.to_lowercase())
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("Tenant '{tenant_id}' not found")))
}

fn secret_record(
    secret: &Secret,
    hash: String,
    days: Option<i64>,
    now: DateTime<Utc>,
) -> AppSecret {
    AppSecret {
        id: uuid::Uuid::new_v4().to_string(),
        hash,
        hint: secret.expose().chars().take(3).collect(),
        expires_at: days.map(|d| now + Duration::days(d)),
        created_at: now,
    }
}

/// Registers an app; returns it and its first secret (shown once).
pub async fn create_app(
    store: &Store,
    tenant_id: &str,
    spec: &AppSpec,
    now: DateTime<Utc>,
) -> Result<(App, Option<Secret>), ServiceError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    if spec.name.trim().is_empty() || spec.name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "The app name must be 1 to 200 characters",
        ));
    }
    if spec.secret_days.is_some_and(|d| d < 1) {
        return Err(ServiceError::invalid(
            "A secret must be valid for at least 1 day",
        ));
    }
    let client_id = match &spec.client_id {
        Some(c) => uuid::Uuid::parse_str(c.trim())
            .map_err(|_| ServiceError::invalid(format!("Client id '{c}' is not a UUID")))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let new = NewApp {
        client_id,
        tenant_id: tenant.id.clone(),
        name: spec.name.trim().to_string(),
        roles: canonical_roles(&spec.roles)?,
        apis: canonical_apis(&spec.apis)?,
        confidential: !spec.public,
        created_at: now,
    };
    let secret = (!spec.public).then(new_secret);
    let record = match &secret {
        Some(s) => Some(secret_record(
            s,
            hash(s.clone()).await?,
            spec.secret_days,
            now,
        )),
        None => None,
    };
    store.create_app(&new, record.as_ref()).await?;
    let app = store
        .app(&new.client_id)
        .await?
        .ok_or_else(|| ServiceError::internal("app vanished after creation"))?;
    Ok((app, secret))
}

/// Adds a secret to an app; returns the secret's id and value (shown once).
pub async fn add_secret(
    store: &Store,
    tenant_id: &str,
    client_id: &str,
    days: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(String, Secret), ServiceError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    let secret = new_secret();
    let record = secret_record(&secret, hash(secret.clone()).await?, days, now);
    store
        .add_secret(&tenant.id, &client_id.to_lowercase(), &record)
        .await?;
    Ok((record.id, secret))
}

/// Creates a user; a password is generated when none is given (returned once).
pub async fn create_user(
    store: &Store,
    tenant_id: &str,
    username: &str,
    password: Option<Secret>,
    roles: &[String],
    now: DateTime<Utc>,
) -> Result<(User, Option<Secret>), ServiceError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    let username = username.trim().to_lowercase();
    if username.is_empty()
        || username.chars().count() > 256
        || username.contains(char::is_whitespace)
    {
        return Err(ServiceError::invalid(
            "The user name must be 1 to 256 characters without spaces (e.g. ann@contoso.com)",
        ));
    }
    if let Some(p) = &password
        && p.expose().chars().count() < 8
    {
        return Err(ServiceError::invalid(
            "The password must be at least 8 characters",
        ));
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(new_secret);
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id,
        username,
        password_hash: hash(password.clone()).await?,
        roles: canonical_roles(roles)?,
        created_at: now,
    };
    store.create_user(&user).await?;
    Ok((user, generated.then_some(password)))
}
