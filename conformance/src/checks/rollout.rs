//! `kubectl rollout status` succeeds.

use futures_util::FutureExt;

use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::Failure;

/// The check.
pub static CHECK: Check = Check {
    id: "rollout",
    description: "The gateway Deployment's rollout completes: observedGeneration current, updated == available == desired.",
    checklist: "kubectl -n light-gateway rollout status deploy/ai-microgateway succeeds.",
    profile: Profile::Validation,
    features: &[Feature::Kubernetes],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    Ok(ctx.target.rollout_status().await?)
}
