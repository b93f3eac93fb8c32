//! The metadata store: tenants, apps, users, signing keys and settings
//! (`identity`), saved queries, reports and executions (`reports`), kept in
//! SQLite (embedded default, WAL) or PostgreSQL through sqlx's `Any` driver,
//! so one body of repository code and one test suite serve both. This is
//! the only crate that contains SQL; every value reaches it as a bound
//! parameter, never as SQL text.

pub mod executions;
pub mod identity;
pub mod refresh_tokens;
pub mod reports;
pub mod scheduling;
pub mod settings;
pub mod snapshot;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use executions::{Execution, ExecutionFilter, ExecutionStatus, NewExecution};
pub use identity::{App, AppSecret, NewApp, Tenant, User};
pub use refresh_tokens::RefreshToken;
pub use reports::{CallbackMethod, Report, ReportFormat, ReportStatus, StoredQuery};
pub use scheduling::{Delivery, NewDelivery, Outcome};

/// What can go wrong in the store. Messages are safe to show operators;
/// the server maps `NotFound`/`Conflict` to 404/409 and the rest to 503/500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what}")]
    Conflict { what: String },
    #[error("the metadata database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("the metadata database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict {
                what: "an entry with this id or name already exists".into(),
            };
        }
        StoreError::Unavailable(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the metadata database, migrated.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Connects to `url` (`sqlite://path` — created when missing — or
    /// `postgres://...`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Corrupt(format!(
                "unsupported database URL '{}': use sqlite://PATH or postgres://...",
                redact_url(url)
            )));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            });
        let pool = match backend {
            Backend::Sqlite => pool_options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        }
        .connect_with(options)
        .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// The embedded default: `<dir>/metadata.db`.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Store> {
        Store::connect(&format!("sqlite://{}", path.display())).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that writes. On SQLite it is `BEGIN IMMEDIATE`: it takes
    /// the write lock up front (waiting up to the busy timeout), where a
    /// deferred transaction that reads first would fail at its first write
    /// if another connection wrote meanwhile (WAL's busy snapshot).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

pub(crate) fn to_secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_secs(s: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_opt(s, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("instant {s} is out of range")))
}

pub(crate) fn from_opt_secs(s: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    s.map(from_secs).transpose()
}

pub(crate) fn join_list(items: &[String]) -> String {
    items.join(" ")
}

pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}
