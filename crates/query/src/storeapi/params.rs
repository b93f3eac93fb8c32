//! The query-string parameters of one Store analytics call and the
//! parsing of its dates and counts.

use chrono::{Duration, Months, NaiveDate};

use super::methods::DateDefault;
use super::{ParamError, bad, dates};

/// The query-string parameters of one call: names case-insensitive,
/// `$filter` etc. the same as `filter`, the first occurrence wins.
#[derive(Debug, Clone, Default)]
pub struct StoreParams(Vec<(String, String)>);

impl StoreParams {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> StoreParams {
        StoreParams(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value, trimmed.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Replaces the value of every occurrence of `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        for (k, v) in &mut self.0 {
            if k.trim_start_matches('$').eq_ignore_ascii_case(name) {
                *v = value.to_string();
            }
        }
    }
}

pub(super) fn day_of(d: DateDefault, today: NaiveDate) -> NaiveDate {
    match d {
        DateDefault::Today => today,
        DateDefault::DaysAgo(n) => today - Duration::days(n),
        DateDefault::MonthsAgo(n) => today.checked_sub_months(Months::new(n)).unwrap_or(today),
        DateDefault::Fixed(y, m, dd) => NaiveDate::from_ymd_opt(y, m, dd).unwrap_or(today),
    }
}

pub(super) fn parse_day_param(
    params: &StoreParams,
    name: &str,
) -> Result<Option<NaiveDate>, ParamError> {
    let Some(text) = params.value(name) else {
        return Ok(None);
    };
    dates::parse_date_input(text)
        .map(|t| Some(t.date()))
        .ok_or_else(|| {
            bad(
                name,
                format!(
                    "{name} '{}' is not a date; accepted forms: {}",
                    text.chars().take(40).collect::<String>(),
                    dates::DATE_FORMS
                ),
            )
        })
}

pub(super) fn parse_count(
    params: &StoreParams,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ParamError> {
    let Some(text) = params.value(name) else {
        return Ok(default);
    };
    let n: u64 = text.parse().map_err(|_| {
        let range = if max >= u64::MAX / 4 {
            "0 or more".to_string()
        } else {
            format!("from 0 to {max}")
        };
        bad(
            name,
            format!(
                "{name} parameter must be a whole number {range}, not '{}'",
                text.chars().take(40).collect::<String>()
            ),
        )
    })?;
    if n > max {
        return Err(bad(
            name,
            format!("{name} parameter cannot be more than {max}"),
        ));
    }
    Ok(n)
}
