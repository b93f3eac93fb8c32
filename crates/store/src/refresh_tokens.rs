//! Refresh tokens, stored as the SHA-256 fingerprints the caller makes of
//! their values; each is taken (used) at most once.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, from_secs, to_secs};

/// A refresh token, known by the SHA-256 fingerprint of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub tenant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub resource: String,
    pub scope: String,
    /// `1.0` or `2.0`: which endpoint issued it.
    pub version: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

fn refresh_of(row: &AnyRow) -> Result<RefreshToken> {
    Ok(RefreshToken {
        token_hash: row.try_get("token_hash")?,
        tenant_id: row.try_get("tenant_id")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        resource: row.try_get("resource")?,
        scope: row.try_get("scope")?,
        version: row.try_get("version")?,
        expires_at: from_secs(row.try_get("expires_at")?)?,
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

impl Store {
    pub async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, tenant_id, client_id, user_id, resource, \
             scope, version, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&token.token_hash)
        .bind(&token.tenant_id)
        .bind(&token.client_id)
        .bind(&token.user_id)
        .bind(&token.resource)
        .bind(&token.scope)
        .bind(&token.version)
        .bind(to_secs(token.expires_at))
        .bind(to_secs(token.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes and returns a refresh token: each one is used at most once,
    /// even by two concurrent requests (only one DELETE sees the row).
    pub async fn take_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        let row = sqlx::query(
            "DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING token_hash, tenant_id, \
             client_id, user_id, resource, scope, version, expires_at, created_at",
        )
        .bind(token_hash)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .next();
        row.as_ref().map(refresh_of).transpose()
    }
}
