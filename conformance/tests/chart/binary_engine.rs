//! The helm-binary engine, run against a stand-in `helm` (tests/support/fake_helm.py) that
//! answers with the same Helm SDK: where no helm binary exists, this proves the engine's
//! command lines, output parsing and error mapping give what the library engine gives.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use light_gateway_conformance::render::{ChartRenderer, HelmBinary, RenderError};
use serde_json::json;

use crate::common::{self, NAMESPACE};

fn fake_helm(dir: &std::path::Path) -> HelmBinary {
    let support = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_helm.py");
    let python = common::venv_tool("python");
    let script = dir.join("helm");
    let body = format!(
        "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
        python.display(),
        support.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    HelmBinary::new(script)
}

#[test]
fn binary_engine_renders_what_the_library_renders() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path());
    let values = common::scenario_values("networkpolicy");
    let by_binary = helm.render(&common::chart(), &values, &common::release()).unwrap();
    let by_library = common::render(&values);
    assert_eq!(by_binary.to_golden(), by_library.to_golden());
    assert_eq!(by_binary.notes, by_library.notes);
}

#[test]
fn binary_engine_reports_fail_messages_schema_errors_and_lint() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path());
    let chart = common::chart();
    let error = helm
        .render(&chart, &json!({"image": {"tag": "latest"}}), &common::release())
        .unwrap_err();
    assert!(
        error.fail_message().is_some_and(|m| m.starts_with("ERROR: image.tag")),
        "{error}"
    );
    let error = helm.validate_schema(&chart, &json!({"replicas": 0})).unwrap_err();
    assert!(matches!(error, RenderError::Schema { .. }), "{error}");
    helm.validate_schema(&chart, &json!({"image": {"tag": "latest"}}))
        .unwrap();
    assert!(helm.lint(&chart, &json!({}), NAMESPACE).unwrap().problems().is_empty());
    let report = helm.lint(&chart, &json!({"serviceType": "Foo"}), NAMESPACE).unwrap();
    assert!(!report.problems().is_empty());
}
