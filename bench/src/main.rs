//! `light-gateway-bench` (`make bench`): the gateway's cost per request side by side with a
//! direct call to the backend and with nginx as a plain reverse proxy, all on 127.0.0.1.
//!
//! It starts the rmcp backend (mock-mcp-server), the mock config-server and controller, nginx,
//! and the gateway (release builds from `--bin-dir`); measures start to ready over fresh starts;
//! then drives each target with wrk for every workload and concurrency, repeated with the
//! target order rotated; and writes `results.md`, `results.json` and `throughput.png` to
//! `--out`, printing the markdown. Everything it started is stopped at the end and on Ctrl-C.
//!
//! `light-gateway-bench soak` (`make soak`) is the endurance run instead: see [`soak`].

mod cpu;
mod deploy;
mod load;
mod machine;
mod mcp;
mod plot;
mod probe;
mod procs;
mod reload;
mod report;
mod rss;
mod soak;
mod startup;
mod stats;
mod wrk;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use deploy::{Deployment, Programs};
use load::{Settings, Urls};
use mcp::Workload;
use report::{Memory, Results, RunSettings};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Benchmarks light-gateway against a direct call and nginx.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Another run than the comparison (whose flags are below).
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Seconds measured per workload, concurrency and target.
    #[arg(long, env = "BENCH_DURATION", default_value_t = 5)]
    duration: u64,
    /// Seconds of warm-up before each measurement (not counted; 0 for none).
    #[arg(long, env = "BENCH_WARMUP", default_value_t = 1)]
    warmup: u64,
    /// Repetitions of the whole matrix.
    #[arg(long, env = "BENCH_RUNS", default_value_t = 3)]
    runs: usize,
    /// Connection counts.
    #[arg(long, env = "BENCH_CONCURRENCY", value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Workloads.
    #[arg(
        long,
        env = "BENCH_WORKLOADS",
        value_delimiter = ',',
        value_enum,
        default_value = "stateless,stateless-jwt,stateless-no-metrics,legacy,health"
    )]
    workloads: Vec<Workload>,
    /// Fresh gateway starts timed for start-to-ready.
    #[arg(long, env = "BENCH_STARTS", default_value_t = 20)]
    starts: usize,
    /// Requests checked in full (status and body) before each measurement.
    #[arg(long, default_value_t = 20)]
    verify_samples: usize,
    /// Directory of the release binaries (the mocks).
    #[arg(long, env = "BENCH_BIN_DIR", default_value = "target/release")]
    bin_dir: PathBuf,
    /// The gateway binary under test (default: `light-gateway` in `--bin-dir`).
    #[arg(long, env = "BENCH_GATEWAY_BIN")]
    gateway_bin: Option<PathBuf>,
    /// Where the results go.
    #[arg(long, env = "BENCH_OUT", default_value = "bench/results")]
    out: PathBuf,
    /// wrk.
    #[arg(long, env = "BENCH_WRK", default_value = "wrk")]
    wrk: PathBuf,
    /// nginx.
    #[arg(long, env = "BENCH_NGINX", default_value = "nginx")]
    nginx: PathBuf,
}

/// The runs other than the comparison.
#[derive(Debug, Subcommand)]
enum Mode {
    /// Mixed load at a steady rate for minutes: errors, RSS and open fds of the gateway per minute.
    Soak(soak::SoakArgs),
}

