//! The body of a report's completion callback (POST; a GET carries the
//! same fields in its query string).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    pub due_time: String,
    pub execution_id: String,
    pub execution_status: String,
    pub report_expiry_time: String,
    pub report_generated_time: String,
    pub report_id: String,
    pub report_name: String,
}
