//! Only /app/config-cache (and /tmp) writable.

use futures_util::FutureExt;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// Paths that may be writable.
const WRITABLE: &[&str] = &["/app/config-cache", "/tmp"];

/// The check.
pub static CHECK: Check = Check {
    id: "security-only-cache-writable",
    description: "The root filesystem is read-only and the only writable mounts are /app/config-cache and /tmp.",
    checklist: "Make only /app/config-cache writable.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let pod = ctx.deployment.pod_spec()?;
    let container = pod.containers.first().ok_or_else(|| Failure("no container".into()))?;
    let read_only_root = container
        .security_context
        .as_ref()
        .and_then(|s| s.read_only_root_filesystem);
    ensure(read_only_root == Some(true), || {
        "readOnlyRootFilesystem is not true".into()
    })?;
    let mounts = container.volume_mounts.clone().unwrap_or_default();
    let writable: Vec<&str> = mounts
        .iter()
        .filter(|m| m.read_only != Some(true))
        .map(|m| m.mount_path.as_str())
        .collect();
    for path in &writable {
        ensure(WRITABLE.contains(path), || format!("{path} is mounted writable"))?;
    }
    ensure(writable.contains(&"/app/config-cache"), || {
        "/app/config-cache is not writable".into()
    })?;
    Ok(format!("read-only root; writable: {writable:?}"))
}
