//! The chart and the gateway agree on the bootstrap contract: the files the ConfigMap renders,
//! laid out as the pod sees them and with the env the pod gets, pass
//! `light-gateway validate-config`.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::Secret;
use light_gateway_conformance::render::Rendered;

use crate::common::{self, FULLNAME};

/// Stand-in for the token of a Secret made outside the chart (existingSecret).
const EXTERNAL_TOKEN: &str = "Bearer token-from-the-existing-secret";

/// Checks one chart/ci scenario (called once per scenario by `scenarios::per_scenario!`).
pub fn check_validate_config(scenario: &str) {
    let rendered = common::render_scenario(scenario);
    // The pod's working dir is /app: config/ is the ConfigMap, tls/ the TLS Secret when mounted.
    let app = tempfile::tempdir().unwrap();
    let config = app.path().join("config");
    std::fs::create_dir(&config).unwrap();
    for (name, text) in common::bootstrap_files(&rendered) {
        std::fs::write(config.join(name), text).unwrap();
    }
    if mounts_tls(&rendered) {
        write_self_signed(&app.path().join("tls"));
    }
    let out = Command::new(common::gateway_binary())
        .args(["validate-config", "--config-dir"])
        .arg(&config)
        .current_dir(app.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(pod_env(&rendered))
        .output()
        .expect("run light-gateway validate-config");
    assert!(
        out.status.success(),
        "light-gateway validate-config refused the config of {scenario}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The gateway container's env: literal values, and the Secret's keys where it refers to them.
fn pod_env(rendered: &Rendered) -> Vec<(String, String)> {
    let secret: Option<Secret> = rendered.get("Secret", FULLNAME).ok();
    let data = secret.and_then(|s| s.data).unwrap_or_default();
    let mut env = Vec::new();
    for var in common::container(rendered).env.unwrap_or_default() {
        if let Some(value) = var.value {
            env.push((var.name, value));
        } else if let Some(key_ref) = var.value_from.and_then(|v| v.secret_key_ref) {
            let value = match data.get(&key_ref.key) {
                Some(bytes) => String::from_utf8(bytes.0.clone()).unwrap(),
                None if key_ref.optional == Some(true) => continue,
                None if key_ref.key == "LIGHT_PORTAL_AUTHORIZATION" => EXTERNAL_TOKEN.to_string(),
                None => panic!("the Secret has no key {}", key_ref.key),
            };
            env.push((var.name, value));
        }
    }
    env
}

fn mounts_tls(rendered: &Rendered) -> bool {
    let mounts = common::container(rendered).volume_mounts.unwrap_or_default();
    mounts.iter().any(|m| m.mount_path == "/app/tls")
}

/// What a kubernetes.io/tls Secret would hold: tls.crt and tls.key.
fn write_self_signed(dir: &Path) {
    let key = rcgen::generate_simple_self_signed(vec![format!("{FULLNAME}.light-gateway")]).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tls.crt"), key.cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.signing_key.serialize_pem()).unwrap();
}
