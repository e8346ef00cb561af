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

/// checkov's findings on one render: (check id, resource, check name); asserts it judged it.
fn checkov(name: &str, render: &str) -> Vec<(String, String, String)> {
    // Not tempfile's default ".tmp..." name: checkov passes over hidden directories. One
    // directory per scenario: checkov links the objects of one run into a graph, so scenarios
    // judged together could hide each other's gaps (another's NetworkPolicy, say).
    let dir = tempfile::Builder::new().prefix("checkov-").tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{name}.yaml")), render).unwrap();
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
        // Nothing is fetched: the checks ship in the package.
        .arg("--skip-download")
        .output()
        .expect("checkov runs (make setup installs it into .venv)");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: checkov's JSON: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    assert!(
        passed > 50,
        "{name}: checkov judged too little: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report["results"]["failed_checks"]
        .as_array()
        .map(|failed| {
            failed
                .iter()
                .map(|f| {
                    let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (text("check_id"), text("resource"), text("check_name"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn checkov_fails_only_what_the_chart_readme_lists() {
    let allowed = listed();
    assert!(
        allowed.len() >= 5,
        "the table in chart/README.md was not read: {allowed:?}"
    );
    let mut unexpected = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for name in common::scenarios() {
        for (id, resource, check) in checkov(&name, &common::render_scenario(&name).to_golden()) {
            let kind = resource.split('.').next().unwrap_or_default().to_string();
            if allowed.get(&id).is_some_and(|kinds| kinds.contains(&kind)) {
                seen.insert(id);
            } else {
                unexpected.insert(format!("{name}: {id} on {resource} ({check})"));
            }
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
