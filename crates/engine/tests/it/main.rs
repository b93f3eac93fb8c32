//! Integration tests of the engine: hand-made rows loaded through the real
//! ingest path into a real directory, queried through the real executor,
//! and compared with the expected report file text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod features;
mod generate;
mod ingest;
mod rollup;
mod s3;
mod support;
