//! Pods are Ready and their restart counts stay unchanged over a window.

use futures_util::FutureExt;

use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::Failure;

/// The check.
pub static CHECK: Check = Check {
    id: "pods-ready",
    description: "Every gateway pod is Ready and no container restarts during the stability window.",
    checklist: "Pods are ready and restart count is stable.",
    profile: Profile::Validation,
    features: &[Feature::Kubernetes],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    Ok(ctx.target.pods_stable(ctx.timeouts.stability_window).await?)
}
