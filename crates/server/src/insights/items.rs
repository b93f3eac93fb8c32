//! Store rows and catalog entries as the `proto` items the Insights API
//! answers (and the CLI prints).

use proto::{DatasetItem, ExecutionItem, QueryItem, ReportItem};
use query::catalog::Dataset;
use store::{Execution, ExecutionStatus, Report, StoredQuery};

use super::SYSTEM_CREATED;
use crate::Shared;
use crate::body::format_time;

pub(crate) fn catalog() -> &'static query::StaticCatalog {
    query::builtin()
}

pub fn dataset_item(d: &Dataset) -> DatasetItem {
    DatasetItem {
        dataset_name: d.name.clone(),
        selectable_columns: d.columns.iter().map(|c| c.name.clone()).collect(),
        available_metrics: d.metrics.iter().map(|m| m.name.clone()).collect(),
        available_date_ranges: d
            .available_date_ranges
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        minimum_recurrence_interval: d.minimum_recurrence_interval,
    }
}

pub fn user_query_item(q: &StoredQuery) -> QueryItem {
    QueryItem {
        query_id: q.id.clone(),
        name: q.name.clone(),
        description: q.description.clone(),
        query: q.text.clone(),
        kind: "userDefined".into(),
        user: Some(q.created_by.clone()),
        created_time: format_time(q.created_at),
    }
}

pub fn system_query_item(q: &query::catalog::SystemQuery) -> QueryItem {
    QueryItem {
        query_id: q.query_id.clone(),
        name: q.dataset.clone(),
        description: format!("System query: every column of {}", q.dataset),
        query: q.query.clone(),
        kind: "system".into(),
        user: None,
        created_time: SYSTEM_CREATED.into(),
    }
}

pub fn report_item(r: &Report) -> ReportItem {
    ReportItem {
        report_id: r.id.clone(),
        report_name: r.name.clone(),
        description: r.description.clone(),
        query_id: r.query_id.clone(),
        query: r.query_text.clone(),
        user: r.created_by.clone(),
        created_time: format_time(r.created_at),
        modified_time: r.modified_at.map(format_time),
        execute_now: r.execute_now,
        start_time: format_time(r.start_time),
        report_status: r.status.as_str().into(),
        recurrence_interval: r.recurrence_interval,
        recurrence_count: r.recurrence_count,
        callback_url: r.callback_url.clone(),
        callback_method: r.callback_method.as_str().into(),
        format: r.format.as_str().into(),
    }
}

/// An execution as listed; the secure link only when `link_allowed`.
pub fn execution_item(
    state: &Shared,
    e: &Execution,
    r: Option<&Report>,
    link_allowed: bool,
) -> ExecutionItem {
    let link = match (e.status, e.expiry_time) {
        (ExecutionStatus::Completed, Some(expiry)) if link_allowed => {
            Some(crate::downloads::link(state, &e.id, expiry))
        }
        _ => None,
    };
    ExecutionItem {
        execution_id: e.id.clone(),
        report_id: e.report_id.clone(),
        recurrence_interval: r.map_or(0, |r| r.recurrence_interval),
        recurrence_count: r.and_then(|r| r.recurrence_count),
        callback_url: r.and_then(|r| r.callback_url.clone()),
        callback_method: r
            .map_or(store::CallbackMethod::Post, |r| r.callback_method)
            .as_str()
            .into(),
        format: r
            .map_or(store::ReportFormat::Csv, |r| r.format)
            .as_str()
            .into(),
        execution_status: e.status.as_str().into(),
        report_location: e.location.clone(),
        report_access_secure_link: link,
        report_expiry_time: e.expiry_time.map(format_time),
        report_generated_time: e.generated_time.map(format_time),
        due_time: format_time(e.due_time),
        started_time: e.started_time.map(format_time),
        row_count: e.row_count,
        byte_count: e.byte_count,
        sha256: e.sha256.clone(),
        failure_reason: e.failure_reason.clone(),
    }
}
