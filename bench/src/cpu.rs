//! CPU time per answered request, read from `/proc`.
//!
//! Why: on two cores shared by wrk, the backend and the target, a requests/s ratio mixes the
//! target's own cost with how the others happened to be scheduled. The CPU time the target's
//! processes used during a measurement, divided by the requests answered in it, is its own cost
//! per request; the backend's, next to it, shows whether the target made the backend work harder.

use anyhow::{Context, Result, bail};
use nix::unistd::{SysconfVar, sysconf};
use serde::Serialize;

/// CPU per answered request during one measurement, in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PerRequest {
    /// The proxy's processes (the gateway, or nginx's master and workers); `None` for direct.
    pub proxy_us: Option<f64>,
    /// The backend's process.
    pub backend_us: f64,
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat` (every thread of the
/// process; children are not counted). The command name may hold spaces and parentheses, so
/// fields are counted after its last `)`.
pub fn parse_stat_ticks(text: &str) -> Result<u64> {
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("no `)` after the command name")?;
    // After the name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        let text = fields.get(n - 3).with_context(|| format!("field {n} missing"))?;
        text.parse()
            .with_context(|| format!("field {n} is {text:?}, not a number"))
    };
    Ok(field(14)? + field(15)?)
}

/// The parent pid (field 4) from the text of `/proc/<pid>/stat`.
fn parse_parent(text: &str) -> Option<u32> {
    text.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and its direct children (nginx's workers under its master).
pub fn with_children(pid: u32) -> Result<Vec<u32>> {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").context("listing /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // A process may end between listing and reading: not one of ours then.
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if parse_parent(&text) == Some(pid) {
            pids.push(child);
        }
    }
    Ok(pids)
}

/// Reads CPU seconds of sets of processes.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    ticks_per_second: f64,
}

impl Clock {
    /// The kernel's clock tick rate, as `sysconf(_SC_CLK_TCK)` gives it.
    pub fn new() -> Result<Clock> {
        let Some(rate) = sysconf(SysconfVar::CLK_TCK).context("sysconf(_SC_CLK_TCK)")? else {
            bail!("sysconf(_SC_CLK_TCK) has no value");
        };
        if rate <= 0 {
            bail!("sysconf(_SC_CLK_TCK) is {rate}");
        }
        Ok(Clock {
            ticks_per_second: rate as f64,
        })
    }

    /// CPU seconds used so far by `pids` together.
    pub fn seconds(&self, pids: &[u32]) -> Result<f64> {
        let mut ticks = 0;
        for pid in pids {
            let path = format!("/proc/{pid}/stat");
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            ticks += parse_stat_ticks(&text).with_context(|| path.clone())?;
        }
        Ok(ticks as f64 / self.ticks_per_second)
    }
}

/// Microseconds of CPU per request: `seconds` over `requests`, `NaN` when nothing was answered.
pub fn per_request_us(seconds: f64, requests: u64) -> f64 {
    if requests == 0 {
        return f64::NAN;
    }
    seconds * 1e6 / requests as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_a_name_with_spaces_and_parentheses() {
        let text = "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 6 0 1 2 3";
        assert_eq!(parse_stat_ticks(text).unwrap(), 325);
        assert_eq!(parse_parent(text), Some(1));
    }

    #[test]
    fn a_short_stat_names_the_missing_field() {
        let error = parse_stat_ticks("42 (x) S 1 2").unwrap_err();
        assert!(format!("{error:#}").contains("field 14 missing"), "{error:#}");
    }

    #[test]
    fn our_own_cpu_time_is_readable_and_grows() {
        let clock = Clock::new().unwrap();
        let me = std::process::id();
        let before = clock.seconds(&[me]).unwrap();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(clock.seconds(&[me]).unwrap() > before);
    }

    #[test]
    fn nothing_answered_is_not_a_figure() {
        assert!(per_request_us(1.0, 0).is_nan());
        assert!((per_request_us(0.5, 10_000) - 50.0).abs() < 1e-9);
    }
}
