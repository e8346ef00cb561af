//! Each live check is shown able to fail: inject the fault it guards against, see it fail, and
//! see an unrelated check still pass.

use light_gateway_conformance::peers;
use light_gateway_conformance::platform::{Cache, Restart, Started, Target};
use light_gateway_conformance::scenario;
use serde_json::json;

use crate::common::{Local, assert_failed, assert_passed, binaries, scenario as default_scenario, wrapped};

async fn local() -> Local {
    Local::start(default_scenario(), binaries()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn controller_rejecting_registration_fails_log_registration() {
    let l = local().await;
    let controller = l.target.endpoints().controller_admin;
    let http = peers::http_client(std::time::Duration::from_secs(5));
    peers::post_json(
        &http,
        &controller,
        "/__admin/behaviour",
        json!({"rejectRegistration": "injected: not welcome"}),
    )
    .await
    .unwrap();
    assert_eq!(l.target.restart(&Restart::as_deployed()).await.unwrap(), Started::Ready);
    assert_failed(&l.check("log-registration").await, "log-registration");
    assert_passed(&l.check("mcp-tools-call").await, "mcp-tools-call");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn config_server_answering_403_fails_log_bootstrap() {
    let l = local().await;
    let id = l.deployment.identity.clone();
    let wrong_host = format!(
        "Bearer {}",
        scenario::token("another.host", &id.service_id, &id.env_tag, "x")
    );
    let mut restart = Restart::as_deployed();
    restart.env = vec![("LIGHT_PORTAL_AUTHORIZATION".into(), wrong_host)];
    assert_eq!(l.target.restart(&restart).await.unwrap(), Started::Ready);
    assert_failed(&l.check("log-bootstrap").await, "log-bootstrap");
    assert_passed(&l.check("log-registration").await, "log-registration");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_down_fails_mcp_tools_call() {
    let l = local().await;
    l.target.set_backend("backend-b", false).await.unwrap();
    assert_failed(&l.check("mcp-tools-call").await, "mcp-tools-call");
    assert_passed(&l.check("mcp-tools-list").await, "mcp-tools-list");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_not_advertising_the_expected_address_fails_the_controller_checks() {
    let l = local().await;
    let mut restart = Restart::as_deployed();
    restart
        .values
        .insert("server.advertisedAddress".into(), json!("127.0.0.2"));
    assert_eq!(l.target.restart(&restart).await.unwrap(), Started::Ready);
    assert_failed(&l.check("controller-record").await, "controller-record");
    assert_failed(&l.check("advertised-reachable").await, "advertised-reachable");
    assert_passed(&l.check("log-bootstrap").await, "log-bootstrap");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_without_its_runtime_config_fails_mcp_tools_list() {
    let l = local().await;
    let http = peers::http_client(std::time::Duration::from_secs(5));
    let cs = l.target.endpoints().config_server_admin;
    peers::outage(&http, &cs, "refuse").await.unwrap();
    let started = l
        .target
        .restart(&Restart {
            cache: Cache::Empty,
            ..Restart::as_deployed()
        })
        .await
        .unwrap();
    peers::outage(&http, &cs, "off").await.unwrap();
    assert_eq!(started, Started::Ready);
    assert_failed(&l.check("mcp-tools-list").await, "mcp-tools-list");
    assert_passed(&l.check("log-registration").await, "log-registration");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn config_server_refusing_downloads_fails_restart_cache() {
    let l = local().await;
    let http = peers::http_client(std::time::Duration::from_secs(5));
    peers::outage(&http, &l.target.endpoints().config_server_admin, "refuse")
        .await
        .unwrap();
    assert_failed(&l.check("restart-cache").await, "restart-cache");
    assert_passed(&l.check("security-non-root").await, "security-non-root");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_stays_reachable_fails_fault_backend_down() {
    let mut scenario = default_scenario();
    // echo_b goes to backend-a, so stopping backend-b cannot produce the error the check wants.
    scenario.runtime_config = scenario.runtime_config.replace("{{backend-b}}", "{{backend-a}}");
    let l = Local::start(scenario, binaries()).await;
    assert_failed(&l.check("fault-backend-down").await, "fault-backend-down");
    assert_passed(&l.check("log-bootstrap").await, "log-bootstrap");
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_without_metrics_fails_metrics_exposed() {
    let l = local().await;
    let mut restart = Restart::as_deployed();
    restart.values.insert("metrics.enabled".into(), json!(false));
    assert_eq!(l.target.restart(&restart).await.unwrap(), Started::Ready);
    assert_failed(&l.check("metrics-exposed").await, "metrics-exposed");
    assert_passed(&l.check("mcp-tools-call").await, "mcp-tools-call");
    l.stop().await;
}

/// Gateways that misbehave in one way: a shell wrapper around the real binary.
mod misbehaving {
    use super::*;

    async fn fails_under(script: &str, id: &str) {
        let (_dir, bins) = wrapped(script);
        let l = Local::start(default_scenario(), bins).await;
        assert_failed(&l.check(id).await, id);
        assert_passed(&l.check("log-bootstrap").await, "log-bootstrap");
        l.stop().await;
    }

    /// The token the default scenario deploys (the suite's token for its identity).
    fn deployed_token() -> String {
        format!(
            "Bearer {}",
            scenario::token("local.test", "com.example.mcp-gateway-1.0.0", "test", "initial")
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_that_starts_without_the_controller_anyway_fails_fault_controller_down_exit() {
        fails_under(
            "export SERVER_STARTONREGISTRYFAILURE=true\nexec \"$GATEWAY\" \"$@\"",
            "fault-controller-down-exit",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_that_exits_without_the_controller_fails_fault_controller_down_start() {
        fails_under(
            "export SERVER_STARTONREGISTRYFAILURE=false\nexec \"$GATEWAY\" \"$@\"",
            "fault-controller-down-start",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_that_loses_its_cache_fails_fault_config_server_down_cached() {
        fails_under(
            "rm -rf config-cache/*\nexec \"$GATEWAY\" \"$@\"",
            "fault-config-server-down-cached",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_with_a_stale_cache_fails_fault_config_server_down_uncached() {
        let script =
            "mkdir -p config-cache && printf 'stale.key: 1\\n' > config-cache/values.yml\nexec \"$GATEWAY\" \"$@\"";
        fails_under(script, "fault-config-server-down-uncached").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_that_ignores_the_secret_fails_wrong_token_and_rotation() {
        let (_dir, bins) = wrapped(&format!(
            "export LIGHT_PORTAL_AUTHORIZATION='{}'\nexec \"$GATEWAY\" \"$@\"",
            deployed_token()
        ));
        let l = Local::start(default_scenario(), bins).await;
        assert_failed(&l.check("fault-wrong-token").await, "fault-wrong-token");
        assert_failed(&l.check("security-token-rotation").await, "security-token-rotation");
        assert_passed(&l.check("log-bootstrap").await, "log-bootstrap");
        l.stop().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gateway_killed_hard_on_sigterm_fails_fault_sigterm_under_load() {
        let script = "\"$GATEWAY\" \"$@\" &\nchild=$!\ntrap 'kill -9 $child; exit 0' TERM\nwait $child";
        fails_under(script, "fault-sigterm-under-load").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pvc_cache_scenario_restarts_from_the_cache_while_config_server_is_down() {
    let root = crate::common::workspace();
    let scenario = light_gateway_conformance::scenario::Scenario::load(
        &root.join("chart"),
        &root.join("fixtures/values/pvc-cache.yaml"),
        &root.join("fixtures/runtime-config/default.yml"),
    )
    .unwrap();
    let l = Local::start(scenario, binaries()).await;
    let outcome = l.check("restart-cache").await;
    assert!(
        matches!(&outcome, light_gateway_conformance::outcome::Outcome::Passed { evidence } if evidence.starts_with("PVC")),
        "{outcome:?}"
    );
    l.stop().await;
}
