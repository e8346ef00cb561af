//! The results: the machine, the markdown tables (throughput and latency per target, the
//! gateway's ratios against direct and nginx in the same run, memory and start), and the
//! verdict against the targets.

use crate::cpu::PerRequest;
use crate::load::Measurement;
use crate::mcp::{Target, Workload};
use crate::startup::Start;
use crate::stats::{Spread, show};
use crate::wrk::WrkResult;
use serde::Serialize;
use std::fmt::Write as _;

/// The machine and tools the figures were taken with.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Cores the OS offers.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// When (UTC).
    pub date: String,
    /// Share of all cores busy with other work, over 1 s before the bench started anything.
    pub outside_busy: f64,
    /// `wrk -v`.
    pub wrk: String,
    /// `nginx -v`.
    pub nginx: String,
}

/// The gateway's memory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// VmRSS of the load gateway shortly after ready, KiB.
    pub idle_kib: u64,
    /// The largest VmRSS sampled while it was under load, KiB.
    pub peak_load_kib: u64,
    /// VmHWM after the load, KiB.
    pub hwm_kib: u64,
    /// VmRSS after the load, idle again, KiB.
    pub after_load_kib: u64,
}

/// What the run was.
#[derive(Debug, Clone, Serialize)]
pub struct RunSettings {
    /// Seconds measured per cell.
    pub duration_s: u64,
    /// Seconds of warm-up per cell.
    pub warmup_s: u64,
    /// Repetitions.
    pub runs: usize,
    /// Connections.
    pub concurrency: Vec<usize>,
    /// Workloads.
    pub workloads: Vec<Workload>,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The machine.
    pub machine: Machine,
    /// The settings.
    pub settings: RunSettings,
    /// Each load measurement.
    pub measurements: Vec<Measurement>,
    /// Each start.
    pub starts: Vec<Start>,
    /// The load gateway's memory.
    pub memory: Memory,
    /// The reload under load.
    pub reload: crate::reload::ReloadUnderLoad,
}

const MIB: f64 = 1.0 / 1024.0;
const MS: f64 = 1.0 / 1000.0;

impl Results {
    /// `f` of each run's result for one cell and target, in run order.
    pub fn values(&self, w: Workload, c: usize, t: Target, f: impl Fn(&WrkResult) -> f64) -> Vec<f64> {
        self.cell(w, c, t).map(|m| f(&m.result)).collect()
    }

    fn cell(&self, w: Workload, c: usize, t: Target) -> impl Iterator<Item = &Measurement> {
        self.measurements
            .iter()
            .filter(move |m| m.workload == w && m.concurrency == c && m.target == t)
    }

    /// Per run, `f(gateway) op f(other)` from the same run.
    fn paired(&self, w: Workload, c: usize, other: Target, f: impl Fn(&WrkResult, &WrkResult) -> f64) -> Vec<f64> {
        self.cell(w, c, Target::Gateway)
            .filter_map(|g| {
                let o = self.cell(w, c, other).find(|o| o.run == g.run)?;
                Some(f(&g.result, &o.result))
            })
            .collect()
    }

    /// Per run, gateway req/s over `other`'s.
    pub fn rps_ratio(&self, w: Workload, c: usize, other: Target) -> Vec<f64> {
        self.paired(w, c, other, |g, o| g.rps() / o.rps())
    }

    /// Per run, the JWT gateway's req/s over the plain gateway's, stateless tools/call at `c`:
    /// what verifying a bearer token costs.
    pub fn jwt_ratio(&self, c: usize) -> Vec<f64> {
        self.variant_ratio(Workload::StatelessJwt, c)
    }

    /// Per run, the plain gateway's req/s over the metrics-off gateway's at `c`: what
    /// recording metrics keeps of the throughput.
    pub fn metrics_ratio(&self, c: usize) -> Vec<f64> {
        self.variant_ratio(Workload::StatelessNoMetrics, c)
            .into_iter()
            .map(|off_over_on| 1.0 / off_over_on)
            .collect()
    }

