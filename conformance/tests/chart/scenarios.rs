//! Every chart/ci scenario: lint-clean, valid against the Kubernetes 1.37 schemas, and equal
//! to its golden render.

use std::path::PathBuf;
use std::process::Command;

use rstest::rstest;

use crate::common::{self, KUBE_VERSION, NAMESPACE};
use crate::gateway_api::HttpRoute;

/// One rstest case per chart/ci scenario for each property; `scenarios_and_goldens_pair_up`
/// keeps the list equal to the directory.
macro_rules! per_scenario {
    ($($scenario:literal),* $(,)?) => {
        const SCENARIOS: &[&str] = &[$($scenario),*];

        #[rstest]
        fn helm_lint_is_clean(#[values($($scenario),*)] scenario: &str) {
            check_lint(scenario);
        }

        #[rstest]
        fn documents_pass_kubernetes_validate_strict(#[values($($scenario),*)] scenario: &str) {
            check_kubernetes_validate(scenario);
        }

        #[rstest]
        fn golden_render_matches(#[values($($scenario),*)] scenario: &str) {
            check_golden(scenario);
        }

        #[rstest]
        fn rendered_config_passes_validate_config(#[values($($scenario),*)] scenario: &str) {
            crate::contract::check_validate_config(scenario);
        }
    };
}

per_scenario!(
    "default",
    "existing-secret",
    "external-loadbalancer",
    "hpa-pdb",
    "httproute",
    "https-only",
    "ingress",
    "metrics",
    "mgi-surface",
    "networkpolicy",
    "pod-features",
    "pvc-cache",
);

/// The command that rewrites the goldens, printed when one differs or is missing.
const REFRESH: &str = "REFRESH_GOLDEN=1 cargo test -p light-gateway-conformance --test chart golden";

fn check_lint(scenario: &str) {
    let report = common::helm()
        .lint(&common::chart(), &common::scenario_values(scenario), NAMESPACE)
        .unwrap_or_else(|e| panic!("{scenario}: {e}"));
    assert!(
        report.problems().is_empty(),
        "helm lint --strict of {scenario}: {:#?}",
        report.problems()
    );
}

fn check_kubernetes_validate(scenario: &str) {
    let rendered = common::render_scenario(scenario);
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (n, object) in rendered.objects().unwrap().iter().enumerate() {
        if object.kind() == "HTTPRoute" {
            // Not a built-in kind: kubernetes-validate has no schema for it.
            object
                .typed::<HttpRoute>()
                .unwrap_or_else(|e| panic!("{scenario}: {e}"));
            continue;
        }
        if matches!(object.kind(), "ServiceMonitor" | "PodMonitor") {
            // The Prometheus Operator's kinds: no schema here either; their shape is checked
            // field by field in tests/chart/metrics.rs.
            assert_eq!(object.value["apiVersion"], "monitoring.coreos.com/v1", "{scenario}");
            continue;
        }
        let file = dir
            .path()
            .join(format!("{n:02}-{}-{}.yaml", object.kind(), object.name()));
        std::fs::write(&file, serde_json::to_string(&object.value).unwrap()).unwrap();
        files.push(file);
    }
    let out = Command::new(common::venv_tool("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBE_VERSION])
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate --strict, {scenario}:\n{report}"
    );
    // Warnings include "Couldn't find schema": an object nobody validated is a failure too.
    assert!(
        report.trim().is_empty(),
        "kubernetes-validate --strict, {scenario}:\n{report}"
    );
}

fn check_golden(scenario: &str) {
    let rendered = common::render_scenario(scenario);
    let mut actual = rendered.to_golden();
    if let Some(notes) = &rendered.notes {
        actual.push_str("---\n# Source: light-gateway/templates/NOTES.txt\n");
        for line in notes.trim_matches('\n').lines() {
            actual.push_str(format!("# {line}").trim_end());
            actual.push('\n');
        }
    }
    let golden = golden_dir().join(format!("{scenario}.yaml"));
    if refresh() {
        std::fs::write(&golden, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("{} is missing; write it with:\n  {REFRESH}", golden.display()));
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(a, b)| a != b);
        let line = line.unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the render of chart/ci/{scenario}-values.yaml at line {}:\n  golden: {:?}\n  render: {:?}\nIf the change is intended, rewrite the goldens with:\n  {REFRESH}",
            golden.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

#[test]
fn scenarios_and_goldens_pair_up() {
    let scenarios = common::scenarios();
    assert_eq!(
        scenarios, SCENARIOS,
        "chart/ci and the SCENARIOS list of this test differ"
    );
    let mut goldens: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".yaml").map(String::from))
        .collect();
    goldens.sort();
    let orphans: Vec<_> = goldens.iter().filter(|g| !scenarios.contains(g)).collect();
    assert!(
        orphans.is_empty(),
        "orphan goldens (no chart/ci/<name>-values.yaml renders them): {orphans:?}; delete them"
    );
    let missing: Vec<_> = scenarios.iter().filter(|s| !goldens.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "scenarios without a golden: {missing:?}; write them with:\n  {REFRESH}"
    );
}

#[test]
fn every_scenario_opens_with_a_comment() {
    for scenario in common::scenarios() {
        let text = std::fs::read_to_string(common::chart().join(format!("ci/{scenario}-values.yaml"))).unwrap();
        assert!(
            text.starts_with("# Exercises "),
            "chart/ci/{scenario}-values.yaml must open with a comment saying what it exercises"
        );
    }
}

fn golden_dir() -> PathBuf {
    common::chart().join("tests/golden")
}

fn refresh() -> bool {
    ["REFRESH_GOLDEN", "UPDATE_GOLDEN"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1" || v == "true"))
}
