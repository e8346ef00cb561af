//! The strict MCP client: the official Python MCP SDK (`mcp`), run as a child process from a
//! script embedded in this binary, so the SDK's own pydantic models validate every answer.
//! rmcp's client (the parent module) is lenient and accepted answers this SDK refuses (a
//! 2026-07-28 tools/call result without `resultType`); checks judge with both.
//!
//! The script only talks and prints what the SDK validated; the judging (which tools, which
//! instance) stays in the checks, next to rmcp's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::Era;

/// The script (`strict_client.py`), embedded so an installed binary needs no repo file.
pub const SCRIPT: &str = include_str!("strict_client.py");
/// Names the interpreter to use instead of searching for `.venv/bin/python`.
pub const PYTHON_ENV: &str = "CONFORMANCE_PYTHON";
/// Carries the bearer token to the script: argv is visible in `ps`, the environment is not.
pub const TOKEN_ENV: &str = "CONFORMANCE_MCP_TOKEN";
/// The protocol version of [`Era::Stateless`].
const STATELESS_VERSION: &str = "2026-07-28";
/// The fix for a missing SDK, in every error that needs one.
const FIX: &str = "run `make venv` (it installs conformance/requirements.txt, the MCP SDK included, into .venv) or set CONFORMANCE_PYTHON to a python that has it";

