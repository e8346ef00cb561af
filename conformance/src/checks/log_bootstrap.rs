//! The logs show a successful config-server bootstrap.

use futures_util::FutureExt;

use super::has_milestone;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "log-bootstrap",
    description: "The gateway's logs show config-server answered the bootstrap (config downloaded into the cache).",
    checklist: "Logs show successful config-server bootstrap.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let logs = ctx.target.gateway_logs().await?;
    let failed = has_milestone(&logs, "bootstrap_failed", "config-server bootstrap failed");
    ensure(!failed, || "the logs show a failed config-server bootstrap".into())?;
    ensure(
        has_milestone(&logs, "bootstrap_ok", "config-server bootstrap ok"),
        || "no 'config-server bootstrap ok' line in the gateway's logs".into(),
    )?;
    Ok("config-server bootstrap ok is logged".into())
}
