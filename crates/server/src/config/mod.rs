//! One typed configuration, layered in one function: built-in defaults <
//! the TOML config file < `OPENINSIGHTS__SECTION__KEY` environment
//! variables < command-line flags (passed in as overrides by the CLI).
//! Nothing else in the server reads the environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod load;

pub use load::{ConfigError, ENV_PREFIX};

/// The server's settings. Field names are the config file's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where everything lives: `metadata.db`, `data/`, `reports/`,
    /// `demo-credentials.json`, `admin-token`.
    pub data_dir: PathBuf,
    /// `host:port`; port 0 picks a free port.
    pub listen: String,
    /// What links and token issuers say; defaults to the listen address.
    pub public_url: Option<String>,
    /// `postgres://...` for PostgreSQL; default SQLite in the data dir.
    pub database_url: Option<String>,
    /// Create the demo tenant on first start of an empty data dir.
    pub demo: bool,
    /// Rows per dataset generated for the demo tenant.
    pub demo_rows: u64,
    /// How far ahead a report's StartTime must be (`4h`, `0s`, ...).
    pub min_start_lead: String,
    /// The service clock runs this many times faster than wall time.
    pub clock_rate: f64,
    /// Where the service clock starts (RFC 3339); default: the wall time at
    /// start-up. Pins "today" for the demo data, the Store API's default
    /// dates and every schedule.
    pub clock_start: Option<String>,
    /// A clock handed in by an embedding program (tests use a manual one);
    /// overrides `clock_rate` and `clock_start`.
    #[serde(skip)]
    pub clock: Option<clock::Clock>,
    /// Seconds between SIGTERM (when `/readyz` starts failing) and closing
    /// the listener: at least the load balancer's time to notice (two
    /// health-check intervals). 0 for a single process.
    pub drain_secs: u64,
    pub tokens: TokensConfig,
    pub external_issuer: Option<ExternalIssuerConfig>,
    pub rate_limit: RateLimitConfig,
    pub callbacks: CallbacksConfig,
    pub reports: ReportsConfig,
    pub store_api: StoreApiConfig,
    pub admin: AdminConfig,
    pub limits: LimitsConfig,
    pub storage: StorageConfig,
    pub metrics: MetricsConfig,
    pub journal: JournalConfig,
    /// Fault rules active from start-up (`[[faults]]`, the admin API's
    /// rule shape).
    pub faults: Vec<crate::faults::RuleSpec>,
    pub log: LogConfig,
}

/// Where the bytes live (tenant data, rollups, report files, CAB files):
/// the data directory by default, or an S3-compatible bucket. Credentials
/// and a default region come from the usual `AWS_*` variables.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub s3_bucket: Option<String>,
    /// For servers other than AWS (`http://127.0.0.1:9000`).
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    /// Static keys (an S3-compatible server's); prefer the `AWS_*`
    /// variables or an instance role. Never printed.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .finish_non_exhaustive()
    }
}

impl StorageConfig {
    /// The object store these settings name (`data_dir` when no bucket).
    pub fn open(&self, data_dir: &Path) -> Result<engine::DataStore, engine::EngineError> {
        match &self.s3_bucket {
            None => engine::DataStore::local(data_dir),
            Some(bucket) => engine::DataStore::s3(&engine::S3Config {
                bucket: bucket.clone(),
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                access_key_id: self.s3_access_key_id.clone(),
                secret_access_key: self.s3_secret_access_key.clone(),
            }),
        }
    }

    /// What the store is, for logs: `s3://bucket` or the directory.
    pub fn describe(&self, data_dir: &Path) -> String {
        match &self.s3_bucket {
            Some(bucket) => format!("s3://{bucket}"),
            None => data_dir.display().to_string(),
        }
    }
}

/// The request journal (`GET /admin/v1/tenants/{tenant}/journal`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Calls kept per tenant (the oldest go first); 0 turns it off.
    pub per_tenant: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { per_tenant: 10_000 }
    }
}

/// Who may read `GET /metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricsAccess {
    /// Callers on a loopback address without a credential; others with
    /// the admin credential.
    #[default]
    Loopback,
    /// Anyone (a private network where the scraper has no credential).
    Public,
    /// The admin credential only.
    Admin,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub access: MetricsAccess,
}

/// Bounds on what callers can make the server spend (docs/security.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Argon2 credential checks running at once (19 MiB each); 0 = one per
    /// CPU. Further token requests wait up to `hash_wait_ms`, then get 503.
    pub hash_concurrency: usize,
    pub hash_wait_ms: u64,
    /// Seconds a client has to send a request's headers (slowloris); also
    /// how long a keep-alive connection may sit idle between requests.
    pub header_read_timeout_secs: u64,
    /// Connections served at once; further ones wait in the OS backlog.
    pub max_connections: usize,
    /// MiB of cached query lists at most (the SQLite default only).
    pub list_cache_mb: usize,
    /// MiB a query may use while it runs (sorts and aggregations spill or
    /// fail naming the limit beyond it); 0 = no limit.
    pub query_memory_mb: usize,
    /// MiB one data upload may have (after gzip decompression); it is
    /// spooled to `<data_dir>/uploads`, so this bounds disk, not memory.
    pub max_upload_mb: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            hash_concurrency: 0,
            hash_wait_ms: 2000,
            header_read_timeout_secs: 10,
            max_connections: 1024,
            list_cache_mb: 64,
            query_memory_mb: 1024,
            max_upload_mb: 16 * 1024,
        }
    }
}