/// Why the strict client is not available, or did not accept what the gateway said.
#[derive(Debug, thiserror::Error)]
pub enum StrictError {
    /// No interpreter where the search looked.
    #[error("no Python at {} ({}); {FIX}", shown(.searched), if *.explicit { PYTHON_ENV } else { ".venv/bin/python up from the current directory" })]
    NotFound {
        /// The paths tried, in order.
        searched: Vec<PathBuf>,
        /// Whether `CONFORMANCE_PYTHON` named the one path tried.
        explicit: bool,
    },
    /// The interpreter exists but cannot import the SDK.
    #[error("{} cannot import the MCP SDK ({stderr}); {FIX}", .python.display())]
    NoSdk {
        /// The interpreter.
        python: PathBuf,
        /// What it said.
        stderr: String,
    },
    /// The interpreter could not be started.
    #[error("failed to run {}", .python.display())]
    Spawn {
        /// The interpreter.
        python: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The client did not finish in time.
    #[error("{client} {era}: no verdict within {after:?}")]
    Timeout {
        /// The client (`python-sdk 2.3.0`).
        client: String,
        /// The era.
        era: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The SDK refused an answer, or the server or transport failed: the SDK's error.
    #[error("{client} {era} refused: {stderr}")]
    Refused {
        /// The client.
        client: String,
        /// The era.
        era: &'static str,
        /// The script's stderr: the SDK's error.
        stderr: String,
    },
    /// The script printed something this module cannot read (a script/module mismatch).
    #[error("{client}: unreadable output line {line:?}")]
    Output {
        /// The client.
        client: String,
        /// The line.
        line: String,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The script's lines do not match the steps asked.
    #[error("{client}: {what}")]
    Transcript {
        /// The client.
        client: String,
        /// What was wrong.
        what: String,
    },
}

fn shown(paths: &[PathBuf]) -> String {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    paths.join(", ")
}

/// One operation for the script, as it reads it (a JSON object per argument).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op")]
pub enum Step {
    /// tools/list, every page.
    #[serde(rename = "tools/list")]
    ListTools,
    /// tools/call with object arguments.
    #[serde(rename = "tools/call")]
    Call {
        /// The tool.
        tool: String,
        /// Its arguments.
        arguments: Value,
    },
}

/// One line of the script's output: the SDK-validated result, dumped by alias (wire names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op")]
pub enum Line {
    /// The handshake (`initialize` or `server/discover`) and the version it negotiated.
    #[serde(rename = "initialize", alias = "server/discover")]
    Handshake {
        /// The negotiated protocol version.
        #[serde(rename = "protocolVersion")]
        protocol_version: String,
    },
    /// Every page of tools/list.
    #[serde(rename = "tools/list")]
    Tools {
        /// `ListToolsResult`s.
        pages: Vec<Value>,
    },
    /// A tools/call result.
    #[serde(rename = "tools/call")]
    Called {
        /// The tool called.
        tool: String,
        /// The `CallToolResult`.
        result: Value,
    },
}

/// What one run of the script said, step by step.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The protocol version the handshake negotiated.
    pub protocol_version: String,
    /// One answer per [`Step`], in order.
    pub answers: Vec<Answer>,
}

/// The answer to one [`Step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The names tools/list gave, all pages.
    Tools(Vec<String>),
    /// A `CallToolResult` as JSON (wire names: `structuredContent`, `isError`, ...).
    Called(Value),
}

/// Reads the script's stdout for `steps`: a handshake line in `era`, then one line per step.
///
/// # Errors
/// [`StrictError::Output`] for a line that is not JSON of a known shape;
/// [`StrictError::Transcript`] when the lines do not answer the steps.
pub fn parse(client: &str, era: Era, stdout: &str, steps: &[Step]) -> Result<Transcript, StrictError> {
    let wrong = |what: String| StrictError::Transcript {
        client: client.to_string(),
        what,
    };
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty()).map(|line| {
        serde_json::from_str::<Line>(line).map_err(|source| StrictError::Output {
            client: client.to_string(),
            line: line.to_string(),
            source,
        })
    });
    let protocol_version = match lines.next().transpose()? {
        Some(Line::Handshake { protocol_version }) => protocol_version,
        other => return Err(wrong(format!("expected the handshake first, got {other:?}"))),
    };
    // The stateless era is 2026-07-28 and nothing else; a legacy handshake never negotiates it.
    let modern = protocol_version == STATELESS_VERSION;
    if modern != (era == Era::Stateless) {
        return Err(wrong(format!("{} handshake negotiated {protocol_version}", era.name())));
    }
    let mut answers = Vec::with_capacity(steps.len());
    for step in steps {
        let answer = match (step, lines.next().transpose()?) {
            (Step::ListTools, Some(Line::Tools { pages })) => Answer::Tools(tool_names(&pages)),
            (Step::Call { tool, .. }, Some(Line::Called { tool: called, result })) if *tool == called => {
                Answer::Called(result)
            }
            (step, line) => return Err(wrong(format!("{step:?} was answered by {line:?}"))),
        };
        answers.push(answer);
    }
    if let Some(extra) = lines.next() {
        return Err(wrong(format!("a line no step asked for: {extra:?}")));
    }
    Ok(Transcript {
        protocol_version,
        answers,
    })
}

fn tool_names(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .filter_map(|page| page.get("tools").and_then(Value::as_array))
        .flatten()
        .filter_map(|tool| tool.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Where to look for the interpreter, in order: `explicit` (from `CONFORMANCE_PYTHON`) alone
/// when given, else `.venv/bin/python` in `cwd` and each of its parents (as the Helm library
/// search looks for `.venv/lib`).
pub fn candidates(explicit: Option<PathBuf>, cwd: &Path) -> Vec<PathBuf> {
    match explicit {
        Some(path) => vec![path],
        None => cwd.ancestors().map(|dir| dir.join(".venv/bin/python")).collect(),
    }
}

/// The first existing interpreter of [`candidates`].
///
/// # Errors
/// [`StrictError::NotFound`] listing what was searched.
pub fn locate(explicit: Option<PathBuf>, cwd: &Path) -> Result<PathBuf, StrictError> {
    let from_env = explicit.is_some();
    let searched = candidates(explicit, cwd);
    match searched.iter().find(|p| p.is_file()) {
        Some(python) => Ok(python.clone()),
        None => Err(StrictError::NotFound {
            searched,
            explicit: from_env,
        }),
    }
}

/// The official Python MCP SDK, found and importable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictClient {
    python: PathBuf,
    sdk_version: String,
}

/// The one probe of a run (the process): every check asks the same interpreter.
static SHARED: OnceCell<Result<StrictClient, StrictError>> = OnceCell::const_new();

/// The strict client for this process: found through `CONFORMANCE_PYTHON` or the current
/// directory's `.venv`, probed once and remembered.
pub async fn shared() -> &'static Result<StrictClient, StrictError> {
    SHARED.get_or_init(StrictClient::detect).await
}

