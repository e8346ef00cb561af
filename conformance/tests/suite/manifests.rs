//! The security checks that read the rendered chart, shown able to fail on a deployment that
//! breaks their rule (through values where the chart allows it, else by editing the render).

use light_gateway_conformance::check::Context;
use light_gateway_conformance::checks::ALL;
use light_gateway_conformance::deployment::Deployment;
use light_gateway_conformance::outcome::Failure;
use light_gateway_conformance::render::Release;
use light_gateway_conformance::scenario::{self, NAMESPACE, RELEASE};
use light_gateway_conformance::timeouts::Timeouts;
use rstest::rstest;
use serde_json::{Value, json};

use crate::common::{helm, scenario as default_scenario};
use crate::stub_target::StubTarget;

fn deployment(overlay: Value, edit: Option<(&str, &str)>) -> Deployment {
    let scenario = default_scenario();
    let mut values = scenario.values.clone();
    scenario::merge(
        &mut values,
        &json!({"secret": {"portalAuthorization": "Bearer test.token.value"}}),
    );
    scenario::merge(&mut values, &overlay);
    let release = Release::new(RELEASE, NAMESPACE);
    let mut rendered = helm().render(&scenario.chart, &values, &release).expect("renders");
    if let Some((from, to)) = edit {
        let mut edited = false;
        for text in rendered.files.values_mut() {
            if text.contains(from) {
                *text = text.replace(from, to);
                edited = true;
            }
        }
        assert!(edited, "the edit {from:?} matched nothing");
    }
    Deployment::new(release, values, rendered).expect("deployment")
}

async fn run(id: &str, deployment: &Deployment) -> Result<String, Failure> {
    let check = ALL.iter().find(|c| c.id == id).expect("check");
    let scenario = default_scenario();
    let ctx = Context {
        target: &StubTarget::new("none", url::Url::parse("http://127.0.0.1:9/mcp").unwrap()),
        deployment,
        timeouts: Timeouts::default(),
        http: light_gateway_conformance::peers::http_client(std::time::Duration::from_secs(1)),
        scenario: &scenario,
        renderer: helm(),
    };
    (check.run)(&ctx).await
}

#[rstest]
#[case::token_placed_in_the_configmap("security-token-in-secret", json!({}), Some(("startup.host: local.test", "startup.host: local.test\n    leaked.header: \"Bearer test.token.value\"")))]
#[case::hostname_verification_off("security-ca-trust", json!({"bootstrap": {"values": {"client.verifyHostname": false}, "acknowledgeVerifyHostnameOff": true}}), None)]
#[case::mutable_tag("security-immutable-tag", json!({"image": {"tag": "latest", "allowMutableTag": true}}), None)]
#[case::root_user("security-non-root", json!({}), Some(("runAsUser: 999", "runAsUser: 1000")))]
#[case::writable_config("security-config-read-only", json!({}), Some(("mountPath: /config\n              readOnly: true", "mountPath: /config\n              readOnly: false")))]
#[case::writable_root("security-only-cache-writable", json!({"podTemplate": {"spec": {"container": {"securityContext": {"readOnlyRootFilesystem": false}}}}}), None)]
#[case::no_network_policy_ingress("security-ingress-restricted", json!({"networkPolicy": {"enabled": false}}), None)]
#[case::no_network_policy_egress("security-egress-restricted", json!({"networkPolicy": {"enabled": false}}), None)]
#[tokio::test]
async fn manifest_checks_pass_by_default_and_fail_when_their_rule_is_broken(
    #[case] id: &str,
    #[case] overlay: Value,
    #[case] edit: Option<(&str, &str)>,
) {
    let good = deployment(json!({}), None);
    assert!(
        run(id, &good).await.is_ok(),
        "{id} passes on the default scenario: {:?}",
        run(id, &good).await
    );
    let bad = deployment(overlay, edit);
    let failure = run(id, &bad)
        .await
        .expect_err("the check fails on the broken deployment");
    assert!(!failure.0.is_empty());
    // The others do not: the non-root check is unaffected by every other edit.
    if id != "security-non-root" {
        assert!(
            run("security-non-root", &bad).await.is_ok(),
            "{id}'s breakage spills into security-non-root"
        );
    }
}

#[test]
fn secrets_for_redaction_include_the_token_in_every_form() {
    let d = deployment(json!({}), None);
    let secrets = d.secrets();
    assert!(secrets.contains(&"Bearer test.token.value".to_string()), "{secrets:?}");
    assert!(secrets.contains(&"test.token.value".to_string()), "{secrets:?}");
    assert!(
        secrets.contains(&"QmVhcmVyIHRlc3QudG9rZW4udmFsdWU=".to_string()),
        "{secrets:?}"
    );
}
