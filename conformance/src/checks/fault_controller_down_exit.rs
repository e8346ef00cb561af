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
        judge(restart_while_controller_refuses(ctx, false).await?.0)
    })
    .await
}

/// The gateway must have exited by itself with a non-zero code: killed by a signal (a liveness
/// kill, the OOM killer) is not the refusal the checklist line asks for.
pub(super) fn judge(started: Started) -> Result<String, Failure> {
    match started {
        Started::Exited(Some(code)) => {
            ensure(code != 0, || "the gateway exited 0".into())?;
            Ok(format!("exited with code {code} before ready"))
        }
        Started::Exited(None) => Err(Failure(
            "the gateway was killed by a signal before ready, it did not exit by itself".into(),
        )),
        other => Err(Failure(format!("the gateway did not exit: {other:?}"))),
    }
}
