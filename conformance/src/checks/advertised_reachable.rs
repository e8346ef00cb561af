//! The advertised address answers /health from where the controller runs.

use futures_util::FutureExt;
use serde_json::json;

use super::current_record;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;

/// The check.
pub static CHECK: Check = Check {
    id: "advertised-reachable",
    description: "The controller dials the registered address and port and gets /health 200 ok.",
    checklist: "server.advertisedAddress is reachable from the controller.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let record = current_record(ctx).await?;
    let controller = ctx.target.endpoints().controller_admin;
    let probe = peers::post_json(
        &ctx.http,
        &controller,
        "/__admin/probe",
        json!({"runtimeInstanceId": record["runtimeInstanceId"]}),
    )
    .await?;
    ensure(probe["status"] == 200 && probe["body"] == "ok", || {
        format!("the controller's probe of {} got {probe}", probe["url"])
    })?;
    Ok(format!("controller probe of {} answered 200 ok", probe["url"]))
}
