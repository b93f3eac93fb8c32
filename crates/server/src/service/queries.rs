//! Saved queries: the name and description rules (shared with reports), the
//! query check, creating and deleting. System queries come from the
//! catalog and can be neither created nor deleted.

use chrono::{DateTime, Utc};
use query::Catalog;
use query::catalog::SystemQuery;
use store::{Store, StoredQuery};

use crate::service::{Result, ServiceError};

/// Longest name of a query or report, in characters.
pub const NAME_MAX: usize = 200;
/// Longest description of a query or report, in characters.
pub const DESCRIPTION_MAX: usize = 1000;

/// A text field's length in characters, between `min` and `max`.
pub fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ServiceError::invalid(if min > 0 {
            format!("{field} must be between {min} and {max} characters long, got {n}")
        } else {
            format!("{field} must be at most {max} characters long, got {n}")
        }));
    }
    Ok(())
}

/// The one rule for the name (`Name` of a query, `ReportName` of a report)
/// and the description of everything a tenant saves.
pub fn check_name_and_description(name_field: &str, name: &str, description: &str) -> Result<()> {
    check_length(name_field, name, 1, NAME_MAX)?;
    check_length("Description", description, 0, DESCRIPTION_MAX)
}

/// A field the request must carry.
pub fn required<T>(name: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| ServiceError::invalid(format!("{name} is required")))
}

/// Parses and resolves query text against the Insights catalog.
pub fn check_query(text: &str) -> Result<query::Plan> {
    query::check(text, query::builtin()).map_err(|e| ServiceError::invalid(e.to_string()))
}

/// Refuses, for a caller who sees restricted values redacted, a plan that
/// filters or sorts on them: which rows come back, or in what order, would
/// disclose the values. Selecting them is fine (they come back null).
pub fn check_restricted(plan: &query::Plan, redacted: bool) -> Result<()> {
    if !redacted {
        return Ok(());
    }
    let Some(dataset) = query::builtin().dataset(&plan.dataset) else {
        return Ok(());
    };
    let used = plan.restricted_conditions(dataset);
    if used.is_empty() {
        return Ok(());
    }
    Err(ServiceError::forbidden(format!(
        "The query filters or sorts on restricted {} {}; this token sees restricted values redacted (ReportViewer), so it may select them but not filter, sort or set conditions on them. Remove {} from WHERE and ORDER BY, or use an ExecutiveReportViewer token",
        if used.len() == 1 { "column" } else { "columns" },
        used.iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", "),
        if used.len() == 1 { "it" } else { "them" },
    )))
}

/// A system query by id, in any case.
pub fn system_query(id: &str) -> Option<&'static SystemQuery> {
    query::builtin()
        .system_queries()
        .iter()
        .find(|q| q.query_id.eq_ignore_ascii_case(id.trim()))
}

/// What a create request carries.
#[derive(Debug, Clone, Default)]
pub struct NewQuery {
    pub name: Option<String>,
    pub description: Option<String>,
    pub text: Option<String>,
}

/// Checks and saves a tenant's query.
pub async fn create(
    store: &Store,
    tenant: &str,
    user: String,
    now: DateTime<Utc>,
    new: NewQuery,
) -> Result<StoredQuery> {
    let name = required("Name", new.name)?;
    let description = new.description.unwrap_or_default();
    check_name_and_description("Name", &name, &description)?;
    let text = required("Query", new.text)?;
    let plan = check_query(&text)?;
    let q = StoredQuery {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.to_string(),
        name,
        description,
        text,
        dataset: plan.dataset,
        created_by: user,
        created_at: now,
    };
    store.create_query(&q).await?;
    Ok(q)
}

/// Deletes a tenant's query (not one a live report uses: 409).
pub async fn delete(store: &Store, tenant: &str, id: &str) -> Result<StoredQuery> {
    if system_query(id).is_some() {
        return Err(ServiceError::invalid("System queries cannot be deleted"));
    }
    store
        .delete_query(tenant, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("Query '{id}' not found")))
}

/// The text of a system query or of one of the tenant's queries.
pub async fn text_of(store: &Store, tenant: &str, id: &str) -> Result<String> {
    if let Some(q) = system_query(id) {
        return Ok(q.query.clone());
    }
    store
        .query(tenant, id)
        .await?
        .map(|q| q.text)
        .ok_or_else(|| ServiceError::not_found(format!("Query '{id}' not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_bounded_in_characters() {
        assert!(check_name_and_description("Name", "é", "").is_ok());
        let e = check_name_and_description("Name", "", "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Name must be between 1 and 200 characters long, got 0"
        );
        let long = "ü".repeat(1001);
        let e = check_name_and_description("ReportName", "r", &long).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Description must be at most 1000 characters long, got 1001"
        );
        assert!(check_name_and_description("Name", &"x".repeat(200), "").is_ok());
    }

    #[test]
    fn a_query_is_checked_before_it_is_saved() {
        let e = check_query("SELECT Nope FROM OfficeUsage").unwrap_err();
        assert!(matches!(e, ServiceError::Invalid(_)), "{e}");
        assert!(system_query(" SYSTEM_QUERY_DOES_NOT_EXIST ").is_none());
        let first = &query::builtin().system_queries()[0];
        assert!(system_query(&first.query_id.to_lowercase()).is_some());
    }
}
