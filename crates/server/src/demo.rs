//! The demo tenant created on first start of an empty data dir: a tenant,
//! an app allowed on both APIs, a user, generated data for every dataset,
//! and `demo-credentials.json` (mode 0600) with everything a script needs.

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
    // Replicas starting together on an empty database race here; the demo
    // domain is unique, so exactly one creates the tenant (and writes
    // demo-credentials.json) and the others stand back.
    let tenant = match identity::create_tenant(
        &state.store,
        None,
        "Demo tenant",
        &[DEMO_DOMAIN.into()],
        now,
    )
    .await
    {
        Ok(tenant) => tenant,
        Err(
            crate::service::ServiceError::Conflict(_)
            | crate::service::ServiceError::Store(store::StoreError::Conflict { .. }),
        ) => {
            tracing::info!("another replica is creating the demo tenant");
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    let roles: Vec<String> = [auth::Role::ExecutiveReportViewer, auth::Role::Manager]
        .map(|r| r.name().to_string())
        .to_vec();
    let (app, secret) = identity::create_app(
        &state.store,
        &tenant.id,
        &AppSpec {
            name: "Demo app".into(),
            roles: roles.clone(),
            apis: auth::Api::ALL.map(|a| a.name().to_string()).to_vec(),
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
    let credentials = proto::admin::DemoCredentials {
        base_url: base.clone(),
        tenant_id: tenant.id.clone(),
        token_url: format!("{base}/{}/oauth2/token", tenant.id),
        client_id: app.client_id.clone(),
        client_secret: secret.as_ref().map(|s| s.expose().to_string()),
        username,
        password: password.as_ref().map(|p| p.expose().to_string()),
        insights_resource: state.tokens.config.insights_audience.clone(),
        store_resource: state.tokens.config.store_audience.clone(),
        store_application_ids: engine::store_demo::application_ids()
            .into_iter()
            .map(String::from)
            .collect(),
        console_url: crate::console::url(base),
    };
    crate::private_files::write_private(
        &state.config.data_dir.join("demo-credentials.json"),
        &serde_json::to_vec_pretty(&credentials)?,
    )?;
    tracing::info!(tenant = %tenant.id, "created the demo tenant");
    Ok(true)
}

pub(crate) async fn seed(state: &Shared, tenant: &str) -> anyhow::Result<()> {
    let tenant = engine::TenantId::parse(tenant)?;
    let today = state.clock.today();
    let through = today
        .checked_sub_months(chrono::Months::new(1))
        .context("the current date is out of range")?;
    let rows = state.config.demo_rows;
    let began = std::time::Instant::now();
    let universe = Arc::new(engine::generate::Universe::new(DEMO_SEED, rows, through));
    // The Insights datasets and the Store publisher are independent: both
    // are written at once (each spends most of its time creating files).
    let insights = async {
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
        anyhow::Ok(began.elapsed())
    };
    let store = async {
        engine::store_demo::seed(state.engine.store(), &tenant, DEMO_SEED, today)
            .await
            .context("generating the Store analytics demo data")?;
        anyhow::Ok(began.elapsed())
    };
    let (insights, store) = tokio::try_join!(insights, store)?;
    tracing::info!(
        insights_ms = insights.as_millis() as u64,
        store_ms = store.as_millis() as u64,
        "seeded the demo data"
    );
    Ok(())
}
