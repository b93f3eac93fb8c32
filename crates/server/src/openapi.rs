//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the `proto` types, served at
//! `/insights/v1/mpn/swagger/swagger.json` with Swagger UI (vendored from
//! the `utoipa-swagger-ui-vendored` crate, served from the binary) at
//! `/insights/v1/mpn/swagger/index.html`.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::Shared;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from /{tenant}/oauth2/token; X-AadUserTicket is accepted too",
                    ))
                    .build(),
            ),
        );
    }
}

/// The Store analytics API's operations, generated from the method table
/// (`query::storeapi::methods::METHODS`): one GET per method (one for all
/// `gameanalytics` metric types), its parameters, row schema and errors.
struct StorePaths;

fn json_type(ty: query::catalog::ColumnType, boolean: bool) -> serde_json::Value {
    use query::catalog::ColumnType as T;
    let t = match (ty, boolean) {
        (_, true) => "boolean",
        (T::Int, _) => "integer",
        (T::Float, _) => "number",
        (T::String | T::Date, _) => "string",
    };
    // A grouped-away dimension is "All", a whole-window date null.
    if t == "string" {
        serde_json::json!({ "type": ["string", "null"] })
    } else {
        serde_json::json!({ "type": [t, "string", "null"] })
    }
}

type StoreMethod = query::storeapi::methods::Method;

fn store_operation(methods: &[&StoreMethod]) -> serde_json::Value {
    use query::storeapi::methods::{Scope, Shape};
    use serde_json::json;
    let Some(m) = methods.first() else {
        return json!({});
    };
    let param = |name: &str, required: bool, schema: serde_json::Value, description: &str| json!({"name": name, "in": "query", "required": required, "schema": schema, "description": description});
    let text = json!({"type": "string"});
    let mut params = Vec::new();
    if m.scope != Scope::Account {
        let example = engine::store_demo::application_ids()
            .into_iter()
            .find(|id| match m.path.split('/').next() {
                Some("desktop") => id.len() == 8 && id.starts_with('1'),
                Some("driver") => *id == "14567890",
                Some("xbox" | "gameanalytics") => *id == "9NBLGGGZ5QDR",
                _ => id.len() == 12,
            })
            .unwrap_or_default();
        params.push(param(
            "applicationId",
            m.scope == Scope::App,
            json!({"type": "string", "examples": [example]}),
            "Store ID (or product ID) of a product of the account (the demo tenant's are in demo-credentials.json)",
        ));
    }
    if let Some(p) = m.product {
        params.push(param(
            p.name,
            false,
            text.clone(),
            "Product ID; wins over applicationId",
        ));
    }
    let mut extra: Vec<&query::storeapi::methods::Param> = Vec::new();
    for m in methods {
        for p in m.params {
            if !extra.iter().any(|e| e.name == p.name) {
                extra.push(p);
            }
        }
    }
    for p in extra {
        params.push(param(
            p.name,
            p.required && methods.len() == 1,
            text.clone(),
            "",
        ));
    }
    if !m.metric_type.is_empty() {
        let types: Vec<&str> = methods.iter().map(|m| m.metric_type).collect();
        params.push(param(
            "metricType",
            true,
            json!({"type": "string", "enum": types}),
            "Which Xbox Live analytics",
        ));
    }
    let date = "m/d/yyyy, yyyy-mm-dd or yyyy/mm/dd, optionally with a time";
    params.push(param("startDate", false, text.clone(), date));
    params.push(param("endDate", false, text.clone(), date));
    params.push(param(
        "top",
        false,
        json!({"type": "integer", "minimum": 0, "maximum": m.top_max}),
        "Rows per page",
    ));
    params.push(param(
        "skip",
        false,
        json!({"type": "integer", "minimum": 0}),
        "Rows to skip",
    ));
    let any = |f: fn(&StoreMethod) -> bool| methods.iter().any(|m| f(m));
    if any(|m| !m.filter.is_empty()) {
        params.push(param(
            "filter",
            false,
            text.clone(),
            "e.g. market eq 'US' and (deviceType eq 'PC' or deviceType eq 'Phone')",
        ));
    }
    if any(|m| !m.order.is_empty()) {
        params.push(param(
            "orderby",
            false,
            text.clone(),
            "field [asc|desc], ...",
        ));
    }
    if any(|m| !m.group.is_empty()) {
        params.push(param(
            "groupby",
            false,
            text.clone(),
            "comma list of fields",
        ));
    }
    let mut levels: Vec<&str> = Vec::new();
    for m in methods {
        for l in m.levels {
            if !levels.contains(&l.name()) {
                levels.push(l.name());
            }
        }
    }
    if levels.is_empty() {
        levels.push("day");
    }
    params.push(param(
        "aggregationLevel",
        false,
        json!({"type": "string", "enum": levels}),
        "",
    ));
    let mut properties = serde_json::Map::new();
    for m in methods {
        for (name, ty, boolean) in query::storeapi::row_fields(m) {
            properties.insert(name, json_type(ty, boolean));
        }
    }
    let row = match m.shape {
        Shape::Funnel => {
            json!({"type": "object", "properties": {"MetricType": {"type": "string"}, "UserCount": {"type": "integer"}}})
        }
        Shape::Insights => json!({"type": "object", "properties": {
            "applicationId": {"type": "string"}, "insightDate": {"type": "string"},
            "dataType": {"type": "string"}, "insightDetail": {"type": "array"}}}),
        Shape::Document => json!({"type": "object"}),
        _ => json!({"type": "object", "properties": properties}),
    };
    let envelope = json!({
        "type": "object",
        "required": ["Value", "TotalCount"],
        "properties": {
            "Value": {"type": "array", "items": row},
            "@nextLink": {"type": "string", "description": "The next page, relative to /v1.0/my/analytics/ (absolute when configured)"},
            "TotalCount": {"type": "integer"},
            "DataFreshnessTimestamp": {"type": "string"},
        }
    });
    let ok = match m.shape {
        Shape::Redirect => json!({"302": {
            "description": "Redirect to a signed, expiring URL of the CAB file",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }}),
        _ if methods.len() > 1 => json!({"200": {
            "description": "Rows (envelope); concurrency answers a bare array",
            "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}}},
        }}),
        _ => {
            json!({"200": {"description": "Rows", "content": {"application/json": {"schema": envelope}}}})
        }
    };
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    let error = json!({"$ref": "#/components/schemas/StoreError"});
    for (code, what) in [
        (
            "400",
            "Invalid parameters; innererror.data names each one and what is allowed",
        ),
        (
            "401",
            "Missing, invalid or expired token, or a token for another API",
        ),
        ("403", "The token has neither Manager nor Developer"),
        ("404", "Not a product of this account, or no such method"),
        ("429", "Rate limited (Retry-After)"),
        ("504", "The query ran longer than 100 s"),
    ] {
        responses.insert(
            code.into(),
            json!({"description": what, "content": {"application/json": {"schema": error}}}),
        );
    }
    let summary = if methods.len() > 1 {
        let types: Vec<&str> = methods.iter().map(|m| m.metric_type).collect();
        format!("{} (metricType: {})", m.title, types.join(", "))
    } else {
        m.title.to_string()
    };
    json!({
        "tags": ["Store analytics"],
        "summary": summary,
        "operationId": format!("store_{}", m.path.replace('/', "_")),
        "parameters": params,
        "responses": responses,
        "security": [{"bearer": []}],
    })
}

