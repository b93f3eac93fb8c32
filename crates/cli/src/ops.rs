//! `serve` and the identity commands (`tenant`, `app`, `user`, `keys`).
//! They read the same configuration as the server (flags > environment >
//! config file > defaults) and work on the metadata store directly, so they
//! are safe while a server runs on the same data dir (SQLite WAL with a
//! busy timeout, or PostgreSQL).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use clap::{Args, Subcommand};
use proto::admin::{DeletedItem, NewAppItem, NewUserItem, RotatedKeyItem};
use server::Config;
use server::service::identity::{self, AppSpec};

/// Where the server's state lives: the flags every server-side command takes.
#[derive(Args, Debug, Clone)]
pub struct ServerDir {
    /// The data directory (default ./openinsights-data).
    #[arg(long, env = "OPENINSIGHTS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// A TOML config file; `OPENINSIGHTS__SECTION__KEY` variables override it.
    #[arg(long, env = "OPENINSIGHTS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// `postgres://...` to keep metadata in PostgreSQL instead of SQLite.
    #[arg(long, env = "OPENINSIGHTS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Keep the bytes (tenant data, report and CAB files) in this
    /// S3-compatible bucket instead of the data directory (credentials and
    /// region from the AWS_* variables).
    #[arg(long, env = "OPENINSIGHTS_S3_BUCKET", global = true)]
    pub s3_bucket: Option<String>,
    /// The S3 endpoint, for servers other than AWS (`http://127.0.0.1:9000`).
    #[arg(long, env = "OPENINSIGHTS_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub dir: ServerDir,
    /// Address to listen on; port 0 picks a free port (default 127.0.0.1:8080).
    #[arg(long, env = "OPENINSIGHTS_LISTEN")]
    pub listen: Option<String>,
    /// The URL clients use to reach this server (links, token issuers).
    #[arg(long, env = "OPENINSIGHTS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Do not create the demo tenant on first start.
    #[arg(long)]
    pub no_demo: bool,
    /// Rows per dataset generated for the demo tenant.
    #[arg(long)]
    pub demo_rows: Option<u64>,
    /// How far ahead a report's StartTime must be (default 4h; 0s allowed).
    #[arg(long, value_name = "DURATION")]
    pub min_start_lead: Option<String>,
    /// Run the service clock R times faster than wall time.
    #[arg(long, value_name = "R")]
    pub clock_rate: Option<f64>,
    /// Start the service clock at this RFC 3339 instant (default: now).
    #[arg(long, value_name = "INSTANT")]
    pub clock_start: Option<String>,
    /// Allow callbacks to loopback and private addresses.
    #[arg(long)]
    pub allow_private_callbacks: bool,
}

