//! The load matrix: runs × workloads × concurrencies × targets. Within a (workload,
//! concurrency) cell the three targets run back to back, in an order rotated each run, so a
//! burst of outside load falls on all of them alike and the ratios compare like with like.

use crate::cpu::{self, PerRequest};
use crate::mcp::{self, Target, Workload};
use crate::rss::Sampler;
use crate::wrk::{self, WrkResult};
use anyhow::{Context, Result};
use reqwest::blocking::Client;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Measured time per cell and target.
    pub duration: Duration,
    /// Warm-up before each measurement (not counted); zero skips it.
    pub warmup: Duration,
    /// Repetitions of the whole matrix.
    pub runs: usize,
    /// Connection counts.
    pub concurrency: Vec<usize>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Requests checked in full (status and body) before each measurement.
    pub verify_samples: usize,
    /// wrk.
    pub wrk: PathBuf,
}

/// The base URL of each target.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The backend.
    pub direct: String,
    /// nginx.
    pub nginx: String,
    /// The gateway.
    pub gateway: String,
    /// The gateway that verifies JWTs (the JWT workload's), if started.
    pub gateway_jwt: Option<String>,
    /// The gateway with metrics off (the no-metrics workload's), if started.
    pub gateway_no_metrics: Option<String>,
    /// The bearer token of the JWT workload.
    pub token: String,
}

/// The processes behind each target, for their CPU time.
#[derive(Debug, Clone)]
pub struct Pids {
    /// The backend.
    pub backend: u32,
    /// nginx's master and workers.
    pub nginx: Vec<u32>,
    /// The gateway.
    pub gateway: u32,
    /// The JWT workload's gateway, if started.
    pub gateway_jwt: Option<u32>,
    /// The no-metrics workload's gateway, if started.
    pub gateway_no_metrics: Option<u32>,
}

impl Pids {
    fn proxy(&self, target: Target, workload: Workload) -> Vec<u32> {
        match (target, workload) {
            (Target::Direct, _) => Vec::new(),
            (Target::Nginx, _) => self.nginx.clone(),
            (Target::Gateway, Workload::StatelessJwt) => vec![self.gateway_jwt.unwrap_or(self.gateway)],
            (Target::Gateway, Workload::StatelessNoMetrics) => vec![self.gateway_no_metrics.unwrap_or(self.gateway)],
            (Target::Gateway, _) => vec![self.gateway],
        }
    }
}

