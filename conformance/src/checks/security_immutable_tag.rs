//! Immutable image tags; pull credentials from imagePullSecrets when set.

use futures_util::FutureExt;
use serde_json::Value;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "security-immutable-tag",
    description: "The gateway image is pinned by a version tag or digest (not latest), and imagePullSecrets given in values reach the pod.",
    checklist: "Use immutable image tags and image pull credentials from Kubernetes secrets when the registry is private.",
    profile: Profile::Security,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let pod = ctx.deployment.pod_spec()?;
    let image = pod.containers.first().and_then(|c| c.image.clone()).unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let pinned = image.contains("@sha256:")
        || last
            .split_once(':')
            .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest");
    ensure(pinned, || {
        format!("image {image:?} is not pinned to a version tag or digest")
    })?;
    let wanted: Vec<String> = ctx
        .deployment
        .values
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("name").or(Some(s)).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let given: Vec<String> = pod
        .image_pull_secrets
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect();
    for name in &wanted {
        ensure(given.contains(name), || {
            format!("imagePullSecret {name} is not in the pod spec")
        })?;
    }
    Ok(format!("image {image}; pull secrets {given:?}"))
}
