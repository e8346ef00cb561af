//! Child processes of the local target: output appended to a log file (what a container runtime
//! keeps), killed when dropped, stopped with SIGTERM then SIGKILL like kubelet does.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::TargetError;

/// A running child process with its log file.
pub(crate) struct Process {
    name: String,
    child: tokio::process::Child,
    log: PathBuf,
    exited: Option<Option<i32>>,
}

impl Process {
    /// Spawns `command`, stdout and stderr appended to `log`.
    pub(crate) fn spawn(name: &str, mut command: tokio::process::Command, log: &Path) -> Result<Self, TargetError> {
        let open = || {
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| TargetError::operation(format!("opening {}", log.display()), e))
        };
        command
            .stdin(Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|e| TargetError::operation(format!("starting {name}"), e))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            exited: None,
        })
    }

    /// The log file.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// `Some(exit code)` once it has exited (`Some(None)`: killed by a signal).
    pub(crate) fn exit_status(&mut self) -> Option<Option<i32>> {
        if self.exited.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exited = Some(status.code());
        }
        self.exited
    }

    #[allow(unsafe_code)] // kill(2): std sends only SIGKILL, the drain needs SIGTERM.
    fn signal(&self, signal: libc::c_int) {
        if let Some(pid) = self.child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) on our own child's pid; it has not been reaped (id() is Some).
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// SIGTERM and the exit code, waiting at most `within` (then SIGKILL and `None`).
    pub(crate) async fn terminate(&mut self, within: Duration) -> Option<i32> {
        if let Some(code) = self.exit_status() {
            return code;
        }
        self.signal(libc::SIGTERM);
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.exited = Some(status.code());
                status.code()
            }
            _ => {
                tracing::warn!(process = %self.name, "did not exit within {within:?} of SIGTERM; killing it");
                let _ = self.child.kill().await;
                self.exited = Some(None);
                None
            }
        }
    }
}

/// A mock binary that printed `LISTENING main=<url> admin=<url>`.
pub(crate) struct Fixture {
    /// The process.
    pub(crate) process: Process,
    /// Its main listener.
    pub(crate) main: url::Url,
    /// Its admin API.
    pub(crate) admin: url::Url,
}

impl Fixture {
    /// Starts a mock and waits (at most `within`) for its `LISTENING` line in the log.
    pub(crate) async fn start(
        name: &str,
        command: tokio::process::Command,
        log: &Path,
        within: Duration,
    ) -> Result<Self, TargetError> {
        let mut process = Process::spawn(name, command, log)?;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some((main, admin)) = listening(&text) {
                return Ok(Self { process, main, admin });
            }
            if let Some(code) = process.exit_status() {
                return Err(TargetError::operation(
                    format!("starting {name}"),
                    format!("exited with {code:?}:\n{}", tail(&text, 20)),
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TargetError::operation(
                    format!("starting {name}"),
                    format!("no LISTENING line within {within:?}:\n{}", tail(&text, 20)),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The newest `LISTENING main=... admin=...` line's URLs.
fn listening(log: &str) -> Option<(url::Url, url::Url)> {
    let line = log.lines().rev().find(|l| l.starts_with("LISTENING "))?;
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|u| url::Url::parse(u).ok())
    };
    Some((field("main=")?, field("admin=")?))
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A port free on 127.0.0.1 at the time of asking.
pub(crate) fn free_port() -> Result<u16, TargetError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| TargetError::operation("finding a free port", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_listening_line_wins() {
        let log = "LISTENING main=http://127.0.0.1:1/ admin=http://127.0.0.1:2/\nnoise\n\
                   LISTENING main=http://127.0.0.1:3/ admin=http://127.0.0.1:4/\n";
        let (main, admin) = listening(log).unwrap();
        assert_eq!((main.port(), admin.port()), (Some(3), Some(4)));
        assert!(listening("INFO starting\n").is_none());
    }

    #[tokio::test]
    async fn terminate_reports_the_exit_code_and_kills_what_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", "trap 'exit 3' TERM; echo up; while true; do sleep 0.05; done"]);
        let mut p = Process::spawn("graceful", command, &log).unwrap();
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("up") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(p.terminate(Duration::from_secs(5)).await, Some(3));
        assert_eq!(p.exit_status(), Some(Some(3)));

        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", "trap '' TERM; echo up; while true; do sleep 0.05; done"]);
        let log = dir.path().join("q.log");
        let mut q = Process::spawn("stubborn", command, &log).unwrap();
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("up") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(q.terminate(Duration::from_millis(300)).await, None);
    }
}
