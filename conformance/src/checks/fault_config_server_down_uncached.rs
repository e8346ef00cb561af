//! Config-server down, no cache: the gateway starts on its bootstrap config and says so.

use futures_util::FutureExt;

use super::{has_milestone, ready, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::{Cache, Restart};

/// The check.
pub static CHECK: Check = Check {
    id: "fault-config-server-down-uncached",
    description: "With config-server refusing connections and an empty cache, the gateway starts on its bootstrap config (as upstream does) and logs that no cached values were used.",
    checklist: "Fault: config-server down without cache behaves as documented.",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().config_server_admin;
    with_restore(ctx, async {
        peers::outage(&ctx.http, &admin, "refuse").await?;
        let started = ctx
            .target
            .restart(&Restart {
                cache: Cache::Empty,
                ..Restart::as_deployed()
            })
            .await;
        peers::outage(&ctx.http, &admin, "off").await?;
        ready(started?, "config-server down, empty cache")?;
        let logs = ctx.target.gateway_logs().await?;
        ensure(
            has_milestone(&logs, "bootstrap_failed", "config-server bootstrap failed"),
            || "the failed bootstrap is not logged".into(),
        )?;
        ensure(logs.contains("no cached values"), || {
            "the log does not say that no cached values were used".into()
        })?;
        Ok("ready on bootstrap config; the log says no cached values were used".into())
    })
    .await
}
