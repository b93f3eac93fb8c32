//! CAB files of failure reports: `cabdownload` answers a 302 to a link
//! signed with the server's link key (as report downloads are), valid for
//! an hour on the service clock; the link streams the file.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::arrow::array::RecordBatch;
use engine::store_answer::{rows, string_at};
use hmac::Mac;

use super::error::StoreApiError;
use crate::Shared;
use crate::error::ApiError;

/// The signature of a CAB link: the server's link key (as for report
/// downloads) over tenant, CAB and expiry.
fn cab_mac(state: &Shared, tenant: &str, key: &str, expiry: i64) -> crate::downloads::HmacSha256 {
    let mut mac = crate::downloads::keyed(&state.link_key);
    mac.update(format!("cab\n{tenant}\n{key}\n{expiry}").as_bytes());
    mac
}

/// How long a CAB download link is valid.
const CAB_LINK_SECS: i64 = 3600;

pub(super) async fn redirect(
    state: &Shared,
    tenant: &engine::TenantId,
    batches: &[RecordBatch],
) -> Result<Response, StoreApiError> {
    let Some(key) = rows(batches).find_map(|(b, i)| string_at(b, 0, i)) else {
        return Err(ApiError::not_found(
            "No CAB with this id for this account (CABs of the last 30 days can be downloaded)",
        )
        .into());
    };
    let expiry = state.clock.now().timestamp() + CAB_LINK_SECS;
    let mac = cab_mac(state, tenant.as_str(), &key, expiry);
    let sig = hex::encode(mac.finalize().into_bytes());
    let location = format!(
        "{}/store/cab/{tenant}/{}.cab?expiry={expiry}&signature={sig}",
        state.public_url,
        urlencode(&key)
    );
    let mut res = StatusCode::FOUND.into_response();
    let value =
        HeaderValue::from_str(&location).map_err(|e| StoreApiError::from(ApiError::internal(e)))?;
    res.headers_mut().insert(header::LOCATION, value);
    Ok(res)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `expiry` and `signature` of a CAB link's query string; `None` when
/// either is missing or malformed (answered like a wrong signature, in the
/// §1.7 JSON shape rather than the extractor's plain-text 400).
fn cab_link(raw: Option<&str>) -> Option<(i64, String)> {
    let mut expiry = None;
    let mut signature = None;
    for (k, v) in form_urlencoded::parse(raw?.as_bytes()) {
        match k.as_ref() {
            "expiry" if expiry.is_none() => expiry = v.parse::<i64>().ok(),
            "signature" if signature.is_none() => signature = Some(v.into_owned()),
            _ => {}
        }
    }
    Some((expiry?, signature?))
}

/// Serves a CAB file to whoever holds a valid signed link.
pub(super) async fn cab_file(
    State(state): State<Shared>,
    Path((tenant, file)): Path<(String, String)>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, StoreApiError> {
    let forbidden = || {
        StoreApiError::from(ApiError::forbidden(
            "The CAB link is not valid or has expired; ask cabdownload for a new one",
        ))
    };
    let key = file.strip_suffix(".cab").unwrap_or(&file);
    let Some((expiry, signature)) = cab_link(raw.as_deref()) else {
        return Err(forbidden());
    };
    let Ok(sig) = hex::decode(&signature) else {
        return Err(forbidden());
    };
    let mac = cab_mac(&state, &tenant, key, expiry);
    if mac.verify_slice(&sig).is_err() || expiry < state.clock.now().timestamp() {
        return Err(forbidden());
    }
    let tenant = engine::TenantId::parse(&tenant).map_err(|_| forbidden())?;
    let path = object_store::path::Path::from(engine::storage::layout::cab_file(&tenant, key));
    use object_store::ObjectStoreExt;
    let bytes = match state.engine.store().object_store().get(&path).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|e| StoreApiError::from(ApiError::internal(e)))?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(ApiError::not_found("The CAB file no longer exists").into());
        }
        Err(e) => return Err(ApiError::internal(e).into()),
    };
    let mut res = (StatusCode::OK, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.ms-cab-compressed"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::downloads::content_disposition(&format!(
        "{key}.cab"
    ))) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
