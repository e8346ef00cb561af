//! `light-gateway-bench soak` (`make soak`): the gateway under a steady mixed load for minutes
//! (stateless tools/call, legacy sessions opened and closed, tools/list; 1000 requests/s for
//! 10 minutes by default), every answer checked, its RSS and open fds sampled. The deployment is
//! the bench's (rmcp backend, mock config-server and controller, a gateway that downloads its
//! config and registers), without nginx.
//!
//! The verdict: no error; RSS of the last minute less than 5% above minute 2's; open fds of the
//! last minute and at the end no more than max(8, 10%) above minute 2's. Minute 1 is the
//! warm-up. The results go to `bench/results/soak.md`; a failed verdict exits non-zero.

mod drive;
mod gateway_log;
mod report;
mod tally;
mod traffic;

use crate::deploy::{Deployment, Programs};
use crate::{cpu, machine, procs};
use anyhow::{Context, Result, bail};
use drive::Plan;
use report::{Limits, Run};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the gateway may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// The pause after the last answer before the after-load sample (idle connections close).
const SETTLE: Duration = Duration::from_secs(2);
/// Threads of the load generator (the gateway runs one worker per core beside it).
const LOAD_THREADS: usize = 2;

/// Settings of the soak.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Requests per second asked.
    #[arg(long, env = "SOAK_RATE", default_value_t = 1000)]
    rate: u32,
    /// Seconds of load.
    #[arg(long, env = "SOAK_DURATION", default_value_t = 600)]
    duration: u64,
    /// Seconds per reported period (a "minute"; shorter only to try the soak out). The load
    /// must last at least three.
    #[arg(long, env = "SOAK_PERIOD", default_value_t = 60)]
    period: u64,
    /// Seconds between samples of the gateway's RSS, fds and CPU time.
    #[arg(long, env = "SOAK_SAMPLE_EVERY", default_value_t = 5)]
    sample_every: u64,
    /// Most ops (a request, or a whole legacy session) in flight.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Largest RSS growth from minute 2 to the last minute, percent (not reached).
    #[arg(long, default_value_t = 5.0)]
    max_rss_growth: f64,
    /// Directory of the release binaries (the mocks).
    #[arg(long, env = "SOAK_BIN_DIR", default_value = "target/release")]
    bin_dir: PathBuf,
    /// The gateway binary under test (default: `light-gateway` in `--bin-dir`).
    #[arg(long, env = "SOAK_GATEWAY_BIN")]
    gateway_bin: Option<PathBuf>,
    /// Which build the gateway binary is, for the report.
    #[arg(long, env = "SOAK_BUILD", default_value = "release")]
    build: String,
    /// Where the report goes.
    #[arg(long, env = "SOAK_OUT", default_value = "bench/results/soak.md")]
    out: PathBuf,
}

impl SoakArgs {
    fn plan(&self) -> Result<Plan> {
        if self.rate == 0 || self.period == 0 || self.sample_every == 0 || self.max_in_flight == 0 {
            bail!("rate, period, sample interval and max in flight must be at least 1");
        }
        if self.duration < 3 * self.period {
            bail!(
                "{} s of load is less than three periods of {} s: minute 2 is compared with the last",
                self.duration,
                self.period
            );
        }
        Ok(Plan {
            rate: f64::from(self.rate),
            duration: Duration::from_secs(self.duration),
            period: Duration::from_secs(self.period),
            sample_every: Duration::from_secs(self.sample_every),
            max_in_flight: self.max_in_flight,
        })
    }
}

/// Runs the soak and writes its report; an error when the verdict fails.
pub fn run(args: SoakArgs) -> Result<()> {
    let plan = args.plan()?;
    procs::install_interrupt_handler()?;
    // Already installed is fine: the provider only has to exist before a client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    eprintln!("soak: measuring how busy the machine is before starting anything (1 s)");
    let outside = machine::busy_share(Duration::from_secs(1));
    let bin_dir = std::fs::canonicalize(&args.bin_dir)
        .with_context(|| format!("{}: build the release binaries first", args.bin_dir.display()))?;
    let gateway_bin = args
        .gateway_bin
        .clone()
        .unwrap_or_else(|| bin_dir.join("light-gateway"));
    if !gateway_bin.is_file() {
        bail!("{} is missing: build it first (make soak does)", gateway_bin.display());
    }
    let deployment = Deployment::start(Programs {
        bin_dir,
        gateway: gateway_bin.clone(),
        nginx: None,
    })?;
    let mut gateway = deployment.spawn_gateway()?;
    let ready = gateway.wait_ready(READY_WITHIN)?;
    gateway.check_registered()?;
    let pid = gateway.proc.pid();
    eprintln!(
        "soak: gateway {} (pid {pid}) ready in {:.1} ms; {} requests/s for {} s",
        gateway.url,
        ready.as_secs_f64() * 1000.0,
        args.rate,
        args.duration
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(LOAD_THREADS)
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;
    let watched = drive::Watched {
        gateway: pid,
        backend_port: deployment.backend.port()?,
    };
    let tally = runtime.block_on(drive::run(&plan, &gateway.url, watched))?;
    drop(runtime);
    std::thread::sleep(SETTLE);
    let alive = !gateway.proc.exited();
    let after = if alive {
        Some(drive::read_sample(
            &cpu::Clock::new()?,
            watched,
            plan.duration + SETTLE,
        )?)
    } else {
        None
    };
    let log = gateway_log::summarise(&gateway.logs());
    gateway.proc.stop(Duration::from_secs(10));
    drop(deployment);

    let limits = Limits {
        rss_growth_pct: args.max_rss_growth,
        fd_margin: 8,
        fd_margin_share: 0.10,
        rate_held_share: 0.95,
    };
    let rows = report::rows(&tally);
    let verdict = report::verdict(&tally, &rows, &limits, plan.rate, alive);
    // wrk and nginx play no part here: their versions come out empty and are not shown.
    let machine = machine::describe(Path::new("wrk"), Path::new("nginx"), outside);
    let run = Run {
        machine: &machine,
        gateway: &gateway_bin,
        build: &args.build,
        ready_ms: ready.as_secs_f64() * 1000.0,
        plan: &plan,
        after,
        log: &log,
    };
    let markdown = report::markdown(&run, &tally, &rows, &verdict);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.out, &markdown).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{markdown}");
    eprintln!("soak: wrote {}", args.out.display());
    if !verdict.passed() {
        bail!("the soak failed: {}", verdict.failures().join("; "));
    }
    Ok(())
}
