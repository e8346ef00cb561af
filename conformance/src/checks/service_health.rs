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
    let mut url = ctx
        .target
        .endpoints()
        .service
        .ok_or_else(|| Failure("the target gave no Service URL".into()))?;
    url.set_path("/health");
    ctx.timeouts
        .converge(|| async {
            let response = ctx.http.get(url.clone()).send().await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            ensure(status == 200 && body == "ok", || {
                format!("{url} answered {status} {body:?}")
            })
        })
        .await?;
    Ok(format!(
        "{url} answered 200 ok {} times in a row",
        ctx.timeouts.consecutive
    ))
}
