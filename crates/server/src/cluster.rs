//! What replicas agree on through the metadata store, with no protocol of
//! their own: the service clock. Its anchor (the service time at a wall
//! instant) is a settings row, written by the first process started with
//! given clock settings and read by every later one, so `--clock-rate`
//! means the same time on every replica whenever each started; a move
//! (`POST /admin/v1/clock`) rewrites the row with a compare-and-set, and
//! every replica polls it each second ([`ClockSync::poll`]). (Which replica
//! creates the demo tenant is settled by the demo domain's uniqueness:
//! `demo`.)

use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::service::ServiceError;

/// The settings row holding the service clock's anchor:
/// `<rate>|<clock_start>\n<wall RFC 3339>\n<service RFC 3339>`.
const CLOCK_SETTING: &str = "service_clock_anchor";

/// How often a replica looks for a move made by another.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// This process's view of the shared clock row.
#[derive(Debug)]
pub struct ClockSync {
    /// `<rate>|<clock_start>`: anchors of other settings are not ours.
    settings: String,
    /// False for a clock handed in by an embedding program (tests): moves
    /// stay in this process.
    shared: bool,
    /// The row as last read or written.
    seen: Mutex<String>,
}

/// The service clock: the embedding program's, or one anchored in the
/// database. The anchor is written by the first process started with these
/// clock settings and read by every later one (replicas, restarts, and
/// after a move); changing `clock_rate` or `clock_start` starts a new one.
pub async fn service_clock(
    config: &Config,
    store: &store::Store,
    wall: &clock::Clock,
) -> anyhow::Result<(clock::Clock, ClockSync)> {
    let settings = format!(
        "{}|{}",
        config.clock_rate,
        config.clock_start.as_deref().unwrap_or("").trim()
    );
    if let Some(c) = &config.clock {
        let sync = ClockSync {
            settings,
            shared: false,
            seen: Mutex::new(String::new()),
        };
        return Ok((c.clone(), sync));
    }
    let now = wall.now_precise();
    let start = config.service_clock()?.now_precise();
    let ours = anchor_text(&settings, now, start);
    let mut stored = store.init_setting(CLOCK_SETTING, &ours, now).await?;
    if parse_anchor(&stored).map(|a| a.0) != Some(settings.clone()) {
        // Started before with other clock settings (or a corrupt row):
        // these settings start a new anchor. A concurrent replica with the
        // same settings may win the swap; then its anchor is ours too.
        if !store
            .replace_setting(CLOCK_SETTING, &stored, &ours, now)
            .await?
        {
            stored = store.setting(CLOCK_SETTING).await?.unwrap_or(ours);
        } else {
            stored = ours;
        }
    }
    let (_, anchor_wall, anchor_service) =
        parse_anchor(&stored).context("the stored service clock anchor is corrupt")?;
    let clock = clock::Clock::anchored(anchor_wall, anchor_service, config.clock_rate);
    let sync = ClockSync {
        settings,
        shared: true,
        seen: Mutex::new(stored),
    };
    Ok((clock, sync))
}

