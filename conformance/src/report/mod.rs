//! Reports: a YAML report shaped like the Gateway API conformance report, JUnit XML, the
//! console table, and artifact folders for failed checks (secrets redacted).

pub mod artifacts;
pub mod console;
pub mod junit;
pub mod redact;
pub mod yaml;

use crate::check::Profile;
use crate::outcome::Outcome;
use crate::runner::CheckResult;

/// Counts of one profile (or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
}

impl Counts {
    /// Counts of `results` (of one profile when given).
    pub fn of(results: &[CheckResult], profile: Option<Profile>) -> Self {
        let mut c = Self::default();
        for r in results.iter().filter(|r| profile.is_none_or(|p| r.profile == p)) {
            match r.outcome {
                Outcome::Passed { .. } => c.passed += 1,
                Outcome::Failed { .. } => c.failed += 1,
                Outcome::Skipped { .. } => c.skipped += 1,
            }
        }
        c
    }

    /// `failure` when anything failed, `partial` when something was skipped, else `success`.
    pub fn result(&self) -> &'static str {
        if self.failed > 0 {
            "failure"
        } else if self.skipped > 0 {
            "partial"
        } else {
            "success"
        }
    }

    /// All.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

/// What identifies a run in the reports.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The target.
    pub target: String,
    /// The scenario values file.
    pub scenario: String,
    /// The gateway under test (binary path or image).
    pub gateway: String,
    /// The suite's version.
    pub suite_version: String,
    /// How the chart was rendered.
    pub renderer: String,
    /// When the run started (RFC 3339).
    pub date: String,
}
