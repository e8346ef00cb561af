//! What can go wrong while rendering a chart.

use std::path::PathBuf;

/// A failed render, lint or schema check, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Neither a `helm` binary nor `libhelm_c.so` could be found.
    #[error(
        "failed to find a Helm engine: no `helm` on PATH and no libhelm_c.so at {searched:?}; run `make setup` (it installs helm-python-sdk into .venv) or set HELM_C_LIB"
    )]
    EngineNotFound {
        /// The library paths that were tried.
        searched: Vec<PathBuf>,
    },
    /// `libhelm_c.so` exists but cannot be loaded or lacks a symbol.
    #[error("failed to load {path}: {source}")]
    Library {
        /// The library file.
        path: PathBuf,
        /// The loader's reason.
        #[source]
        source: libloading::Error,
    },
    /// A chart template called `fail`; `message` is the text it failed with.
    #[error("failed to render {template}: {message}")]
    TemplateFailed {
        /// The template and position, e.g. `light-gateway/templates/validate.yaml:12:4`.
        template: String,
        /// The `fail` message, e.g. `ERROR: ...`.
        message: String,
    },
    /// The values do not meet `values.schema.json`.
    #[error("failed to validate values against the chart schema: {detail}")]
    Schema {
        /// Helm's list of violations (JSON pointer and constraint).
        detail: String,
    },
    /// Helm refused the chart or the values for another reason.
    #[error("failed to {operation}: {detail}")]
    Helm {
        /// What was attempted (`load chart`, `render`, `lint`).
        operation: &'static str,
        /// Helm's message.
        detail: String,
    },
    /// The `helm` binary could not be run.
    #[error("failed to run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A temporary file for the values could not be written.
    #[error("failed to write the values file: {0}")]
    ValuesFile(#[source] std::io::Error),
    /// An input string holds a NUL byte and cannot cross the C ABI.
    #[error("failed to pass {what} to libhelm_c: it contains a NUL byte")]
    NulByte {
        /// Which input.
        what: &'static str,
    },
    /// Helm answered with JSON this crate does not understand.
    #[error("failed to read Helm's {what} answer: {source}")]
    Answer {
        /// Which answer.
        what: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A rendered document is not YAML.
    #[error("failed to parse a document of {template} as YAML: {detail}")]
    Yaml {
        /// The template that produced it.
        template: String,
        /// The parser's message.
        detail: String,
    },
    /// A rendered object does not fit its Kubernetes type.
    #[error("failed to read {kind} {name} as a typed object: {source}")]
    Typed {
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
        /// Why it does not fit.
        #[source]
        source: serde_json::Error,
    },
    /// No rendered object has the kind and name asked for.
    #[error("failed to find {kind} {name} in the rendered chart")]
    Missing {
        /// The kind asked for.
        kind: String,
        /// The name asked for.
        name: String,
    },
}

impl RenderError {
    /// Sorts Helm's message for `operation` into a template `fail`, a schema violation, or
    /// anything else. Both engines word these errors the same way.
    pub(crate) fn from_helm(operation: &'static str, detail: &str) -> Self {
        const SCHEMA: &str = "values don't meet the specifications of the schema";
        const EXEC: &str = "execution error at (";
        if detail.contains(SCHEMA) {
            return Self::Schema {
                detail: detail.trim().to_string(),
            };
        }
        if let Some(start) = detail.find(EXEC) {
            let rest = &detail[start + EXEC.len()..];
            if let Some((template, message)) = rest.split_once("): ") {
                let message = message.lines().next().unwrap_or_default().trim();
                return Self::TemplateFailed {
                    template: template.to_string(),
                    message: message.to_string(),
                };
            }
        }
        Self::Helm {
            operation,
            detail: detail.trim().to_string(),
        }
    }

    /// The `fail` message when a template failed, for assertions on guard rails.
    pub fn fail_message(&self) -> Option<&str> {
        match self {
            Self::TemplateFailed { message, .. } => Some(message),
            _ => None,
        }
    }
}
