//! The whole suite on the local target, and what its reports say.

use light_gateway_conformance::check::Feature;
use light_gateway_conformance::checks::ALL;
use light_gateway_conformance::outcome::Outcome;
use light_gateway_conformance::runner::Selection;
use light_gateway_conformance::suite::{self, Platform, RunConfig};
use light_gateway_conformance::timeouts::Timeouts;
use serde_json::Value;

use crate::common::{binaries, helm, require_strict_client, scenario};

#[tokio::test(flavor = "multi_thread")]
async fn local_target_passes_every_check_that_needs_no_kubernetes_and_skips_the_rest_with_reasons() {
    require_strict_client().await;
    let reports = tempfile::tempdir().unwrap();
    let config = RunConfig {
        target: Platform::Local,
        scenario: scenario(),
        selection: Selection::default(),
        report_dir: Some(reports.path().to_path_buf()),
        keep: false,
        binaries: binaries(),
        fixtures_image: suite::default_fixtures_image(),
        cluster: suite::kind_cluster(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()),
        timeouts: Timeouts::default(),
    };
    let summary = suite::run(config, helm()).await.unwrap();
    for r in &summary.results {
        let check = ALL.iter().find(|c| c.id == r.id).unwrap();
        // The strict MCP client is this machine's (required above) and this scenario keeps its
        // token in the chart's Secret: neither is the target's.
        let needs_more = check
            .features
            .iter()
            .any(|f| !matches!(f, Feature::StrictMcpClient | Feature::ChartSecret));
        if check.features.contains(&Feature::ProtectedMcp) {
            assert!(
                matches!(&r.outcome, Outcome::Skipped { reason } if reason.contains("does not protect MCP")),
                "{}: {:?}",
                r.id,
                r.outcome
            );
        } else if needs_more {
            assert!(
                matches!(&r.outcome, Outcome::Skipped { reason } if reason.contains("local target has no")),
                "{}: {:?}",
                r.id,
                r.outcome
            );
        } else {
            assert!(matches!(r.outcome, Outcome::Passed { .. }), "{}: {:?}", r.id, r.outcome);
        }
        if check.features.contains(&Feature::StrictMcpClient) {
            let strict = light_gateway_conformance::mcp::strict::shared()
                .await
                .as_ref()
                .unwrap()
                .name();
            for client in ["rmcp", strict.as_str()] {
                for era in ["legacy", "2026-07-28"] {
                    let judged = format!("{client} {era}: ");
                    assert!(r.outcome.detail().contains(&judged), "{}: {:?}", r.id, r.outcome);
                }
            }
        }
    }
    assert!(summary.ok());
    let yaml: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(reports.path().join("conformance-report.yaml")).unwrap())
            .unwrap();
    assert_eq!(yaml["result"], "partial", "skips make it partial, never success");
    junit_counts_equal_yaml_counts(
        &std::fs::read_to_string(reports.path().join("junit.xml")).unwrap(),
        &yaml,
    );
}

/// Parses the JUnit XML and compares its counts with the YAML report's statistics.
pub fn junit_counts_equal_yaml_counts(junit: &str, yaml: &Value) {
    let doc = roxmltree::Document::parse(junit).expect("JUnit parses");
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
        .count();
    let stats = &yaml["statistics"];
    assert_eq!(
        cases.len() as u64,
        stats["Passed"].as_u64().unwrap() + stats["Failed"].as_u64().unwrap() + stats["Skipped"].as_u64().unwrap()
    );
    assert_eq!(failed as u64, stats["Failed"].as_u64().unwrap());
    assert_eq!(skipped as u64, stats["Skipped"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_checks_leave_artifacts_without_any_token_and_junit_agrees_with_yaml() {
    let real = binaries();
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("gateway-wrapper");
    // A gateway that keeps a stale cache: fault-config-server-down-uncached fails.
    let script = format!(
        "#!/bin/bash\nmkdir -p config-cache && printf 'stale.key: 1\\n' > config-cache/values.yml\nexec '{}' \"$@\"\n",
        real.gateway.display()
    );
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let config = RunConfig {
        target: Platform::Local,
        scenario: scenario(),
        selection: Selection {
            only: vec!["fault-config-server-down-uncached".into(), "log-bootstrap".into()],
            skip: vec![],
        },
        report_dir: Some(reports.path().to_path_buf()),
        keep: false,
        binaries: light_gateway_conformance::platform::local::Binaries {
            gateway: wrapper,
            fixtures: real.fixtures,
        },
        fixtures_image: suite::default_fixtures_image(),
        cluster: suite::kind_cluster(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()),
        timeouts: Timeouts::default(),
    };
    let summary = suite::run(config, helm()).await.unwrap();
    assert!(!summary.ok());
    let artifacts = reports.path().join("artifacts/fault-config-server-down-uncached");
    let mut files: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(
        files.contains(&"gateway.log".to_string()) && files.contains(&"manifests.yaml".to_string()),
        "{files:?}"
    );
    let token =
        light_gateway_conformance::scenario::token("local.test", "com.example.mcp-gateway-1.0.0", "test", "initial");
    for file in &files {
        let text = std::fs::read_to_string(artifacts.join(file)).unwrap();
        assert!(!text.contains(&token), "{file} holds the token");
    }
    let manifests = std::fs::read_to_string(artifacts.join("manifests.yaml")).unwrap();
    assert!(
        manifests.contains("[redacted]"),
        "the Secret's token is redacted in the manifests:\n{manifests}"
    );
    for report in ["conformance-report.yaml", "junit.xml"] {
        assert!(
            !std::fs::read_to_string(reports.path().join(report))
                .unwrap()
                .contains(&token),
            "{report} holds the token"
        );
    }
    let yaml: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(reports.path().join("conformance-report.yaml")).unwrap())
            .unwrap();
    assert_eq!(yaml["result"], "failure");
    junit_counts_equal_yaml_counts(
        &std::fs::read_to_string(reports.path().join("junit.xml")).unwrap(),
        &yaml,
    );
}
