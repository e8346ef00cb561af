//! The auth checks: they pass on the auth scenario, fail against a gateway whose protection is
//! switched off (each check on the fault it guards against), and are skipped, with the reason,
//! where the scenario leaves MCP open.

use light_gateway_conformance::outcome::Outcome;

use crate::common::{Local, assert_failed, assert_passed, auth_scenario, binaries, scenario, wrapped_with_env};

const AUTH_CHECKS: [&str; 3] = [
    "security-mcp-auth-required",
    "security-mcp-tool-access",
    "security-key-rotation",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_scenario_passes_the_auth_checks_and_the_mcp_checks_call_with_a_token() {
    let l = Local::start(auth_scenario(), binaries()).await;
    for id in AUTH_CHECKS
        .iter()
        .chain(&["mcp-tools-list", "mcp-tools-call", "fault-backend-down"])
    {
        assert_passed(&l.check(id).await, id);
    }
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_that_verifies_no_token_fails_every_auth_check() {
    let (_dir, bins) = wrapped_with_env("export SECURITY_ENABLEVERIFYJWT=false");
    let l = Local::start(auth_scenario(), bins).await;
    for id in AUTH_CHECKS {
        assert_failed(&l.check(id).await, id);
    }
    assert_passed(&l.check("log-bootstrap").await, "log-bootstrap");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_whose_access_control_skips_every_tool_fails_tool_access_only() {
    // The gateway refuses access-control in a chain with enabled false, so skip every tool instead.
    let (_dir, bins) = wrapped_with_env("export ACCESS_CONTROL_SKIPPATHPREFIXES=a,e,s");
    let l = Local::start(auth_scenario(), bins).await;
    assert_failed(&l.check("security-mcp-tool-access").await, "security-mcp-tool-access");
    assert_passed(
        &l.check("security-mcp-auth-required").await,
        "security-mcp-auth-required",
    );
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_checks_are_skipped_with_the_reason_where_mcp_is_open() {
    let l = Local::start(scenario(), binaries()).await;
    for id in AUTH_CHECKS {
        match l.check(id).await {
            Outcome::Skipped { reason } => assert!(reason.contains("does not protect MCP"), "{id}: {reason}"),
            other => panic!("{id} should be skipped on the default scenario: {other:?}"),
        }
    }
    l.stop().await;
}
