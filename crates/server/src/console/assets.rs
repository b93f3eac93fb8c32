//! The console's files, embedded at compile time from `console/src/`. The
//! page (`index.html`) is served at `/console/` with `no-cache`; every other
//! file under `/console/assets/<build>/`, where `<build>` is a hash of all
//! the files, so they are cached for a year (`immutable`) and a new build
//! is a new address. Text files are gzip-compressed once, on first use, and
//! sent compressed to clients that accept it. Every answer carries the
//! Content-Security-Policy: scripts and styles from this origin only (no
//! inline script or style), no framing, no other origin contacted.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::Shared;
use crate::downloads::accepts_gzip;
use crate::http::OriginalPath;

/// The policy every console answer carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console/src/", $path)) as &[u8])),*]
    };
}

/// Every file of the console, by its path under `console/src/`.
static FILES: &[(&str, &[u8])] = embed!(
    "index.html",
    "app.css",
    "favicon.svg",
    "js/api.mjs",
    "js/charts.mjs",
    "js/datasets.mjs",
    "js/dom.mjs",
    "js/editor.mjs",
    "js/main.mjs",
    "js/queries.mjs",
    "js/reports.mjs",
    "js/signin.mjs",
    "js/store.mjs",
    "vendor/chart.umd.min.js",
);

/// A file ready to serve.
struct Asset {
    path: &'static str,
    body: &'static [u8],
    gzip: Option<Vec<u8>>,
    content_type: &'static str,
    etag: String,
}

struct Build {
    /// Hex prefix of the SHA-256 over every file: the assets' address.
    id: String,
    assets: Vec<Asset>,
    /// The page with the build's asset address filled in.
    page: Vec<u8>,
}

static BUILD: LazyLock<Build> = LazyLock::new(|| {
    let mut all = Sha256::new();
    let mut assets = Vec::new();
    for (path, body) in FILES {
        all.update(path.as_bytes());
        all.update(body);
        let content_type = content_type(path);
        let gzip = (content_type != "application/octet-stream").then(|| gzip(body));
        assets.push(Asset {
            path,
            body,
            gzip,
            content_type,
            etag: format!("\"{}\"", &hex::encode(Sha256::digest(body))[..20]),
        });
    }
    let id = hex::encode(all.finalize())[..16].to_string();
    let template = FILES
        .iter()
        .find(|(p, _)| *p == "index.html")
        .map_or(&[][..], |(_, b)| b);
    let page = String::from_utf8_lossy(template)
        .replace("%ASSETS%", &format!("assets/{id}"))
        .into_bytes();
    Build { id, assets, page }
});

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/console", get(page))
        .route("/console/assets/{build}/{*path}", get(asset))
}

fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The page. `/console` (no slash) is redirected to `/console/`, so that
/// the page's relative addresses work behind a proxy's path prefix too.
async fn page(original: Option<axum::Extension<OriginalPath>>, headers: HeaderMap) -> Response {
    let slash = original.is_none_or(|p| p.0.0.ends_with('/'));
    if !slash {
        let mut res = StatusCode::PERMANENT_REDIRECT.into_response();
        res.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("console/"));
        return res;
    }
    let build = &*BUILD;
    let mut res = compressed(&headers, &build.page, None).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure_headers(h);
    res
}

/// A body, gzip-compressed when the client accepts it (the page is
/// compressed per request: it is small; assets come compressed).
fn compressed(headers: &HeaderMap, body: &'static [u8], gz: Option<&'static [u8]>) -> Response {
    let mut res = if accepts_gzip(headers) {
        let gz = gz.map_or_else(|| gzip(body), <[u8]>::to_vec);
        let mut r = gz.into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        body.into_response()
    };
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

async fn asset(Path((build, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let b = &*BUILD;
    let found = (build == b.id)
        .then(|| {
            b.assets
                .iter()
                .find(|a| a.path == path && a.path != "index.html")
        })
        .flatten();
    let Some(asset) = found else {
        let mut res = (
            StatusCode::NOT_FOUND,
            format!("No console file {path} in build {build}; reload the console"),
        )
            .into_response();
        secure_headers(res.headers_mut());
        return res;
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = compressed(&headers, asset.body, asset.gzip.as_deref());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    secure_headers(h);
    res
}

/// The current build's id (tests and the page weight report use it).
pub fn build_id() -> &'static str {
    &BUILD.id
}

/// Every asset path with its size and compressed size.
pub fn weights() -> Vec<(&'static str, usize, usize)> {
    BUILD
        .assets
        .iter()
        .map(|a| {
            (
                a.path,
                a.body.len(),
                a.gzip.as_ref().map_or(a.body.len(), Vec::len),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_points_at_this_build() {
        let page = String::from_utf8_lossy(&BUILD.page);
        assert!(page.contains(&format!("assets/{}/js/main.mjs", build_id())));
        assert!(!page.contains("%ASSETS%"));
        // No inline script: the policy forbids it, so the page must not need it.
        assert!(!page.contains("<script>"), "inline script in index.html");
        assert!(!page.contains(" style="), "inline style in index.html");
    }

    #[test]
    fn gzip_is_honoured_unless_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        assert!(weights().iter().all(|(_, raw, gz)| *raw < 1024 || gz < raw));
    }
}
