//! The demo tenant created on first start of an empty data dir: a tenant,
//! an app allowed on both APIs, a user, generated data for every dataset,
//! and `demo-credentials.json` (mode 0600) with everything a script needs.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use query::Catalog;

use crate::Shared;
use crate::service::identity::{self, AppSpec};

/// The demo tenant's domain name (also accepted in token URLs).
pub const DEMO_DOMAIN: &str = "demo.openinsights.test";
const DEMO_SEED: u64 = 1;

/// Creates the demo tenant when the store has no tenant yet.
pub async fn create_if_empty(state: &Shared) -> anyhow::Result<bool> {
    if !state.store.tenants().await?.is_empty() {
        return Ok(false);
    }
    let now = state.wall.now();
    let tenant = identity::create_tenant(
        &state.store,
        None,
        "Demo tenant",
        &[DEMO_DOMAIN.into()],
        now,
    )
    .await?;
    let roles: Vec<String> = ["ExecutiveReportViewer", "Manager"]
        .map(String::from)
        .to_vec();
    let (app, secret) = identity::create_app(
        &state.store,
        &tenant.id,
        &AppSpec {
            name: "Demo app".into(),
            roles: roles.clone(),
            apis: vec!["insights".into(), "store".into()],
            ..AppSpec::default()
        },
        now,
    )
    .await?;
    let username = format!("demo@{DEMO_DOMAIN}");
    let (_, password) =
        identity::create_user(&state.store, &tenant.id, &username, None, &roles, now).await?;
    seed(state, &tenant.id).await?;
    let base = &state.public_url;
    let credentials = serde_json::json!({
        "baseUrl": base,
        "tenantId": tenant.id,
        "tokenUrl": format!("{base}/{}/oauth2/token", tenant.id),
        "clientId": app.client_id,
        "clientSecret": secret.as_ref().map(|s| s.expose()),
        "username": username,
        "password": password.as_ref().map(|p| p.expose()),
        "insightsResource": state.tokens.config.insights_audience,
        "storeResource": state.tokens.config.store_audience,
        "storeApplicationIds": engine::store_demo::application_ids(),
    });
    write_private(
        &state.config.data_dir.join("demo-credentials.json"),
        &serde_json::to_vec_pretty(&credentials)?,
    )?;
    tracing::info!(tenant = %tenant.id, "created the demo tenant");
    Ok(true)
}

async fn seed(state: &Shared, tenant: &str) -> anyhow::Result<()> {
    let tenant = engine::TenantId::parse(tenant)?;
    let today = state.clock.today();
    let through = today
        .checked_sub_months(chrono::Months::new(1))
        .context("the current date is out of range")?;
    let rows = state.config.demo_rows;
    let universe = Arc::new(engine::generate::Universe::new(DEMO_SEED, rows, through));
    for d in query::builtin().datasets() {
        engine::generate::seed_dataset(
            state.engine.store(),
            &universe,
            d,
            &tenant,
            DEMO_SEED,
            rows,
        )
        .await
        .with_context(|| format!("generating demo data for {}", d.name))?;
    }
    engine::store_demo::seed(state.engine.store(), &tenant, DEMO_SEED, today)
        .await
        .context("generating the Store analytics demo data")?;
    Ok(())
}

/// Writes a file readable by its owner only (created with mode 0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
