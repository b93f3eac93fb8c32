//! Integration tests of the query crate: one binary, a module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod corpus;
mod messages;
mod properties;
mod storeapi;
mod timewindows;
