//! Skip policy: who provides a missing feature decides the reason.

use futures_util::FutureExt;
use rstest::rstest;

use super::*;

fn check(features: &'static [Feature]) -> Check {
    Check {
        id: "some-check",
        description: "",
        checklist: "",
        profile: Profile::Validation,
        features,
        disruptive: false,
        run: |_| async { Ok(String::new()) }.boxed(),
    }
}

const WHY: &str = "no Python at /nonexistent (CONFORMANCE_PYTHON); run `make venv`";

fn offered(features: &[Feature]) -> Offered {
    Offered {
        features: features.to_vec(),
        absent: vec![(Feature::StrictMcpClient, WHY.into())],
    }
}

#[rstest]
#[case::strict_client_missing(&[Feature::StrictMcpClient], &[], Some(format!("this machine has no strict-mcp-client: {WHY}")))]
#[case::strict_client_present(&[Feature::StrictMcpClient], &[Feature::StrictMcpClient], None)]
#[case::scenario_first(&[Feature::ProtectedMcp, Feature::StrictMcpClient], &[], Some("the scenario does not protect MCP (its runtime config runs no jwt or unified-security handler)".into()))]
#[case::chart_secret(&[Feature::ChartSecret], &[Feature::StrictMcpClient], Some("the scenario's token is in existingSecret, which the suite does not own and never rewrites".into()))]
#[case::target(&[Feature::Kubernetes], &[Feature::StrictMcpClient], Some("the local target has no kubernetes".into()))]
fn the_reason_names_who_lacks_the_feature(
    #[case] needs: &'static [Feature],
    #[case] present: &[Feature],
    #[case] expected: Option<String>,
) {
    let reason = skip_reason(&check(needs), "local", &offered(present), &Selection::default());
    assert_eq!(reason, expected);
}

#[test]
fn an_environment_feature_nobody_explained_still_skips() {
    let reason = skip_reason(
        &check(&[Feature::StrictMcpClient]),
        "local",
        &Offered::default(),
        &Selection::default(),
    );
    assert_eq!(
        reason.as_deref(),
        Some("this machine has no strict-mcp-client: not probed")
    );
}
