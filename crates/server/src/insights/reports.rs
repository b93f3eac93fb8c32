//! Reports (create, list, update, delete, pause, resume) and their
//! executions.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::Duration;
use object_store::ObjectStoreExt;
use proto::{ExecutionItem, ReportItem};
use store::{ExecutionFilter, ExecutionStatus, Report};

use super::items::{execution_item, report_item};
use super::{HISTORY_DAYS, InsightsParams, ok, paged, paginate};
use crate::Shared;
use crate::body::{Fields, RequestFields};
use crate::error::ApiError;
use crate::http::Caller;
use crate::service::report_rules::{ReportRequest, Rules};
use crate::service::reports::{Reports, files_hold_restricted};

/// A report body's fields, typed. ExecuteNow reports ignore the schedule
/// fields and an update ignores the query fields, so those are not read
/// (a malformed ignored field is not an error).
fn report_request(fields: &Fields, update: bool) -> Result<ReportRequest, ApiError> {
    let mut req = ReportRequest {
        name: fields.string("ReportName")?,
        description: fields.string("Description")?,
        ..ReportRequest::default()
    };
    if !update {
        req.query_id = fields.string("QueryId")?;
        req.execute_now = fields.boolean("ExecuteNow")?;
        req.query_start = fields.timestamp("QueryStartTime")?;
        req.query_end = fields.timestamp("QueryEndTime")?;
    }
    if update || req.execute_now != Some(true) {
        req.start_time = fields.timestamp("StartTime")?;
        req.recurrence_interval = fields.integer("RecurrenceInterval")?;
        req.recurrence_count = fields.integer("RecurrenceCount")?;
    }
    req.format = fields.string("Format")?;
    req.callback_url = fields.string("CallbackUrl")?;
    req.callback_method = fields.string("CallbackMethod")?;
    Ok(req)
}

fn report_rules(state: &Shared) -> Rules {
    Rules {
        min_start_lead: state.min_start_lead,
        allow_private_callbacks: state.config.callbacks.allow_private,
    }
}

#[utoipa::path(post, path = "/insights/v1/mpn/ScheduledReport", tag = "Insights",
    request_body = proto::CreateReportRequest,
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn create_report(
    State(state): State<Shared>,
    caller: Caller,
    RequestFields(fields): RequestFields,
) -> Result<Response, ApiError> {
    let req = report_request(&fields, false)?;
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules)
        .create(caller.user(), req)
        .await?;
    state.scheduler.wake();
    Ok(ok(
        vec![report_item(&report)],
        "Report created successfully",
    ))
}

/// The report service for this caller, now.
fn reports<'a>(state: &'a Shared, caller: &'a Caller, rules: &'a Rules) -> Reports<'a> {
    Reports {
        store: &state.store,
        rules,
        tenant: caller.tenant(),
        now: state.clock.now(),
        sees_restricted: !caller.redact,
    }
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledReport", tag = "Insights",
    params(("reportId" = Option<String>, Query), ("reportName" = Option<String>, Query), ("queryId" = Option<String>, Query),
        ("top" = Option<u32>, Query), ("skip" = Option<u32>, Query), ("continuationToken" = Option<String>, Query)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn list_reports(
    State(state): State<Shared>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = InsightsParams::parse(raw);
    let mut reports = state.store.reports(caller.tenant()).await?;
    if let Some(id) = params.get("reportId") {
        reports.retain(|r| r.id.eq_ignore_ascii_case(id));
    }
    if let Some(name) = params.get("reportName") {
        reports.retain(|r| r.name.eq_ignore_ascii_case(name));
    }
    if let Some(q) = params.get("queryId") {
        reports.retain(|r| r.query_id.eq_ignore_ascii_case(q));
    }
    let items: Vec<ReportItem> = reports.iter().map(report_item).collect();
    let (page, next) = paginate(&state, "/insights/v1/mpn/ScheduledReport", &params, items)?;
    Ok(paged(page, next, "Reports fetched successfully"))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)), request_body = proto::UpdateReportRequest,
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn update_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    RequestFields(fields): RequestFields,
) -> Result<Response, ApiError> {
    let req = report_request(&fields, true)?;
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules).update(&id, req).await?;
    Ok(ok(
        vec![report_item(&report)],
        "Report updated successfully",
    ))
}

