//! The command line as a CI job meets it: a typo'd check id is a usage error, and a run in which
//! no check ran is `not-run` with a non-zero exit, never green.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn conformance() -> Command {
    let mut cmd = Command::cargo_bin("light-gateway-conformance").unwrap();
    cmd.current_dir(workspace());
    cmd
}

#[test]
fn an_unknown_only_id_is_a_usage_error_that_lists_the_checks() {
    let out = conformance()
        .args(["run", "--target", "local", "--only", "log-bootstrap,nope-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown check id nope-check"), "{stderr}");
    assert!(
        stderr.contains("log-bootstrap") && stderr.contains("mcp-tools-call"),
        "valid ids are listed: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PASS"),
        "nothing ran: {out:?}"
    );
}

#[test]
fn an_unknown_skip_id_is_a_usage_error_too() {
    let out = conformance().args(["run", "--skip", "restart-cahce"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("restart-cahce"));
}

/// With `kind` off PATH every check is skipped "cannot run here": the report says `not-run`
/// and the exit code is 1, so a CI job on a runner without kind cannot go green. PATH is
/// emptied, so this runs the same on a machine that has kind.
#[test]
fn a_run_where_no_check_ran_is_not_run_and_exits_non_zero() {
    let empty_path = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let out = conformance()
        .env("PATH", empty_path.path())
        .args(["run", "--target", "kind", "--report-dir"])
        .arg(reports.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-> not-run"), "{stdout}");
    let report = std::fs::read_to_string(reports.path().join("conformance-report.yaml")).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&report).unwrap();
    assert_eq!(yaml["result"], "not-run", "{report}");
    let mut skipped = 0;
    for profile in yaml["profiles"].as_array().unwrap() {
        assert_eq!(profile["result"], "not-run", "{report}");
        for test in profile["skippedTests"].as_array().unwrap() {
            let reason = test["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("cannot run here: kind is not on PATH"),
                "{}: {reason}",
                test["name"]
            );
            skipped += 1;
        }
    }
    assert_eq!(
        skipped,
        light_gateway_conformance::checks::ALL.len(),
        "every check is skipped: {report}"
    );
}

/// Without the strict MCP client the MCP checks are skipped with what was searched and the fix,
/// never passed on rmcp alone; the other checks still run.
#[test]
fn without_the_python_sdk_the_mcp_checks_are_skipped_with_the_reason() {
    let reports = tempfile::tempdir().unwrap();
    let out = conformance()
        .env("CONFORMANCE_PYTHON", "/nonexistent/python")
        .args([
            "run",
            "--target",
            "local",
            "--only",
            "mcp-tools-list,mcp-tools-call,log-bootstrap",
        ])
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "log-bootstrap ran and passed: {out:?}");
    let report = std::fs::read_to_string(reports.path().join("conformance-report.yaml")).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&report).unwrap();
    assert_eq!(yaml["result"], "partial", "{report}");
    let validation = yaml["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "validation")
        .unwrap();
    for id in ["mcp-tools-list", "mcp-tools-call"] {
        let skipped = validation["skippedTests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == id)
            .unwrap_or_else(|| panic!("{id} is not skipped: {report}"));
        let reason = skipped["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("this machine has no strict-mcp-client: ")
                && reason.contains("/nonexistent/python")
                && reason.contains("make venv"),
            "{reason}"
        );
    }
}
