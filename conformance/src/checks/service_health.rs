//! The Service answers /health.

use futures_util::FutureExt;

use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "service-health",
    description: "The gateway's Service answers GET /health with 200 ok, 3 times in a row.",
    checklist: "The Service responds on /health.",
    profile: Profile::Validation,
    features: &[Feature::Service],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    ctx.timeouts
        .converge(|| async {
            let (status, body) = ctx.target.service_get("/health").await?;
            ensure(status == 200 && body == "ok", || {
                format!("the Service answered {status} {body:?}")
            })
        })
        .await?;
    Ok(format!(
        "the Service answered /health 200 ok {} times in a row",
        ctx.timeouts.consecutive
    ))
}
