//! What a check concluded: a closed set. Nothing that did not run is ever `Passed`.

use serde::Serialize;

/// A check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// The check ran and the deployment did what the checklist line says.
    Passed {
        /// What was seen, briefly (for the report).
        evidence: String,
    },
    /// The check ran and the deployment did not.
    Failed {
        /// Why, with what was seen.
        reason: String,
    },
    /// The check did not run.
    Skipped {
        /// Why not (the feature the target lacks, an exclusion, ...).
        reason: String,
    },
}

impl Outcome {
    /// A pass with evidence.
    pub fn pass(evidence: impl Into<String>) -> Self {
        Self::Passed {
            evidence: evidence.into(),
        }
    }

    /// A failure with the reason.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self::Failed { reason: reason.into() }
    }

    /// A skip with the reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::Skipped { reason: reason.into() }
    }

    /// Short word for tables: `passed`, `failed`, `skipped`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Passed { .. } => "passed",
            Self::Failed { .. } => "failed",
            Self::Skipped { .. } => "skipped",
        }
    }

    /// The evidence, reason or skip reason.
    pub fn detail(&self) -> &str {
        match self {
            Self::Passed { evidence } => evidence,
            Self::Failed { reason } | Self::Skipped { reason } => reason,
        }
    }
}

/// A failed step inside a check: `?` turns it into [`Outcome::Failed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// Fails the check with `reason` unless `condition` holds.
///
/// # Errors
/// [`Failure`] with the reason.
pub fn ensure(condition: bool, reason: impl FnOnce() -> String) -> Result<(), Failure> {
    if condition { Ok(()) } else { Err(Failure(reason())) }
}
