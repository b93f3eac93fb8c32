//! The service clock: starts at wall time and runs `rate` times faster, so
//! an integrator can watch a 4-hourly report run every 4 seconds
//! (`--clock-rate 3600`). Everything about reports and executions uses it;
//! tokens stay on wall time.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
pub struct ServiceClock {
    origin: DateTime<Utc>,
    rate: f64,
}

impl ServiceClock {
    pub fn new(rate: f64) -> ServiceClock {
        ServiceClock {
            origin: Utc::now(),
            rate,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Service time now (whole seconds).
    pub fn now(&self) -> DateTime<Utc> {
        let wall = Utc::now();
        let elapsed = (wall - self.origin).num_milliseconds() as f64 * self.rate;
        let t = self.origin + Duration::milliseconds(elapsed as i64);
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }
}
