//! Controller down with startOnRegistryFailure false: the gateway exits non-zero.

use futures_util::FutureExt;

use super::{restart_while_controller_refuses, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::platform::Started;

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
    with_restore(ctx, async {
        match restart_while_controller_refuses(ctx, false).await?.0 {
            Started::Exited(code) => {
                ensure(code != Some(0), || "the gateway exited 0".into())?;
                Ok(format!("exited with {code:?} before ready"))
            }
            other => Err(Failure(format!("the gateway did not exit: {other:?}"))),
        }
    })
    .await
}
