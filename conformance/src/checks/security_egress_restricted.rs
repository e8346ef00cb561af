//! Egress limited to DNS, config-server, controller, token/key services and backends.

use futures_util::FutureExt;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::gateway_policy;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-egress-restricted",
    description: "The gateway's NetworkPolicy restricts Egress, and every egress rule names its peers and ports (no allow-all rule).",
    checklist: "Restrict egress traffic to config-server, controller, token/key services, and backend MCP servers.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let (policy, _): (NetworkPolicy, _) = gateway_policy(ctx.deployment)?;
    let spec = policy.spec.unwrap_or_default();
    ensure(
        spec.policy_types.unwrap_or_default().iter().any(|t| t == "Egress"),
        || "the NetworkPolicy does not restrict Egress".into(),
    )?;
    let rules = spec.egress.unwrap_or_default();
    ensure(!rules.is_empty(), || {
        "no egress rule: the gateway could not reach config-server or DNS".into()
    })?;
    for (i, rule) in rules.iter().enumerate() {
        ensure(rule.to.as_ref().is_some_and(|t| !t.is_empty()), || {
            format!("egress rule {i} allows every destination")
        })?;
        ensure(rule.ports.as_ref().is_some_and(|p| !p.is_empty()), || {
            format!("egress rule {i} allows every port")
        })?;
    }
    let ports: Vec<String> = rules
        .iter()
        .flat_map(|r| r.ports.clone().unwrap_or_default())
        .filter_map(|p| p.port.map(|port| format!("{port:?}")))
        .collect();
    Ok(format!(
        "{} egress rules, each with peers and ports ({})",
        rules.len(),
        ports.join(", ")
    ))
}
