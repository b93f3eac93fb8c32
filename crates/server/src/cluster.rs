//! What replicas agree on through the metadata store, with no protocol of
//! their own: the service clock's anchor (so `--clock-rate` means the same
//! time on every replica, whenever each started). (Which replica creates
//! the demo tenant is settled by the demo domain's uniqueness: `demo`.)

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::config::Config;

/// The settings row holding the service clock's anchor:
/// `<rate>|<clock_start>\n<wall RFC 3339>\n<service RFC 3339>`.
const CLOCK_SETTING: &str = "service_clock_anchor";

/// The service clock: the embedding program's, the wall clock, or — with
/// a rate or a start — one anchored in the database. The anchor is written
/// by the first process started with these clock settings and read by
/// every later one (replicas, restarts); changing `clock_rate` or
/// `clock_start` starts a new anchor.
pub async fn service_clock(
    config: &Config,
    store: &store::Store,
    wall: &clock::Clock,
) -> anyhow::Result<clock::Clock> {
    if let Some(c) = &config.clock {
        return Ok(c.clone());
    }
    if config.clock_rate == 1.0 && config.clock_start.is_none() {
        return Ok(clock::Clock::wall());
    }
    let settings = format!(
        "{}|{}",
        config.clock_rate,
        config.clock_start.as_deref().unwrap_or("").trim()
    );
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
    Ok(clock::Clock::anchored(
        anchor_wall,
        anchor_service,
        config.clock_rate,
    ))
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
        let first = service_clock(&c, &s, &wall).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // A replica started later reads the same anchor: it is not reset
        // to the start instant.
        let later = service_clock(&c, &s, &wall).await.unwrap();
        let gap = (later.now_precise() - first.now_precise())
            .num_seconds()
            .abs();
        assert!(gap < 30, "the replicas differ by {gap} service seconds");
        let since_start =
            later.now_precise() - "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert!(since_start.num_seconds() >= 900, "{since_start}");
        // Other settings start a new anchor.
        let other = service_clock(&config(60.0, Some("2027-01-01T00:00:00Z")), &s, &wall)
            .await
            .unwrap();
        assert_eq!(other.now().format("%Y-%m-%d").to_string(), "2027-01-01");
    }
}
