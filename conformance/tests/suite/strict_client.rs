//! The MCP checks judge with the strict client too: against a stand-in gateway that answers
//! like ours they pass with both clients, and when its 2026-07-28 tools/call result lacks
//! `resultType` (which rmcp accepts) mcp-tools-call fails on the Python SDK's refusal.

use light_gateway_conformance::check::Context;
use light_gateway_conformance::checks::ALL;
use light_gateway_conformance::outcome::Outcome;
use light_gateway_conformance::runner::{self, NoArtifacts, Selection};
use light_gateway_conformance::timeouts::Timeouts;
use serde_json::json;

use crate::common::{helm, require_strict_client, scenario};
use crate::stub_target::StubTarget;

#[path = "../support/mcp_stand_in.rs"]
mod mcp_stand_in;

async fn mcp_checks(omit_result_type: bool) -> Vec<(&'static str, Outcome)> {
    require_strict_client().await;
    let scenario = scenario();
    let deployment = scenario.deploy(helm(), &json!({})).expect("renders");
    let target = StubTarget::new("stand-in", mcp_stand_in::stand_in(omit_result_type).await);
    let ctx = Context {
        target: &target,
        deployment: &deployment,
        timeouts: Timeouts::default(),
        http: light_gateway_conformance::peers::http_client(std::time::Duration::from_secs(10)),
        scenario: &scenario,
        renderer: helm(),
    };
    let selection = Selection {
        only: vec!["mcp-tools-list".into(), "mcp-tools-call".into()],
        skip: vec![],
    };
    let results = runner::run(&ctx, ALL, &selection, NoArtifacts, |_, _| {}).await;
    results
        .into_iter()
        .filter(|r| selection.only.iter().any(|id| id == r.id))
        .map(|r| (r.id, r.outcome))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mcp_checks_pass_with_both_clients_on_a_server_that_answers_as_the_spec_says() {
    for (id, outcome) in mcp_checks(false).await {
        let Outcome::Passed { evidence } = &outcome else {
            panic!("{id}: {outcome:?}")
        };
        assert!(
            evidence.contains("rmcp 2026-07-28: ") && evidence.contains("python-sdk"),
            "{id}: {evidence}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_tools_call_result_without_result_type_fails_mcp_tools_call_on_the_sdks_refusal() {
    let outcomes = mcp_checks(true).await;
    let outcome = |id: &str| outcomes.iter().find(|(i, _)| *i == id).unwrap().1.clone();
    assert!(
        matches!(outcome("mcp-tools-list"), Outcome::Passed { .. }),
        "tools/list still carries resultType: {:?}",
        outcome("mcp-tools-list")
    );
    let Outcome::Failed { reason } = outcome("mcp-tools-call") else {
        panic!("rmcp alone would pass it: {:?}", outcome("mcp-tools-call"))
    };
    assert!(
        reason.contains("python-sdk") && reason.contains("2026-07-28 refused") && reason.contains("resultType"),
        "{reason}"
    );
}
