//! JUnit XML: one suite per profile, one case per check; skipped checks carry their reason.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunInfo;
use crate::check::Profile;
use crate::outcome::Outcome;
use crate::runner::CheckResult;

/// The JUnit XML text.
pub fn render(info: &RunInfo, results: &[CheckResult], secrets: &[String]) -> String {
    let mut report = Report::new(format!("light-gateway-conformance ({} target)", info.target));
    for profile in [Profile::Validation, Profile::Security, Profile::Faults] {
        let name = serde_json::to_value(profile)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut suite = TestSuite::new(name);
        for r in results.iter().filter(|r| r.profile == profile) {
            let detail = super::redact::redact(r.outcome.detail(), secrets);
            let status = match &r.outcome {
                Outcome::Passed { .. } => TestCaseStatus::success(),
                Outcome::Failed { .. } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(detail.clone());
                    s
                }
                Outcome::Skipped { .. } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(detail.clone());
                    s
                }
            };
            let mut case = TestCase::new(r.id, status);
            case.set_classname(format!("conformance.{}", r.profile_name()));
            case.set_time(r.duration);
            if matches!(r.outcome, Outcome::Passed { .. }) {
                case.set_system_out(detail);
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- failed to write the report: {e} -->"))
}

impl CheckResult {
    /// The profile's name.
    pub fn profile_name(&self) -> &'static str {
        match self.profile {
            Profile::Validation => "validation",
            Profile::Security => "security",
            Profile::Faults => "faults",
        }
    }
}
