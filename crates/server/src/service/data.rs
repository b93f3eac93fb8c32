//! Loading tenant data (the admin API's `datasets/{dataset}/rows` and
//! `openinsights ingest`): the dataset by name, the load mode and the input
//! format, an atomic load through `engine::ingest`, and the Store
//! datasets' rollups rebuilt after it — the same steps, checks and
//! messages whichever door the rows came in by.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use engine::ingest::{Format, LoadMode, Loader};
use engine::{EngineError, TenantId};
use query::Catalog;
use query::catalog::Dataset;

use super::{Result, ServiceError};

/// A dataset of the Insights catalog or of the Store API's (`store_*`), by
/// name or alias in any case; unknown, a 404 naming the closest.
pub fn dataset(name: &str) -> Result<&'static Dataset> {
    engine::schema::dataset(name).map_err(|e| ServiceError::not_found(e.to_string()))
}

/// Every dataset rows can be loaded into: the Insights datasets, then the
/// Store API's.
pub fn all_datasets() -> impl Iterator<Item = &'static Dataset> {
    query::builtin()
        .datasets()
        .iter()
        .chain(query::storeapi::store_catalog().datasets())
}

/// The format a `Content-Type` names (parameters such as `charset` ignored).
pub fn format_of(content_type: Option<&str>) -> Result<Format> {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "text/csv" => Ok(Format::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            Ok(Format::Ndjson)
        }
        "application/vnd.apache.parquet" | "application/x-parquet" => Ok(Format::Parquet),
        _ => Err(ServiceError::invalid(format!(
            "Content-Type '{essence}' is not a data format; send text/csv, application/x-ndjson or application/vnd.apache.parquet"
        ))),
    }
}

/// `mode=append` (default), `replace-all`, or `replace-range` with `from`
/// and `to` (`yyyy-MM-dd`, both inclusive, or whole months `yyyy-MM`).
pub fn mode_of(mode: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<LoadMode> {
    let mode = mode.map(|m| m.trim().to_ascii_lowercase());
    match mode.as_deref() {
        None | Some("append") => {
            if from.is_some() || to.is_some() {
                return Err(ServiceError::invalid(
                    "from and to belong to mode=replace-range",
                ));
            }
            Ok(LoadMode::Append)
        }
        Some("replace-all") => Ok(LoadMode::ReplaceAll),
        Some("replace-range") => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(ServiceError::invalid(
                    "mode=replace-range needs from and to (yyyy-MM-dd or yyyy-MM, both inclusive)",
                ));
            };
            let from = range_start(from)?;
            let to = range_end(to)?;
            if to < from {
                return Err(ServiceError::invalid(format!(
                    "to ({to}) is before from ({from})"
                )));
            }
            Ok(LoadMode::ReplaceRange { from, to })
        }
        Some(other) => Err(ServiceError::invalid(format!(
            "mode '{other}' is not a load mode; use append, replace-all or replace-range"
        ))),
    }
}

fn parse_day_or_month(text: &str, end_of_month: bool) -> Result<NaiveDate> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day);
    }
    let month = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").map_err(|_| {
        ServiceError::invalid(format!(
            "'{text}' is not a date; write yyyy-MM-dd or a whole month yyyy-MM"
        ))
    })?;
    if !end_of_month {
        return Ok(month);
    }
    month
        .checked_add_months(chrono::Months::new(1))
        .and_then(|m| m.pred_opt())
        .ok_or_else(|| ServiceError::invalid(format!("'{text}' is out of range")))
}

/// The first day a range's `from` names (`2024-03` is 2024-03-01).
pub fn range_start(text: &str) -> Result<NaiveDate> {
    parse_day_or_month(text, false)
}

/// The last day a range's `to` names (`2024-03` is 2024-03-31).
pub fn range_end(text: &str) -> Result<NaiveDate> {
    parse_day_or_month(text, true)
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub rows: u64,
    pub version: u64,
    /// Rows written into rollups (Store datasets), 0 otherwise.
    pub rollup_rows: u64,
}

