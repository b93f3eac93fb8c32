//! Bounds that keep hostile query text cheap to reject. Each is far above
//! what a real report needs (the widest dataset has 107 columns) and each
//! breach is a clear 400, never a panic or a long computation.

/// Query text larger than this (in bytes of UTF-8) is refused before lexing.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Items in the SELECT list.
pub const MAX_SELECT_ITEMS: usize = 1024;
/// Conditions joined by AND in the WHERE clause.
pub const MAX_CONDITIONS: usize = 256;
/// Values in one IN (...) list.
pub const MAX_IN_VALUES: usize = 1000;
/// Keys in ORDER BY.
pub const MAX_ORDER_KEYS: usize = 64;
/// The largest LIMIT the language accepts.
pub const MAX_LIMIT: u64 = 1_000_000_000;
/// Diagnostics collected for one query; further problems are not reported
/// (the API shows the first, the CLI the first few).
pub const MAX_DIAGNOSTICS: usize = 20;
