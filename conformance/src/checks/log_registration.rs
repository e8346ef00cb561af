//! The logs show a successful controller registration.

use futures_util::FutureExt;

use super::has_milestone;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "log-registration",
    description: "The gateway's logs show the controller acknowledged its registration.",
    checklist: "Logs show successful controller registration.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let logs = ctx.target.gateway_logs().await?;
    let line = logs
        .lines()
        .find(|l| has_milestone(l, "registered", "controller registered"));
    ensure(line.is_some(), || {
        "no 'controller registered' line in the gateway's logs".into()
    })?;
    Ok("controller registered is logged".into())
}