impl ClockSync {
    fn remember(&self, text: String) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = text;
        }
    }

    fn seen(&self) -> String {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Moves the deployment's service clock forward to `target`: the
    /// shared row first (compare-and-set, retried when another replica
    /// moved it meanwhile), then this process's clock, at once; the other
    /// replicas follow within [`POLL`].
    pub async fn move_to(
        &self,
        store: &store::Store,
        clock: &clock::Clock,
        wall: &clock::Clock,
        target: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ServiceError> {
        let now = clock.now_precise();
        if target < now {
            return Err(ServiceError::invalid(
                clock::ClockError::Backwards {
                    requested: target,
                    now,
                }
                .to_string(),
            ));
        }
        if !self.shared {
            return clock
                .set(target)
                .map_err(|e| ServiceError::invalid(e.to_string()));
        }
        for _ in 0..8 {
            let stamp = wall.now_precise();
            let text = anchor_text(&self.settings, stamp, target);
            let current = store.setting(CLOCK_SETTING).await?;
            let written = match &current {
                Some(old) => {
                    store
                        .replace_setting(CLOCK_SETTING, old, &text, stamp)
                        .await?
                }
                None => store.init_setting(CLOCK_SETTING, &text, stamp).await? == text,
            };
            if written {
                clock.reanchor(stamp, target);
                self.remember(text);
                return Ok(target);
            }
        }
        Err(ServiceError::Conflict(
            "the service clock was moved by others meanwhile; try again".into(),
        ))
    }

    /// Follows a move another replica made (called every [`POLL`]).
    pub async fn poll(&self, store: &store::Store, clock: &clock::Clock) {
        if !self.shared {
            return;
        }
        let Ok(Some(text)) = store.setting(CLOCK_SETTING).await else {
            return;
        };
        if text == self.seen() {
            return;
        }
        if let Some((settings, wall, service)) = parse_anchor(&text)
            && settings == self.settings
            && clock.reanchor(wall, service)
        {
            tracing::info!(now = %clock.now(), "the service clock was moved by another replica");
        }
        self.remember(text);
    }
}

fn anchor_text(settings: &str, wall: DateTime<Utc>, service: DateTime<Utc>) -> String {
    format!(
        "{settings}\n{}\n{}",
        wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        service.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

fn parse_anchor(text: &str) -> Option<(String, DateTime<Utc>, DateTime<Utc>)> {
    let mut lines = text.lines();
    let settings = lines.next()?.to_string();
    let wall = DateTime::parse_from_rfc3339(lines.next()?).ok()?;
    let service = DateTime::parse_from_rfc3339(lines.next()?).ok()?;
    Some((settings, wall.to_utc(), service.to_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = store::Store::open_sqlite(&dir.path().join("m.db"))
            .await
            .unwrap();
        (dir, s)
    }

    fn config(rate: f64, start: Option<&str>) -> Config {
        Config {
            clock_rate: rate,
            clock_start: start.map(str::to_string),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn replicas_share_the_clock_anchor() {
        let (_dir, s) = store().await;
        let wall = clock::Clock::wall();
        let c = config(3600.0, Some("2026-01-01T00:00:00Z"));
        let (first, _) = service_clock(&c, &s, &wall).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // A replica started later reads the same anchor: it is not reset
        // to the start instant.
        let (later, _) = service_clock(&c, &s, &wall).await.unwrap();
        let gap = (later.now_precise() - first.now_precise())
            .num_seconds()
            .abs();
        assert!(gap < 30, "the replicas differ by {gap} service seconds");
        let since_start =
            later.now_precise() - "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert!(since_start.num_seconds() >= 900, "{since_start}");
        // Other settings start a new anchor.
        let (other, _) = service_clock(&config(60.0, Some("2027-01-01T00:00:00Z")), &s, &wall)
            .await
            .unwrap();
        assert_eq!(other.now().format("%Y-%m-%d").to_string(), "2027-01-01");
    }

    #[tokio::test]
    async fn a_move_reaches_the_other_replicas() {
        let (_dir, s) = store().await;
        let wall = clock::Clock::wall();
        let c = config(1.0, None);
        let (a, sync_a) = service_clock(&c, &s, &wall).await.unwrap();
        let (b, sync_b) = service_clock(&c, &s, &wall).await.unwrap();
        let target = a.now_precise() + chrono::Duration::hours(4);
        sync_a.move_to(&s, &a, &wall, target).await.unwrap();
        assert!(a.now_precise() >= target);
        assert!(b.now_precise() < target, "b has not polled yet");
        sync_b.poll(&s, &b).await;
        assert!(b.now_precise() >= target);
        // Backwards is refused, naming both instants.
        let e = sync_b
            .move_to(&s, &b, &wall, target - chrono::Duration::hours(1))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("only moves forward"), "{e}");
        // A restart reads the moved anchor.
        let (c2, _) = service_clock(&c, &s, &wall).await.unwrap();
        assert!(c2.now_precise() >= target);
    }
}
