//! /config is read-only.

use futures_util::FutureExt;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-config-read-only",
    description: "The bootstrap ConfigMap is mounted at /config read-only.",
    checklist: "Make /config read-only.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let pod = ctx.deployment.pod_spec()?;
    let mounts = pod
        .containers
        .first()
        .and_then(|c| c.volume_mounts.clone())
        .unwrap_or_default();
    let config = mounts
        .iter()
        .find(|m| m.mount_path == "/config")
        .ok_or_else(|| Failure("nothing is mounted at /config".into()))?;
    ensure(config.read_only == Some(true), || "/config is mounted writable".into())?;
    let volume = pod
        .volumes
        .unwrap_or_default()
        .into_iter()
        .find(|v| v.name == config.name);
    ensure(volume.as_ref().is_some_and(|v| v.config_map.is_some()), || {
        "/config is not the bootstrap ConfigMap".into()
    })?;
    Ok(format!("/config is volume {} (ConfigMap), read-only", config.name))
}
