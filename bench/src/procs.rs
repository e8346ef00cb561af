//! Child processes: started with their output drained into a bounded buffer, registered so that
//! Ctrl-C (or SIGTERM) stops every one of them, and stopped by pid when dropped.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Pids of every child still running, for the interrupt handler.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// How many output lines a child keeps (the newest).
const KEPT_LINES: usize = 2_000;

/// Stops every registered child on SIGINT/SIGTERM, then exits 130.
pub fn install_interrupt_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        eprintln!("bench: interrupted, stopping what it started");
        let pids: Vec<u32> = lock(&CHILDREN).drain(..).collect();
        for pid in &pids {
            signal(*pid, Signal::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(300));
        for pid in &pids {
            signal(*pid, Signal::SIGKILL);
        }
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn signal(pid: u32, sig: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(raw), sig);
    }
}

/// The newest lines a child wrote on one stream.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<VecDeque<String>>>);

impl Lines {
    fn capture(&self, stream: impl Read + Send + 'static) {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut kept = lock(&lines);
                if kept.len() >= KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
    }

    /// A copy of the kept lines.
    pub fn snapshot(&self) -> Vec<String> {
        lock(&self.0).iter().cloned().collect()
    }

    /// The last `n` lines, joined (for error messages).
    pub fn tail(&self, n: usize) -> String {
        let kept = lock(&self.0);
        let skip = kept.len().saturating_sub(n);
        kept.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
    }
}

/// A running child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    name: String,
    child: Child,
    /// stderr lines.
    pub stderr: Lines,
    /// stdout lines (after the first line, for the mocks).
    pub stdout: Lines,
}

impl Proc {
    /// Spawns `cmd` with piped output; stdout is drained unless `keep_stdout` leaves it for the
    /// caller to read first (see [`Proc::first_line`]).
    pub fn spawn(name: &str, mut cmd: Command, keep_stdout: bool) -> Result<Proc> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Self::start(name, cmd, keep_stdout)
    }

    /// Spawns `cmd` with stdout and stderr appended to `log` (no reader thread competes for the
    /// CPU; the file is what a container runtime would write).
    pub fn spawn_logging_to(name: &str, mut cmd: Command, log: &std::path::Path) -> Result<Proc> {
        let file = std::fs::File::options().create(true).append(true).open(log)?;
        cmd.stdout(file.try_clone()?).stderr(file);
        Self::start(name, cmd, false)
    }

    fn start(name: &str, mut cmd: Command, keep_stdout: bool) -> Result<Proc> {
        cmd.stdin(Stdio::null());
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        lock(&CHILDREN).push(child.id());
        let (stderr, stdout) = (Lines::default(), Lines::default());
        if let Some(err) = child.stderr.take() {
            stderr.capture(err);
        }
        if !keep_stdout && let Some(out) = child.stdout.take() {
            stdout.capture(out);
        }
        Ok(Proc {
            name: name.to_owned(),
            child,
            stderr,
            stdout,
        })
    }

    /// Reads the first stdout line (blocking), then drains the rest in the background.
    pub fn first_line(&mut self) -> Result<String> {
        let out = self.child.stdout.take().context("stdout already taken")?;
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
            bail!("{} printed nothing; stderr:\n{}", self.name, self.stderr.tail(30));
        }
        self.stdout.capture(reader);
        Ok(line.trim_end().to_owned())
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns how long the exit took.
    pub fn stop(&mut self, grace: Duration) -> Duration {
        let start = Instant::now();
        let pid = self.child.id();
        if !self.exited() {
            signal(pid, Signal::SIGTERM);
            while start.elapsed() < grace && !self.exited() {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !self.exited() {
                signal(pid, Signal::SIGKILL);
            }
        }
        let _ = self.child.wait();
        lock(&CHILDREN).retain(|p| *p != pid);
        start.elapsed()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// A mock binary that printed `LISTENING main=<url> admin=<url>`.
pub struct Mock {
    /// The process, stopped when the mock is dropped.
    _proc: Proc,
    /// Main URL, `http://127.0.0.1:<port>`.
    pub main: String,
    /// Admin URL.
    pub admin: String,
}

impl Mock {
    /// Starts the mock and reads its `LISTENING` line.
    pub fn start(name: &str, cmd: Command) -> Result<Mock> {
        let mut proc = Proc::spawn(name, cmd, true)?;
        let line = proc.first_line()?;
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(|v| v.trim_end_matches('/').to_owned())
                .with_context(|| format!("{name} printed {line:?}"))
        };
        Ok(Mock {
            main: field("main=")?,
            admin: field("admin=")?,
            _proc: proc,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self._proc.pid()
    }

    /// The main listener's port.
    pub fn port(&self) -> Result<u16> {
        port_of(&self.main)
    }
}

/// The port of `http://host:port`.
pub fn port_of(url: &str) -> Result<u16> {
    let port = url.rsplit(':').next().unwrap_or_default();
    port.parse().with_context(|| format!("no port in {url:?}"))
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("http://127.0.0.1:8080", 8080)]
    #[case("http://127.0.0.1:1", 1)]
    fn port_of_reads_the_port(#[case] url: &str, #[case] port: u16) {
        assert_eq!(port_of(url).unwrap(), port);
    }

    #[test]
    fn port_of_refuses_a_url_without_one() {
        assert!(port_of("http://localhost").is_err());
    }
}