    /// Per run, req/s of the gateway variant behind `variant` over the plain gateway's.
    fn variant_ratio(&self, variant: Workload, c: usize) -> Vec<f64> {
        self.cell(variant, c, Target::Gateway)
            .filter_map(|other| {
                let plain = self
                    .cell(Workload::Stateless, c, Target::Gateway)
                    .find(|p| p.run == other.run)?;
                Some(other.result.rps() / plain.result.rps())
            })
            .collect()
    }

    /// Per run, `target`'s latency minus direct's (µs), `f` picking the percentile.
    pub fn added(&self, w: Workload, c: usize, target: Target, f: impl Fn(&WrkResult) -> f64) -> Vec<f64> {
        self.cell(w, c, target)
            .filter_map(|m| {
                let d = self.cell(w, c, Target::Direct).find(|d| d.run == m.run)?;
                Some(f(&m.result) - f(&d.result))
            })
            .collect()
    }

    /// The whole report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.head(&mut out);
        self.throughput_table(&mut out);
        self.ratio_table(&mut out);
        self.jwt_table(&mut out);
        self.metrics_table(&mut out);
        self.reload.markdown(&mut out);
        self.cpu_table(&mut out);
        self.memory_table(&mut out);
        self.verdict(&mut out);
        out
    }

    fn head(&self, out: &mut String) {
        let m = &self.machine;
        let s = &self.settings;
        let _ = writeln!(out, "# light-gateway bench\n");
        let _ = writeln!(
            out,
            "Taken {} on {} ({} cores), {:.1} GiB, Linux {}. Outside load before the start: {:.0}% of all \
             cores busy; 1-min load average during the run {}.\n",
            m.date,
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel,
            m.outside_busy * 100.0,
            show(&self.measurements.iter().map(|x| x.loadavg).collect::<Vec<_>>(), 1.0, 2)
        );
        let _ = writeln!(
            out,
            "Load: {} (1 thread, keep-alive connections = concurrency, every response checked: status 2xx and, \
             for MCP, a JSON-RPC `result` without `error`), {} s per measurement after {} s warm-up, {} runs with \
             the target order rotated each run. Each figure is the median over runs with (min–max). Backend: \
             mock-mcp-server (rmcp, legacy session mode: 2026-07-28 requests stateless with JSON answers, legacy \
             sessions answered as SSE). nginx: {}, `worker_processes auto` ({} workers), upstream keepalive 128, \
             `/health` answered by nginx itself. Gateway: release build, one worker thread per core.\n",
            m.wrk, s.duration_s, s.warmup_s, s.runs, m.nginx, m.cores
        );
    }

    fn throughput_table(&self, out: &mut String) {
        out.push_str("## Throughput and latency\n\n");
        out.push_str("| workload | conc | target | req/s | p50 ms | p99 ms | max ms | errors / checked |\n");
        out.push_str("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
        for &w in &self.settings.workloads {
            for &c in &self.settings.concurrency {
                for t in Target::ALL {
                    // The metrics-off workload runs on the gateway only.
                    if self.cell(w, c, t).next().is_none() {
                        continue;
                    }
                    let errors: u64 = self.cell(w, c, t).map(|m| m.result.errors()).sum();
                    let checked: u64 = self.cell(w, c, t).map(|m| m.result.checked).sum();
                    let _ = writeln!(
                        out,
                        "| {w} | {c} | {} | {} | {} | {} | {} | {errors} / {checked} |",
                        t.name(),
                        show(&self.values(w, c, t, WrkResult::rps), 1.0, 0),
                        show(&self.values(w, c, t, |r| r.p50_us), MS, 2),
                        show(&self.values(w, c, t, |r| r.p99_us), MS, 2),
                        show(&self.values(w, c, t, |r| r.max_us), MS, 1),
                    );
                }
            }
        }
        out.push('\n');
    }

    fn ratio_table(&self, out: &mut String) {
        out.push_str("## The gateway against direct and nginx (same run)\n\n");
        out.push_str(
            "Added latency = the target's percentile minus direct's, in the same run (ms).\n\n\
             | workload | conc | gateway/direct req/s | gateway/nginx req/s | nginx/direct req/s \
             | added p50 gateway | added p50 nginx | added p99 gateway | added p99 nginx |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for &w in self
            .settings
            .workloads
            .iter()
            .filter(|w| **w != Workload::StatelessNoMetrics)
        {
            for &c in &self.settings.concurrency {
                let nginx_direct = self.paired_nginx_direct(w, c);
                let _ = writeln!(
                    out,
                    "| {w} | {c} | {} | {} | {} | {} | {} | {} | {} |",
                    show(&self.rps_ratio(w, c, Target::Direct), 1.0, 2),
                    show(&self.rps_ratio(w, c, Target::Nginx), 1.0, 2),
                    show(&nginx_direct, 1.0, 2),
                    show(&self.added(w, c, Target::Gateway, |r| r.p50_us), MS, 2),
                    show(&self.added(w, c, Target::Nginx, |r| r.p50_us), MS, 2),
                    show(&self.added(w, c, Target::Gateway, |r| r.p99_us), MS, 2),
                    show(&self.added(w, c, Target::Nginx, |r| r.p99_us), MS, 2),
                );
            }
        }
        out.push('\n');
    }

    fn jwt_table(&self, out: &mut String) {
        let workloads = &self.settings.workloads;
        if !(workloads.contains(&Workload::Stateless) && workloads.contains(&Workload::StatelessJwt)) {
            return;
        }
        out.push_str(
            "## What verifying a JWT costs (same run)\n\n\
             The JWT gateway runs the `jwt` handler before `mcp` (RS256 keys from the mock key service, \
             one token for the run: verified once, then served from the token cache).\n\n\
             | conc | gateway with JWT / gateway without, req/s | added p50 with JWT (ms) | added p50 without (ms) |\n\
             | ---: | ---: | ---: | ---: |\n",
        );
        for &c in &self.settings.concurrency {
            let _ = writeln!(
                out,
                "| {c} | {} | {} | {} |",
                show(&self.jwt_ratio(c), 1.0, 2),
                show(
                    &self.added(Workload::StatelessJwt, c, Target::Gateway, |r| r.p50_us),
                    MS,
                    2
                ),
                show(
                    &self.added(Workload::Stateless, c, Target::Gateway, |r| r.p50_us),
                    MS,
                    2
                ),
            );
        }
        out.push('\n');
    }

    fn metrics_table(&self, out: &mut String) {
        let workloads = &self.settings.workloads;
        if !(workloads.contains(&Workload::Stateless) && workloads.contains(&Workload::StatelessNoMetrics)) {
            return;
        }
        out.push_str(
            "## What metrics cost (same run)\n\n\
             The same stateless call through a second gateway whose runtime config says \
             `metrics.enabled: false`.\n\n\
             | conc | gateway with metrics / without, req/s | p50 with (ms) | p50 without (ms) |\n\
             | ---: | ---: | ---: | ---: |\n",
        );
        for &c in &self.settings.concurrency {
            let p50 = |w| show(&self.values(w, c, Target::Gateway, |r| r.p50_us), MS, 2);
            let _ = writeln!(
                out,
                "| {c} | {} | {} | {} |",
                show(&self.metrics_ratio(c), 1.0, 2),
                p50(Workload::Stateless),
                p50(Workload::StatelessNoMetrics),
            );
        }
        out.push('\n');
    }

    /// `f` of each run's CPU figures for one cell and target, skipping runs without one.
    fn cpu_values(&self, w: Workload, c: usize, t: Target, f: impl Fn(&PerRequest) -> Option<f64>) -> Vec<f64> {
        self.cell(w, c, t).filter_map(|m| f(&m.cpu)).collect()
    }

    fn cpu_table(&self, out: &mut String) {
        out.push_str(
            "## CPU per request (same run)\n\n\
             CPU time (user and system, every thread) the processes used during each measurement, over the \
             requests answered in it, in microseconds. The proxy's own cost, whatever else ran on the cores; \
             the backend's columns show whether a proxy made the backend work harder.\n\n\
             | workload | conc | gateway | nginx | gateway/nginx | backend, direct | backend, via nginx \
             | backend, via gateway |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for &w in &self.settings.workloads {
            for &c in &self.settings.concurrency {
                let ratio: Vec<f64> = self
                    .cell(w, c, Target::Gateway)
                    .filter_map(|g| {
                        let n = self.cell(w, c, Target::Nginx).find(|n| n.run == g.run)?;
                        Some(g.cpu.proxy_us? / n.cpu.proxy_us?)
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| {w} | {c} | {} | {} | {} | {} | {} | {} |",
                    show(&self.cpu_values(w, c, Target::Gateway, |p| p.proxy_us), 1.0, 1),
                    show(&self.cpu_values(w, c, Target::Nginx, |p| p.proxy_us), 1.0, 1),
                    show(&ratio, 1.0, 2),
                    show(&self.cpu_values(w, c, Target::Direct, |p| Some(p.backend_us)), 1.0, 1),
                    show(&self.cpu_values(w, c, Target::Nginx, |p| Some(p.backend_us)), 1.0, 1),
                    show(&self.cpu_values(w, c, Target::Gateway, |p| Some(p.backend_us)), 1.0, 1),
                );
            }
        }
        out.push('\n');
    }

    fn paired_nginx_direct(&self, w: Workload, c: usize) -> Vec<f64> {
        self.cell(w, c, Target::Nginx)
            .filter_map(|n| {
                let d = self.cell(w, c, Target::Direct).find(|d| d.run == n.run)?;
                Some(n.result.rps() / d.result.rps())
            })
            .collect()
    }

    fn start_values(&self, f: impl Fn(&Start) -> Option<f64>) -> Vec<f64> {
        self.starts.iter().filter_map(f).collect()
    }

    fn memory_table(&self, out: &mut String) {
        let mem = &self.memory;
        let n = self.starts.len();
        let med_max =
            |v: Vec<f64>| Spread::of(&v).map_or_else(|| "–".to_owned(), |s| format!("{:.1} / {:.1}", s.median, s.max));
        let _ = writeln!(
            out,
            "## Memory and start\n\n| figure | value | target |\n| --- | ---: | --- |\n\
             | RSS after ready, {n} fresh starts (MiB) | {} | <= 16 MiB |\n\
             | RSS after ready, the load gateway (MiB) | {:.1} | <= 16 MiB |\n\
             | RSS peak under load, VmRSS sampled every 20 ms (MiB) | {:.1} | <= 64 MiB |\n\
             | VmHWM after the load (MiB) | {:.1} | |\n\
             | RSS idle after the load (MiB) | {:.1} | |\n\
             | start to ready, polled tools/call 200, median / max of {n} (ms) | {} | median <= 30 ms |\n\
             | - config downloaded (`bootstrap_ok`), median / max (ms) | {} | |\n\
             | - config loaded, median / max (ms) | {} | |\n\
             | - listeners bound, median / max (ms) | {} | |\n\
             | - registered with the controller, median / max (ms) | {} | |\n\
             | - `ready` logged, median / max (ms) | {} | |\n",
            show(&self.start_values(|s| Some(s.idle_rss_kib as f64)), MIB, 1),
            mem.idle_kib as f64 * MIB,
            mem.peak_load_kib as f64 * MIB,
            mem.hwm_kib as f64 * MIB,
            mem.after_load_kib as f64 * MIB,
            med_max(self.start_values(|s| Some(s.ready_ms))),
            med_max(self.start_values(|s| s.milestone("bootstrap_ok"))),
            med_max(self.start_values(|s| s.milestone("config_loaded"))),
            med_max(self.start_values(|s| s.milestone("listeners_bound"))),
            med_max(self.start_values(|s| s.milestone("registered"))),
            med_max(self.start_values(|s| s.milestone("ready"))),
        );
    }

    fn verdict(&self, out: &mut String) {
        out.push_str("## Against the targets\n\n");
        let w = Workload::Stateless;
        let c = if self.settings.concurrency.contains(&16) {
            16
        } else {
            self.settings.concurrency[0]
        };
        let median = |v: Vec<f64>| Spread::of(&v).map_or(f64::NAN, |s| s.median);
        let vs_nginx = median(self.rps_ratio(w, c, Target::Nginx));
        let added_gw = median(self.added(w, c, Target::Gateway, |r| r.p50_us));
        let added_nginx = median(self.added(w, c, Target::Nginx, |r| r.p50_us));
        let rss_ready = median(self.start_values(|s| Some(s.idle_rss_kib as f64))) * MIB;
        let start = median(self.start_values(|s| Some(s.ready_ms)));
        let jwt = median(self.jwt_ratio(c));
        let metrics = median(self.metrics_ratio(c));
        let reload = &self.reload;
        // A comparison with NaN (nothing measured) is false: say so rather than "NOT met".
        let mark = |ok: bool, text: &str| match (ok, text.contains("NaN")) {
            (_, true) => "not measured",
            (true, false) => "met",
            (false, false) => "NOT met",
        };
        let lines = [
            (
                vs_nginx >= 1.0,
                format!("stateless tools/call c={c}: gateway/nginx throughput {vs_nginx:.2}x (>= 1.0x)"),
            ),
            (
                added_gw <= added_nginx,
                format!(
                    "stateless tools/call c={c}: added p50 {:.2} ms against nginx's {:.2} ms (no worse)",
                    added_gw * MS,
                    added_nginx * MS
                ),
            ),
            (
                rss_ready <= 16.0,
                format!("RSS after ready {rss_ready:.1} MiB (<= 16 MiB)"),
            ),
            (
                self.memory.peak_load_kib as f64 * MIB <= 64.0,
                format!(
                    "RSS under load {:.1} MiB (<= 64 MiB)",
                    self.memory.peak_load_kib as f64 * MIB
                ),
            ),
            (start <= 30.0, format!("start to ready median {start:.1} ms (<= 30 ms)")),
            (
                jwt >= 0.9,
                format!("stateless tools/call with JWT c={c}: {jwt:.2}x the throughput without (>= 0.90x)"),
            ),
            (
                metrics >= 0.97,
                format!(
                    "stateless tools/call c={c}: metrics on keep {metrics:.2}x of the throughput with metrics off (>= 0.97x)"
                ),
            ),
            (
                reload.clean(),
                format!(
                    "reload under load: {} failed of {} requests across {} reloads ({} reloads refused); p99 {:.2} ms during the reloads, {:.2} ms without",
                    reload.during.errors(),
                    reload.during.requests,
                    reload.reloads,
                    reload.reload_failures.len(),
                    reload.during.p99_us * MS,
                    reload.baseline.p99_us * MS
                ),
            ),
        ];
        for (ok, text) in lines {
            let _ = writeln!(out, "- {}: {text}", mark(ok, &text));
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(run: usize, target: Target, requests: u64, p50_us: f64) -> Measurement {
        Measurement {
            run,
            workload: Workload::Stateless,
            concurrency: 16,
            target,
            loadavg: 1.0,
            cpu: PerRequest {
                proxy_us: (target != Target::Direct).then_some(p50_us / 2.0),
                backend_us: 40.0,
            },
            result: WrkResult {
                requests,
                duration_us: 1_000_000,
                connect: 0,
                read: 0,
                write: 0,
                timeout: 0,
                bad_status: 0,
                bad_body: 0,
                checked: requests,
                p50_us,
                p99_us: p50_us * 2.0,
                max_us: p50_us * 4.0,
            },
        }
    }

    fn results(measurements: Vec<Measurement>) -> Results {
        Results {
            machine: Machine {
                cpu: "test CPU".into(),
                cores: 2,
                kernel: "6.0".into(),
                memory_gib: 1.0,
                date: "today".into(),
                outside_busy: 0.0,
                wrk: "wrk".into(),
                nginx: "nginx".into(),
            },
            settings: RunSettings {
                duration_s: 1,
                warmup_s: 0,
                runs: 2,
                concurrency: vec![16],
                workloads: vec![Workload::Stateless],
            },
            measurements,
            starts: Vec::new(),
            memory: Memory {
                idle_kib: 10 * 1024,
                peak_load_kib: 20 * 1024,
                hwm_kib: 20 * 1024,
                after_load_kib: 12 * 1024,
            },
            reload: crate::reload::ReloadUnderLoad {
                concurrency: 16,
                baseline: measurement(1, Target::Gateway, 1000, 900.0).result,
                during: measurement(1, Target::Gateway, 990, 1000.0).result,
                reloads: 12,
                reload_failures: Vec::new(),
            },
        }
    }

    #[test]
    fn ratios_pair_measurements_of_the_same_run() {
        let r = results(vec![
            measurement(1, Target::Direct, 1000, 100.0),
            measurement(1, Target::Nginx, 800, 150.0),
            measurement(1, Target::Gateway, 400, 300.0),
            measurement(2, Target::Gateway, 900, 200.0),
            measurement(2, Target::Direct, 1000, 100.0),
            measurement(2, Target::Nginx, 900, 120.0),
        ]);
        assert_eq!(r.rps_ratio(Workload::Stateless, 16, Target::Direct), vec![0.4, 0.9]);
        assert_eq!(r.rps_ratio(Workload::Stateless, 16, Target::Nginx), vec![0.5, 1.0]);
        assert_eq!(
            r.added(Workload::Stateless, 16, Target::Gateway, |w| w.p50_us),
            vec![200.0, 100.0]
        );
    }

    #[test]
    fn the_markdown_has_every_table_and_the_verdict() {
        let r = results(vec![
            measurement(1, Target::Direct, 1000, 100.0),
            measurement(1, Target::Nginx, 800, 150.0),
            measurement(1, Target::Gateway, 900, 140.0),
        ]);
        let md = r.markdown();
        assert!(md.contains("| stateless tools/call | 16 | gateway | 900 | 0.14 |"));
        assert!(md.contains("| stateless tools/call | 16 | 0.90 | 1.12 | 0.80 | 0.04 | 0.05 |"));
        assert!(md.contains("- met: stateless tools/call c=16: gateway/nginx throughput 1.12x"));
        assert!(md.contains("- not measured: start to ready median NaN ms"));
        assert!(
            md.contains("| stateless tools/call | 16 | 70.0 | 75.0 | 0.93 | 40.0 | 40.0 | 40.0 |"),
            "{md}"
        );
    }

    #[test]
    fn metrics_cost_is_the_plain_gateway_over_the_metrics_off_one_and_a_clean_reload_is_met() {
        let mut off = measurement(1, Target::Gateway, 1000, 100.0);
        off.workload = Workload::StatelessNoMetrics;
        let r = results(vec![measurement(1, Target::Gateway, 980, 100.0), off]);
        assert_eq!(r.metrics_ratio(16), vec![0.98]);
        let md = r.markdown();
        assert!(
            md.contains("- met: stateless tools/call c=16: metrics on keep 0.98x"),
            "{md}"
        );
        assert!(
            md.contains("- met: reload under load: 0 failed of 990 requests across 12 reloads"),
            "{md}"
        );
        assert!(md.contains("| 12 reloads | 990 | 0 |"), "{md}");
    }
}
