//! The part of openinsights that touches tenant data: Parquet files in an
//! object store laid out as the spec says (`storage`), loading rows from
//! CSV/NDJSON/Parquet (`ingest`), turning a `query::Plan` into DataFusion
//! plan objects and running it (`exec`), writing report files (`writer`),
//! and generating realistic demo data (`generate`).
//!
//! | step | entry point |
//! |---|---|
//! | load rows | [`ingest::load_files`], [`ingest::Loader`] |
//! | generate demo data | [`generate::seed_dataset`], [`store_demo::seed`] (Store API) |
//! | run a plan | [`Engine::execute`] → record batch stream |
//! | write a report | [`writer::write_stream`] |

pub mod casefold;
pub mod error;
pub mod exec;
pub mod generate;
pub mod ingest;
pub mod preview;
pub mod rollups;
pub mod schema;
pub mod storage;
pub mod store_answer;
pub mod store_demo;
pub mod writer;

#[cfg(feature = "testing")]
pub mod testing;

pub use datafusion::arrow;
pub use error::{EngineError, Result};
pub use exec::{Engine, ExecOptions};
pub use storage::{DataStore, S3Config, TenantId};
