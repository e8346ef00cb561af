//! Every check, one file each, registered in [`ALL`]. Helpers shared by several checks live
//! here; a test keeps the registry and the files in step.

use serde_json::Value;

use crate::check::{Check, Context};
use crate::mcp::strict::StrictClient;
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::{Restart, Started};

mod advertised_reachable;
mod config_reload;
mod controller_record;
mod controller_runtime_tools;
mod fault_backend_down;
mod fault_config_server_down_cached;
mod fault_config_server_down_uncached;
mod fault_controller_down_exit;
mod fault_controller_down_start;
mod fault_sigterm_under_load;
mod fault_wrong_token;
mod log_bootstrap;
mod log_registration;
mod mcp_tools_call;
mod mcp_tools_list;
mod metrics_exposed;
mod pods_ready;
mod probes;
mod restart_cache;
mod rollout;
mod security_ca_trust;
mod security_config_read_only;
mod security_egress_restricted;
mod security_immutable_tag;
mod security_ingress_restricted;
mod security_key_rotation;
mod security_mcp_auth_required;
mod security_mcp_tool_access;
mod security_non_root;
mod security_only_cache_writable;
mod security_runtime_filesystem;
mod security_runtime_user;
mod security_token_in_secret;
mod security_token_rotation;
mod service_health;

/// The checks, in the order they run (disruptive ones are moved last by the runner).
pub static ALL: &[&Check] = &[
    &rollout::CHECK,
    &pods_ready::CHECK,
    &probes::CHECK,
    &log_bootstrap::CHECK,
    &log_registration::CHECK,
    &controller_record::CHECK,
    &controller_runtime_tools::CHECK,
    &advertised_reachable::CHECK,
    &service_health::CHECK,
    &mcp_tools_list::CHECK,
    &mcp_tools_call::CHECK,
    &metrics_exposed::CHECK,
    &config_reload::CHECK,
    &restart_cache::CHECK,
    &security_token_in_secret::CHECK,
    &security_ca_trust::CHECK,
    &security_immutable_tag::CHECK,
    &security_non_root::CHECK,
    &security_config_read_only::CHECK,
    &security_only_cache_writable::CHECK,
    &security_runtime_user::CHECK,
    &security_runtime_filesystem::CHECK,
    &security_ingress_restricted::CHECK,
    &security_egress_restricted::CHECK,
    &security_token_rotation::CHECK,
    &security_mcp_auth_required::CHECK,
    &security_mcp_tool_access::CHECK,
    &security_key_rotation::CHECK,
    &fault_config_server_down_cached::CHECK,
    &fault_config_server_down_uncached::CHECK,
    &fault_controller_down_start::CHECK,
    &fault_controller_down_exit::CHECK,
    &fault_wrong_token::CHECK,
    &fault_backend_down::CHECK,
    &fault_sigterm_under_load::CHECK,
];

/// The tools the suite's runtime config defines (fixtures/runtime-config/default.yml).
pub mod tools {
    /// Echo on backend-a (legacy sessions).
    pub const ECHO_A: &str = "echo";
    /// Echo on backend-b (stateless).
    pub const ECHO_B: &str = "echo_b";
    /// Sleeps `ms` on backend-a.
    pub const SLOW: &str = "slow";
    /// The backend instances.
    pub const INSTANCES: [&str; 2] = ["backend-a", "backend-b"];
    /// What tools/list must offer, whichever client asks.
    pub const LISTED: [&str; 3] = [ECHO_A, ECHO_B, SLOW];
    /// Which instance must answer a tools/call of each echo, whichever client calls.
    pub const ROUTED: [(&str, &str); 2] = [(ECHO_A, INSTANCES[0]), (ECHO_B, INSTANCES[1])];

    /// The arguments the MCP checks call echo with.
    pub fn echo_arguments() -> serde_json::Value {
        serde_json::json!({"probe": "conformance"})
    }
}

/// What the auth scenario's runtime config (fixtures/runtime-config/auth.yml) expects of tokens.
pub mod auth {
    /// `security.issuer`.
    pub const ISSUER: &str = "https://auth.conformance.test";
    /// `security.audience`.
    pub const AUDIENCE: &str = "light-gateway-conformance";
    /// May call every tool: the role of the token the other checks call with.
    pub const OPERATOR: &str = "operator";
    /// May call only [`TELLER_TOOLS`].
    pub const TELLER: &str = "teller";
    /// What a teller may call.
    pub const TELLER_TOOLS: [&str; 2] = ["echo", "echo_b"];
    /// What a teller may not call.
    pub const DENIED_TO_TELLER: [&str; 2] = ["add", "slow"];
}

/// Claims of a token the auth scenario accepts, for `sub` with `role`.
pub fn claims(sub: &str, role: &str) -> Value {
    serde_json::json!({"iss": auth::ISSUER, "aud": auth::AUDIENCE, "sub": sub, "role": role})
}

/// The bearer token MCP calls carry: none when the scenario leaves MCP open, else a fresh
/// operator token from the key service (every tool callable).
pub async fn bearer(ctx: &Context<'_>) -> Result<Option<String>, Failure> {
    if !ctx.scenario.protects_mcp() {
        return Ok(None);
    }
    let admin = ctx.target.endpoints().key_service_admin;
    let body = serde_json::json!({"claims": claims("conformance-suite", auth::OPERATOR)});
    peers::mint_token(&ctx.http, &admin, body).await.map(Some)
}

/// The strict MCP client the runner probed. Checks that use it declare
/// [`crate::check::Feature::StrictMcpClient`], so the runner has already skipped them where it
/// is missing; this fails rather than passing on rmcp alone.
pub async fn strict_client() -> Result<&'static StrictClient, Failure> {
    crate::mcp::strict::shared()
        .await
        .as_ref()
        .map_err(|e| Failure(format!("the strict MCP client is missing: {e}")))
}

