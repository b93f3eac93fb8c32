//! The Store analytics API's request language, from query-string
//! parameters to the same [`Plan`] the report language produces.
//!
//! | stage | entry point | output |
//! |---|---|---|
//! | method table | [`methods::find`] | [`methods::Method`] |
//! | parameters | [`StoreParams`], [`resolve`] (one phase per concern) | [`StoreQuery`] (a `Plan`, window, paging, row shape) |
//! | levels | [`Level`] | buckets, grains |
//! | filter/orderby/groupby | [`filter`] | syntax trees with spans |
//! | dates | [`dates::parse_date_input`] | `NaiveDateTime` |
//!
//! Every failure is a [`ParamError`] naming the parameter and what is
//! allowed; the server renders them into the error JSON of spec §1.7.

mod condition;
pub mod dates;
pub mod filter;
mod level;
pub mod methods;
mod params;
mod resolve;

pub use level::Level;
pub use params::StoreParams;
pub use resolve::resolve;

use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::catalog::{Catalog, ColumnType, Dataset, StaticCatalog};
use crate::diagnostic::Diagnostic;
use crate::plan::Plan;
use crate::timewindow::TimeWindow;
use methods::{Method, Stored};

const STORE_JSON: &str = include_str!("../../catalog/store-datasets.json");

static STORE: LazyLock<StaticCatalog> = LazyLock::new(|| {
    // Part of the source tree and loaded by a unit test: a failure is a
    // build defect, not user input.
    #[allow(clippy::expect_used)]
    StaticCatalog::from_json(STORE_JSON).expect("the embedded Store catalog is valid")
});

/// The datasets behind the Store analytics API.
pub fn store_catalog() -> &'static StaticCatalog {
    &STORE
}

/// Fields whose stored 0/1 values are booleans on the wire.
pub const BOOL_FIELDS: &[&str] = &[
    "isRevised",
    "isTouchEnabled",
    "cabDownloadable",
    "isBlamedFrame",
];

/// The earliest date any method serves; earlier starts are clamped.
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// One invalid parameter: its name and a message that says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

fn bad(param: &str, message: impl Into<String>) -> ParamError {
    ParamError {
        param: param.to_string(),
        message: message.into(),
    }
}

fn from_diagnostic(param: &str, d: &Diagnostic) -> ParamError {
    bad(
        param,
        format!(
            "{param}: {} (at character {})",
            d.message(),
            d.span.position()
        ),
    )
}

/// Where one answer field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    /// The plan output at this index.
    Output(usize),
    /// A dimension that was grouped away: `"All"`.
    All,
    /// The date of an answer whose dates were aggregated away: `null`.
    Null,
}

/// One field of an answer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub wire: String,
    pub source: FieldSource,
    pub ty: ColumnType,
    pub boolean: bool,
}

/// A request resolved: the plan to run and how to shape the answer.
#[derive(Debug, Clone)]
pub struct StoreQuery {
    pub method: &'static Method,
    pub plan: Plan,
    pub window: Option<TimeWindow>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub top: u64,
    pub skip: u64,
    pub level: Level,
    /// Answer row fields in order.
    pub fields: Vec<Field>,
    /// Hourly answers: the plan output holding the hour of the day.
    pub hour_output: Option<usize>,
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The catalog column for a wire field of the method.
fn column<'d>(
    method: &Method,
    dataset: &'d Dataset,
    wire: &str,
) -> Option<&'d crate::catalog::Column> {
    dataset.stored_column(&method.column_of(wire))
}

fn is_bool(wire: &str) -> bool {
    BOOL_FIELDS.iter().any(|b| b.eq_ignore_ascii_case(wire))
}

/// Every field an answer row of `method` may carry, with its stored type
/// and whether it is a boolean on the wire (what the OpenAPI document
/// describes). Grouped-away dimensions are `"All"` or absent; `date` may be
/// null.
pub fn row_fields(method: &Method) -> Vec<(String, ColumnType, bool)> {
    let Some(dataset) = store_catalog().dataset(method.dataset) else {
        return Vec::new();
    };
    let names: Vec<&str> = if method.stored == Stored::Rows {
        method.fields.to_vec()
    } else {
        let mut v: Vec<&str> = method.always.to_vec();
        for g in method.group {
            if !v.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                v.push(g);
            }
        }
        v.extend(method.measures.iter().map(|(w, _)| *w));
        v
    };
    names
        .into_iter()
        .filter_map(|w| column(method, dataset, w).map(|c| (w.to_string(), c.ty, is_bool(w))))
        .collect()
}
