//! checkov on the render of every ci scenario: any failed check that chart/README.md does not
//! list (with the objects it may fail on and why) fails the test, and so does a listed one that
//! no scenario fails any more, so the list stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::common;

/// check id -> the kinds it may fail on, from chart/README.md's table.
fn listed() -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(common::chart().join("README.md")).expect("chart/README.md");
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let id = cells.get(1)?;
            (id.starts_with("CKV")).then(|| {
                let kinds = cells
                    .get(2)
                    .unwrap_or(&"")
                    .split(',')
                    .map(|k| k.trim().to_string())
                    .collect();
                (id.to_string(), kinds)
            })
        })
        .collect()
}

#[test]
fn checkov_fails_only_what_the_chart_readme_lists() {
    // Not tempfile's default ".tmp..." name: checkov passes over hidden directories.
    let dir = tempfile::Builder::new().prefix("checkov-").tempdir().unwrap();
    let scenarios = common::scenarios();
    for name in &scenarios {
        std::fs::write(
            dir.path().join(format!("{name}.yaml")),
            common::render_scenario(name).to_golden(),
        )
        .unwrap();
    }
    let out = Command::new(common::venv_tool("checkov"))
        .args(["--directory", dir.path().to_str().unwrap()])
        .args([
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--soft-fail",
        ])
        .output()
        .expect("checkov runs (make setup installs it into .venv)");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("checkov's JSON: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    assert!(
        passed > 100,
        "checkov judged too little: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let allowed = listed();
    assert!(
        allowed.len() >= 5,
        "the table in chart/README.md was not read: {allowed:?}"
    );
    let mut unexpected = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for failure in report["results"]["failed_checks"].as_array().expect("failed_checks") {
        let id = failure["check_id"].as_str().unwrap_or_default().to_string();
        let resource = failure["resource"].as_str().unwrap_or_default();
        let kind = resource.split('.').next().unwrap_or_default().to_string();
        if allowed.get(&id).is_some_and(|kinds| kinds.contains(&kind)) {
            seen.insert(id);
        } else {
            unexpected.insert(format!(
                "{id} on {resource} ({})",
                failure["check_name"].as_str().unwrap_or_default()
            ));
        }
    }
    assert!(
        unexpected.is_empty(),
        "checkov failures chart/README.md does not list:\n{}",
        unexpected.into_iter().collect::<Vec<_>>().join("\n")
    );
    let stale: Vec<&String> = allowed.keys().filter(|id| !seen.contains(*id)).collect();
    assert!(
        stale.is_empty(),
        "listed in chart/README.md but failed by no scenario any more: {stale:?}"
    );
}