/// Milestone lines, in the forms a gateway may print them: our `event` field (text or JSON)
/// or the message. Upstream's own wording can be added here.
pub fn has_milestone(logs: &str, event: &str, message: &str) -> bool {
    milestone_lines(logs, event, message).next().is_some()
}

/// The log lines of a milestone (see [`has_milestone`]), to judge what they say.
pub fn milestone_lines<'a>(logs: &'a str, event: &'a str, message: &'a str) -> impl Iterator<Item = &'a str> {
    let text = format!("event=\"{event}\"");
    let json = format!("\"event\":\"{event}\"");
    logs.lines()
        .filter(move |l| l.contains(&text) || l.contains(&json) || l.contains(message))
}

/// Restarts the gateway as deployed (original values and env) and requires it ready: every
/// disruptive check ends with this, so the next check finds the deployment as it was.
pub async fn restore(ctx: &Context<'_>) -> Result<(), Failure> {
    match ctx.target.restart(&Restart::reset()).await? {
        Started::Ready => Ok(()),
        other => Err(Failure(format!(
            "the gateway did not come back after the check: {other:?}"
        ))),
    }
}

/// Runs `body`, then [`restore`] whatever `body` returned; `body`'s failure wins.
pub async fn with_restore<F>(ctx: &Context<'_>, body: F) -> Result<String, Failure>
where
    F: std::future::Future<Output = Result<String, Failure>>,
{
    let result = body.await;
    let restored = restore(ctx).await;
    let evidence = result?;
    restored?;
    Ok(evidence)
}

/// Restarts the gateway with `cache` while config-server refuses connections, requires it ready
/// and its failed bootstrap logged, and returns its logs (the fault checks judge what they say).
pub async fn restart_while_config_server_refuses(
    ctx: &Context<'_>,
    cache: crate::platform::Cache,
    what: &str,
) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().config_server_admin;
    peers::outage(&ctx.http, &admin, "refuse").await?;
    let started = ctx
        .target
        .restart(&Restart {
            cache,
            ..Restart::as_deployed()
        })
        .await;
    peers::outage(&ctx.http, &admin, "off").await?;
    ready(started?, what)?;
    let logs = ctx.target.gateway_logs().await?;
    ensure(
        has_milestone(&logs, "bootstrap_failed", "config-server bootstrap failed"),
        || "the failed bootstrap is not logged".into(),
    )?;
    Ok(logs)
}

/// Restarts the gateway with `server.startOnRegistryFailure` set while the controller refuses
/// connections; returns how it started and its logs from then (read before the controller is
/// back, so a later registration cannot hide the failed one).
pub async fn restart_while_controller_refuses(
    ctx: &Context<'_>,
    start_on_registry_failure: bool,
) -> Result<(Started, String), Failure> {
    let admin = ctx.target.endpoints().controller_admin;
    peers::outage(&ctx.http, &admin, "refuse").await?;
    let mut restart = Restart::as_deployed();
    restart.values.insert(
        "server.startOnRegistryFailure".into(),
        Value::Bool(start_on_registry_failure),
    );
    let started = ctx.target.restart(&restart).await;
    let logs = ctx.target.gateway_logs().await.map_err(Failure::from);
    peers::outage(&ctx.http, &admin, "off").await?;
    Ok((started?, logs?))
}

/// The JSON-RPC error code of an answer, if it is an error.
pub fn error_code(answer: &Value) -> Option<i64> {
    answer.pointer("/error/code").and_then(Value::as_i64)
}

/// Requires the gateway to have started ready.
pub fn ready(started: Started, what: &str) -> Result<(), Failure> {
    match started {
        Started::Ready => Ok(()),
        other => Err(Failure(format!("{what}: the gateway did not become ready ({other:?})"))),
    }
}

/// The controller's newest connected record of the deployment, eventually.
pub async fn current_record(ctx: &Context<'_>) -> Result<Value, Failure> {
    let controller = ctx.target.endpoints().controller_admin;
    let sid = ctx.deployment.identity.service_id.clone();
    ctx.timeouts
        .eventually(|| async {
            let records = peers::registrations(&ctx.http, &controller).await?;
            peers::newest_connected(&records, &sid)
                .cloned()
                .ok_or_else(|| Failure(format!("no connected registration of {sid} at the controller")))
        })
        .await
}

#[cfg(test)]
mod tests;

/// The NetworkPolicy selecting the gateway pods, and the gateway's container ports.
pub fn gateway_policy(
    deployment: &crate::deployment::Deployment,
) -> Result<(k8s_openapi::api::networking::v1::NetworkPolicy, Vec<(i32, String)>), Failure> {
    let template = deployment.pod_template()?;
    let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
    let ports: Vec<(i32, String)> = template
        .spec
        .and_then(|p| p.containers.into_iter().next())
        .and_then(|c| c.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.container_port, p.name.unwrap_or_default()))
        .collect();
    let policies: Vec<k8s_openapi::api::networking::v1::NetworkPolicy> = deployment.rendered.all("NetworkPolicy")?;
    let policy = policies.into_iter().find(|p| {
        let selector = p
            .spec
            .as_ref()
            .and_then(|s| s.pod_selector.clone())
            .and_then(|s| s.match_labels)
            .unwrap_or_default();
        selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    });
    let policy = policy
        .ok_or_else(|| Failure("no NetworkPolicy selects the gateway pods (networkPolicy.enabled is false?)".into()))?;
    Ok((policy, ports))
}
