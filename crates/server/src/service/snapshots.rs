//! Reset and snapshots of a tenant, for integrators who start every test
//! from a known state: a snapshot holds the tenant's saved queries,
//! reports, executions and callback deliveries (rows as stored, ids
//! included) and every object it owns (data, rollups, report and CAB
//! files); restoring brings all of it back exactly. A reset empties a
//! tenant — the demo tenant gets its demo data back. Works on either
//! database and either object store; snapshots live in the object store
//! (`snapshots/<tenant>/<name>/`) and go with the tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::snapshot::TenantRows;

use super::{Result, ServiceError};
use crate::Shared;

/// `rows.json` of a snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    name: String,
    created: DateTime<Utc>,
    rows: TenantRows,
}

/// What a snapshot holds.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub name: String,
    pub created: DateTime<Utc>,
    pub queries: usize,
    pub reports: usize,
    pub executions: usize,
    pub objects: Option<usize>,
}

/// 1 to 64 of letters, digits, `.`, `_` and `-`, not starting with `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "Snapshot name '{}' is not allowed: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'",
            name.chars().take(80).collect::<String>()
        )))
    }
}

async fn tenant_of(state: &Shared, tenant: &str) -> Result<(store::Tenant, engine::TenantId)> {
    let missing = || ServiceError::not_found(format!("No tenant '{tenant}'"));
    let found = state.store.tenant(tenant).await?.ok_or_else(missing)?;
    let id = engine::TenantId::parse(&found.id).map_err(|_| missing())?;
    Ok((found, id))
}

/// Every cached answer of the tenant dropped (its state just changed
/// under the caches).
fn forget_caches(state: &Shared, tenant: &str) {
    state.list_cache.forget(tenant);
    state.store_products.forget(tenant);
    state.store_results.forget_tenant(tenant);
    state.scheduler.wake();
}

pub async fn save(state: &Shared, tenant: &str, name: &str) -> Result<SnapshotInfo> {
    check_name(name)?;
    let (tenant, id) = tenant_of(state, tenant).await?;
    let data = state.engine.store();
    if data.snapshot_rows(&id, name).await?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "Tenant '{}' already has a snapshot '{name}'; pick another name",
            tenant.id
        )));
    }
    let rows = state.store.tenant_rows(&tenant.id).await?;
    let file = SnapshotFile {
        name: name.to_string(),
        created: state.clock.now(),
        rows,
    };
    let bytes = serde_json::to_vec(&file).map_err(ServiceError::internal)?;
    let objects = data.save_snapshot(&id, name, bytes).await?;
    tracing::info!(tenant = %tenant.id, snapshot = name, objects, "snapshot saved");
    Ok(info(file, Some(objects)))
}

fn info(file: SnapshotFile, objects: Option<usize>) -> SnapshotInfo {
    SnapshotInfo {
        name: file.name,
        created: file.created,
        queries: file.rows.queries.len(),
        reports: file.rows.reports.len(),
        executions: file.rows.executions.len(),
        objects,
    }
}

async fn read(state: &Shared, id: &engine::TenantId, name: &str) -> Result<SnapshotFile> {
    let bytes = state
        .engine
        .store()
        .snapshot_rows(id, name)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("No snapshot '{name}'")))?;
    serde_json::from_slice(&bytes).map_err(ServiceError::internal)
}

pub async fn restore(state: &Shared, tenant: &str, name: &str) -> Result<SnapshotInfo> {
    check_name(name)?;
    let (tenant, id) = tenant_of(state, tenant).await?;
    let file = read(state, &id, name).await?;
    let objects = state.engine.store().restore_snapshot(&id, name).await?;
    state
        .store
        .replace_tenant_rows(&tenant.id, &file.rows)
        .await?;
    forget_caches(state, &tenant.id);
    tracing::info!(tenant = %tenant.id, snapshot = name, objects, "snapshot restored");
    Ok(info(file, Some(objects)))
}

pub async fn list(state: &Shared, tenant: &str) -> Result<Vec<SnapshotInfo>> {
    let (_, id) = tenant_of(state, tenant).await?;
    let mut out = Vec::new();
    for (name, _) in state.engine.store().snapshots(&id).await? {
        out.push(info(read(state, &id, &name).await?, None));
    }
    Ok(out)
}

/// Empties the tenant's queries, reports, executions, deliveries and
/// objects; the demo tenant gets its demo data again.
pub async fn reset(state: &Shared, tenant: &str) -> Result<()> {
    let (tenant, id) = tenant_of(state, tenant).await?;
    state
        .store
        .replace_tenant_rows(&tenant.id, &TenantRows::default())
        .await?;
    state.engine.store().delete_tenant_objects(&id).await?;
    if tenant
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(crate::demo::DEMO_DOMAIN))
    {
        // The generators' futures are not Send: a blocking thread drives
        // them on the query runtime.
        let (state2, id, queries) = (
            std::sync::Arc::clone(state),
            tenant.id.clone(),
            state.queries.clone(),
        );
        tokio::task::spawn_blocking(move || queries.block_on(crate::demo::seed(&state2, &id)))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
    }
    forget_caches(state, &tenant.id);
    tracing::info!(tenant = %tenant.id, "tenant reset");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["baseline", "run-2026.12.02_a"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "../x", &"x".repeat(65)] {
            let e = check_name(bad).unwrap_err().to_string();
            assert!(e.contains("letters, digits"), "{bad}: {e}");
        }
    }
}
