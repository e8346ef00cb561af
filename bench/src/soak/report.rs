//! The soak's results as markdown: the verdict, a row per period (a minute), requests by kind,
//! every error by kind and class with examples, and the gateway's warnings from its log.

use super::drive::Plan;
use super::gateway_log::LogSummary;
use super::tally::{Kind, Sample, Tally, median, quantile};
use crate::report::Machine;
use std::fmt::Write as _;
use std::path::Path;

/// The period the verdict compares the last one with: the second, as the first holds the
/// warm-up (connection pools filling, the allocator's arenas growing to the load).
pub const BASELINE: usize = 1;

/// What the verdict allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest RSS growth from the baseline period to the last, percent.
    pub rss_growth_pct: f64,
    /// Open fds the last period may have above the baseline: at least this many...
    pub fd_margin: u64,
    /// ...or this share of the baseline's, whichever is larger.
    pub fd_margin_share: f64,
    /// Below this share of the target rate the report says the rate was not held.
    pub rate_held_share: f64,
}

/// One period's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Answered requests.
    pub answered: u64,
    /// Of which errors.
    pub errors: u64,
    /// Requests due but not sent.
    pub unsent: u64,
    /// The most ops in flight at once.
    pub most_in_flight: u64,
    /// Answered requests per second.
    pub rate: f64,
    /// Latency percentiles and maximum, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest, ms.
    pub max_ms: Option<f64>,
    /// Median and largest VmRSS of the samples, KiB.
    pub rss_kib: Option<u64>,
    /// Largest VmRSS sampled, KiB.
    pub rss_max_kib: Option<u64>,
    /// Median and largest open fd count of the samples.
    pub fds: Option<u64>,
    /// Largest fd count sampled.
    pub fds_max: Option<u64>,
    /// The gateway's CPU use, percent of one core.
    pub gateway_cpu_pct: Option<f64>,
    /// How busy the whole machine was, percent of all cores.
    pub machine_busy_pct: Option<f64>,
    /// Median of the TIME_WAIT sockets towards the backend sampled.
    pub backend_time_wait: Option<u64>,
}

fn ms(us: Option<u32>) -> Option<f64> {
    us.map(|us| f64::from(us) / 1000.0)
}

/// CPU use between two samples: the gateway's (percent of one core) and the machine's.
fn usage(from: &Sample, to: &Sample) -> (Option<f64>, Option<f64>) {
    let seconds = to.at.saturating_sub(from.at).as_secs_f64();
    let gateway = (seconds > 0.0).then(|| (to.cpu_s - from.cpu_s) / seconds * 100.0);
    let machine = match (from.machine_jiffies, to.machine_jiffies) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0),
        _ => None,
    };
    (gateway, machine)
}

/// The figures of every period.
pub fn rows(tally: &Tally) -> Vec<Row> {
    let mut previous: Option<Sample> = None;
    let mut rows = Vec::with_capacity(tally.periods.len());
    for (i, period) in tally.periods.iter().enumerate() {
        let mut latencies = period.latencies_us.clone();
        let mut rss: Vec<u64> = period.samples.iter().map(|s| s.rss_kib).collect();
        let mut fds: Vec<u64> = period.samples.iter().map(|s| s.fds).collect();
        let mut time_wait: Vec<u64> = period.samples.iter().filter_map(|s| s.backend_time_wait).collect();
        // CPU from the last sample before the period (or its first) to its last.
        let (gateway_cpu_pct, machine_busy_pct) =
            match (previous.or(period.samples.first().copied()), period.samples.last()) {
                (Some(from), Some(to)) => usage(&from, to),
                _ => (None, None),
            };
        previous = period.samples.last().copied().or(previous);
        let span = tally.span(i).as_secs_f64();
        rows.push(Row {
            answered: period.answered(),
            errors: period.error_count(),
            unsent: period.unsent,
            most_in_flight: period.most_in_flight,
            rate: if span > 0.0 {
                period.answered() as f64 / span
            } else {
                0.0
            },
            p50_ms: ms(quantile(&mut latencies, 0.50)),
            p99_ms: ms(quantile(&mut latencies, 0.99)),
            max_ms: ms(latencies.last().copied()),
            rss_kib: median(&mut rss),
            rss_max_kib: rss.last().copied(),
            fds: median(&mut fds),
            fds_max: fds.last().copied(),
            gateway_cpu_pct,
            machine_busy_pct,
            backend_time_wait: median(&mut time_wait),
        });
    }
    rows
}

