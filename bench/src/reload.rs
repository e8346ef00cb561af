//! A reload under load: stateless tools/call at 16 connections while the controller asks the
//! gateway to `reload_modules` (a config-server download and a new router and auth handlers)
//! every 250 ms, against the same load without reloads just before. Every response is checked by
//! the wrk script, so a request a reload broke counts as an error.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::deploy::Deployment;
use crate::load::Settings;
use crate::mcp::{self, Target, Workload};
use crate::wrk::{self, WrkResult};

/// Connections of the load across the reloads.
const CONNECTIONS: usize = 16;
/// Pause between two reloads.
const EVERY: Duration = Duration::from_millis(250);

/// What a reload under load did.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadUnderLoad {
    /// Connections.
    pub concurrency: usize,
    /// The load without reloads.
    pub baseline: WrkResult,
    /// The load across the reloads.
    pub during: WrkResult,
    /// Reloads the gateway reported as done.
    pub reloads: usize,
    /// Reloads that failed or answered something else, with the answer.
    pub reload_failures: Vec<String>,
}

/// Runs the baseline, then the load with reloads, against the gateway at `url`.
///
/// # Errors
/// wrk or the controller's admin API could not be run.
pub fn measure(settings: &Settings, deployment: &Deployment, url: &str, scripts: &Path) -> Result<ReloadUnderLoad> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let spec = mcp::spec(Workload::Stateless, Target::Gateway, Vec::new(), &deployment.token);
    mcp::verify(&client, url, &spec, settings.verify_samples)?;
    let file = scripts.join("reload-under-load.lua");
    std::fs::write(&file, wrk::script(&spec))?;
    if !settings.warmup.is_zero() {
        wrk::run(&settings.wrk, &file, url, CONNECTIONS, settings.warmup)?;
    }
    let baseline = wrk::run(&settings.wrk, &file, url, CONNECTIONS, settings.duration)?;
    let stop = AtomicBool::new(false);
    let (during, outcomes) = std::thread::scope(|scope| {
        let reloader = scope.spawn(|| {
            let mut outcomes = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                outcomes.push(deployment.reload(&client).map_err(|e| e.to_string()).and_then(judge));
                std::thread::sleep(EVERY);
            }
            outcomes
        });
        let during = wrk::run(&settings.wrk, &file, url, CONNECTIONS, settings.duration);
        stop.store(true, Ordering::Relaxed);
        (during, reloader.join())
    });
    let outcomes = outcomes.map_err(|_| anyhow::anyhow!("the reload thread panicked"))?;
    let during = during.context("the load across the reloads")?;
    let reloads = outcomes.iter().filter(|o| o.is_ok()).count();
    let reload_failures = outcomes.into_iter().filter_map(Result::err).collect();
    Ok(ReloadUnderLoad {
        concurrency: CONNECTIONS,
        baseline,
        during,
        reloads,
        reload_failures,
    })
}

/// A reload answer that reloaded the MCP router and failed nothing.
fn judge(report: serde_json::Value) -> std::result::Result<(), String> {
    let reloaded = report["reloaded"]
        .as_array()
        .is_some_and(|m| m.iter().any(|id| id == "light-pingora/mcp-router"));
    let failed = report["failed"].as_array().is_some_and(|f| !f.is_empty());
    if reloaded && !failed {
        Ok(())
    } else {
        Err(report.to_string())
    }
}

impl ReloadUnderLoad {
    /// Whether no request failed and every reload was done.
    pub fn clean(&self) -> bool {
        self.during.errors() == 0 && self.reload_failures.is_empty() && self.reloads > 0
    }

    /// The markdown section.
    pub fn markdown(&self, out: &mut String) {
        use std::fmt::Write as _;
        let ms = |us: f64| us / 1000.0;
        let _ = write!(
            out,
            "## Reload under load (same run)\n\n\
             Stateless tools/call at {c} connections while the controller calls `reload_modules` every \
             {every} ms (each one downloads the config again and swaps the router and auth handlers), \
             against the same load without reloads just before.\n\n\
             | load | requests | failed | req/s | p50 (ms) | p99 (ms) |\n\
             | --- | ---: | ---: | ---: | ---: | ---: |\n\
             | no reloads | {} | {} | {:.0} | {:.2} | {:.2} |\n\
             | {} reloads | {} | {} | {:.0} | {:.2} | {:.2} |\n\n",
            self.baseline.requests,
            self.baseline.errors(),
            self.baseline.rps(),
            ms(self.baseline.p50_us),
            ms(self.baseline.p99_us),
            self.reloads,
            self.during.requests,
            self.during.errors(),
            self.during.rps(),
            ms(self.during.p50_us),
            ms(self.during.p99_us),
            c = self.concurrency,
            every = EVERY.as_millis(),
        );
        for failure in self.reload_failures.iter().take(3) {
            let _ = writeln!(out, "- a reload did not go through: {failure}");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_reload_counts_only_when_the_router_reloaded_and_nothing_failed() {
        assert!(judge(json!({"reloaded": ["light-pingora/mcp-router"], "failed": []})).is_ok());
        assert!(judge(json!({"reloaded": [], "failed": [{"moduleId": "ALL", "message": "down"}]})).is_err());
        assert!(judge(json!({"status": "error", "message": "x"})).is_err());
    }
}
