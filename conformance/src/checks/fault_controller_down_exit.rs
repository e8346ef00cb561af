//! Controller down with startOnRegistryFailure false: the gateway exits non-zero.

use futures_util::FutureExt;
use serde_json::json;

use super::with_restore;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::{Restart, Started};

/// The check.
pub static CHECK: Check = Check {
    id: "fault-controller-down-exit",
    description: "With the controller refusing connections and startOnRegistryFailure false, the gateway exits non-zero instead of serving unregistered.",
    checklist: "Fault: controller down with startOnRegistryFailure false.",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().controller_admin;
    with_restore(ctx, async {
        peers::outage(&ctx.http, &admin, "refuse").await?;
        let mut restart = Restart::as_deployed();
        restart
            .values
            .insert("server.startOnRegistryFailure".into(), json!(false));
        let started = ctx.target.restart(&restart).await;
        peers::outage(&ctx.http, &admin, "off").await?;
        match started? {
            Started::Exited(code) => {
                ensure(code != Some(0), || "the gateway exited 0".into())?;
                Ok(format!("exited with {code:?} before ready"))
            }
            other => Err(Failure(format!("the gateway did not exit: {other:?}"))),
        }
    })
    .await
}
