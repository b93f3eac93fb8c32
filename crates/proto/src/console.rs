//! The web console's extension endpoints (`/console/api/...`, outside the
//! Microsoft paths): live query checking with completion, the catalog with
//! column types and restricted marks, and a report's callback deliveries.
//! Answers are plain JSON objects (not the Insights envelope): they are ours,
//! and only the console reads them.

use serde::{Deserialize, Serialize};

/// `POST /console/api/check` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRequest {
    pub query: String,
    /// Character offset of the cursor (0-based); completion is skipped
    /// without it.
    #[serde(default)]
    pub cursor: Option<u32>,
}

/// One problem, with its span in characters (0-based, half-open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticItem {
    /// Stable kind (`unknown_column`, `syntax`, ... or `restricted`).
    pub code: String,
    /// The message the Insights API would answer for this query.
    pub message: String,
    /// What the user probably meant, to put in place of the span.
    pub suggestion: Option<String>,
    pub start: u32,
    pub end: u32,
}

/// One completion proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionItem {
    pub label: String,
    /// `keyword`, `dataset`, `column`, `metric` or `timespan`.
    pub kind: String,
    pub detail: String,
}

/// `POST /console/api/check` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResponse {
    /// True when the Insights API would accept the query from this caller.
    pub valid: bool,
    pub diagnostics: Vec<DiagnosticItem>,
    /// The dataset the query reads, when it resolves that far.
    pub dataset: Option<String>,
    /// The output columns in SELECT order, as the catalog spells them
    /// (empty unless valid): the preview's JSON rows carry no order.
    pub columns: Vec<String>,
    /// The span (characters) the completions replace.
    pub replace_start: u32,
    pub replace_end: u32,
    pub completions: Vec<CompletionItem>,
}

/// A column of a dataset, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnInfo {
    pub name: String,
    /// `string`, `int`, `float` or `date`.
    #[serde(rename = "type")]
    pub ty: String,
    pub restricted: bool,
}

/// A metric: what it aggregates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricInfo {
    pub name: String,
    /// `sum(Column)`, `count_distinct(Column)` or `count_rows`.
    pub definition: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub restricted: bool,
}

/// A system query of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemQueryInfo {
    pub query_id: String,
    pub query: String,
}

/// `GET /console/api/datasets` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetInfo {
    pub dataset_name: String,
    pub columns: Vec<ColumnInfo>,
    pub metrics: Vec<MetricInfo>,
    pub date_column: Option<String>,
    pub available_date_ranges: Vec<String>,
    /// Hours.
    pub minimum_recurrence_interval: u32,
    pub system_queries: Vec<SystemQueryInfo>,
}

/// `GET /console/api/reports/{reportId}/deliveries` item: one callback
/// delivery of an execution of the caller's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryInfo {
    pub delivery_id: String,
    pub execution_id: String,
    pub method: String,
    pub url: String,
    /// `Pending`, `Delivered` or `Failed` (given up after 24 h).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_time: String,
    pub last_error: Option<String>,
    pub created_time: String,
}

/// A list answer of the console API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleList<T> {
    pub value: Vec<T>,
}

/// `GET /console/api/config`: what the sign-in form needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleConfig {
    /// The `resource` of Insights API tokens.
    pub insights_resource: String,
    /// The `resource` of Store analytics API tokens.
    pub store_resource: String,
    /// The service clock's current instant (reports, the Store's "today").
    pub now: String,
}

/// `GET /console/api/store/products` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    pub application_id: String,
    pub product_name: String,
    /// `App`, `AddOn`, `Game`, `Desktop`, `Driver`, ... as stored.
    pub product_type: String,
}