/// `name` as given when it is a path, else found on PATH or in `also`.
fn find_program(name: &Path, also: &[&str]) -> Result<PathBuf> {
    if name.components().count() > 1 {
        return Ok(name.to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(also.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{} not found (apt-get install it; make bench does)", name.display()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Mode::Soak(soak)) = args.mode {
        return soak::run(soak);
    }
    if args.concurrency.is_empty() || args.workloads.is_empty() || args.runs == 0 || args.duration == 0 {
        bail!("nothing to measure: give concurrencies, workloads, runs >= 1 and a duration >= 1 s");
    }
    procs::install_interrupt_handler()?;
    // Already installed is fine: the provider only has to exist before a client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let wrk = find_program(&args.wrk, &[])?;
    let nginx = find_program(&args.nginx, &["/usr/sbin", "/usr/local/sbin"])?;
    eprintln!("bench: measuring how busy the machine is before starting anything (1 s)");
    let outside = machine::busy_share(Duration::from_secs(1));
    let bin_dir = std::fs::canonicalize(&args.bin_dir)
        .with_context(|| format!("{}: build the release binaries first", args.bin_dir.display()))?;
    let gateway = args
        .gateway_bin
        .clone()
        .unwrap_or_else(|| bin_dir.join("light-gateway"));
    if !gateway.is_file() {
        bail!("{} is missing: build it first (make bench does)", gateway.display());
    }
    eprintln!("bench: gateway under test {}", gateway.display());
    let programs = Programs {
        bin_dir,
        gateway,
        nginx: Some(nginx.clone()),
    };
    let deployment = Deployment::start(programs)?;
    eprintln!(
        "bench: backend {}, nginx {}",
        deployment.backend.main,
        deployment.nginx_url()?
    );
    let starts = startup::measure(&deployment, args.starts)?;
    let settings = Settings {
        duration: Duration::from_secs(args.duration),
        warmup: Duration::from_secs(args.warmup),
        runs: args.runs,
        concurrency: args.concurrency.clone(),
        workloads: args.workloads.clone(),
        verify_samples: args.verify_samples,
        wrk: wrk.clone(),
    };
    let (measurements, memory, reload) = load_phase(&settings, &deployment)?;
    drop(deployment);
    let results = Results {
        machine: machine::describe(&wrk, &nginx, outside),
        settings: RunSettings {
            duration_s: args.duration,
            warmup_s: args.warmup,
            runs: args.runs,
            concurrency: args.concurrency,
            workloads: args.workloads,
        },
        measurements,
        starts,
        memory,
        reload,
    };
    write(&results, &args.out)
}

/// Starts the gateway under test, runs the matrix, reads its memory around it, and then
/// reloads it under load.
fn load_phase(
    settings: &Settings,
    deployment: &Deployment,
) -> Result<(Vec<load::Measurement>, Memory, reload::ReloadUnderLoad)> {
    let mut gateway = deployment.spawn_gateway()?;
    let ready = gateway.wait_ready(Duration::from_secs(20))?;
    gateway.check_registered()?;
    eprintln!(
        "bench: gateway {} ready in {:.1} ms",
        gateway.url,
        ready.as_secs_f64() * 1000.0
    );
    std::thread::sleep(Duration::from_millis(300));
    let pid = gateway.proc.pid();
    let idle = rss::read(pid)?;
    let sampler = rss::Sampler::start(pid, Duration::from_millis(20));
    let mut jwt_gateway = if settings.workloads.contains(&Workload::StatelessJwt) {
        let mut jwt = deployment.spawn_jwt_gateway()?;
        jwt.wait_ready_with(Duration::from_secs(20), Some(&deployment.token))?;
        Some(jwt)
    } else {
        None
    };
    let mut no_metrics_gateway = if settings.workloads.contains(&Workload::StatelessNoMetrics) {
        let mut gateway = deployment.spawn_no_metrics_gateway()?;
        gateway.wait_ready(Duration::from_secs(20))?;
        Some(gateway)
    } else {
        None
    };
    let urls = Urls {
        direct: deployment.backend.main.clone(),
        nginx: deployment.nginx_url()?.to_owned(),
        gateway: gateway.url.clone(),
        gateway_jwt: jwt_gateway.as_ref().map(|g| g.url.clone()),
        gateway_no_metrics: no_metrics_gateway.as_ref().map(|g| g.url.clone()),
        token: deployment.token.clone(),
    };
    let pids = load::Pids {
        backend: deployment.backend.pid(),
        nginx: cpu::with_children(deployment.nginx_pid()?)?,
        gateway: pid,
        gateway_jwt: jwt_gateway.as_ref().map(|g| g.proc.pid()),
        gateway_no_metrics: no_metrics_gateway.as_ref().map(|g| g.proc.pid()),
    };
    let scripts = tempfile::Builder::new().prefix("bench-wrk").tempdir()?;
    let measurements = load::run_all(settings, &urls, &pids, &sampler, scripts.path())?;
    std::thread::sleep(Duration::from_millis(500));
    let after = rss::read(pid)?;
    let memory = Memory {
        idle_kib: idle.rss_kib,
        peak_load_kib: sampler.peak_kib(),
        hwm_kib: after.hwm_kib,
        after_load_kib: after.rss_kib,
    };
    drop(sampler);
    if let Some(jwt) = jwt_gateway.as_mut() {
        jwt.proc.stop(Duration::from_secs(10));
    }
    if let Some(other) = no_metrics_gateway.as_mut() {
        other.proc.stop(Duration::from_secs(10));
    }
    eprintln!("bench: reload under load");
    let reloaded = reload::measure(settings, deployment, &gateway.url, scripts.path())?;
    eprintln!(
        "bench: {} reloads, {} failed requests of {}, p99 {:.2} ms (without reloads {:.2} ms)",
        reloaded.reloads,
        reloaded.during.errors(),
        reloaded.during.requests,
        reloaded.during.p99_us / 1000.0,
        reloaded.baseline.p99_us / 1000.0
    );
    gateway.proc.stop(Duration::from_secs(10));
    Ok((measurements, memory, reloaded))
}

fn write(results: &Results, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let markdown = results.markdown();
    let md = out.join("results.md");
    let chart = out.join("throughput.png");
    let markdown = format!("{markdown}![requests/s by concurrency](throughput.png)\n");
    std::fs::write(&md, &markdown)?;
    std::fs::write(out.join("results.json"), serde_json::to_string_pretty(results)?)?;
    plot::draw(results, &chart)?;
    println!("{markdown}");
    eprintln!("bench: wrote {}, {} and results.json", md.display(), chart.display());
    Ok(())
}
