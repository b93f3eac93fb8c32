//! Start-up and shutdown: open (and migrate) the metadata store, the data
//! store and the engine, load or create the signing keys and the admin
//! credential, create the demo tenant on first start, bind the listener,
//! and serve until asked to stop (graceful: in-flight requests finish).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::{Shared, State};

/// The settings row with the admin credential's SHA-256 fingerprint.
const ADMIN_SETTING: &str = "admin_token_sha256";
/// The settings row with the key that signs download links and callbacks.
const LINK_KEY_SETTING: &str = "link_key";

/// The link-signing key, created on first start (shared by replicas).
async fn link_key(store: &store::Store, wall: &clock::Clock) -> anyhow::Result<[u8; 32]> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let stored = store
        .init_setting(LINK_KEY_SETTING, &hex::encode(fresh), wall.now())
        .await?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(stored.trim(), &mut key).context("the stored link key is corrupt")?;
    Ok(key)
}

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The public base URL (what links and issuers say).
    pub url: String,
    pub state: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Stops the scheduler workers and the callback sender.
    background: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    /// Where report queries run, apart from the request-serving threads.
    queries: QueryRuntime,
}

/// The runtime report queries run on. Dropped without blocking (it may
/// be dropped inside the serving runtime).
struct QueryRuntime(Option<tokio::runtime::Runtime>);

impl QueryRuntime {
    fn new() -> anyhow::Result<QueryRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, usize::from))
            .thread_name("openinsights-query")
            .enable_all()
            .build()
            .context("starting the query runtime")?;
        Ok(QueryRuntime(Some(runtime)))
    }

    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, closes the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (after [`RunningServer::shutdown`] or
    /// a failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.task.await.context("the server task failed");
        // Background work stops after the listener: a running execution
        // finishes (or, if the process is killed, is re-run after its lease).
        let _ = self.background.send(true);
        for w in self.workers {
            let _ = w.await;
        }
        drop(self.queries);
        self.state.store.close().await;
        served??;
        Ok(())
    }

    /// A handle that stops the server when sent to (for signal handlers).
    pub fn stopper(&mut self) -> Option<oneshot::Sender<()>> {
        self.stop.take()
    }
}

/// Installs the log subscriber (text or JSON lines on stderr).
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The metadata store the configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<store::Store> {
    crate::private_files::private_dir(&config.data_dir)?;
    let store = match &config.database_url {
        Some(url) => store::Store::connect(url).await,
        None => {
            let db = config.data_dir.join("metadata.db");
            crate::private_files::private_sqlite(&db)?;
            store::Store::open_sqlite(&db).await
        }
    }
    .context("opening the metadata store")?;
    Ok(store)
}

async fn admin_hash(
    config: &Config,
    store: &store::Store,
    wall: &clock::Clock,
) -> anyhow::Result<[u8; 32]> {
    if let Some(token) = &config.admin.token {
        return Ok(crate::admin::fingerprint(token));
    }
    let stored = match store.setting(ADMIN_SETTING).await? {
        Some(hex_hash) => hex_hash,
        None => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            let hash = hex::encode(crate::admin::fingerprint(&token));
            let kept = store.init_setting(ADMIN_SETTING, &hash, wall.now()).await?;
            if kept == hash {
                crate::private_files::write_private(
                    &config.data_dir.join("admin-token"),
                    token.as_bytes(),
                )?;
            }
            kept
        }
    };
    let mut out = [0u8; 32];
    hex::decode_to_slice(stored.trim(), &mut out)
        .context("the stored admin credential fingerprint is corrupt")?;
    Ok(out)
}

/// The router with every API.
pub fn router(state: Shared) -> Router {
    let insights = crate::insights::routes().route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        crate::http::insights_auth,
    ));
    let store_api = crate::store_api::routes().route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        crate::store_api::store_auth,
    ));
    Router::new()
        .merge(insights)
        .merge(store_api)
        .merge(crate::store_api::public_routes())
        .merge(crate::token_routes::routes())
        .merge(crate::downloads::routes())
        .merge(crate::openapi::routes())
        .merge(crate::admin::routes(Arc::clone(&state)))
        .merge(crate::ops::routes())
        .merge(crate::console::routes(&state))
        .fallback(crate::http::not_found)
        .method_not_allowed_fallback(|| async {
            crate::error::ApiError::new(
                crate::error::ErrorCode::MethodNotAllowed,
                "This method is not allowed on this path",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::http::measure,
        ))
        .layer(axum::middleware::from_fn(crate::http::correlate))
        .with_state(state)
}

/// Follows moves of the service clock made by other replicas.
async fn follow_clock(state: Shared, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(crate::cluster::POLL) => {}
            _ = stop.changed() => return,
        }
        state.clock_sync.poll(&state.store, &state.clock).await;
    }
}

