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
    ensure(pinned(&image), || {
        format!("image {image:?} is not pinned: use a sha256 digest or a version tag (1.2.3, v1.2.3-rc.1)")
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

/// A sha256 digest, or a tag that reads as a version (`1.2.3`, `v2.2.2`, `1.2.3-rc.1+b5`):
/// branch-like tags (`main`, `dev`, `stable`) move as `latest` does.
pub(super) fn pinned(image: &str) -> bool {
    if let Some((_, digest)) = image.split_once("@sha256:") {
        return digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let name = image.rsplit('/').next().unwrap_or_default();
    let Some((_, tag)) = name.split_once(':') else {
        return false;
    };
    let core = tag.strip_prefix('v').unwrap_or(tag);
    let (numbers, suffix) = match core.find(['-', '+']) {
        Some(i) => core.split_at(i),
        None => (core, ""),
    };
    !numbers.is_empty()
        && numbers
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b))
}
