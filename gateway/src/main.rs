//! `light-gateway`: run the gateway, check a config dir, or print the version.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};
use light_gateway::config::{ConfigDirs, ProcessEnv};
use light_gateway::logging::{self, milestone};
use light_gateway::server::shutdown::Signals;
use light_gateway::server::{self, Admission};
use light_gateway::{app, tls};
use pingora::server::RunArgs;
use tracing::{error, info};

// mimalloc instead of glibc's malloc: allocation and free were about a fifth of the
// instructions of a stateless tools/call in the callgrind profile (bench/profile.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Pingora MCP micro-gateway. With no arguments it reads `config/` and writes
/// `config-cache/` under the working directory, as the upstream binary does.
#[derive(Parser)]
#[command(name = "light-gateway", version, about)]
struct Cli {
    /// Bootstrap config dir; relative paths in config files are relative to its parent.
    #[arg(long, global = true, default_value = "config")]
    config_dir: PathBuf,
    /// Cache dir (default: `config-cache` next to the config dir).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Defaults dir (default: `config-defaults` next to the config dir).
    #[arg(long, global = true)]
    defaults_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check a config dir offline; exits non-zero naming the first problem.
    ValidateConfig,
}

impl Cli {
    fn dirs(&self) -> ConfigDirs {
        let base = self.config_dir.parent().map(PathBuf::from).unwrap_or_default();
        let mut dirs = ConfigDirs::under(&base);
        dirs.config = self.config_dir.clone();
        dirs.cache = self.cache_dir.clone().unwrap_or(dirs.cache);
        dirs.defaults = self.defaults_dir.clone().unwrap_or(dirs.defaults);
        dirs
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    tls::install_crypto_provider();
    let result = match cli.command {
        Some(Command::ValidateConfig) => validate(&cli.dirs()),
        None => run(&cli.dirs()),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            error!(reason = format!("{e:#}"), "gateway failed to start");
            ExitCode::FAILURE
        }
    }
}

fn control_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("control")
        .enable_all()
        .build()
        .context("failed to start the control runtime")
}

fn validate(dirs: &ConfigDirs) -> anyhow::Result<i32> {
    match control_runtime()?.block_on(app::prepare(dirs, Arc::new(ProcessEnv), true)) {
        Ok(prepared) => {
            let listeners: Vec<String> = prepared
                .listeners
                .iter()
                .map(|l| format!("{}://{}", l.scheme, l.addr))
                .collect();
            println!(
                "config ok: {} (listeners {listeners:?}, values from {:?})",
                dirs.config.display(),
                prepared.runtime.value_sources
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("invalid config: {e}");
            Ok(1)
        }
    }
}

fn run(dirs: &ConfigDirs) -> anyhow::Result<i32> {
    let control = control_runtime()?;
    let signals = control
        .block_on(async { Signals::install() })
        .context("failed to install signal handlers")?;
    let prepared = control.block_on(app::prepare(dirs, Arc::new(ProcessEnv), false))?;
    let admission = Admission::new();
    let pingora = server::build(
        &prepared.runtime.server,
        |p| dirs.resolve(p),
        admission.clone(),
        prepared.live.clone(),
        prepared.scrape.clone(),
    )?;
    let (stop, watch) = server::stop_switch();
    let exit = Arc::new(AtomicI32::new(0));
    let exit_code = exit.clone();
    control.spawn(async move {
        let code = app::lifecycle(prepared, admission, signals, stop).await;
        exit_code.store(code, Ordering::SeqCst);
        if code == app::EXIT_SECOND_SIGNAL {
            std::process::exit(code);
        }
    });
    pingora.run(RunArgs {
        shutdown_signal: Box::new(watch),
    });
    control.shutdown_timeout(std::time::Duration::from_millis(200));
    let code = exit.load(Ordering::SeqCst);
    info!(event = milestone::STOPPED, exit_code = code, "stopped");
    Ok(code)
}