/// One line of the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Whether it holds.
    pub passed: bool,
    /// What was compared.
    pub text: String,
}

/// The verdict: checks that fail the run, and the rate, which is reported only (the machine
/// may be shared; a rate not held is said, not hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// errors, the gateway still running, RSS growth, fds.
    pub checks: Vec<Check>,
    /// The achieved rate against the target.
    pub rate: String,
}

impl Verdict {
    /// Whether every check holds.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The checks that do not hold.
    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.text.as_str())
            .collect()
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// What to read an RSS growth against: the gateway's memory follows the most requests it held
/// at once, so a burst after the baseline (the machine or the gateway stalled) is said.
fn peak_note(rows: &[Row]) -> String {
    let base = rows.get(BASELINE).map_or(0, |r| r.most_in_flight);
    let after = rows
        .iter()
        .skip(BASELINE + 1)
        .map(|r| r.most_in_flight)
        .max()
        .unwrap_or(0);
    if after > 2 * base.max(1) {
        format!(
            "; after minute {} up to {after} ops were in flight at once against {base} in it, and memory \
             sized to such a peak may be kept after it",
            BASELINE + 1
        )
    } else {
        String::new()
    }
}

/// Applies `limits` to the run.
pub fn verdict(tally: &Tally, rows: &[Row], limits: &Limits, rate: f64, alive: bool) -> Verdict {
    let (answered, errors) = tally.totals();
    let mut checks = vec![Check {
        passed: errors == 0,
        text: format!("errors: {errors} of {answered} answered requests (allowed: 0)"),
    }];
    checks.push(Check {
        passed: alive,
        text: if alive {
            "the gateway ran to the end".to_owned()
        } else {
            "the gateway exited during the run".to_owned()
        },
    });
    let (base, last) = (rows.get(BASELINE), rows.last());
    let (base_n, last_n) = (BASELINE + 1, rows.len());
    checks.push(match (base.and_then(|r| r.rss_kib), last.and_then(|r| r.rss_kib)) {
        (Some(b), Some(l)) if b > 0 => {
            let growth = (l as f64 - b as f64) / b as f64 * 100.0;
            Check {
                passed: growth < limits.rss_growth_pct,
                text: format!(
                    "RSS: minute {base_n} {:.1} MiB, minute {last_n} {:.1} MiB: {growth:+.2}% (limit < {}%){}",
                    mib(b),
                    mib(l),
                    limits.rss_growth_pct,
                    peak_note(rows)
                ),
            }
        }
        _ => Check {
            passed: false,
            text: format!("RSS: no samples in minute {base_n} or {last_n}"),
        },
    });
    let end = tally.samples().last().map(|s| s.fds);
    checks.push(match (base.and_then(|r| r.fds), last.and_then(|r| r.fds)) {
        (Some(b), Some(l)) => {
            let margin = limits.fd_margin.max((b as f64 * limits.fd_margin_share).ceil() as u64);
            Check {
                passed: l <= b + margin && end.is_some_and(|e| e <= b + margin),
                text: format!(
                    "open fds: minute {base_n} {b}, minute {last_n} {l}, at the end {} (limit {}: minute {base_n} + max({}, {:.0}%))",
                    end.map_or_else(|| "–".to_owned(), |e| e.to_string()),
                    b + margin,
                    limits.fd_margin,
                    limits.fd_margin_share * 100.0
                ),
            }
        }
        _ => Check {
            passed: false,
            text: format!("open fds: no samples in minute {base_n} or {last_n}"),
        },
    });
    let achieved = answered as f64 / tally.duration.as_secs_f64();
    let held = if achieved >= rate * limits.rate_held_share {
        "held"
    } else {
        "NOT held"
    };
    let unsent: u64 = rows.iter().map(|r| r.unsent).sum();
    Verdict {
        checks,
        rate: format!(
            "rate {held}: {achieved:.0} answered requests/s over the run against {rate:.0} asked \
             ({unsent} requests not sent; reported, not judged)"
        ),
    }
}

