//! Config-server down, cache present: the gateway starts from the cache.

use futures_util::FutureExt;

use super::{restart_while_config_server_refuses, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::platform::Cache;

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
    with_restore(ctx, async {
        let logs = restart_while_config_server_refuses(ctx, Cache::Keep, "config-server down, cache kept").await?;
        ensure(logs.contains("config-cache/values.yml"), || {
            "the log does not name config-cache/values.yml as the fallback".into()
        })?;
        Ok("ready from config-cache/values.yml while config-server refused connections".into())
    })
    .await
}
