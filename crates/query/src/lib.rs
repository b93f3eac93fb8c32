//! The report query language of the Partner Insights API, from text to a
//! typed, engine-neutral [`Plan`]. Pure: no IO, no async, no engine.
//!
//! | stage        | function                 | output                 |
//! |--------------|--------------------------|------------------------|
//! | lex          | [`syntax::lexer::lex`]   | `Vec<Token>` (spans)   |
//! | parse        | [`parse`]                | [`ast::Query`] (spans) |
//! | resolve      | [`resolve`]              | [`Plan`]               |
//! | time window  | [`Plan::time_window`]    | [`TimeWindow`]         |
//!
//! [`check`] runs parse + resolve. Every failure is a [`QueryError`] made of
//! [`Diagnostic`]s: data (code, span, message, suggestion) whose `Display`
//! is the API's one-line message and whose `render` is the CLI's
//! compiler-style report. Nothing a user writes can panic these functions
//! or make them run longer than linearly in the text's length.

pub mod catalog;
pub mod complete;
pub mod diagnostic;
pub mod limits;
pub mod plan;
pub mod resolve;
pub mod storeapi;
pub mod suggest;
pub mod syntax;
pub mod timewindow;

pub use catalog::{Catalog, StaticCatalog, builtin};
pub use diagnostic::{Diagnostic, DiagnosticCode, QueryError, Span};
pub use plan::Plan;
pub use resolve::resolve;
pub use syntax::ast;
pub use syntax::parser::parse;
pub use timewindow::{DateRange, TimeWindow, window};

/// Parses and resolves query text against a catalog.
pub fn check(src: &str, catalog: &dyn Catalog) -> Result<Plan, QueryError> {
    let query = parse(src)?;
    resolve(&query, catalog)
}
