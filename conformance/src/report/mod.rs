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

    /// `failure` when anything failed, `not-run` when no check ran at all (a run that proved
    /// nothing is never `partial`), `partial` when something was skipped, else `success`.
    pub fn result(&self) -> &'static str {
        if self.failed > 0 {
            "failure"
        } else if self.passed == 0 {
            "not-run"
        } else if self.skipped > 0 {
            "partial"
        } else {
            "success"
        }
    }

    /// Whether the run proved something and nothing failed: the only result a caller may
    /// treat as green.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.passed > 0
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

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::Counts;

    #[rstest]
    #[case::all_passed(3, 0, 0, "success", true)]
    #[case::some_skipped(2, 0, 1, "partial", true)]
    #[case::one_failed(2, 1, 1, "failure", false)]
    #[case::only_failures(0, 1, 0, "failure", false)]
    #[case::every_check_skipped(0, 0, 29, "not-run", false)]
    #[case::no_checks_at_all(0, 0, 0, "not-run", false)]
    fn a_run_that_proved_nothing_is_not_run_and_never_ok(
        #[case] passed: usize,
        #[case] failed: usize,
        #[case] skipped: usize,
        #[case] result: &str,
        #[case] ok: bool,
    ) {
        let counts = Counts {
            passed,
            failed,
            skipped,
        };
        assert_eq!(counts.result(), result);
        assert_eq!(counts.ok(), ok);
    }
}
