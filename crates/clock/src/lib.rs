//! The one clock. Every instant the service reads (token lifetimes, link
//! expiry, due times, the Store API's "today", the demo data's last day)
//! comes from a [`Clock`] handed to it, never from `Utc::now()` directly, so
//! tests pin the date and step time by hand and integrators can run a
//! 4-hourly schedule every 4 seconds.
//!
//! A `Clock` is a cheap handle (an `Arc`); clones see the same time, and
//! moving it ([`Clock::advance`], [`Clock::set`]) is seen by every clone at
//! once and wakes whoever waits in [`Clock::changed`]. Time only moves
//! forward: a step back is refused, so due times, link expiries and
//! execution histories never contradict each other.
//!
//! Three kinds, one type:
//! - **wall**: real time (rate 1, starting now);
//! - **scaled**: starts at a chosen instant (default: now) and runs `rate`
//!   times faster than wall time;
//! - **manual**: stands still until moved; for deterministic tests.

use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::Notify;

/// Why the clock refused to move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the service clock only moves forward: {requested} is before the current time {now}")]
    Backwards {
        requested: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("the clock cannot be moved by {0}: only a positive duration is allowed")]
    NotPositive(String),
    #[error("the clock cannot reach that instant (out of chrono's range)")]
    OutOfRange,
}

/// How the clock advances by itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Follows wall time, `rate` times faster (1.0 is real time).
    Scaled(f64),
    /// Stands still until moved.
    Manual,
}

/// Service time is `service + (wall_now - wall) × rate` (manual: `service`).
#[derive(Debug, Clone, Copy)]
struct Anchor {
    wall: DateTime<Utc>,
    service: DateTime<Utc>,
}

#[derive(Debug)]
struct Inner {
    pace: Pace,
    anchor: RwLock<Anchor>,
    changed: Notify,
}

/// A shared handle on the service time. See the module docs.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::wall()
    }
}

impl Clock {
    fn with(pace: Pace, start: DateTime<Utc>) -> Clock {
        Clock {
            inner: Arc::new(Inner {
                pace,
                anchor: RwLock::new(Anchor {
                    wall: Utc::now(),
                    service: start,
                }),
                changed: Notify::new(),
            }),
        }
    }

    /// Real time.
    pub fn wall() -> Clock {
        Clock::scaled(1.0)
    }

    /// Starts now and runs `rate` times faster than wall time. A rate that
    /// is not a positive finite number is taken as 1.
    pub fn scaled(rate: f64) -> Clock {
        Clock::starting_at(Utc::now(), rate)
    }

    /// Starts at `start` and runs `rate` times faster than wall time.
    pub fn starting_at(start: DateTime<Utc>, rate: f64) -> Clock {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Clock::with(Pace::Scaled(rate), start)
    }

    /// Was `service` at wall time `wall` and runs `rate` times faster than
    /// wall time: replicas built from the same stored anchor agree on the
    /// service time whenever each of them started.
    pub fn anchored(wall: DateTime<Utc>, service: DateTime<Utc>, rate: f64) -> Clock {
        let clock = Clock::starting_at(service, rate);
        if let Ok(mut anchor) = clock.inner.anchor.write() {
            anchor.wall = wall;
        }
        clock
    }