/// Loads one file into a dataset in one atomic batch, then rebuilds the
/// dataset's rollups. Nothing is visible unless every row was valid.
pub async fn load_file(
    engine: &engine::Engine,
    dataset: &'static Dataset,
    tenant: &TenantId,
    file: &Path,
    format: Format,
    shown: &str,
    mode: LoadMode,
) -> Result<Loaded> {
    let store = engine.store();
    let mut loader = Loader::new(store, dataset, tenant.clone(), mode).map_err(input_error)?;
    if let Err(e) = loader.read_file_as(file, format, shown).await {
        loader.abort().await;
        return Err(input_error(e));
    }
    let report = loader.commit().await.map_err(input_error)?;
    let rollup_rows = if engine::rollups::spec_of(&dataset.name).is_some() {
        engine::rollups::build(engine, dataset, tenant)
            .await
            .map_err(ServiceError::Engine)?
    } else {
        0
    };
    Ok(Loaded {
        rows: report.rows,
        version: report.version,
        rollup_rows,
    })
}

/// The caller's mistakes are 400s (409 for a lost commit race); the rest
/// is the engine's.
fn input_error(e: EngineError) -> ServiceError {
    match e {
        EngineError::BadValues(_) | EngineError::BadInput(_) => {
            ServiceError::invalid(e.to_string().trim_end().to_string())
        }
        EngineError::Conflict { .. } => ServiceError::Conflict(format!(
            "{e}; too many loads into this dataset at once, try again"
        )),
        other => ServiceError::Engine(other),
    }
}

/// One dataset's state for a tenant.
#[derive(Debug, Clone)]
pub struct DatasetState {
    pub dataset: &'static str,
    pub rows: u64,
    pub version: u64,
    pub last_load: Option<DateTime<Utc>>,
}

/// Every dataset's rows, version and last load for a tenant.
pub async fn dataset_states(
    data: &engine::DataStore,
    tenant: &TenantId,
) -> Result<Vec<DatasetState>> {
    let names: Vec<&'static str> = all_datasets().map(|d| d.name.as_str()).collect();
    let mut states = Vec::with_capacity(names.len());
    // A listing and a read per dataset: a few at a time on a bucket.
    for chunk in names.chunks(8) {
        let statuses =
            futures::future::join_all(chunk.iter().map(|name| data.dataset_status(name, tenant)))
                .await;
        for (dataset, status) in chunk.iter().zip(statuses) {
            let s = status.map_err(ServiceError::Engine)?;
            states.push(DatasetState {
                dataset,
                rows: s.rows,
                version: s.version,
                last_load: s.last_load,
            });
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_formats_are_named() {
        assert_eq!(mode_of(None, None, None).unwrap(), LoadMode::Append);
        assert_eq!(
            mode_of(Some("Replace-All"), None, None).unwrap(),
            LoadMode::ReplaceAll
        );
        assert_eq!(
            mode_of(Some("replace-range"), Some("2024-02"), Some("2024-03")).unwrap(),
            LoadMode::ReplaceRange {
                from: NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
            }
        );
        let e = mode_of(Some("upsert"), None, None).unwrap_err().to_string();
        assert!(e.contains("append, replace-all or replace-range"), "{e}");
        let e = mode_of(Some("replace-range"), Some("2024-01-01"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs from and to"), "{e}");
        assert_eq!(
            format_of(Some("text/csv; charset=utf-8")).unwrap(),
            Format::Csv
        );
        let e = format_of(Some("application/json")).unwrap_err().to_string();
        assert!(e.contains("text/csv, application/x-ndjson"), "{e}");
        let e = dataset("OfficeUsag").unwrap_err().to_string();
        assert!(e.contains("Did you mean 'OfficeUsage'"), "{e}");
    }
}
