//! The engine's error vocabulary. Messages name what was wrong and what is
//! allowed; storage and engine details are kept as sources for the logs.

use crate::ingest::BadValues;

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "invalid tenant id '{id}': use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
    )]
    InvalidTenant { id: String },
    #[error("Unknown dataset '{name}'{}", suggestion.as_ref().map(|s| format!(". Did you mean '{s}'?")).unwrap_or_default())]
    UnknownDataset {
        name: String,
        suggestion: Option<String>,
    },
    #[error("{0}")]
    Query(#[from] query::QueryError),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    BadValues(BadValues),
    #[error("{what} was changed by another writer at the same time; try again")]
    Conflict { what: String },
    #[error("{what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The task running the query panicked or was cancelled.
    #[error("the query's task ended early: {0}")]
    Interrupted(String),
}

impl EngineError {
    /// The query needed more memory than the engine's limit.
    pub fn is_memory_limit(&self) -> bool {
        match self {
            EngineError::DataFusion(e) => matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            ),
            _ => false,
        }
    }
}