impl Modify for StorePaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use query::storeapi::methods::METHODS;
        let mut paths: Vec<&str> = METHODS.iter().map(|m| m.path).collect();
        paths.dedup();
        for path in paths {
            let group: Vec<&StoreMethod> = METHODS.iter().filter(|m| m.path == path).collect();
            let op = store_operation(&group);
            match serde_json::from_value::<utoipa::openapi::path::Operation>(op) {
                Ok(op) => openapi.paths.add_path_operation(
                    format!("{}/{path}", crate::store_api::PREFIX),
                    vec![utoipa::openapi::HttpMethod::Get],
                    op,
                ),
                Err(e) => tracing::error!(error = %e, path, "an OpenAPI operation did not build"),
            }
        }
        let error = serde_json::json!({
            "type": "object",
            "required": ["code", "message", "innererror"],
            "properties": {
                "code": {"type": "string"},
                "data": {"type": "array"},
                "details": {"type": "array"},
                "message": {"type": "string"},
                "source": {"type": "string"},
                "innererror": {"type": "object", "properties": {
                    "code": {"type": "string"},
                    "data": {"type": "array", "items": {"type": "string"}},
                    "details": {"type": "array"},
                    "message": {"type": "string"},
                    "source": {"type": "string"},
                }},
            }
        });
        if let Ok(schema) = serde_json::from_value::<utoipa::openapi::schema::Schema>(error) {
            openapi
                .components
                .get_or_insert_with(Default::default)
                .schemas
                .insert("StoreError".into(), schema.into());
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "openinsights",
        description = "Partner Insights programmatic access API, Store analytics API and their token service, as served by openinsights."
    ),
    paths(
        crate::insights::queries::datasets,
        crate::insights::queries::create_query,
        crate::insights::queries::list_queries,
        crate::insights::queries::delete_query,
        crate::insights::queries::test_query,
        crate::insights::reports::create_report,
        crate::insights::reports::list_reports,
        crate::insights::reports::update_report,
        crate::insights::reports::delete_report,
        crate::insights::reports::pause_report,
        crate::insights::reports::resume_report,
        crate::insights::reports::executions,
        crate::downloads::download,
        crate::token_routes::token_v1,
        crate::token_routes::token_v2,
        crate::token_routes::discovery::jwks_v1,
        crate::token_routes::discovery::jwks_v2,
        crate::token_routes::discovery::metadata_v1,
        crate::token_routes::discovery::metadata_v2,
    ),
    modifiers(&Bearer, &StorePaths),
    tags((name = "Insights", description = "Datasets, queries, reports, executions"), (name = "Store analytics", description = "Analytics for apps, add-ons, desktop programs, Xbox titles and hardware under /v1.0/my/analytics"), (name = "Tokens", description = "OAuth2 token service"))
)]
pub struct ApiDoc;

/// The failures every authenticated Insights operation may answer with,
/// listed once for all of them.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only its derive is used: it describes responses.
pub enum CommonErrors {
    #[response(
        status = 400,
        description = "Invalid input; the message names the field"
    )]
    BadRequest(proto::Envelope<serde_json::Value>),
    #[response(status = 401, description = "Missing or invalid token")]
    Unauthorized(proto::Envelope<serde_json::Value>),
    #[response(status = 403, description = "The token lacks the role")]
    Forbidden(proto::Envelope<serde_json::Value>),
    #[response(status = 429, description = "Rate limited (Retry-After)")]
    RateLimited(proto::Envelope<serde_json::Value>),
}

/// The JSON document's path.
pub const DOC_PATH: &str = "/insights/v1/mpn/swagger/swagger.json";

pub fn routes() -> Router<Shared> {
    Router::<Shared>::new().merge(
        utoipa_swagger_ui::SwaggerUi::new("/insights/v1/mpn/swagger")
            .url(DOC_PATH, ApiDoc::openapi()),
    )
}
