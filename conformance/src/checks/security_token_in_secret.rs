//! Bearer tokens only in a Secret.

use futures_util::FutureExt;
use k8s_openapi::api::core::v1::ConfigMap;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-token-in-secret",
    description: "The token reaches the gateway from a Secret (secretKeyRef) and appears in no ConfigMap or literal env value.",
    checklist: "Keep bearer tokens in Kubernetes Secret, not ConfigMap.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let d = ctx.deployment;
    let secrets = d.secrets();
    let maps: Vec<ConfigMap> = d.rendered.all("ConfigMap")?;
    for map in &maps {
        let text = serde_json::to_string(&map.data)?;
        let leaked = secrets.iter().any(|s| text.contains(s.as_str())) || text.to_ascii_lowercase().contains("bearer ");
        let name = map.metadata.name.clone().unwrap_or_default();
        ensure(!leaked, || format!("ConfigMap {name} holds a bearer token"))?;
    }
    let container = d
        .pod_spec()?
        .containers
        .into_iter()
        .next()
        .ok_or_else(|| Failure("no container".into()))?;
    let env = container.env.unwrap_or_default();
    let var = env
        .iter()
        .find(|v| v.name == "LIGHT_PORTAL_AUTHORIZATION")
        .ok_or_else(|| Failure("no LIGHT_PORTAL_AUTHORIZATION env".into()))?;
    ensure(var.value.is_none(), || {
        "LIGHT_PORTAL_AUTHORIZATION is a literal env value".into()
    })?;
    let from_secret = var
        .value_from
        .as_ref()
        .and_then(|f| f.secret_key_ref.as_ref())
        .map(|r| r.name.clone());
    ensure(from_secret.is_some(), || {
        "LIGHT_PORTAL_AUTHORIZATION does not come from a Secret".into()
    })?;
    Ok(format!(
        "LIGHT_PORTAL_AUTHORIZATION from Secret {}; no ConfigMap holds it",
        from_secret.unwrap_or_default()
    ))
}
