//! The official helm CLI (4.3.1, put into .tools/bin by `make setup` from a PyPI wheel) beside
//! the libhelm_c engine the other tests use: both render every ci scenario to the same bytes,
//! and the CLI's own `lint --strict`, `template`, `package` and `show values` accept the chart.

use std::path::PathBuf;
use std::process::Command;

use light_gateway_conformance::render::{ChartRenderer, HelmBinary, HelmLibrary};

use crate::common::{self, NAMESPACE, RELEASE};

/// The helm CLI: .tools/bin/helm (make setup), else `helm` on PATH.
fn helm_cli() -> PathBuf {
    let tools = common::workspace().join(".tools/bin/helm");
    if tools.is_file() {
        return tools;
    }
    light_gateway_conformance::render::find_on_path("helm").unwrap_or_else(|| {
        panic!(
            "no helm CLI: {} is missing and none is on PATH (run `make setup`)",
            tools.display()
        )
    })
}

fn run(args: &[&str]) -> String {
    let out = Command::new(helm_cli()).args(args).output().expect("helm runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm {args:?} failed:\n{text}");
    text
}

#[test]
fn both_engines_render_every_scenario_to_the_same_bytes() {
    let cli = HelmBinary::new(helm_cli());
    let library = HelmLibrary::locate().unwrap_or_else(|e| panic!("{e} (run `make setup`)"));
    let scenarios = common::scenarios();
    assert!(scenarios.len() >= 10, "{scenarios:?}");
    for name in scenarios {
        let values = common::scenario_values(&name);
        let by_cli = cli
            .render(&common::chart(), &values, &common::release())
            .unwrap_or_else(|e| panic!("{name}: the CLI: {e}"));
        let by_library = library
            .render(&common::chart(), &values, &common::release())
            .unwrap_or_else(|e| panic!("{name}: libhelm_c: {e}"));
        assert_eq!(by_cli.to_golden(), by_library.to_golden(), "{name}");
        assert_eq!(by_cli.notes, by_library.notes, "{name}");
    }
}

#[test]
fn the_cli_lints_strictly_clean_on_every_scenario() {
    let chart = common::chart();
    for name in common::scenarios() {
        let values = chart.join(format!("ci/{name}-values.yaml"));
        let out = run(&[
            "lint",
            "--strict",
            chart.to_str().unwrap(),
            "-f",
            values.to_str().unwrap(),
            "--namespace",
            NAMESPACE,
        ]);
        assert!(out.contains("0 chart(s) failed"), "{name}: {out}");
    }
}

#[test]
fn the_cli_templates_packages_and_shows_the_values() {
    let chart = common::chart();
    let chart_arg = chart.to_str().unwrap();
    let manifest = run(&[
        "template",
        RELEASE,
        chart_arg,
        "--namespace",
        NAMESPACE,
        "--validate=false",
    ]);
    assert!(manifest.contains("kind: Deployment"), "{manifest}");

    let dir = tempfile::tempdir().unwrap();
    let out = run(&["package", chart_arg, "-d", dir.path().to_str().unwrap()]);
    let version = std::fs::read_to_string(chart.join("Chart.yaml"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("version: ")
                .map(|v| v.trim().trim_matches('"').to_string())
        })
        .expect("Chart.yaml has a version");
    let package = dir.path().join(format!("light-gateway-{version}.tgz"));
    assert!(package.is_file(), "{out}");

    let shown = run(&["show", "values", chart_arg]);
    let values = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    assert_eq!(shown.trim_end(), values.trim_end());
}

/// Chart.yaml's artifacthub image annotation names the image the chart deploys by default.
#[test]
fn the_chart_metadata_names_the_default_image() {
    let chart = run(&["show", "chart", common::chart().to_str().unwrap()]);
    let app_version = chart
        .lines()
        .find_map(|l| l.strip_prefix("appVersion: "))
        .map(|v| v.trim().trim_matches('"').to_string())
        .expect("an appVersion");
    assert!(
        chart.contains(&format!("image: light-gateway:{app_version}")),
        "{chart}"
    );
    assert!(
        chart.contains("kubeVersion: '>=1.30.0-0'") || chart.contains("kubeVersion: \">=1.30.0-0\""),
        "{chart}"
    );
}