/// Everything the report says besides the tally.
pub struct Run<'a> {
    /// The machine.
    pub machine: &'a Machine,
    /// The gateway binary.
    pub gateway: &'a Path,
    /// Which build it is.
    pub build: &'a str,
    /// Spawn to ready, ms.
    pub ready_ms: f64,
    /// The load.
    pub plan: &'a Plan,
    /// The gateway a few seconds after the last answer.
    pub after: Option<Sample>,
    /// Its log.
    pub log: &'a LogSummary,
}

fn cell(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

fn int(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// The markdown report.
pub fn markdown(run: &Run<'_>, tally: &Tally, rows: &[Row], verdict: &Verdict) -> String {
    let (m, plan) = (run.machine, run.plan);
    let mut out = String::from("# light-gateway soak\n\n");
    let _ = writeln!(
        out,
        "Taken {} on {} ({} cores), {:.1} GiB, Linux {}. Outside load before the start: {:.0}% of all cores busy.\n",
        m.date,
        m.cpu,
        m.cores,
        m.memory_gib,
        m.kernel,
        m.outside_busy * 100.0
    );
    let _ = writeln!(
        out,
        "Gateway: **{} build** (`{}`), ready {:.0} ms after spawn (config downloaded, registered), with \
         the rmcp backend (mock-mcp-server, legacy session mode), the mock config-server and controller, \
         all on 127.0.0.1.\n",
        run.build,
        run.gateway.display(),
        run.ready_ms
    );
    let _ = writeln!(
        out,
        "Load: {:.0} requests/s asked for {} s, open loop (requests fall due at the rate whatever the answers \
         do; at most {} ops in flight, the most per minute shown; requests more than a second behind are \
         given up and counted as not \
         sent), one client with keep-alive connections. Per 20 requests: 11 stateless tools/call of `echo` \
         (2026-07-28: `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and the `_meta` protocol version), \
         3 stateless tools/list, and one legacy session of 6 requests (initialize, notifications/initialized, \
         3 tools/call of `echo_legacy` with `Mcp-Session-Id`, DELETE). Every answer is checked: a 2xx status; \
         for JSON-RPC a `result` (no `error`) with the request's own id, the echo returning the arguments, \
         tools/list showing `echo` and `echo_legacy`, initialize giving a session id. Latency: from sending \
         to the whole answer read. The gateway's VmRSS, open fds (`/proc/<pid>/fd`) and CPU time, and the \
         sockets in TIME_WAIT towards the backend (connections the gateway closed within the last minute), \
         are sampled every {} s; a minute's RSS, fds and TIME_WAIT are the medians of its samples.\n",
        plan.rate,
        plan.duration.as_secs(),
        plan.max_in_flight,
        plan.sample_every.as_secs_f64()
    );
    if plan.period.as_secs() != 60 {
        let _ = writeln!(
            out,
            "A \"minute\" below is a period of {} s (a short trial run).\n",
            plan.period.as_secs()
        );
    }
    out.push_str("## Verdict\n\n");
    for check in &verdict.checks {
        let mark = if check.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "- **{mark}** {}", check.text);
    }
    let _ = writeln!(out, "- {}\n", verdict.rate);
    let _ = writeln!(
        out,
        "Open fds are stable when the last minute's median and the last sample (taken at the end of the \
         load, still under it) are no more than the margin above minute {}'s median; fewer is fine.\n",
        BASELINE + 1
    );
    per_period(&mut out, rows);
    by_kind(&mut out, tally);
    errors(&mut out, tally);
    gateway(&mut out, run);
    out
}

fn per_period(out: &mut String, rows: &[Row]) {
    const COLUMNS: [&str; 16] = [
        "minute",
        "requests",
        "errors",
        "req/s",
        "not sent",
        "most in flight",
        "p50 ms",
        "p99 ms",
        "max ms",
        "RSS MiB",
        "RSS max MiB",
        "fds",
        "fds max",
        "gateway CPU % of a core",
        "machine busy %",
        "TIME_WAIT to backend",
    ];
    let _ = writeln!(out, "## Per minute\n\n| {} |", COLUMNS.join(" | "));
    let _ = writeln!(out, "|{}", " ---: |".repeat(COLUMNS.len()));
    for (i, r) in rows.iter().enumerate() {
        let cells = [
            (i + 1).to_string(),
            r.answered.to_string(),
            r.errors.to_string(),
            format!("{:.0}", r.rate),
            r.unsent.to_string(),
            r.most_in_flight.to_string(),
            cell(r.p50_ms, 2),
            cell(r.p99_ms, 2),
            cell(r.max_ms, 1),
            cell(r.rss_kib.map(mib), 2),
            cell(r.rss_max_kib.map(mib), 2),
            int(r.fds),
            int(r.fds_max),
            cell(r.gateway_cpu_pct, 0),
            cell(r.machine_busy_pct, 0),
            int(r.backend_time_wait),
        ];
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn by_kind(out: &mut String, tally: &Tally) {
    out.push_str("## By request kind\n\n| request | requests | errors | p50 ms | p99 ms | max ms |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for kind in Kind::ALL {
        let mut latencies = tally.latencies_by_kind.get(&kind).cloned().unwrap_or_default();
        let errors: u64 = tally
            .periods
            .iter()
            .flat_map(|p| p.errors.iter())
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum();
        let _ = writeln!(
            out,
            "| {} | {} | {errors} | {} | {} | {} |",
            kind.name(),
            latencies.len(),
            cell(ms(quantile(&mut latencies, 0.50)), 2),
            cell(ms(quantile(&mut latencies, 0.99)), 2),
            cell(ms(latencies.last().copied()), 1),
        );
    }
    out.push('\n');
}

fn errors(out: &mut String, tally: &Tally) {
    out.push_str("## Errors\n\n");
    if tally.examples.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str("| request | class | count | in minutes | first seen (s) | example |\n| --- | --- | ---: | --- | ---: | --- |\n");
    for ((kind, class), examples) in &tally.examples {
        let key = (*kind, class.clone());
        let counts: Vec<(usize, u64)> = (tally.periods.iter().enumerate())
            .filter_map(|(i, p)| p.errors.get(&key).map(|n| (i + 1, *n)))
            .collect();
        let minutes: Vec<String> = counts.iter().map(|(i, _)| i.to_string()).collect();
        let first = examples.first();
        let example = first
            .map_or("", |e| e.detail.as_str())
            .replace('|', "\\|")
            .replace('\n', " ");
        let _ = writeln!(
            out,
            "| {} | {class} | {} | {} | {} | `{example}` |",
            kind.name(),
            counts.iter().map(|(_, n)| n).sum::<u64>(),
            minutes.join(", "),
            first.map_or_else(String::new, |e| format!("{:.1}", e.at.as_secs_f64())),
        );
    }
    out.push('\n');
}

fn gateway(out: &mut String, run: &Run<'_>) {
    out.push_str("## The gateway\n\n");
    if let Some(after) = run.after {
        let _ = writeln!(
            out,
            "After the load (the last answer read, then a pause): RSS {:.2} MiB, {} open fds.\n",
            mib(after.rss_kib),
            after.fds
        );
    }
    let log = run.log;
    let _ = writeln!(
        out,
        "Its log (JSON, `RUST_LOG=info`): {} lines, {} warnings, {} errors.",
        log.lines, log.warnings, log.errors
    );
    if !log.examples.is_empty() {
        out.push_str("\nThe first of them:\n\n```\n");
        for line in &log.examples {
            let _ = writeln!(out, "{line}");
        }
        out.push_str("```\n");
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