impl Urls {
    fn of(&self, target: Target, workload: Workload) -> &str {
        match (target, workload) {
            (Target::Direct, _) => &self.direct,
            (Target::Nginx, _) => &self.nginx,
            (Target::Gateway, Workload::StatelessJwt) => self.gateway_jwt.as_deref().unwrap_or(&self.gateway),
            (Target::Gateway, Workload::StatelessNoMetrics) => {
                self.gateway_no_metrics.as_deref().unwrap_or(&self.gateway)
            }
            (Target::Gateway, _) => &self.gateway,
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Which repetition (from 1).
    pub run: usize,
    /// Workload.
    pub workload: Workload,
    /// Connections.
    pub concurrency: usize,
    /// Target.
    pub target: Target,
    /// What wrk measured.
    pub result: WrkResult,
    /// CPU per answered request during the measurement.
    pub cpu: PerRequest,
    /// 1-minute load average just before.
    pub loadavg: f64,
}

/// The targets in the order of run `run` (rotated by one each run).
pub fn order(run: usize) -> [Target; 3] {
    let mut targets = Target::ALL;
    targets.rotate_left(run % Target::ALL.len());
    targets
}

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Runs the whole matrix; `sampler` is armed while the gateway is under load.
pub fn run_all(
    settings: &Settings,
    urls: &Urls,
    pids: &Pids,
    sampler: &Sampler,
    scripts: &Path,
) -> Result<Vec<Measurement>> {
    let clock = cpu::Clock::new()?;
    let client = Client::builder().timeout(Duration::from_secs(10)).build()?;
    let mut out = Vec::new();
    for run in 1..=settings.runs {
        for &workload in &settings.workloads {
            for &concurrency in &settings.concurrency {
                for target in order(run - 1) {
                    // Direct and nginx would only repeat their stateless figures.
                    if workload == Workload::StatelessNoMetrics && target != Target::Gateway {
                        continue;
                    }
                    let cell = Cell {
                        workload,
                        concurrency,
                        target,
                        url: urls.of(target, workload),
                        token: &urls.token,
                        proxy: pids.proxy(target, workload),
                        backend: pids.backend,
                        clock,
                    };
                    let loadavg = loadavg();
                    let (result, cpu) = cell
                        .measure(settings, &client, sampler, scripts)
                        .with_context(|| format!("run {run}: {workload} c={concurrency} {}", target.name()))?;
                    eprintln!(
                        "bench: run {run}/{} {workload:<20} c={concurrency:<3} {:<8} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  CPU/request {} backend {:.1} us",
                        settings.runs,
                        target.name(),
                        result.rps(),
                        result.p50_us / 1000.0,
                        result.p99_us / 1000.0,
                        result.errors(),
                        cpu.proxy_us.map_or_else(|| "-".to_owned(), |us| format!("{us:.1} us")),
                        cpu.backend_us,
                    );
                    out.push(Measurement {
                        run,
                        workload,
                        concurrency,
                        target,
                        result,
                        cpu,
                        loadavg,
                    });
                }
            }
        }
    }
    Ok(out)
}

struct Cell<'a> {
    workload: Workload,
    concurrency: usize,
    target: Target,
    url: &'a str,
    token: &'a str,
    proxy: Vec<u32>,
    backend: u32,
    clock: cpu::Clock,
}

impl Cell<'_> {
    fn measure(
        &self,
        settings: &Settings,
        client: &Client,
        sampler: &Sampler,
        scripts: &Path,
    ) -> Result<(WrkResult, PerRequest)> {
        let sessions = match self.workload {
            Workload::Legacy => mcp::open_sessions(client, self.url, self.concurrency)?,
            _ => Vec::new(),
        };
        let result = self.drive(settings, client, sampler, scripts, sessions.clone());
        sampler.arm(false);
        mcp::close_sessions(client, self.url, &sessions);
        result
    }

    fn drive(
        &self,
        settings: &Settings,
        client: &Client,
        sampler: &Sampler,
        scripts: &Path,
        sessions: Vec<String>,
    ) -> Result<(WrkResult, PerRequest)> {
        let spec = mcp::spec(self.workload, self.target, sessions, self.token);
        mcp::verify(client, self.url, &spec, settings.verify_samples)?;
        let file = scripts.join(format!(
            "{:?}-{}-c{}.lua",
            self.workload,
            self.target.name(),
            self.concurrency
        ));
        std::fs::write(&file, wrk::script(&spec))?;
        // Memory is the plain gateway's; the JWT and no-metrics gateways are other processes.
        sampler.arm(
            self.target == Target::Gateway
                && !matches!(self.workload, Workload::StatelessJwt | Workload::StatelessNoMetrics),
        );
        if !settings.warmup.is_zero() {
            wrk::run(&settings.wrk, &file, self.url, self.concurrency, settings.warmup)?;
        }
        let cpu_seconds =
            || -> Result<(f64, f64)> { Ok((self.clock.seconds(&self.proxy)?, self.clock.seconds(&[self.backend])?)) };
        let before = cpu_seconds()?;
        let result = wrk::run(&settings.wrk, &file, self.url, self.concurrency, settings.duration)?;
        let after = cpu_seconds()?;
        let cpu = PerRequest {
            proxy_us: (!self.proxy.is_empty()).then(|| cpu::per_request_us(after.0 - before.0, result.requests)),
            backend_us: cpu::per_request_us(after.1 - before.1, result.requests),
        };
        Ok((result, cpu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_rotates_the_order() {
        assert_eq!(order(0), [Target::Direct, Target::Nginx, Target::Gateway]);
        assert_eq!(order(1), [Target::Nginx, Target::Gateway, Target::Direct]);
        assert_eq!(order(2), [Target::Gateway, Target::Direct, Target::Nginx]);
        assert_eq!(order(3), order(0));
    }
}