impl StrictClient {
    /// Finds the interpreter (`CONFORMANCE_PYTHON`, else `.venv/bin/python` up from the current
    /// directory) and probes it; not cached, see [`shared`].
    ///
    /// # Errors
    /// No interpreter, or it cannot import the SDK.
    pub async fn detect() -> Result<Self, StrictError> {
        let explicit = std::env::var_os(PYTHON_ENV).map(PathBuf::from);
        let cwd = std::env::current_dir().unwrap_or_default();
        Self::probe(&locate(explicit, &cwd)?).await
    }

    /// Asks `python` to import the SDK's client and say the SDK's version.
    ///
    /// # Errors
    /// [`StrictError::Spawn`] or [`StrictError::NoSdk`].
    pub async fn probe(python: &Path) -> Result<Self, StrictError> {
        let probe = "import importlib.metadata, mcp.client.session, mcp.client.streamable_http; \
                     print(importlib.metadata.version('mcp'))";
        let out = tokio::process::Command::new(python)
            .args(["-c", probe])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| StrictError::Spawn {
                python: python.to_path_buf(),
                source,
            })?;
        let sdk_version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || sdk_version.is_empty() {
            return Err(StrictError::NoSdk {
                python: python.to_path_buf(),
                stderr: last_line(&String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(Self {
            python: python.to_path_buf(),
            sdk_version,
        })
    }

    /// The interpreter.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The client's name in evidence: `python-sdk 2.3.0`.
    pub fn name(&self) -> String {
        format!("python-sdk {}", self.sdk_version)
    }

    /// Connects to `url` in `era` (with `bearer` as `Authorization: Bearer`), runs `steps` and
    /// returns what the SDK validated, within `limit`.
    ///
    /// # Errors
    /// The SDK refused an answer ([`StrictError::Refused`], with its error), the run took too
    /// long, or its output does not answer the steps.
    pub async fn run(
        &self,
        url: &url::Url,
        era: Era,
        bearer: Option<&str>,
        steps: &[Step],
        limit: Duration,
    ) -> Result<Transcript, StrictError> {
        let mut command = tokio::process::Command::new(&self.python);
        command
            .args(["-c", SCRIPT, url.as_str(), script_era(era)])
            // A Step is a tag, a name and a JSON value: serialising it cannot fail.
            .args(steps.iter().map(|s| serde_json::to_string(s).unwrap_or_default()))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        match bearer {
            Some(token) => command.env(TOKEN_ENV, token),
            // An inherited value would authenticate calls the check meant to make without one.
            None => command.env_remove(TOKEN_ENV),
        };
        let client = self.name();
        let out = tokio::time::timeout(limit, command.output())
            .await
            .map_err(|_| StrictError::Timeout {
                client: client.clone(),
                era: era.name(),
                after: limit,
            })?
            .map_err(|source| StrictError::Spawn {
                python: self.python.clone(),
                source,
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(StrictError::Refused {
                client,
                era: era.name(),
                stderr: if stderr.is_empty() {
                    out.status.to_string()
                } else {
                    stderr
                },
            });
        }
        parse(&client, era, &String::from_utf8_lossy(&out.stdout), steps)
    }
}

/// The era as the script spells it.
fn script_era(era: Era) -> &'static str {
    match era {
        Era::Legacy => "legacy",
        Era::Stateless => "stateless",
    }
}

/// The last non-empty line (a Python traceback ends with the error).
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

#[cfg(test)]
#[path = "strict_tests.rs"]
mod tests;
