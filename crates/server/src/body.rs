//! Request bodies as real clients send them: JSON objects whose field
//! names match case-insensitively and may appear twice (PascalCase and
//! camelCase, accepted when the values agree), or form-encoded bodies read
//! with the same rules; at most 1 MiB. Also the lenient timestamp parser
//! for inputs and the one formatter for outputs.

use std::collections::HashMap;
use std::fmt;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use chrono::{DateTime, Utc};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};

/// The body size limit.
pub const MAX_BODY: usize = 1024 * 1024;

/// After refusing a body over its limit, at most this much more of it is
/// read and dropped, for at most [`DRAIN_TIME`] (see [`read_limited`]).
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a body was not read whole.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyRefused {
    /// More than the limit.
    TooLarge,
    /// The connection failed mid-body (the client went away).
    Broken,
}

/// The whole body if it holds at most `limit` bytes. Over the limit, the
/// rest is read on and dropped (up to [`DRAIN_BYTES`] more, for at most
/// [`DRAIN_TIME`]) before the refusal, so that a client still writing a
/// large body gets to read the 413 instead of a reset connection (what
/// nginx calls a lingering close). Nothing over the limit is kept.
pub async fn read_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, BodyRefused> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyRefused::Broken)?;
        if kept.len() + chunk.len() > limit {
            drop(kept);
            let drain = async {
                let mut left = DRAIN_BYTES;
                while let Some(Ok(chunk)) = stream.next().await {
                    left = left.saturating_sub(chunk.len());
                    if left == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(BodyRefused::TooLarge);
        }
        kept.extend_from_slice(&chunk);
    }
    Ok(kept.into())
}

/// A body's fields by lower-cased name.
#[derive(Debug, Default)]
pub struct Fields {
    fields: HashMap<String, Value>,
    /// Form bodies carry only strings; typed getters parse them.
    from_form: bool,
}

/// Collects a JSON object's entries in order, duplicates included.
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

impl Fields {
    /// Parses a body: JSON object, or form-encoded (by content type, or by
    /// shape when a JSON content type carries `a=b&c=d`).
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Fields, ApiError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("The request body is not valid UTF-8"))?;
        let trimmed = text.trim_start();
        let form_type = content_type.is_some_and(|c| {
            c.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if trimmed.is_empty() {
            return Ok(Fields::default());
        }
        let looks_json = trimmed.starts_with('{') || trimmed.starts_with('[');
        if !looks_json && (form_type || trimmed.contains('=')) {
            let mut fields = Fields {
                fields: HashMap::new(),
                from_form: true,
            };
            for (k, v) in form_urlencoded::parse(bytes) {
                fields.insert(k.into_owned(), Value::String(v.into_owned()))?;
            }
            return Ok(fields);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let entries = <Entries as serde::Deserialize>::deserialize(&mut de)
            .and_then(|e| de.end().map(|()| e))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "The request body is not a JSON object: {e} (send a JSON object such as {{\"Name\": \"...\"}})"
                ))
            })?;
        let mut fields = Fields::default();
        for (k, v) in entries.0 {
            fields.insert(k, v)?;
        }
        Ok(fields)
    }

    fn insert(&mut self, key: String, value: Value) -> Result<(), ApiError> {
        let lower = key.to_lowercase();
        match self.fields.get_mut(&lower) {
            None => {
                self.fields.insert(lower, value);
            }
            Some(existing) if existing.is_null() => *existing = value,
            Some(_) if value.is_null() => {}
            Some(existing) if *existing == value => {}
            Some(existing) => {
                return Err(ApiError::bad_request(format!(
                    "Field '{key}' is given twice with different values ({} and {}); send it once, or the same value in both spellings",
                    describe(existing),
                    describe(&value)
                )));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .get(&name.to_lowercase())
            .filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A string field; `None` when absent or null.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong_type(name, "a string", other)),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if self.from_form => parse_bool(name, s).map(Some),
            Some(other) => Err(wrong_type(name, "true or false", other)),
        }
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, "a whole number", &Value::Number(n.clone()))),
            Some(Value::String(s)) if self.from_form => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| wrong_type(name, "a whole number", &Value::String(s.clone()))),
            Some(other) => Err(wrong_type(name, "a whole number", other)),
        }
    }

    pub fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_timestamp(name, &s).map(Some),
        }
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::bad_request(format!(
        "Field '{name}' must be {expected}, got {}",
        describe(got)
    ))
}

