//! The Insights API's envelope, items and request bodies.

use serde::{Deserialize, Serialize};

/// The Insights API envelope around every answer, success or failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    pub value: Vec<T>,
    pub next_link: Option<String>,
    pub total_count: usize,
    pub message: String,
    pub status_code: u16,
    pub data_redacted: bool,
}

impl<T> Envelope<T> {
    pub fn ok(value: Vec<T>, message: impl Into<String>) -> Envelope<T> {
        Envelope {
            total_count: value.len(),
            value,
            next_link: None,
            message: message.into(),
            status_code: 200,
            data_redacted: false,
        }
    }

    pub fn error(status_code: u16, message: impl Into<String>) -> Envelope<T> {
        Envelope {
            value: Vec::new(),
            next_link: None,
            total_count: 0,
            message: message.into(),
            status_code,
            data_redacted: false,
        }
    }
}

/// `GET /ScheduledDataset` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasetItem {
    pub dataset_name: String,
    pub selectable_columns: Vec<String>,
    pub available_metrics: Vec<String>,
    pub available_date_ranges: Vec<String>,
    /// Hours.
    pub minimum_recurrence_interval: u32,
}

/// `ScheduledQueries` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryItem {
    pub query_id: String,
    pub name: String,
    pub description: String,
    pub query: String,
    /// `userDefined` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub user: Option<String>,
    pub created_time: String,
}

/// `ScheduledReport` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportItem {
    pub report_id: String,
    pub report_name: String,
    pub description: String,
    pub query_id: String,
    pub query: String,
    pub user: String,
    pub created_time: String,
    pub modified_time: Option<String>,
    pub execute_now: bool,
    pub start_time: String,
    pub report_status: String,
    pub recurrence_interval: i64,
    pub recurrence_count: Option<i64>,
    pub callback_url: Option<String>,
    pub callback_method: String,
    pub format: String,
}

/// `ScheduledReport/execution` item (the last six fields are ours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionItem {
    pub execution_id: String,
    pub report_id: String,
    pub recurrence_interval: i64,
    pub recurrence_count: Option<i64>,
    pub callback_url: Option<String>,
    pub callback_method: String,
    pub format: String,
    pub execution_status: String,
    pub report_location: Option<String>,
    pub report_access_secure_link: Option<String>,
    pub report_expiry_time: Option<String>,
    pub report_generated_time: Option<String>,
    pub due_time: String,
    pub started_time: Option<String>,
    pub row_count: Option<i64>,
    pub byte_count: Option<i64>,
    pub sha256: Option<String>,
    pub failure_reason: Option<String>,
}

/// `POST /ScheduledQueries` body (names match in any case on input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueryRequest {
    /// 1–200 characters.
    pub name: String,
    /// At most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The query text (see the query language).
    pub query: String,
}

/// `POST /ScheduledReport` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CreateReportRequest {
    /// 1–200 characters.
    pub report_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A system query or one of the tenant's own.
    pub query_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_now: Option<bool>,
    /// `yyyy-MM-ddTHH:mm:ssZ`; required unless ExecuteNow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_end_time: Option<String>,
    /// Hours, 4–2160; required unless ExecuteNow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_count: Option<i64>,
    /// `CSV` or `TSV`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// `GET` or `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_method: Option<String>,
}

/// `PUT /ScheduledReport/{reportId}` body: the fields of
/// [`CreateReportRequest`] a scheduled report may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateReportRequest {
    pub report_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub start_time: String,
    pub recurrence_interval: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_method: Option<String>,
}
