//! Integration tests of the query crate: one binary, modules per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]
