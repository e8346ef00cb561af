//! Rendering a Helm chart the way `helm install` would, without a cluster.
//!
//! One trait, [`ChartRenderer`], with two engines behind it:
//! - [`HelmBinary`]: the `helm` program (first choice wherever it is on `PATH`);
//! - [`HelmLibrary`]: `libhelm_c.so`, Helm's Go SDK behind a C ABI, as the `helm-python-sdk`
//!   wheel ships it, loaded with `libloading`.
//!
//! [`detect`] picks one. Both return a [`Rendered`]: template path -> text, plus NOTES.txt, with
//! helpers to read the documents as Kubernetes objects ([`Rendered::objects`], [`Object::typed`])
//! and to print them in one stable form for golden files ([`Rendered::to_golden`]).
//!
//! # Usage
//! ```no_run
//! use light_gateway_conformance::render::{self, Release};
//! use k8s_openapi::api::apps::v1::Deployment;
//!
//! let helm = render::detect()?;
//! let values = serde_json::json!({"replicas": 3});
//! let rendered = helm.render("chart".as_ref(), &values, &Release::new("gw", "light-gateway"))?;
//! let deployment: Deployment = rendered.get("Deployment", "gw-light-gateway")?;
//! assert_eq!(deployment.spec.replicas, Some(3));
//! # Ok::<(), render::RenderError>(())
//! ```

mod binary;
mod error;
mod library;
mod manifest;

use std::path::{Path, PathBuf};

pub use binary::HelmBinary;
pub use error::RenderError;
pub use library::HelmLibrary;
pub use manifest::{Document, Object, Rendered};

/// The release a chart is rendered for (`.Release.Name`, `.Release.Namespace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

impl Release {
    /// A release `name` in `namespace`.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
        }
    }
}

/// How serious a lint finding is (Helm's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Advice, such as "icon is recommended".
    Info,
    /// A problem `helm lint --strict` fails on.
    Warning,
    /// A problem `helm lint` fails on.
    Error,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintMessage {
    /// How serious it is.
    pub severity: Severity,
    /// The chart file it is about (`values.yaml`, `templates/`).
    pub path: String,
    /// What Helm said.
    pub text: String,
}

/// What `helm lint --strict` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintReport {
    /// Every finding, info included.
    pub messages: Vec<LintMessage>,
}

impl LintReport {
    /// Findings at warning level or above: the ones that make `helm lint --strict` fail.
    pub fn problems(&self) -> Vec<&LintMessage> {
        self.messages
            .iter()
            .filter(|m| m.severity >= Severity::Warning)
            .collect()
    }
}

/// A Helm engine that renders, lints and schema-checks a chart directory offline.
pub trait ChartRenderer: Send + Sync {
    /// A short name of the engine and where it comes from, for logs and reports.
    fn describe(&self) -> String;

    /// Renders `chart` with `values` (merged over the chart's values.yaml, as `-f` does) for
    /// `release`, validating the values against the chart's schema first.
    ///
    /// # Errors
    /// [`RenderError::Schema`] for values the schema refuses, [`RenderError::TemplateFailed`]
    /// when a template calls `fail`, and engine errors.
    fn render(&self, chart: &Path, values: &serde_json::Value, release: &Release) -> Result<Rendered, RenderError>;

    /// Lints `chart` with `values` the way `helm lint --strict` does. Template `fail` calls do
    /// not count as findings in lint mode (Helm's behaviour); use [`Self::render`] for them.
    ///
    /// # Errors
    /// Engine errors only; findings are in the report.
    fn lint(&self, chart: &Path, values: &serde_json::Value, namespace: &str) -> Result<LintReport, RenderError>;

    /// Checks `values` (merged over the chart's defaults) against `values.schema.json`.
    ///
    /// # Errors
    /// [`RenderError::Schema`] naming the violations, and engine errors.
    fn validate_schema(&self, chart: &Path, values: &serde_json::Value) -> Result<(), RenderError>;
}

/// Picks the engine: the `helm` binary when one is on `PATH`, else `libhelm_c.so` found by
/// [`HelmLibrary::locate`].
///
/// # Errors
/// [`RenderError::EngineNotFound`] when neither exists (run `make setup`), or the library's
/// load error.
pub fn detect() -> Result<Box<dyn ChartRenderer>, RenderError> {
    if let Some(helm) = find_on_path("helm") {
        return Ok(Box::new(HelmBinary::new(helm)));
    }
    Ok(Box::new(HelmLibrary::locate()?))
}

/// The first executable file called `program` in the directories of `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}
