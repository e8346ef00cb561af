//! The YAML report, shaped like the Gateway API conformance report: one entry per profile with
//! its result (success / partial / failure), statistics, failed checks and skipped checks with
//! their reasons, plus the implementation and what the run was.

use serde::Serialize;

use super::{Counts, RunInfo};
use crate::check::Profile;
use crate::outcome::Outcome;
use crate::runner::CheckResult;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    api_version: &'static str,
    kind: &'static str,
    date: &'a str,
    implementation: Implementation<'a>,
    target: &'a str,
    scenario: &'a str,
    renderer: &'a str,
    result: &'static str,
    statistics: Statistics,
    profiles: Vec<ProfileReport>,
    notes: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Implementation<'a> {
    project: &'static str,
    gateway: &'a str,
    suite_version: &'a str,
}

#[derive(Serialize)]
struct Statistics {
    #[serde(rename = "Passed")]
    passed: usize,
    #[serde(rename = "Failed")]
    failed: usize,
    #[serde(rename = "Skipped")]
    skipped: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileReport {
    name: Profile,
    result: &'static str,
    statistics: Statistics,
    passed_tests: Vec<&'static str>,
    failed_tests: Vec<Named>,
    skipped_tests: Vec<Named>,
}

#[derive(Serialize)]
struct Named {
    name: &'static str,
    reason: String,
}

/// Choices a reader of the report should know about.
const NOTES: &[&str] = &[
    "An unknown or missing MCP session is answered HTTP 400 with JSON-RPC -32000, as upstream light-gateway does; the MCP spec suggests 404 for an unknown session.",
    "The local and docker targets have no Kubernetes objects: rollout, pods-ready and service-health are skipped there, not passed.",
    "mcp-tools-list and mcp-tools-call are judged by rmcp's client and by the official Python MCP SDK (strict-mcp-client: CONFORMANCE_PYTHON, else .venv/bin/python); where that SDK is missing they are skipped, not passed on rmcp alone.",
];

fn stats(c: Counts) -> Statistics {
    Statistics {
        passed: c.passed,
        failed: c.failed,
        skipped: c.skipped,
    }
}

/// The report as YAML text.
pub fn render(info: &RunInfo, results: &[CheckResult], secrets: &[String]) -> String {
    let profiles = [Profile::Validation, Profile::Security, Profile::Faults]
        .into_iter()
        .map(|p| {
            let of: Vec<&CheckResult> = results.iter().filter(|r| r.profile == p).collect();
            let named = |want: fn(&Outcome) -> bool| -> Vec<Named> {
                of.iter()
                    .filter(|r| want(&r.outcome))
                    .map(|r| Named {
                        name: r.id,
                        reason: super::redact::redact(r.outcome.detail(), secrets),
                    })
                    .collect()
            };
            let counts = Counts::of(results, Some(p));
            ProfileReport {
                name: p,
                result: counts.result(),
                statistics: stats(counts),
                passed_tests: of
                    .iter()
                    .filter(|r| matches!(r.outcome, Outcome::Passed { .. }))
                    .map(|r| r.id)
                    .collect(),
                failed_tests: named(|o| matches!(o, Outcome::Failed { .. })),
                skipped_tests: named(|o| matches!(o, Outcome::Skipped { .. })),
            }
        })
        .collect();
    let all = Counts::of(results, None);
    let report = Report {
        api_version: "conformance.light-gateway.io/v1alpha1",
        kind: "ConformanceReport",
        date: &info.date,
        implementation: Implementation {
            project: "light-gateway",
            gateway: &info.gateway,
            suite_version: &info.suite_version,
        },
        target: &info.target,
        scenario: &info.scenario,
        renderer: &info.renderer,
        result: all.result(),
        statistics: stats(all),
        profiles,
        notes: NOTES.to_vec(),
    };
    serde_saphyr::to_string(&report).unwrap_or_else(|e| format!("# failed to write the report: {e}\n"))
}
