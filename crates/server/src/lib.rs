//! The openinsights HTTP server: the token service (`token_routes`), the
//! Insights API (`insights`), the admin API (`admin`), request plumbing
//! (`http`: correlation ids, panics, paths, authentication, rate limits),
//! configuration (`config`) and start-up (`startup`). The only crate that
//! knows HTTP; it turns domain types into `proto` wire types at the edge.

pub mod admin;
pub mod body;
pub mod callbacks;
pub mod clock_api;
pub mod cluster;
pub mod config;
pub mod console;
pub mod data_api;
pub mod demo;
pub mod downloads;
pub mod error;
pub mod faults;
pub mod faults_api;
pub mod hashpool;
pub mod http;
pub mod inject;
pub mod insights;
pub mod journal;
pub mod journal_api;
pub mod listcache;
pub mod metrics;
pub mod netguard;
pub mod openapi;
pub mod ops;
pub mod private_files;
pub mod ratelimit;
pub mod serve;
pub mod service;
pub mod snapshots_api;
pub mod startup;
pub mod store_api;
pub mod token_routes;

use std::sync::Arc;

pub use config::Config;
pub use startup::{RunningServer, start};

/// Everything a handler may use; shared by every request.
pub struct State {
    pub config: Config,
    pub store: store::Store,
    pub engine: engine::Engine,
    /// The runtime queries run on, apart from the threads serving requests.
    pub queries: tokio::runtime::Handle,
    pub tokens: service::tokens::Tokens,
    /// The service clock: everything about reports, links, the Store API's
    /// dates and the demo data. Tokens run on wall time (`tokens`).
    pub clock: clock::Clock,
    /// Wall time: tokens, secrets, identities, leases and throttling.
    pub wall: clock::Clock,
    pub scheduler: Arc<scheduler::Scheduler>,
    /// Signs download links and (per tenant) callbacks.
    pub link_key: [u8; 32],
    /// Wakes the callback sender.
    pub deliveries: Arc<tokio::sync::Notify>,
    pub min_start_lead: chrono::Duration,
    /// The public base URL, no trailing slash.
    pub public_url: String,
    pub failures: auth::FailureLimiter,
    /// Permits for Argon2 credential checks (`limits.hash_concurrency`).
    pub hashing: hashpool::HashPool,
    pub list_cache: listcache::ListCache,
    pub rate: ratelimit::RateLimiter,
    /// SHA-256 of the admin credential.
    pub admin_hash: [u8; 32],
    /// Each tenant's Store products, kept for a few seconds.
    pub store_products: store_api::ProductCache,
    /// Store API answers by query and data version.
    pub store_results: store_api::ResultCache,
    /// What `/metrics` shows.
    pub metrics: Arc<metrics::Metrics>,
    /// Set when the process is asked to stop: `/readyz` fails from then on,
    /// so a load balancer stops sending before the listener closes.
    pub draining: std::sync::atomic::AtomicBool,
    /// The shared anchor of `clock` (moves, and following other replicas').
    pub clock_sync: cluster::ClockSync,
    /// The last calls of each tenant (`journal.per_tenant`).
    pub journal: journal::Journal,
    /// Injected faults (`[[faults]]`, `/admin/v1/faults`).
    pub faults: faults::SharedFaults,
}

impl State {
    /// Runs a query's future on the query runtime and waits for it there:
    /// a heavy preview or Store answer never holds a request thread. The
    /// query stops when the caller stops waiting (a timeout, a dropped
    /// request).
    /// `kind` names the query in `openinsights_query_duration_seconds`.
    pub async fn on_query_runtime<T: Send + 'static>(
        &self,
        kind: &'static str,
        work: impl std::future::Future<Output = Result<T, engine::EngineError>> + Send + 'static,
    ) -> Result<T, engine::EngineError> {
        /// Aborts the task when dropped before it finished.
        struct AbortOnDrop(tokio::task::AbortHandle);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let started = std::time::Instant::now();
        let task = self.queries.spawn(work);
        let _abort = AbortOnDrop(task.abort_handle());
        let result = match task.await {
            Ok(result) => result,
            Err(e) => Err(engine::EngineError::Interrupted(e.to_string())),
        };
        self.metrics.query(kind, started.elapsed());
        result
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

pub type Shared = Arc<State>;