    /// Stands at `start` until moved.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock::with(Pace::Manual, start)
    }

    pub fn pace(&self) -> Pace {
        self.inner.pace
    }

    /// How many service seconds pass per wall second (0 for manual).
    pub fn rate(&self) -> f64 {
        match self.inner.pace {
            Pace::Scaled(rate) => rate,
            Pace::Manual => 0.0,
        }
    }

    fn anchor(&self) -> Anchor {
        match self.inner.anchor.read() {
            Ok(a) => *a,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// The exact service time now.
    pub fn now_precise(&self) -> DateTime<Utc> {
        self.now_from(self.anchor())
    }

    /// The service time now, in whole seconds (what every API shows).
    pub fn now(&self) -> DateTime<Utc> {
        let t = self.now_precise();
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }

    /// The service date now (UTC).
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Moves the clock forward by `by`; answers the new time.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        if by <= Duration::zero() {
            return Err(ClockError::NotPositive(format!("{by}")));
        }
        let target = self
            .now_precise()
            .checked_add_signed(by)
            .ok_or(ClockError::OutOfRange)?;
        self.set(target)
    }

    /// Moves the clock forward to `to` (a step back is refused); the rate
    /// goes on from there.
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        {
            let mut anchor = match self.inner.anchor.write() {
                Ok(a) => a,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = self.now_from(*anchor);
            if to < now {
                return Err(ClockError::Backwards { requested: to, now });
            }
            *anchor = Anchor {
                wall: Utc::now(),
                service: to,
            };
        }
        self.inner.changed.notify_waiters();
        Ok(to)
    }

    /// Takes another process's anchor (a replica moved the shared clock):
    /// from now on the time is `service + (wall_now - wall) × rate`. Never
    /// a step back: an anchor behind the current time is ignored (false).
    pub fn reanchor(&self, wall: DateTime<Utc>, service: DateTime<Utc>) -> bool {
        {
            let mut anchor = match self.inner.anchor.write() {
                Ok(a) => a,
                Err(poisoned) => poisoned.into_inner(),
            };
            let proposed = Anchor { wall, service };
            if self.now_from(proposed) <= self.now_from(*anchor) {
                return false;
            }
            *anchor = proposed;
        }
        self.inner.changed.notify_waiters();
        true
    }

    /// The current anchor: the service time at a wall instant (what a
    /// replica stores for the others).
    pub fn anchor_pair(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let a = self.anchor();
        (a.wall, a.service)
    }

    fn now_from(&self, anchor: Anchor) -> DateTime<Utc> {
        match self.inner.pace {
            Pace::Manual => anchor.service,
            Pace::Scaled(rate) => {
                let elapsed = (Utc::now() - anchor.wall).num_milliseconds() as f64 * rate;
                anchor.service + Duration::milliseconds(elapsed as i64)
            }
        }
    }

    /// The wall time until the service clock reaches `at` (zero when it has;
    /// `None` for a manual clock, which gets there only when moved).
    pub fn wall_until(&self, at: DateTime<Utc>) -> Option<StdDuration> {
        let ahead = (at - self.now_precise()).num_milliseconds().max(0) as f64;
        match self.inner.pace {
            Pace::Manual if ahead > 0.0 => None,
            Pace::Manual => Some(StdDuration::ZERO),
            Pace::Scaled(rate) => Some(StdDuration::from_millis((ahead / rate) as u64)),
        }
    }

    /// Resolves when the clock is next moved by hand.
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reanchoring_moves_forward_only() {
        let c = Clock::manual(at("2026-01-01T00:00:00Z"));
        assert!(c.reanchor(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")));
        assert_eq!(c.now(), at("2026-01-02T00:00:00Z"));
        assert!(!c.reanchor(at("2026-01-01T00:00:00Z"), at("2026-01-01T12:00:00Z")));
        assert_eq!(c.now(), at("2026-01-02T00:00:00Z"));
        let (_, service) = c.anchor_pair();
        assert_eq!(service, at("2026-01-02T00:00:00Z"));
    }

    #[test]
    fn anchored_clocks_agree_whenever_they_start() {
        let wall = Utc::now() - Duration::seconds(10);
        let service = at("2026-01-01T00:00:00Z");
        let a = Clock::anchored(wall, service, 3600.0);
        let b = Clock::anchored(wall, service, 3600.0);
        // Ten wall seconds at an hour a second: ten hours on.
        let hours = (a.now_precise() - service).num_minutes() as f64 / 60.0;
        assert!((10.0..10.1).contains(&hours), "{hours}");
        assert!((b.now_precise() - a.now_precise()).num_seconds().abs() <= 2);
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let c = Clock::manual(at("2024-02-29T23:59:59Z"));
        assert_eq!(c.now(), at("2024-02-29T23:59:59Z"));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        let clone = c.clone();
        c.advance(Duration::seconds(1)).unwrap();
        assert_eq!(clone.now(), at("2024-03-01T00:00:00Z"));
        assert_eq!(
            clone.wall_until(at("2024-03-01T00:00:00Z")),
            Some(StdDuration::ZERO)
        );
        assert_eq!(clone.wall_until(at("2024-03-01T00:00:01Z")), None);
    }

    #[test]
    fn time_never_goes_back() {
        let c = Clock::manual(at("2026-12-02T10:00:00Z"));
        let err = c.set(at("2026-12-02T09:00:00Z")).unwrap_err();
        assert!(err.to_string().contains("only moves forward"), "{err}");
        assert!(c.advance(Duration::seconds(-5)).is_err());
        assert!(c.advance(Duration::zero()).is_err());
        assert_eq!(c.now(), at("2026-12-02T10:00:00Z"));
    }

    #[test]
    fn a_scaled_clock_starts_where_asked_and_runs_faster() {
        let c = Clock::starting_at(at("2030-01-01T00:00:00Z"), 3600.0);
        let t = c.now_precise();
        assert!(t >= at("2030-01-01T00:00:00Z") && t < at("2030-01-02T00:00:00Z"));
        // An hour of service time is a second of wall time.
        let wait = c.wall_until(t + Duration::hours(1)).unwrap();
        assert!(wait <= StdDuration::from_millis(1000), "{wait:?}");
        assert_eq!(Clock::scaled(-1.0).rate(), 1.0);
    }

    #[test]
    fn now_is_whole_seconds() {
        let c = Clock::wall();
        assert_eq!(c.now().timestamp_subsec_nanos(), 0);
    }

    #[tokio::test]
    async fn moving_the_clock_wakes_waiters() {
        let c = Clock::manual(at("2026-01-01T00:00:00Z"));
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.changed().await })
        };
        tokio::task::yield_now().await;
        // The waiter may not be registered yet; move until it wakes.
        for _ in 0..100 {
            c.advance(Duration::minutes(1)).unwrap();
            if waiter.is_finished() {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        assert!(waiter.is_finished());
    }
}
