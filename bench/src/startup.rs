//! Start to ready: the gateway spawned afresh N times (a new working dir each time, so config
//! download and registration are included), each time polled every millisecond until a
//! stateless tools/call answers 200 (not 503). The JSON log's milestone timestamps, against the
//! spawn time, say where the time went; VmRSS is read once idle after ready.

use crate::deploy::{Deployment, Gateway};
use crate::rss;
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// How long a start may take before the bench gives up.
const START_LIMIT: Duration = Duration::from_secs(20);
/// How long after ready the idle RSS is read.
const SETTLE: Duration = Duration::from_millis(300);

/// One start.
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    /// Spawn to the first 200 on the MCP path, ms.
    pub ready_ms: f64,
    /// Spawn to the milestones of the log, ms (`bootstrap_ok`, `listeners_bound`, `registered`,
    /// `ready`).
    pub milestones_ms: Vec<(String, f64)>,
    /// VmRSS shortly after ready, KiB.
    pub idle_rss_kib: u64,
}

impl Start {
    /// A milestone's offset.
    pub fn milestone(&self, event: &str) -> Option<f64> {
        self.milestones_ms.iter().find(|(e, _)| e == event).map(|(_, ms)| *ms)
    }
}

/// Milestone offsets from spawn, read from the JSON log lines.
pub fn milestones(lines: &[String], spawned: SystemTime) -> Vec<(String, f64)> {
    let spawned: chrono::DateTime<chrono::Utc> = spawned.into();
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let event = v.get("event")?.as_str()?.to_owned();
            let at = chrono::DateTime::parse_from_rfc3339(v.get("timestamp")?.as_str()?).ok()?;
            let ms = (at.with_timezone(&chrono::Utc) - spawned).num_microseconds()? as f64 / 1000.0;
            Some((event, ms))
        })
        .collect()
}

fn one_start(deployment: &Deployment) -> Result<Start> {
    let mut gateway: Gateway = deployment.spawn_gateway()?;
    let ready = gateway.wait_ready(START_LIMIT)?;
    gateway.check_registered()?;
    std::thread::sleep(SETTLE);
    let idle = rss::read(gateway.proc.pid())?;
    let start = Start {
        ready_ms: ready.as_secs_f64() * 1000.0,
        milestones_ms: milestones(&gateway.logs(), gateway.spawned),
        idle_rss_kib: idle.rss_kib,
    };
    gateway.proc.stop(Duration::from_secs(10));
    Ok(start)
}

/// `n` starts, one after the other.
pub fn measure(deployment: &Deployment, n: usize) -> Result<Vec<Start>> {
    (0..n)
        .map(|i| {
            let start = one_start(deployment).with_context(|| format!("start {}", i + 1))?;
            eprintln!(
                "bench: start {:>2}/{n}: ready in {:.1} ms, RSS {:.1} MiB",
                i + 1,
                start.ready_ms,
                start.idle_rss_kib as f64 / 1024.0
            );
            Ok(start)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_are_offsets_from_the_spawn() {
        let spawned: SystemTime = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .into();
        let lines = vec![
            r#"{"timestamp":"2026-01-01T00:00:00.012500Z","level":"INFO","event":"bootstrap_ok"}"#.to_owned(),
            "not json".to_owned(),
            r#"{"timestamp":"2026-01-01T00:00:00.020Z","level":"INFO","message":"no event"}"#.to_owned(),
            r#"{"timestamp":"2026-01-01T00:00:00.025Z","level":"INFO","event":"ready"}"#.to_owned(),
        ];
        let m = milestones(&lines, spawned);
        assert_eq!(m, vec![("bootstrap_ok".to_owned(), 12.5), ("ready".to_owned(), 25.0)]);
    }
}
