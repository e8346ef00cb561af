//! Customer CA trust and hostname verification on.

use futures_util::FutureExt;
use serde_json::Value;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-ca-trust",
    description: "client.verifyHostname is true, and when a CA bundle is shipped the gateway is told to trust it.",
    checklist: "Use customer CA trust and keep client.verifyHostname: true in production.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let values = &ctx.deployment.bootstrap_values;
    let verify = values
        .get("client.verifyHostname")
        .cloned()
        .unwrap_or(Value::Bool(true));
    ensure(verify == Value::Bool(true), || {
        format!("client.verifyHostname is {verify}")
    })?;
    let has_ca = ctx.deployment.config_files.iter().any(|(name, _)| name == "ca.pem");
    if !has_ca {
        return Ok("verifyHostname on; no customer CA shipped (system roots only)".into());
    }
    for key in ["client.caCertPath", "startup.bootstrapCaCertPath"] {
        let path = values.get(key).and_then(Value::as_str).unwrap_or_default();
        ensure(path.ends_with("ca.pem"), || {
            format!("ca.pem is shipped but {key} is {path:?}")
        })?;
    }
    Ok("verifyHostname on; ca.pem shipped and trusted by client.caCertPath and startup.bootstrapCaCertPath".into())
}
