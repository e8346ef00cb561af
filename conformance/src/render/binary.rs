//! The `helm` binary engine.
//!
//! Rendering runs `helm install NAME CHART --dry-run=client -o json`: the same client-only
//! render `helm template` does, but as JSON holding the manifests, the hooks (helm test pods)
//! and NOTES.txt. Linting runs `helm lint --strict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

use super::{ChartRenderer, LintMessage, LintReport, Release, RenderError, Rendered, Severity};

/// Renders with a `helm` program (v3.13+ or v4).
#[derive(Debug, Clone)]
pub struct HelmBinary {
    program: PathBuf,
}

/// The parts of `helm install -o json` this crate reads.
#[derive(Deserialize)]
struct ReleaseAnswer {
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    hooks: Vec<HookAnswer>,
    #[serde(default)]
    info: InfoAnswer,
}

#[derive(Deserialize)]
struct HookAnswer {
    path: String,
    manifest: String,
}

#[derive(Deserialize, Default)]
struct InfoAnswer {
    #[serde(default)]
    notes: String,
}

impl HelmBinary {
    /// Uses the program at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// Runs helm with `args` and the values in a temporary `-f` file.
    fn run(&self, args: &[&str], values: &serde_json::Value) -> Result<Output, RenderError> {
        let file = tempfile::Builder::new()
            .prefix("values-")
            .suffix(".json")
            .tempfile()
            .map_err(RenderError::ValuesFile)?;
        std::fs::write(file.path(), values.to_string()).map_err(RenderError::ValuesFile)?;
        Command::new(&self.program)
            .args(args)
            .arg("--values")
            .arg(file.path())
            .output()
            .map_err(|source| RenderError::Spawn {
                program: self.program.clone(),
                source,
            })
    }
}

/// Splits `helm template`-style output (`# Source: path` before each document) by path.
pub(crate) fn split_by_source(stream: &str) -> BTreeMap<String, String> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for doc in stream.split("\n---").flat_map(|d| d.split_once("# Source: ")) {
        let (path, body) = doc.1.split_once('\n').unwrap_or((doc.1, ""));
        let text = files.entry(path.trim().to_string()).or_default();
        if !text.is_empty() {
            text.push_str("\n---\n");
        }
        text.push_str(body.trim_matches('\n'));
    }
    files
}

/// Reads `helm lint` lines such as `[WARNING] templates/: message`.
pub(crate) fn parse_lint(output: &str) -> LintReport {
    let messages = output
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (severity, rest) = if let Some(rest) = line.strip_prefix("[ERROR] ") {
                (Severity::Error, rest)
            } else if let Some(rest) = line.strip_prefix("[WARNING] ") {
                (Severity::Warning, rest)
            } else {
                (Severity::Info, line.strip_prefix("[INFO] ")?)
            };
            let (path, text) = rest.split_once(": ").unwrap_or(("", rest));
            Some(LintMessage {
                severity,
                path: path.to_string(),
                text: text.to_string(),
            })
        })
        .collect();
    LintReport { messages }
}

impl ChartRenderer for HelmBinary {
    fn describe(&self) -> String {
        format!("helm binary ({})", self.program.display())
    }

    fn render(&self, chart: &Path, values: &serde_json::Value, release: &Release) -> Result<Rendered, RenderError> {
        let chart = chart.to_string_lossy();
        let args = [
            "install",
            &release.name,
            &chart,
            "--namespace",
            &release.namespace,
            "--dry-run=client",
            "--output",
            "json",
        ];
        let out = self.run(&args, values)?;
        if !out.status.success() {
            return Err(RenderError::from_helm("render", &String::from_utf8_lossy(&out.stderr)));
        }
        let answer: ReleaseAnswer = serde_json::from_slice(&out.stdout).map_err(|source| RenderError::Answer {
            what: "install",
            source,
        })?;
        let mut files = split_by_source(&answer.manifest);
        for hook in answer.hooks {
            files.insert(hook.path, hook.manifest);
        }
        let notes = Some(answer.info.notes).filter(|n| !n.trim().is_empty());
        Ok(Rendered::new(files, notes))
    }

    fn lint(&self, chart: &Path, values: &serde_json::Value, namespace: &str) -> Result<LintReport, RenderError> {
        let chart = chart.to_string_lossy();
        let out = self.run(&["lint", &chart, "--strict", "--namespace", namespace], values)?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(parse_lint(&text))
    }

    fn validate_schema(&self, chart: &Path, values: &serde_json::Value) -> Result<(), RenderError> {
        // helm has no schema-only command: a render checks the schema first, and any later
        // failure (a template `fail`) means the schema passed.
        match self.render(chart, values, &Release::new("schema-check", "default")) {
            Err(e @ RenderError::Schema { .. }) => Err(e),
            Err(RenderError::TemplateFailed { .. }) | Ok(_) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_by_source_groups_documents_by_template() {
        let stream = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n---\n# Source: c/templates/a.yaml\nkind: A2\n";
        let files = split_by_source(stream);
        assert_eq!(files["c/templates/a.yaml"], "kind: A\n---\nkind: A2");
        assert_eq!(files["c/templates/b.yaml"], "kind: B");
    }

    #[test]
    fn parse_lint_reads_severities_and_paths() {
        let out = "==> Linting chart\n[INFO] Chart.yaml: icon is recommended\n[WARNING] templates/: object name does not conform\n[ERROR] values.yaml: - at '/replicas': minimum: got 0, want 1\n\nError: 1 chart(s) linted, 1 chart(s) failed\n";
        let report = parse_lint(out);
        assert_eq!(report.messages.len(), 3);
        assert_eq!(report.problems().len(), 2);
        assert_eq!(report.messages[0].path, "Chart.yaml");
        assert_eq!(report.messages[2].severity, Severity::Error);
    }

    #[test]
    fn helm_errors_are_sorted_into_fail_schema_and_other() {
        let fail =
            "Error: INSTALLATION FAILED: execution error at (light-gateway/templates/validate.yaml:12:4): ERROR: no\n";
        assert_eq!(RenderError::from_helm("render", fail).fail_message(), Some("ERROR: no"));
        let schema = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nx:\n- at '/replicas': minimum";
        assert!(matches!(
            RenderError::from_helm("render", schema),
            RenderError::Schema { .. }
        ));
        assert!(matches!(
            RenderError::from_helm("render", "boom"),
            RenderError::Helm { .. }
        ));
    }
}
