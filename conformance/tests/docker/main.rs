//! The docker tier: the images' facts, and the suite on the docker target (the gateway in its
//! image as the pod spec says, fixtures as containers under in-cluster names). Each test is
//! ignored by default, so a machine without Docker reports it as skipped, never passed;
//! `make test` runs them (`--run-ignored all`) when a Docker engine answers, and fails under
//! `CI=true` when none does. Run by hand without Docker or the images, a test fails naming
//! what is missing.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

use std::process::Command;

use light_gateway_conformance::check::Feature;
use light_gateway_conformance::checks::ALL;
use light_gateway_conformance::outcome::Outcome;
use light_gateway_conformance::platform::docker;
use light_gateway_conformance::platform::local::Binaries;
use light_gateway_conformance::render::{self, ChartRenderer};
use light_gateway_conformance::runner::Selection;
use light_gateway_conformance::scenario::{self, Scenario};
use light_gateway_conformance::suite::{self, Platform, RunConfig};
use light_gateway_conformance::timeouts::Timeouts;
use serde_json::{Value, json};

const GATEWAY_IMAGE: &str = concat!("light-gateway:", env!("CARGO_PKG_VERSION"));

/// Fails the test, naming what is missing, when the engine or an image is not there.
fn require_docker() {
    let fixtures = suite::default_fixtures_image();
    if let Some(reason) = docker::unavailable(&[GATEWAY_IMAGE, &fixtures]) {
        panic!("the docker tier cannot run: {reason}");
    }
}

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .trim()
        .to_string(),
    )
}

#[test]
#[ignore = "docker tier: needs a Docker engine and the images (make image); make test runs it when Docker answers"]
fn gateway_image_facts() {
    require_docker();
    let (_, config) = docker(&["image", "inspect", "-f", "{{json .Config}}", GATEWAY_IMAGE]);
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["User"], "999:999");
    assert_eq!(config["WorkingDir"], "/app");
    let ports = config["ExposedPorts"].as_object().unwrap();
    assert!(
        ports.contains_key("8080/tcp") && ports.contains_key("8443/tcp"),
        "{ports:?}"
    );
    let run = |script: &str| docker(&["run", "--rm", "--entrypoint", "sh", GATEWAY_IMAGE, "-c", script]);
    assert_eq!(run("readlink /app/config").1, "/config");
    assert_eq!(run("id -u; id -g").1, "999\n999");
    assert_eq!(run("stat -c %u:%g /app/config-cache").1, "999:999");
    assert!(run("touch /app/config-cache/x").0, "the cache is writable for 999");
    for path in ["/app/x", "/config/x", "/app/config-defaults/x", "/etc/x"] {
        assert!(!run(&format!("touch {path}")).0, "{path} must not be writable for 999");
    }
    let (_, size) = docker(&["image", "inspect", "-f", "{{.Size}}", GATEWAY_IMAGE]);
    eprintln!("image {GATEWAY_IMAGE}: {:.1} MB", size.parse::<f64>().unwrap() / 1e6);
}

fn helm() -> Box<dyn ChartRenderer> {
    render::detect().unwrap_or_else(|e| panic!("{e}"))
}

fn load(values: &str, runtime_config: &str) -> Scenario {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    Scenario::load(&root.join("chart"), &root.join(values), &root.join(runtime_config)).unwrap()
}

fn default_scenario() -> Scenario {
    load("fixtures/values/default.yaml", "fixtures/runtime-config/default.yml")
}

async fn run_docker(scenario: Scenario, only: &[&str]) -> Vec<(String, Outcome)> {
    let config = RunConfig {
        target: Platform::Docker,
        scenario,
        selection: Selection {
            only: only.iter().map(|s| s.to_string()).collect(),
            skip: vec![],
        },
        report_dir: None,
        keep: false,
        binaries: Binaries {
            gateway: "unused".into(),
            fixtures: "unused".into(),
        },
        fixtures_image: suite::default_fixtures_image(),
        cluster: suite::kind_cluster(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()),
        timeouts: Timeouts::default(),
    };
    let summary = suite::run(config, helm().as_ref()).await.unwrap();
    summary
        .results
        .into_iter()
        .map(|r| (r.id.to_string(), r.outcome))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "docker tier: needs a Docker engine and the images (make image); make test runs it when Docker answers"]
async fn docker_target_passes_every_check_it_serves() {
    require_docker();
    for (id, outcome) in run_docker(default_scenario(), &[]).await {
        let check = ALL.iter().find(|c| c.id == id).unwrap();
        // The strict MCP client is the machine's: `make test` provides it (.venv); this scenario
        // keeps its token in the chart's Secret.
        if check
            .features
            .iter()
            .all(|f| matches!(f, Feature::Containers | Feature::StrictMcpClient | Feature::ChartSecret))
        {
            assert!(matches!(outcome, Outcome::Passed { .. }), "{id}: {outcome:?}");
        } else if check.features.contains(&Feature::ProtectedMcp) {
            assert!(
                matches!(&outcome, Outcome::Skipped { reason } if reason.contains("does not protect MCP")),
                "{id}: {outcome:?}"
            );
        } else {
            assert!(
                matches!(&outcome, Outcome::Skipped { reason } if reason.contains("docker target has no")),
                "{id}: {outcome:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "docker tier: needs a Docker engine and the images (make image); make test runs it when Docker answers"]
async fn live_container_checks_fail_when_the_pod_spec_breaks_their_rule() {
    require_docker();
    let mut other_user = default_scenario();
    scenario::merge(
        &mut other_user.values,
        &json!({"podSecurityContext": {"runAsUser": 1000}, "securityContext": {"runAsUser": 1000}}),
    );
    // As uid 1000 the process is not the image user, and the cache (999, 0750) is not writable.
    let results = run_docker(
        other_user,
        &[
            "security-runtime-user",
            "security-runtime-filesystem",
            "security-ca-trust",
        ],
    )
    .await;
    let outcome = |id: &str| results.iter().find(|(i, _)| i == id).unwrap().1.clone();
    for id in ["security-runtime-user", "security-runtime-filesystem"] {
        assert!(matches!(outcome(id), Outcome::Failed { .. }), "{id}: {:?}", outcome(id));
    }
    assert!(
        matches!(outcome("security-ca-trust"), Outcome::Passed { .. }),
        "{:?}",
        outcome("security-ca-trust")
    );
}

/// The auth scenario on containers: the key service is reached under its in-cluster name, and the
/// auth checks pass with the MCP checks calling with tokens.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "docker tier: needs a Docker engine and the images (make image); make test runs it when Docker answers"]
async fn docker_target_passes_the_auth_checks_on_the_auth_scenario() {
    require_docker();
    let auth = load("fixtures/values/auth.yaml", "fixtures/runtime-config/auth.yml");
    let only = [
        "security-mcp-auth-required",
        "security-mcp-tool-access",
        "security-key-rotation",
        "mcp-tools-call",
    ];
    for (id, outcome) in run_docker(auth, &only).await {
        if only.contains(&id.as_str()) {
            assert!(matches!(outcome, Outcome::Passed { .. }), "{id}: {outcome:?}");
        }
    }
}