#[utoipa::path(delete, path = "/insights/v1/mpn/ScheduledReport/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn delete_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let (report, files) = reports(&state, &caller, &rules).delete(&id).await?;
    for location in &files {
        let path = object_store::path::Path::from(location.as_str());
        if let Err(e) = state.engine.store().object_store().delete(&path).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            tracing::warn!(error = %e, location, "could not remove a deleted report's file");
        }
    }
    Ok(ok(
        vec![report_item(&report)],
        "Report deleted successfully",
    ))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/pause/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn pause_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let report = reports(&state, &caller, &rules).pause(&id).await?;
    Ok(ok(vec![report_item(&report)], "Report paused successfully"))
}

#[utoipa::path(put, path = "/insights/v1/mpn/ScheduledReport/resume/{reportId}", tag = "Insights",
    params(("reportId" = String, Path)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ReportItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn resume_report(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rules = report_rules(&state);
    let (report, planned) = reports(&state, &caller, &rules).resume(&id).await?;
    if planned {
        state.scheduler.wake();
    }
    Ok(ok(
        vec![report_item(&report)],
        "Report resumed successfully",
    ))
}

fn split_ids(text: &str) -> Vec<String> {
    text.split(';')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[utoipa::path(get, path = "/insights/v1/mpn/ScheduledReport/execution/{reportId}", tag = "Insights",
    params(("reportId" = String, Path, description = "One or more ids separated by ';'"),
        ("executionId" = Option<String>, Query), ("executionStatus" = Option<String>, Query),
        ("getLatestExecution" = Option<bool>, Query), ("top" = Option<u32>, Query), ("skip" = Option<u32>, Query),
        ("continuationToken" = Option<String>, Query)),
    responses((status = 200, description = "Success, in the envelope", body = proto::Envelope<proto::ExecutionItem>), (status = 404, description = "Not found (or another tenant's)", body = proto::Envelope<serde_json::Value>), crate::openapi::CommonErrors),
    security(("bearer" = [])))]
pub(crate) async fn executions(
    State(state): State<Shared>,
    caller: Caller,
    Path(report_ids): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = InsightsParams::parse(raw);
    let latest = params.boolean("getLatestExecution", true)?;
    let mut statuses = Vec::new();
    if let Some(text) = params.get("executionStatus") {
        for s in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            statuses.push(ExecutionStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "executionStatus '{s}' is not a status; use {} (several separated by ';')",
                    ExecutionStatus::ALL.map(|s| s.as_str()).join(", ")
                ))
            })?);
        }
    }
    let filter = ExecutionFilter {
        report_ids: split_ids(&report_ids),
        execution_ids: params.get("executionId").map(split_ids).unwrap_or_default(),
        statuses,
        due_since: (!latest).then(|| state.clock.now() - Duration::days(HISTORY_DAYS)),
    };
    let mut found = state.store.executions(caller.tenant(), &filter).await?;
    if latest {
        let mut seen = std::collections::HashSet::new();
        found.retain(|e| seen.insert(e.report_id.clone()));
    }
    if found.is_empty() {
        return Err(ApiError::not_found(
            "No execution matched the filters (reportId, executionId, executionStatus)",
        ));
    }
    let mut reports: HashMap<String, Report> = HashMap::new();
    for e in &found {
        if !reports.contains_key(&e.report_id)
            && let Some(r) = state.store.report(caller.tenant(), &e.report_id).await?
        {
            reports.insert(r.id.clone(), r);
        }
    }
    let items: Vec<ExecutionItem> = found
        .iter()
        .map(|e| {
            let report = reports.get(&e.report_id);
            // A ReportViewer never gets a link to a file holding restricted
            // values (a report an ExecutiveReportViewer made).
            let link_allowed = !caller.redact || report.is_some_and(|r| !files_hold_restricted(r));
            execution_item(&state, e, report, link_allowed)
        })
        .collect();
    let path = format!("/insights/v1/mpn/ScheduledReport/execution/{report_ids}");
    let (page, next) = paginate(&state, &path, &params, items)?;
    Ok(paged(page, next, "Executions fetched successfully"))
}
