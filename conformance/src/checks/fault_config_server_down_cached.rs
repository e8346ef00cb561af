//! Config-server down, cache present: the gateway starts from the cache.

use futures_util::FutureExt;

use super::{has_milestone, ready, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::{Cache, Restart};

/// The check.
pub static CHECK: Check = Check {
    id: "fault-config-server-down-cached",
    description: "With config-server refusing connections and the last download in the cache, a restarted gateway becomes ready and names the cache as its fallback.",
    checklist: "If config-server is unavailable and /app/config-cache/values.yml exists, the runtime can continue from cached config.",
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
                cache: Cache::Keep,
                ..Restart::as_deployed()
            })
            .await;
        peers::outage(&ctx.http, &admin, "off").await?;
        ready(started?, "config-server down, cache kept")?;
        let logs = ctx.target.gateway_logs().await?;
        ensure(
            has_milestone(&logs, "bootstrap_failed", "config-server bootstrap failed"),
            || "the failed bootstrap is not logged".into(),
        )?;
        ensure(logs.contains("config-cache/values.yml"), || {
            "the log does not name config-cache/values.yml as the fallback".into()
        })?;
        Ok("ready from config-cache/values.yml while config-server refused connections".into())
    })
    .await
}