impl LimitsConfig {
    /// The Argon2 concurrency: the setting, or the CPU count.
    pub fn hash_permits(&self) -> usize {
        if self.hash_concurrency > 0 {
            self.hash_concurrency
        } else {
            std::thread::available_parallelism().map_or(2, usize::from)
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokensConfig {
    /// The built-in token service; may be switched off when an external
    /// issuer is configured.
    pub builtin: bool,
    /// Access token lifetime in seconds.
    pub lifetime_secs: i64,
    /// Refresh token lifetime in days.
    pub refresh_lifetime_days: i64,
    pub insights_audience: String,
    pub store_audience: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuerConfig {
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` names
    /// the JWKS.
    pub issuer: String,
    /// Audiences accepted for the Insights API (default: the configured
    /// Insights audience).
    #[serde(default)]
    pub insights_audiences: Vec<String>,
    /// Audiences accepted for the Store analytics API.
    #[serde(default)]
    pub store_audiences: Vec<String>,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Group id → roles granted to its members.
    #[serde(default)]
    pub group_roles: HashMap<String, Vec<String>>,
    /// Seconds between JWKS refetches on an unknown `kid` (at most once a
    /// minute by default).
    #[serde(default = "default_refresh_secs")]
    pub min_refresh_secs: u64,
}

fn default_refresh_secs() -> u64 {
    60
}

fn default_tenant_claim() -> String {
    "tid".into()
}
fn default_roles_claim() -> String {
    "roles".into()
}
fn default_groups_claim() -> String {
    "groups".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Calls a tenant may make at once.
    pub burst: u32,
    /// Sustained calls per second per tenant.
    pub per_second: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbacksConfig {
    /// Allow callbacks to loopback and private addresses (local testing).
    pub allow_private: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// Hours a download link stays valid after the file was generated.
    pub link_expiry_hours: i64,
    /// Send downloads gzip-compressed even without `Accept-Encoding: gzip`.
    pub always_gzip: bool,
    /// Start report files with a UTF-8 byte order mark.
    pub bom: bool,
    /// Attempts before an execution is Failed.
    pub max_attempts: i64,
    /// Executions run at the same time by this process.
    pub workers: usize,
    /// Seconds a worker's claim lasts without renewal.
    pub lease_secs: u64,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            link_expiry_hours: 24,
            always_gzip: false,
            bom: false,
            max_attempts: 3,
            workers: 2,
            lease_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreApiConfig {
    /// `@nextLink` as an absolute URL instead of relative to
    /// `/v1.0/my/analytics/` (the documented form).
    pub absolute_next_links: bool,
    /// Memory for cached answers (MiB); 0 turns the cache off.
    pub result_cache_mb: usize,
}

impl Default for StoreApiConfig {
    fn default() -> Self {
        StoreApiConfig {
            absolute_next_links: false,
            result_cache_mb: 256,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The admin API credential. When absent, one is generated on first
    /// start and written to `<data_dir>/admin-token` (mode 0600); only its
    /// SHA-256 fingerprint is stored.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `server=debug`.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./openinsights-data"),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: None,
            demo: true,
            demo_rows: 2000,
            min_start_lead: "4h".into(),
            clock_rate: 1.0,
            clock_start: None,
            clock: None,
            drain_secs: 0,
            tokens: TokensConfig::default(),
            external_issuer: None,
            rate_limit: RateLimitConfig::default(),
            callbacks: CallbacksConfig::default(),
            reports: ReportsConfig::default(),
            store_api: StoreApiConfig::default(),
            admin: AdminConfig::default(),
            limits: LimitsConfig::default(),
            storage: StorageConfig::default(),
            metrics: MetricsConfig::default(),
            journal: JournalConfig::default(),
            faults: Vec::new(),
            log: LogConfig::default(),
        }
    }
}

impl Config {
    /// The service clock these settings describe.
    pub fn service_clock(&self) -> Result<clock::Clock, ConfigError> {
        if let Some(c) = &self.clock {
            return Ok(c.clone());
        }
        let start = match &self.clock_start {
            None => return Ok(clock::Clock::scaled(self.clock_rate)),
            Some(text) => chrono::DateTime::parse_from_rfc3339(text.trim())
                .map_err(|e| {
                    ConfigError::Invalid(format!(
                        "clock_start must be an RFC 3339 instant such as 2026-12-02T10:00:00Z, not '{text}': {e}"
                    ))
                })?
                .with_timezone(&chrono::Utc),
        };
        Ok(clock::Clock::starting_at(start, self.clock_rate))
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            builtin: true,
            lifetime_secs: 3600,
            refresh_lifetime_days: 14,
            insights_audience: auth::Api::Insights.public_resource().into(),
            store_audience: auth::Api::StoreAnalytics.public_resource().into(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            burst: 10,
            per_second: 20.0,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}
