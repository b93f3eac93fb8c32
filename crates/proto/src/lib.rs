//! Wire types: what goes over HTTP, field names and casing exactly as the
//! public services spell them. Only this crate's types are serialised for
//! the wire; domain types (store rows, plans, principals) are converted
//! into these at the edge. Every type also deserialises, for the CLI client.
//!
//! One module per API: `insights`, `store`, `oauth`, `admin`, `callback`,
//! `console` (the console's extension endpoints under `/console/api`); the
//! Insights and token types are also re-exported at the root.

pub mod admin;
pub mod callback;
pub mod console;
pub mod insights;
pub mod oauth;
pub mod store;

pub use insights::*;
pub use oauth::*;
