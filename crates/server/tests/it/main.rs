//! End-to-end tests of the server: each starts the real server on port 0
//! over a temporary data dir (SQLite, or a real PostgreSQL for the `pg`
//! variants) and talks HTTP to it with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod admin;
mod clock;
mod console;
mod data_api;
mod faults;
mod insights;
mod isolation;
mod journal;
mod ops;
mod reports;
mod security;
mod snapshots;
mod store_api;
mod tokens;
