//! Start to ready: the gateway spawned afresh N times (a new working dir each time, so config
//! download and registration are included), each time polled every millisecond until a
//! stateless tools/call answers 200 (not 503). The JSON log's milestone timestamps, against the
//! spawn time, say where the time went; VmRSS is read once idle after ready.

use crate::deploy::{Deployment, Gateway};
use crate::mcp::{Target, Workload, spec};
use crate::rss;
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
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

/// A raw HTTP/1.1 request for `spec` with `Connection: close`.
fn raw_request(method: &str, path: &str, headers: &[(&str, String)], body: Option<&str>) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// The stateless tools/call every workload's gateway target also answers (with `token` as
/// a bearer token when given).
pub fn stateless_call(token: Option<&str>) -> Vec<u8> {
    let workload = if token.is_some() {
        Workload::StatelessJwt
    } else {
        Workload::Stateless
    };
    let s = spec(workload, Target::Gateway, Vec::new(), token.unwrap_or_default());
    raw_request(s.method, s.path, &s.headers, s.body.as_deref())
}

/// GET /health.
pub fn get_health() -> Vec<u8> {
    raw_request("GET", "/health", &[], None)
}

/// Sends `request` to 127.0.0.1:`port` and returns the status code.
pub fn status(port: u16, request: &[u8]) -> Result<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < 12 {
        let n = stream.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    parse_status_line(&head[..got])
}

/// The code of `HTTP/1.1 200 ...`.
pub fn parse_status_line(head: &[u8]) -> Result<u16> {
    let text = std::str::from_utf8(head).unwrap_or_default();
    let code = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "));
    code.and_then(|c| c.get(..3))
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP status line: {text:?}"))
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
    use rstest::rstest;

    #[rstest]
    #[case(b"HTTP/1.1 200 OK\r\n", 200)]
    #[case(b"HTTP/1.1 503 Service", 503)]
    #[case(b"HTTP/1.0 404", 404)]
    fn status_lines_are_read(#[case] head: &[u8], #[case] code: u16) {
        assert_eq!(parse_status_line(head).unwrap(), code);
    }

    #[test]
    fn a_short_answer_is_an_error() {
        assert!(parse_status_line(b"HTTP/1.1 2").is_err());
        assert!(parse_status_line(b"").is_err());
    }

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

    #[test]
    fn requests_carry_their_length() {
        let text = String::from_utf8(stateless_call(None)).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(text.contains("Mcp-Name: echo\r\n"));
    }
}
