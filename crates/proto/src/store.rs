//! The Store analytics API's answers and errors. Rows are maps (each method
//! answers its own fields, named by the method table); everything around
//! them is typed here. Fields are declared in the order the public service
//! sends them sorted (`@nextLink`, `DataFreshnessTimestamp`, `TotalCount`,
//! `Value`), which is also the byte order earlier versions produced.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `{Value, @nextLink, TotalCount}` (and the data's freshness where the
/// method reports it).
/// `V` is what the rows are written from: a JSON array when read back,
/// the server's own page type when it writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreEnvelope<V = Vec<Value>> {
    #[serde(rename = "@nextLink", default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    #[serde(
        rename = "DataFreshnessTimestamp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data_freshness_timestamp: Option<String>,
    #[serde(rename = "TotalCount")]
    pub total_count: usize,
    /// The page's rows (a row, or a precomputed document).
    #[serde(rename = "Value")]
    pub value: V,
}

/// One step of the acquisition funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelStep {
    #[serde(rename = "MetricType")]
    pub metric_type: String,
    #[serde(rename = "UserCount")]
    pub user_count: i64,
}

/// The funnel: always four steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelAnswer {
    #[serde(rename = "TotalCount")]
    pub total_count: usize,
    #[serde(rename = "Value")]
    pub value: Vec<FunnelStep>,
}

/// One point of Xbox concurrency (the answer is a bare array of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcurrencyPoint {
    #[serde(rename = "Count")]
    pub count: f64,
    /// `YYYY-MM-DDTHH:MM:SS.000Z`.
    #[serde(rename = "Date")]
    pub date: String,
    #[serde(rename = "SeriesName")]
    pub series_name: String,
}

/// One entry of an insight's `insightDetail` array (spec §2.2, insights):
/// a fact's change along one dimension, with the same shape nested under
/// `SubDimensions`. Stored as a JSON document in the insights dataset and
/// answered as stored. Fields are declared in name order, the order the
/// stored documents have always had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightDetail {
    /// `yyyy-MM-dd HH:mm:ss`.
    #[serde(rename = "Date")]
    pub date: String,
    #[serde(rename = "DimensionName")]
    pub dimension_name: String,
    #[serde(rename = "DimensionValue")]
    pub dimension_value: String,
    /// `Positive` or `Negative`.
    #[serde(rename = "Direction")]
    pub direction: String,
    #[serde(rename = "FactName")]
    pub fact_name: String,
    #[serde(rename = "FactValue")]
    pub fact_value: i64,
    #[serde(rename = "PercentChange")]
    pub percent_change: f64,
    #[serde(rename = "SubDimensions")]
    pub sub_dimensions: Vec<InsightDetail>,
}

/// The error JSON of the Store API (spec §1.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreErrorBody {
    pub code: String,
    pub data: Vec<Value>,
    pub details: Vec<Value>,
    pub innererror: StoreInnerError,
    pub message: String,
    pub source: String,
}

/// `innererror`: `data` holds one message per problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreInnerError {
    pub code: String,
    pub data: Vec<String>,
    pub details: Vec<Value>,
    pub message: String,
    pub source: String,
}

/// Who answers Store errors.
pub const ERROR_SOURCE: &str = "AnalyticsAPI";

/// A row as answered: field name → value.
pub type Row = Map<String, Value>;
