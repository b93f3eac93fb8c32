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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "openinsights",
        description = "Partner Insights programmatic access API and its token service, as served by openinsights."
    ),
    paths(
        crate::insights::datasets,
        crate::insights::create_query,
        crate::insights::list_queries,
        crate::insights::delete_query,
        crate::insights::test_query,
        crate::insights::create_report,
        crate::insights::list_reports,
        crate::insights::update_report,
        crate::insights::delete_report,
        crate::insights::pause_report,
        crate::insights::resume_report,
        crate::insights::executions,
        crate::downloads::download,
        crate::token_routes::token_v1,
        crate::token_routes::token_v2,
    ),
    modifiers(&Bearer),
    tags((name = "Insights", description = "Datasets, queries, reports, executions"), (name = "Tokens", description = "OAuth2 token service"))
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
