//! The web console at `/console/`: a single-page app (plain ES modules, no
//! build step; charts by the vendored Chart.js) embedded in the binary and
//! served by `assets`, and its extension endpoints under `/console/api/`
//! (`api`). The console signs in against the built-in token service and
//! calls the public APIs with that token like any client; the extension
//! endpoints take the same Insights token and the same `admit` gate, so a
//! console session can do nothing the token could not do with curl.
//!
//! | module | what |
//! |---|---|
//! | `assets` | the embedded files, the page, caching, gzip, CSP |
//! | `api` | live query checking and completion, the catalog, deliveries, the Store products, the sign-in settings |

mod api;
pub mod assets;

use std::sync::Arc;

use axum::Router;

use crate::Shared;

/// The console's page and assets (public: they hold no data) and its API
/// (behind the Insights gate).
pub fn routes(state: &Shared) -> Router<Shared> {
    let insights = api::routes().route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(state),
        crate::http::insights_auth,
    ));
    let store = api::store_routes().route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(state),
        crate::store_api::store_auth,
    ));
    assets::routes()
        .route("/console/api/config", axum::routing::get(api::config))
        .merge(insights)
        .merge(store)
}

/// The console's address under the public URL.
pub fn url(public_url: &str) -> String {
    format!("{}/console/", public_url.trim_end_matches('/'))
}
