//! The Store analytics API's `aggregationLevel`: the closed set of levels a
//! method may offer, their wire names and the buckets they stand for.

use chrono::{Datelike, Duration, NaiveDate};

use crate::plan::DateUnit;

/// One `aggregationLevel` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Xbox concurrency only: one point per minute.
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Minute,
        Level::Hour,
        Level::Day,
        Level::Week,
        Level::Month,
    ];

    /// The wire spelling (and the `grain` value of per-grain data).
    pub const fn name(self) -> &'static str {
        match self {
            Level::Minute => "minute",
            Level::Hour => "hour",
            Level::Day => "day",
            Level::Week => "week",
            Level::Month => "month",
        }
    }

    /// A level from its name in any case.
    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The first day of the bucket holding `day`: its Monday at week level,
    /// the 1st at month level, `day` itself otherwise.
    pub fn bucket_start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Level::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Level::Month => day.with_day(1).unwrap_or(day),
            Level::Minute | Level::Hour | Level::Day => day,
        }
    }

    /// The date unit rows are bucketed on (hours and minutes are dated on
    /// their day).
    pub fn date_unit(self) -> DateUnit {
        match self {
            Level::Week => DateUnit::Week,
            Level::Month => DateUnit::Month,
            Level::Minute | Level::Hour | Level::Day => DateUnit::Day,
        }
    }

    /// Week and month: buckets of several days.
    pub fn spans_days(self) -> bool {
        matches!(self, Level::Week | Level::Month)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for l in Level::ALL {
            assert_eq!(Level::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(Level::parse("year"), None);
    }

    #[test]
    fn buckets_start_on_monday_and_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(Level::Week.bucket_start(d).to_string(), "2026-11-23");
        assert_eq!(Level::Month.bucket_start(d).to_string(), "2026-11-01");
        assert_eq!(Level::Day.bucket_start(d), d);
    }
}
