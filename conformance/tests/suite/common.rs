//! Where things are, and a provisioned local target for one test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use light_gateway_conformance::check::Context;
use light_gateway_conformance::checks::ALL;
use light_gateway_conformance::deployment::Deployment;
use light_gateway_conformance::outcome::Outcome;
use light_gateway_conformance::platform::local::{Binaries, LocalTarget};
use light_gateway_conformance::render::{self, ChartRenderer};
use light_gateway_conformance::runner::{self, NoArtifacts, Selection};
use light_gateway_conformance::scenario::Scenario;
use light_gateway_conformance::timeouts::Timeouts;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The Helm engine, once per process.
pub fn helm() -> &'static dyn ChartRenderer {
    static ENGINE: OnceLock<Box<dyn ChartRenderer>> = OnceLock::new();
    ENGINE
        .get_or_init(|| render::detect().unwrap_or_else(|e| panic!("{e}\n(run `make setup` to create .venv)")))
        .as_ref()
}

/// Requires the strict MCP client (the official Python SDK in `.venv`, from `make venv`, which
/// `make test` runs): the suite tests show the MCP checks pass with it, so without it they fail
/// and say how to get it, as they do for the Helm engine.
pub async fn require_strict_client() {
    if let Err(e) = light_gateway_conformance::mcp::strict::shared().await {
        panic!("{e}");
    }
}

/// The binaries `make test` built, next to this test's `deps/` directory.
pub fn binaries() -> Binaries {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let gateway = dir.join("light-gateway");
    assert!(
        gateway.exists(),
        "{} is missing: run `make build` (make test does)",
        gateway.display()
    );
    Binaries { gateway, fixtures: dir }
}

/// The default scenario.
pub fn scenario() -> Scenario {
    let root = workspace();
    Scenario::load(
        &root.join("chart"),
        &root.join("fixtures/values/default.yaml"),
        &root.join("fixtures/runtime-config/default.yml"),
    )
    .expect("default scenario")
}

/// The auth scenario: the default tools behind the jwt and access-control handlers.
pub fn auth_scenario() -> Scenario {
    let root = workspace();
    Scenario::load(
        &root.join("chart"),
        &root.join("fixtures/values/auth.yaml"),
        &root.join("fixtures/runtime-config/auth.yml"),
    )
    .expect("auth scenario")
}

/// A gateway that misbehaves in one way: a bash `script` around the real binary, which it
/// finds in `$GATEWAY`.
pub fn wrapped(script: &str) -> (tempfile::TempDir, Binaries) {
    let real = binaries();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway-wrapper");
    let text = format!("#!/bin/bash\nGATEWAY='{}'\n{script}\n", real.gateway.display());
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (
        dir,
        Binaries {
            gateway: path,
            fixtures: real.fixtures,
        },
    )
}

/// The real gateway with `exports` run first (the environment beats values.yml, config-server
/// values included).
pub fn wrapped_with_env(exports: &str) -> (tempfile::TempDir, Binaries) {
    wrapped(&format!("{exports}\nexec \"$GATEWAY\" \"$@\""))
}

/// A provisioned local target.
pub struct Local {
    /// The target.
    pub target: LocalTarget,
    /// What was deployed.
    pub deployment: Deployment,
    /// The scenario.
    pub scenario: Scenario,
}

impl Local {
    /// Provisions `scenario` with `binaries`.
    pub async fn start(scenario: Scenario, binaries: Binaries) -> Self {
        let (target, deployment) = LocalTarget::provision(&scenario, helm(), binaries)
            .await
            .expect("local target provisions");
        Self {
            target,
            deployment,
            scenario,
        }
    }

    /// Runs one check and returns its outcome.
    pub async fn check(&self, id: &str) -> Outcome {
        let ctx = Context {
            target: &self.target,
            deployment: &self.deployment,
            timeouts: Timeouts {
                convergence: std::time::Duration::from_secs(8),
                ..Timeouts::default()
            },
            http: light_gateway_conformance::peers::http_client(std::time::Duration::from_secs(10)),
            scenario: &self.scenario,
            renderer: helm(),
        };
        let selection = Selection {
            only: vec![id.to_string()],
            skip: vec![],
        };
        let results = runner::run(&ctx, ALL, &selection, NoArtifacts, |_, _| {}).await;
        results.into_iter().find(|r| r.id == id).expect("the check ran").outcome
    }

    /// Stops everything.
    pub async fn stop(self) {
        use light_gateway_conformance::platform::Target;
        let _ = self.target.teardown().await;
    }
}

/// Asserts an outcome failed, showing it otherwise.
pub fn assert_failed(outcome: &Outcome, id: &str) {
    assert!(
        matches!(outcome, Outcome::Failed { .. }),
        "{id} should fail under the injected fault: {outcome:?}"
    );
}

/// Asserts an outcome passed.
pub fn assert_passed(outcome: &Outcome, id: &str) {
    assert!(
        matches!(outcome, Outcome::Passed { .. }),
        "{id} should still pass: {outcome:?}"
    );
}