fn load(
    dir: &ServerDir,
    mut overrides: Vec<(&'static str, toml::Value)>,
) -> anyhow::Result<Config> {
    if let Some(d) = &dir.data_dir {
        overrides.push(("data_dir", toml::Value::String(d.display().to_string())));
    }
    if let Some(url) = &dir.database_url {
        overrides.push(("database_url", toml::Value::String(url.clone())));
    }
    if let Some(bucket) = &dir.s3_bucket {
        overrides.push(("storage.s3_bucket", toml::Value::String(bucket.clone())));
    }
    if let Some(endpoint) = &dir.s3_endpoint {
        overrides.push(("storage.s3_endpoint", toml::Value::String(endpoint.clone())));
    }
    Ok(Config::load(
        dir.config.as_deref(),
        std::env::vars(),
        &overrides,
    )?)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut o: Vec<(&'static str, toml::Value)> = Vec::new();
    if let Some(v) = &args.listen {
        o.push(("listen", toml::Value::String(v.clone())));
    }
    if let Some(v) = &args.public_url {
        o.push(("public_url", toml::Value::String(v.clone())));
    }
    if args.no_demo {
        o.push(("demo", toml::Value::Boolean(false)));
    }
    if let Some(v) = args.demo_rows {
        o.push((
            "demo_rows",
            toml::Value::Integer(i64::try_from(v).unwrap_or(i64::MAX)),
        ));
    }
    if let Some(v) = &args.min_start_lead {
        o.push(("min_start_lead", toml::Value::String(v.clone())));
    }
    if let Some(v) = args.clock_rate {
        o.push(("clock_rate", toml::Value::Float(v)));
    }
    if let Some(v) = &args.clock_start {
        o.push(("clock_start", toml::Value::String(v.clone())));
    }
    if args.allow_private_callbacks {
        o.push(("callbacks.allow_private", toml::Value::Boolean(true)));
    }
    let config = load(&args.dir, o)?;
    server::startup::init_logging(&config);
    crate::data::runtime()?.block_on(async move {
        let mut running = server::start(config).await?;
        let mut out = std::io::stdout().lock();
        // One write: a reader that takes the first line and closes the
        // pipe must not make a second write fail (and the server stop).
        let ready = format!(
            "listening on {}\nconsole at {}\n",
            running.url,
            server::console::url(&running.state.public_url)
        );
        out.write_all(ready.as_bytes())?;
        out.flush()?;
        drop(out);
        let stop = running.stopper();
        let state = std::sync::Arc::clone(&running.state);
        tokio::spawn(async move {
            shutdown_signal().await;
            // Readiness fails first, so a load balancer stops sending new
            // requests; after the drain delay the listener closes, in-flight
            // requests and running executions finish, and the process ends.
            state
                .draining
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let drain = state.config.drain_secs;
            tracing::info!(
                drain_secs = drain,
                "shutting down: /readyz answers 503 from now on"
            );
            tokio::time::sleep(std::time::Duration::from_secs(drain)).await;
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
        });
        running.wait().await?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// The tenant id (default: a new UUID).
        #[arg(long)]
        id: Option<String>,
        /// A domain name that also names the tenant in token URLs (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// List tenants.
    List,
    /// Delete a tenant and everything it owns.
    Delete { id: String },
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Register an app; prints its client id and secret (shown once).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// ExecutiveReportViewer, ReportViewer, Manager or Developer (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// insights and/or store (repeatable; default both).
        #[arg(long = "api")]
        apis: Vec<String>,
        /// A public client: no secret (password and refresh grants only).
        #[arg(long)]
        public: bool,
        /// Days until the secret expires (default: never).
        #[arg(long)]
        secret_days: Option<i64>,
    },
    /// List a tenant's apps.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Delete an app; its tokens stop working at once.
    Delete {
        #[arg(long)]
        tenant: String,
        client_id: String,
    },
    /// Add a secret to an app (shown once).
    Secret {
        #[arg(long)]
        tenant: String,
        client_id: String,
        #[arg(long)]
        days: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input with
    /// --password-stdin, else generated and printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List a tenant's users.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Delete a user.
    Delete {
        #[arg(long)]
        tenant: String,
        username: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new signing key; older keys verify until their tokens expire.
    Rotate,
}

/// One identity command.
#[derive(Debug)]
pub enum Identity {
    Tenant(TenantCommand),
    App(AppCommand),
    User(UserCommand),
    Keys(KeysCommand),
}

fn api(e: server::service::ServiceError) -> anyhow::Error {
    anyhow::anyhow!(e.to_string())
}

fn print_json(items: &[serde_json::Value]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, items)?;
    writeln!(out)?;
    Ok(())
}

/// Items of one kind as JSON values, for [`print_json`].
fn items<T: serde::Serialize>(
    items: impl IntoIterator<Item = T>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).map_err(Into::into))
        .collect()
}

fn deleted(what: String) -> anyhow::Result<Vec<serde_json::Value>> {
    items([DeletedItem { deleted: what }])
}

pub fn identity(dir: &ServerDir, command: Identity) -> anyhow::Result<ExitCode> {
    let config = load(dir, Vec::new())?;
    crate::data::runtime()?.block_on(async move {
        let store = server::startup::open_store(&config).await?;
        let now = Utc::now();
        use server::admin::{app_item, new_secret_item, tenant_item, user_item};
        let answer: Vec<serde_json::Value> = match command {
            Identity::Tenant(TenantCommand::Create { name, id, domains }) => {
                let tenant = identity::create_tenant(&store, id.as_deref(), &name, &domains, now)
                    .await
                    .map_err(api)?;
                let data = config.storage.open(&config.data_dir)?;
                identity::clear_leftover_files(&data, &tenant)
                    .await
                    .map_err(api)?;
                items([tenant_item(&tenant)])?
            }
            Identity::Tenant(TenantCommand::List) => {
                items(store.tenants().await?.iter().map(tenant_item))?
            }
            Identity::Tenant(TenantCommand::Delete { id }) => {
                let data = config.storage.open(&config.data_dir)?;
                let (tenant, files) = identity::delete_tenant(&store, &data, &id)
                    .await
                    .map_err(api)?;
                eprintln!("Deleted tenant {} and {files} files.", tenant.id);
                deleted(tenant.id)?
            }
            Identity::App(AppCommand::Create {
                tenant,
                name,
                roles,
                apis,
                public,
                secret_days,
            }) => {
                let spec = AppSpec {
                    name,
                    client_id: None,
                    roles,
                    apis,
                    public,
                    secret_days,
                };
                let (app, secret) = identity::create_app(&store, &tenant, &spec, now)
                    .await
                    .map_err(api)?;
                eprintln!("The client secret is shown only now; store it safely.");
                items([NewAppItem {
                    app: app_item(&app),
                    client_secret: secret.map(|s| s.expose().to_string()),
                }])?
            }
            Identity::App(AppCommand::List { tenant }) => items(
                store
                    .apps(&tenant.to_lowercase())
                    .await?
                    .iter()
                    .map(app_item),
            )?,
            Identity::App(AppCommand::Delete { tenant, client_id }) => {
                if !store.delete_app(&tenant.to_lowercase(), &client_id).await? {
                    anyhow::bail!("app '{client_id}' not found in tenant '{tenant}'");
                }
                deleted(client_id)?
            }
            Identity::App(AppCommand::Secret {
                tenant,
                client_id,
                days,
            }) => {
                let (id, secret) = identity::add_secret(&store, &tenant, &client_id, days, now)
                    .await
                    .map_err(api)?;
                eprintln!("The client secret is shown only now; store it safely.");
                let expires = days.map(|d| now + chrono::Duration::days(d));
                items([new_secret_item(id, &client_id, &secret, expires)])?
            }
            Identity::User(UserCommand::Create {
                tenant,
                username,
                password_stdin,
                roles,
            }) => {
                let password = if password_stdin {
                    Some(auth::Secret::new(crate::client::read_line("password")?))
                } else {
                    None
                };
                let (user, generated) =
                    identity::create_user(&store, &tenant, &username, password, &roles, now)
                        .await
                        .map_err(api)?;
                if generated.is_some() {
                    eprintln!("The generated password is shown only now.");
                }
                items([NewUserItem {
                    user: user_item(&user),
                    password: generated.map(|p| p.expose().to_string()),
                }])?
            }
            Identity::User(UserCommand::List { tenant }) => items(
                store
                    .users(&tenant.to_lowercase())
                    .await?
                    .iter()
                    .map(user_item),
            )?,
            Identity::User(UserCommand::Delete { tenant, username }) => {
                if !store.delete_user(&tenant.to_lowercase(), &username).await? {
                    anyhow::bail!("user '{username}' not found in tenant '{tenant}'");
                }
                deleted(username)?
            }
            Identity::Keys(KeysCommand::Rotate) => {
                let kid = server::service::keys::rotate_keys(
                    &store,
                    now,
                    chrono::Duration::seconds(config.tokens.lifetime_secs),
                )
                .await?;
                items([RotatedKeyItem { kid }])?
            }
        };
        store.close().await;
        print_json(&answer)?;
        Ok(ExitCode::SUCCESS)
    })
}
