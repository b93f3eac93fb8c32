//! Identities: tenants with their domain names, apps (OAuth clients) with
//! hashed secrets and users with hashed passwords (refresh tokens are in
//! `refresh_tokens`, named settings in `settings`). Hashing happens in the
//! `auth` crate; this module only stores what it is given.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, from_opt_secs, from_secs, join_list, split_list, to_secs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Lower-case domain names that also name the tenant in token URLs.
    pub domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret {
    pub id: String,
    /// Argon2id PHC string.
    pub hash: String,
    /// The first characters of the secret, to tell secrets apart.
    pub hint: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecret")
            .field("id", &self.id)
            .field("hint", &self.hint)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A registered client application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    /// Which APIs it may get tokens for: `insights`, `store`.
    pub apis: Vec<String>,
    /// A confidential app must present a secret on every grant.
    pub confidential: bool,
    pub created_at: DateTime<Utc>,
    pub secrets: Vec<AppSecret>,
}

/// What creating an app needs (its first secret is added separately).
#[derive(Debug, Clone)]
pub struct NewApp {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub apis: Vec<String>,
    pub confidential: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    /// Lower case; unique within the tenant.
    pub username: String,
    pub password_hash: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

fn tenant_of(row: &AnyRow, domains: Vec<String>) -> Result<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        domains,
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

fn secret_of(row: &AnyRow) -> Result<AppSecret> {
    Ok(AppSecret {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        hint: row.try_get("hint")?,
        expires_at: from_opt_secs(row.try_get("expires_at")?)?,
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

fn app_of(row: &AnyRow, secrets: Vec<AppSecret>) -> Result<App> {
    Ok(App {
        client_id: row.try_get("client_id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        roles: split_list(&row.try_get::<String, _>("roles")?),
        apis: split_list(&row.try_get::<String, _>("apis")?),
        confidential: row.try_get::<i64, _>("confidential")? != 0,
        created_at: from_secs(row.try_get("created_at")?)?,
        secrets,
    })
}

fn user_of(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        roles: split_list(&row.try_get::<String, _>("roles")?),
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

fn conflict(e: StoreError, what: impl Into<String>) -> StoreError {
    match e {
        StoreError::Conflict { .. } => StoreError::Conflict { what: what.into() },
        other => other,
    }
}

impl Store {
    // ----- tenants -------------------------------------------------------

    /// Creates a tenant and its domains in one transaction.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(to_secs(tenant.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                conflict(
                    e.into(),
                    format!("a tenant with id '{}' already exists", tenant.id),
                )
            })?;
        for domain in &tenant.domains {
            sqlx::query("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)")
                .bind(domain.to_lowercase())
                .bind(&tenant.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    conflict(
                        e.into(),
                        format!("the domain '{domain}' already names a tenant"),
                    )
                })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn domains_of(&self, tenant_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain")
                .bind(tenant_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("domain").map_err(Into::into))
            .collect()
    }

    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => Ok(Some(tenant_of(&row, self.domains_of(id).await?)?)),
            None => Ok(None),
        }
    }

    /// The tenant named by its id (case-insensitively) or one of its domains.
    pub async fn resolve_tenant(&self, id_or_domain: &str) -> Result<Option<Tenant>> {
        let key = id_or_domain.to_lowercase();
        if let Some(t) = self.tenant(&key).await? {
            return Ok(Some(t));
        }
        let row = sqlx::query("SELECT tenant_id FROM tenant_domains WHERE domain = $1")
            .bind(&key)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => self.tenant(&row.try_get::<String, _>("tenant_id")?).await,
            None => Ok(None),
        }
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            out.push(tenant_of(row, self.domains_of(&id).await?)?);
        }
        Ok(out)
    }

    /// Deletes a tenant and everything it owns (cascade). False when absent.
    pub async fn delete_tenant(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ----- apps ----------------------------------------------------------

    pub async fn create_app(&self, app: &NewApp, first_secret: Option<&AppSecret>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO apps (client_id, tenant_id, name, roles, apis, confidential, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(app.client_id.to_lowercase())
        .bind(&app.tenant_id)
        .bind(&app.name)
        .bind(join_list(&app.roles))
        .bind(join_list(&app.apis))
        .bind(i64::from(app.confidential))
        .bind(to_secs(app.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(
                e.into(),
                format!("an app with client id '{}' already exists", app.client_id),
            )
        })?;
        if let Some(secret) = first_secret {
            insert_secret(&mut tx, &app.client_id.to_lowercase(), secret).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn secrets_of(&self, client_id: &str) -> Result<Vec<AppSecret>> {
        let rows = sqlx::query(
            "SELECT id, hash, hint, expires_at, created_at FROM app_secrets \
             WHERE client_id = $1 ORDER BY created_at, id",
        )
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(secret_of).collect()
    }

    /// An app by client id, with its secrets.
    pub async fn app(&self, client_id: &str) -> Result<Option<App>> {
        let row = sqlx::query(
            "SELECT client_id, tenant_id, name, roles, apis, confidential, created_at \
             FROM apps WHERE client_id = $1",
        )
        .bind(client_id.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => {
                let id: String = row.try_get("client_id")?;
                Ok(Some(app_of(&row, self.secrets_of(&id).await?)?))
            }
            None => Ok(None),
        }
    }

    /// True when the app still exists in the tenant (tokens of deleted apps
    /// stop working at once).
    pub async fn app_exists(&self, tenant_id: &str, client_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM apps WHERE client_id = $1 AND tenant_id = $2")
            .bind(client_id)
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Whether the user (by id) still exists in the tenant.
    pub async fn user_exists(&self, tenant_id: &str, user_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(user_id)
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    pub async fn apps(&self, tenant_id: &str) -> Result<Vec<App>> {
        let rows = sqlx::query(
            "SELECT client_id, tenant_id, name, roles, apis, confidential, created_at \
             FROM apps WHERE tenant_id = $1 ORDER BY created_at, client_id",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("client_id")?;
            out.push(app_of(row, self.secrets_of(&id).await?)?);
        }
        Ok(out)
    }

    pub async fn delete_app(&self, tenant_id: &str, client_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM apps WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id)
            .bind(client_id.to_lowercase())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn add_secret(
        &self,
        tenant_id: &str,
        client_id: &str,
        secret: &AppSecret,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let owner =
            sqlx::query("SELECT 1 AS one FROM apps WHERE client_id = $1 AND tenant_id = $2")
                .bind(client_id)
                .bind(tenant_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_none() {
            return Err(StoreError::NotFound {
                what: format!("app '{client_id}'"),
            });
        }
        insert_secret(&mut tx, client_id, secret).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_secret(
        &self,
        tenant_id: &str,
        client_id: &str,
        secret_id: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM app_secrets WHERE id = $1 AND client_id IN \
             (SELECT client_id FROM apps WHERE client_id = $2 AND tenant_id = $3)",
        )
        .bind(secret_id)
        .bind(client_id)
        .bind(tenant_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    // ----- users ---------------------------------------------------------

    pub async fn create_user(&self, user: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, tenant_id, username, password_hash, roles, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(user.username.to_lowercase())
        .bind(&user.password_hash)
        .bind(join_list(&user.roles))
        .bind(to_secs(user.created_at))
        .execute(self.pool())
        .await
        .map_err(|e| {
            conflict(
                e.into(),
                format!(
                    "a user named '{}' already exists in this tenant",
                    user.username
                ),
            )
        })?;
        Ok(())
    }

    pub async fn user_by_name(&self, tenant_id: &str, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, roles, created_at FROM users \
             WHERE tenant_id = $1 AND username = $2",
        )
        .bind(tenant_id)
        .bind(username.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_of).transpose()
    }

    pub async fn user(&self, tenant_id: &str, id: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, roles, created_at FROM users \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_of).transpose()
    }

    pub async fn users(&self, tenant_id: &str) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, username, password_hash, roles, created_at FROM users \
             WHERE tenant_id = $1 ORDER BY username",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_of).collect()
    }

    pub async fn delete_user(&self, tenant_id: &str, username: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND username = $2")
            .bind(tenant_id)
            .bind(username.to_lowercase())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn set_password(&self, tenant_id: &str, username: &str, hash: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND username = $3",
        )
        .bind(hash)
        .bind(tenant_id)
        .bind(username.to_lowercase())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn insert_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client_id: &str,
    secret: &AppSecret,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_secrets (id, client_id, hash, hint, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&secret.id)
    .bind(client_id)
    .bind(&secret.hash)
    .bind(&secret.hint)
    .bind(secret.expires_at.map(to_secs))
    .bind(to_secs(secret.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
