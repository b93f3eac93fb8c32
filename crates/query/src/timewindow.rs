//! TIMESPAN ranges and the pure function that turns one into a half-open
//! `[from, to)` interval at a reference instant, in UTC, exactly as the
//! spec's table says. No clock is read here: callers pass the instant (now
//! for a test query, the due time for a scheduled execution).

use std::fmt;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};

use crate::catalog::Dataset;

/// A TIMESPAN value of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateRange {
    Today,
    Yesterday,
    Last7Days,
    Last14Days,
    Last30Days,
    Last90Days,
    Last180Days,
    Last365Days,
    LastMonth,
    Last3Months,
    Last6Months,
    Last1Year,
    Last2Years,
    Last3Years,
    Lifetime,
}

impl DateRange {
    pub const ALL: [DateRange; 15] = [
        DateRange::Today,
        DateRange::Yesterday,
        DateRange::Last7Days,
        DateRange::Last14Days,
        DateRange::Last30Days,
        DateRange::Last90Days,
        DateRange::Last180Days,
        DateRange::Last365Days,
        DateRange::LastMonth,
        DateRange::Last3Months,
        DateRange::Last6Months,
        DateRange::Last1Year,
        DateRange::Last2Years,
        DateRange::Last3Years,
        DateRange::Lifetime,
    ];

    /// The default TIMESPAN of a dataset with a date column.
    pub const DEFAULT: DateRange = DateRange::Last6Months;

    pub fn as_str(self) -> &'static str {
        match self {
            DateRange::Today => "TODAY",
            DateRange::Yesterday => "YESTERDAY",
            DateRange::Last7Days => "LAST_7_DAYS",
            DateRange::Last14Days => "LAST_14_DAYS",
            DateRange::Last30Days => "LAST_30_DAYS",
            DateRange::Last90Days => "LAST_90_DAYS",
            DateRange::Last180Days => "LAST_180_DAYS",
            DateRange::Last365Days => "LAST_365_DAYS",
            DateRange::LastMonth => "LAST_MONTH",
            DateRange::Last3Months => "LAST_3_MONTHS",
            DateRange::Last6Months => "LAST_6_MONTHS",
            DateRange::Last1Year => "LAST_1_YEAR",
            DateRange::Last2Years => "LAST_2_YEARS",
            DateRange::Last3Years => "LAST_3_YEARS",
            DateRange::Lifetime => "LIFETIME",
        }
    }

    /// Parses a range name in any case.
    pub fn parse(name: &str) -> Option<DateRange> {
        DateRange::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
    }

    /// The interval at reference instant `at`; both bounds `None` for LIFETIME.
    pub fn bounds(self, at: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let today = at.date_naive();
        let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1);
        let days_before = |n: u64| today.checked_sub_days(Days::new(n)).map(midnight);
        let months_before = |n: u32| {
            month_start
                .and_then(|m| m.checked_sub_months(Months::new(n)))
                .map(midnight)
        };
        let start_of_today = Some(midnight(today));
        match self {
            DateRange::Today => (start_of_today, Some(at)),
            DateRange::Yesterday => (days_before(1), start_of_today),
            DateRange::Last7Days => (days_before(7), start_of_today),
            DateRange::Last14Days => (days_before(14), start_of_today),
            DateRange::Last30Days => (days_before(30), start_of_today),
            DateRange::Last90Days => (days_before(90), start_of_today),
            DateRange::Last180Days => (days_before(180), start_of_today),
            DateRange::Last365Days => (days_before(365), start_of_today),
            DateRange::LastMonth => (months_before(1), months_before(0)),
            DateRange::Last3Months => (months_before(3), months_before(0)),
            DateRange::Last6Months => (months_before(6), months_before(0)),
            DateRange::Last1Year => (months_before(12), months_before(0)),
            DateRange::Last2Years => (months_before(24), months_before(0)),
            DateRange::Last3Years => (months_before(36), months_before(0)),
            DateRange::Lifetime => (None, None),
        }
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}

/// A half-open interval `[from, to)` on a dataset's date column; a missing
/// bound is unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub column: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeWindow {
    /// True when an instant (a date column value at midnight) lies inside.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| from <= instant) && self.to.is_none_or(|to| instant < to)
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |t: Option<DateTime<Utc>>| {
            t.map_or_else(
                || "unbounded".to_string(),
                |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
        };
        write!(
            f,
            "{} in [{}, {})",
            self.column,
            show(self.from),
            show(self.to)
        )
    }
}

/// The window that `range` selects on `dataset` at reference instant `at`.
/// `None` when the dataset has no date column (nothing to filter on).
pub fn window(range: DateRange, at: DateTime<Utc>, dataset: &Dataset) -> Option<TimeWindow> {
    let column = dataset.date_column.as_ref()?;
    let (from, to) = range.bounds(at);
    Some(TimeWindow {
        column: column.clone(),
        from,
        to,
    })
}
