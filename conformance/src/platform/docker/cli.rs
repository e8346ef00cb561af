//! The Docker engine, through the `docker` CLI.
//!
//! Why the CLI and not `testcontainers`: testcontainers 0.28 (bollard 0.21) speaks Engine API
//! 1.53 only and never negotiates, so an engine older than Docker 25 (this workplace runs
//! 20.10, API 1.41) refuses every request it makes ("client version 1.53 is too new"). The CLI
//! negotiates the API version with any engine, and it also does what testcontainers has no
//! call for (network aliases, named volumes, `--pull never`, interleaved logs).
//!
//! Every call is bounded by [`CALL_TIMEOUT`] so a wedged engine fails a run instead of hanging it.

use std::ffi::OsStr;
use std::io::{Read, Seek};
use std::process::Stdio;
use std::time::Duration;

use crate::platform::TargetError;

/// The longest any one `docker` call may take (`docker stop` waits its own timeout inside).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What a finished `docker` call left.
#[derive(Debug)]
pub(super) struct Output {
    /// Its exit code (`None`: killed by a signal).
    pub(super) code: Option<i32>,
    /// Its stdout.
    pub(super) stdout: String,
    /// Its stderr.
    pub(super) stderr: String,
}

impl Output {
    /// Whether it exited 0.
    pub(super) fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// A `docker` command with `args`; `env` is set in the CLI's environment (the container env is
/// passed as `-e NAME` and read from there, so no value shows in a process listing).
fn command<I, S>(args: I, env: &[(String, String)]) -> tokio::process::Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = tokio::process::Command::new("docker");
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// `docker <args>` in full, whatever its exit code.
///
/// # Errors
/// The CLI cannot be started or does not finish within [`CALL_TIMEOUT`].
pub(super) async fn output<I, S>(args: I, env: &[(String, String)]) -> Result<Output, TargetError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = command(args, env);
    let shown = describe(&command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = tokio::time::timeout(CALL_TIMEOUT, command.output())
        .await
        .map_err(|_| TargetError::operation(&shown, format!("no answer within {CALL_TIMEOUT:?}")))?
        .map_err(|e| TargetError::operation(&shown, e))?;
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `docker <args>`, required to succeed: its stdout.
///
/// # Errors
/// It cannot run, or exits non-zero (the error carries its stderr).
pub(crate) async fn run<I, S>(args: I) -> Result<String, TargetError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_env(args, &[]).await
}

/// [`run`] with `env` in the CLI's environment.
///
/// # Errors
/// As [`run`].
pub(super) async fn run_with_env<I, S>(args: I, env: &[(String, String)]) -> Result<String, TargetError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = output(&args, env).await?;
    if out.ok() {
        Ok(out.stdout)
    } else {
        Err(TargetError::operation(
            describe(&command(&args, &[])),
            format!("exit {:?}: {}", out.code, out.stderr.trim()),
        ))
    }
}

/// `docker <args>` with stdout and stderr written to one file, so their lines keep the order
/// the CLI wrote them in (`docker logs` and `docker exec` demultiplex in stream order): exit
/// code and that text.
///
/// # Errors
/// The CLI cannot be started or does not finish within [`CALL_TIMEOUT`].
pub(super) async fn combined<I, S>(args: I) -> Result<(Option<i32>, String), TargetError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = command(args, &[]);
    let shown = describe(&command);
    let fail = |e: std::io::Error| TargetError::operation(&shown, e);
    let mut file = tempfile::tempfile().map_err(fail)?;
    command
        .stdout(file.try_clone().map_err(fail)?)
        .stderr(file.try_clone().map_err(fail)?);
    let mut child = command.spawn().map_err(fail)?;
    let status = tokio::time::timeout(CALL_TIMEOUT, child.wait())
        .await
        .map_err(|_| TargetError::operation(&shown, format!("no answer within {CALL_TIMEOUT:?}")))?
        .map_err(fail)?;
    let mut bytes = Vec::new();
    file.rewind().map_err(fail)?;
    file.read_to_end(&mut bytes).map_err(fail)?;
    Ok((status.code(), String::from_utf8_lossy(&bytes).into_owned()))
}

/// `docker logs <container>`: stdout and stderr of every run of the container, interleaved.
///
/// # Errors
/// No such container, or no engine.
pub(super) async fn logs(container: &str) -> Result<String, TargetError> {
    match combined(["logs", container]).await? {
        (Some(0), text) => Ok(text),
        (code, text) => Err(TargetError::operation(
            format!("reading the logs of container {container}"),
            format!("docker logs exited {code:?}: {}", text.trim()),
        )),
    }
}

/// Only the stdout of `docker logs <container>` (where the fixtures print `LISTENING`).
///
/// # Errors
/// No such container, or no engine.
pub(super) async fn stdout_logs(container: &str) -> Result<String, TargetError> {
    run(["logs", container]).await
}

/// A container's state: `None` while it runs, `Some(code)` once it has exited (`Some(None)`:
/// killed by a signal, which Docker reports as 128 + the signal number).
///
/// # Errors
/// No such container, or no engine.
pub(super) async fn exit_state(container: &str) -> Result<Option<Option<i32>>, TargetError> {
    let text = run([
        "inspect",
        "--format",
        "{{.State.Running}} {{.State.ExitCode}}",
        container,
    ])
    .await?;
    parse_state(&text).ok_or_else(|| {
        TargetError::operation(
            format!("reading the state of container {container}"),
            format!("unexpected answer {:?}", text.trim()),
        )
    })
}

/// `true 0` / `false 3` as [`exit_state`] reports them.
pub(super) fn parse_state(text: &str) -> Option<Option<Option<i32>>> {
    let mut words = text.split_whitespace();
    let running = words.next()?.parse::<bool>().ok()?;
    let code = words.next()?.parse::<i32>().ok()?;
    if running {
        return Some(None);
    }
    // Docker has no separate "signaled" flag: 128 + N is what a shell would show for signal N.
    Some(Some(if (129..=128 + 64).contains(&code) {
        None
    } else {
        Some(code)
    }))
}

/// `docker <args>` as a reader would type it (the env passed with `-e NAME` never shows).
fn describe(command: &tokio::process::Command) -> String {
    let std = command.as_std();
    let args: Vec<String> = std.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("docker {}", args.join(" "))
}

/// The same, blocking, for where no runtime may be at hand ([`super::unavailable`], `Drop`).
pub(super) fn blocking(args: &[&str]) -> std::io::Result<std::process::Output> {
    std::process::Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_as_running_exited_or_signalled() {
        assert_eq!(parse_state("true 0\n"), Some(None));
        assert_eq!(parse_state("false 3\n"), Some(Some(Some(3))));
        assert_eq!(parse_state("false 0"), Some(Some(Some(0))));
        assert_eq!(parse_state("false 137"), Some(Some(None)), "SIGKILL");
        assert_eq!(parse_state("false 143"), Some(Some(None)), "SIGTERM unhandled");
        assert_eq!(parse_state("maybe"), None);
    }
}