/// Starts a server; returns once it accepts connections.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let began = std::time::Instant::now();
    let store = open_store(&config).await?;
    let opened = began.elapsed();
    // Uploads a previous run was spooling when it stopped are of no use.
    let _ = std::fs::remove_dir_all(config.data_dir.join("uploads"));
    let data = config.storage.open(&config.data_dir).with_context(|| {
        format!(
            "opening the object store {}",
            config.storage.describe(&config.data_dir)
        )
    })?;
    let engine = engine::Engine::with_memory_limit_mb(data, config.limits.query_memory_mb)
        .context("starting the query engine")?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let wall = clock::Clock::wall();
    let tokens = crate::service::tokens::Tokens::new(
        store.clone(),
        config.tokens.clone(),
        &public_url,
        config.external_issuer.clone(),
        wall.clone(),
    )
    .await
    .context("loading the signing keys")?;
    let keyed = began.elapsed();
    let admin_hash = admin_hash(&config, &store, &wall).await?;
    let min_start_lead = chrono::Duration::from_std(config.min_start_lead()?)
        .context("min_start_lead is too long")?;
    let (clock, clock_sync) = crate::cluster::service_clock(&config, &store, &wall).await?;
    let deliveries = Arc::new(tokio::sync::Notify::new());
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let faults = {
        let counted = Arc::clone(&metrics);
        Arc::new(
            crate::faults::Faults::from_specs(&config.faults)
                .map_err(|e| anyhow::anyhow!("invalid fault rule: {e}"))?
                .on_fire(move |api| counted.fault(api.name())),
        )
    };
    let scheduler = {
        let r = &config.reports;
        let notify = Arc::clone(&deliveries);
        Arc::new(
            scheduler::Scheduler::new(
                store.clone(),
                engine.clone(),
                clock.clone(),
                scheduler::SchedulerConfig {
                    lease: std::time::Duration::from_secs(r.lease_secs.max(1)),
                    max_attempts: r.max_attempts.max(1),
                    link_expiry: chrono::Duration::hours(r.link_expiry_hours.max(1)),
                    bom: r.bom,
                    workers: r.workers.max(1),
                    ..scheduler::SchedulerConfig::default()
                },
            )
            .on_finish(move || notify.notify_waiters())
            .observe(Arc::clone(&metrics) as Arc<dyn scheduler::Observer>)
            .inject(Arc::clone(&faults) as Arc<dyn scheduler::Injector>),
        )
    };
    let link_key = link_key(&store, &wall).await?;
    let queries = QueryRuntime::new()?;
    let state = Arc::new(State {
        queries: queries
            .handle()
            .cloned()
            .unwrap_or_else(tokio::runtime::Handle::current),
        clock,
        wall,
        scheduler: Arc::clone(&scheduler),
        link_key,
        deliveries,
        rate: crate::ratelimit::RateLimiter::new(
            config.rate_limit.burst,
            config.rate_limit.per_second,
        ),
        failures: auth::FailureLimiter::new(),
        hashing: crate::hashpool::HashPool::new(config.limits.hash_permits()),
        list_cache: crate::listcache::ListCache::new(
            store.backend() == store::Backend::Sqlite,
            config.limits.list_cache_mb.saturating_mul(1 << 20),
        ),
        min_start_lead,
        public_url: public_url.clone(),
        admin_hash,
        store_products: crate::store_api::ProductCache::default(),
        store_results: crate::store_api::ResultCache::new(
            config.store_api.result_cache_mb.saturating_mul(1 << 20),
        ),
        metrics,
        draining: std::sync::atomic::AtomicBool::new(false),
        clock_sync,
        journal: crate::journal::Journal::new(config.journal.per_tenant),
        faults: Arc::clone(&faults),
        tokens,
        engine,
        store,
        config,
    });
    let before_demo = began.elapsed();
    if state.config.demo {
        crate::demo::create_if_empty(&state)
            .await
            .context("creating the demo tenant")?;
    }
    tracing::info!(
        total_ms = began.elapsed().as_millis() as u64,
        metadata_store_ms = opened.as_millis() as u64,
        signing_keys_ms = (keyed - opened).as_millis() as u64,
        demo_ms = (began.elapsed() - before_demo).as_millis() as u64,
        "started"
    );
    let (background, stopped_bg) = watch::channel(false);
    let mut workers = match queries.handle() {
        Some(handle) => scheduler.spawn_on(handle, stopped_bg.clone()),
        None => scheduler.spawn(stopped_bg.clone()),
    };
    workers.push(tokio::spawn(crate::callbacks::run(
        Arc::clone(&state),
        stopped_bg.clone(),
    )));
    workers.push(tokio::spawn(follow_clock(Arc::clone(&state), stopped_bg)));
    let app = router(Arc::clone(&state));
    let app = tower::ServiceExt::<Request>::map_request(app, crate::http::normalize);
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = state.config.limits.clone();
    let task = tokio::spawn(async move {
        crate::serve::serve(listener, app, &limits, async {
            let _ = stopped.await;
        })
        .await
    });
    Ok(RunningServer {
        addr,
        url: public_url,
        state,
        stop: Some(stop),
        task,
        background,
        workers,
        queries,
    })
}
