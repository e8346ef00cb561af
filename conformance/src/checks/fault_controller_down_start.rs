//! Controller down with startOnRegistryFailure true: ready, and registered once it is back.

use futures_util::FutureExt;

use super::{current_record, has_milestone, ready, restart_while_controller_refuses, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "fault-controller-down-start",
    description: "With the controller refusing connections and startOnRegistryFailure true, the gateway becomes ready, then registers once the controller is back.",
    checklist: "Fault: controller down with startOnRegistryFailure true.",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    with_restore(ctx, async {
        let (started, logs) = restart_while_controller_refuses(ctx, true).await?;
        ready(started, "controller down, startOnRegistryFailure true")?;
        ensure(
            has_milestone(&logs, "registration_failed", "controller registration failed"),
            || "the failed registration is not logged".into(),
        )?;
        let record = current_record(ctx).await?;
        Ok(format!(
            "ready without the controller; registered once it was back ({})",
            record["runtimeInstanceId"]
        ))
    })
    .await
}
