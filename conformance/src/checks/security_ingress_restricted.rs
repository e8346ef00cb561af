//! Ingress limited to the gateway ports.

use futures_util::FutureExt;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::gateway_policy;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-ingress-restricted",
    description: "A NetworkPolicy selecting the gateway pods admits traffic only to the gateway's container ports.",
    checklist: "Restrict ingress traffic to required gateway ports.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let (policy, ports): (NetworkPolicy, Vec<(i32, String)>) = gateway_policy(ctx.deployment)?;
    let spec = policy.spec.unwrap_or_default();
    let types = spec.policy_types.unwrap_or_default();
    ensure(types.iter().any(|t| t == "Ingress"), || {
        "the NetworkPolicy does not restrict Ingress".into()
    })?;
    let rules = spec.ingress.unwrap_or_default();
    for rule in &rules {
        let allowed = rule.ports.clone().unwrap_or_default();
        ensure(!allowed.is_empty(), || "an ingress rule admits every port".into())?;
        for port in allowed.iter().filter_map(|p| p.port.clone()) {
            let known = match &port {
                IntOrString::Int(n) => ports.iter().any(|(p, _)| p == n),
                IntOrString::String(name) => ports.iter().any(|(_, n)| n == name),
            };
            ensure(known, || {
                format!("an ingress rule admits port {port:?}, which is not a gateway port")
            })?;
        }
    }
    Ok(format!("{} ingress rule(s), gateway ports only {ports:?}", rules.len()))
}