/// `true`/`false` in any case.
pub fn parse_bool(name: &str, text: &str) -> Result<bool, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be true or false, got '{text}'"
        ))),
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ`, any RFC 3339 offset (normalised to UTC),
/// fractional seconds, and a space instead of `T`.
pub fn parse_timestamp(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    let t = text.trim();
    let mut normal = t.to_string();
    if normal.len() > 10 && normal.as_bytes().get(10) == Some(&b' ') {
        normal.replace_range(10..11, "T");
    }
    DateTime::parse_from_rfc3339(&normal)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{name} '{text}' is not a valid timestamp; use UTC as yyyy-MM-ddTHH:mm:ssZ (e.g. 2026-04-01T18:41:00Z)"
            ))
        })
}

/// The one output format for instants: `yyyy-MM-ddTHH:mm:ssZ`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Extractor: the body as [`Fields`], 413 beyond [`MAX_BODY`].
pub struct RequestFields(pub Fields);

impl<S: Send + Sync> FromRequest<S> for RequestFields {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body: Body = req.into_body();
        let bytes = read_limited(body, MAX_BODY).await.map_err(|e| match e {
            BodyRefused::TooLarge => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The request body is larger than the limit of {MAX_BODY} bytes (1 MiB)"),
            ),
            BodyRefused::Broken => {
                ApiError::bad_request("The request body could not be read to its end")
            }
        })?;
        Fields::parse(&bytes, content_type.as_deref()).map(RequestFields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_agree_or_fail() {
        let f =
            Fields::parse(br#"{"Name":"n","name":"n","Query":null,"query":"q"}"#, None).unwrap();
        assert_eq!(f.string("NAME").unwrap().as_deref(), Some("n"));
        assert_eq!(f.string("query").unwrap().as_deref(), Some("q"));
        let e = Fields::parse(br#"{"Name":"a","name":"b"}"#, None).unwrap_err();
        assert!(e.message.contains("'name' is given twice"), "{}", e.message);
    }

    #[test]
    fn forms_and_types() {
        let f = Fields::parse(
            b"ReportName=x&ExecuteNow=TRUE&RecurrenceInterval=4",
            Some("application/json"),
        )
        .unwrap();
        assert_eq!(f.boolean("executenow").unwrap(), Some(true));
        assert_eq!(f.integer("RecurrenceInterval").unwrap(), Some(4));
        let j = Fields::parse(br#"{"ExecuteNow":"yes","RecurrenceInterval":"4"}"#, None).unwrap();
        assert!(
            j.boolean("ExecuteNow")
                .unwrap_err()
                .message
                .contains("'ExecuteNow' must be true or false")
        );
        assert!(
            j.integer("RecurrenceInterval")
                .unwrap_err()
                .message
                .contains("whole number")
        );
        assert!(Fields::parse(b"[1]", None).is_err());
        assert!(Fields::parse(b"{\"a\":1} x", None).is_err());
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2021-04-01T18:41:00Z",
            "2021-04-01 18:41:00Z",
            "2021-04-01T20:41:00.123+02:00",
        ] {
            let t = parse_timestamp("StartTime", ok).unwrap();
            assert_eq!(format_time(t), "2021-04-01T18:41:00Z", "{ok}");
        }
        for bad in ["2021-04-01", "yesterday", "2021-04-01T18:41:00"] {
            assert!(
                parse_timestamp("StartTime", bad)
                    .unwrap_err()
                    .message
                    .starts_with("StartTime '")
            );
        }
    }
}

/// A query string's parameters, looked up by name in any case (the first
/// of a repeated name wins); decoded exactly once.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> QueryParams {
        QueryParams(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
