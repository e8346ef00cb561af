//! Config-server down, no cache: the gateway starts on its bootstrap config and says so.

use futures_util::FutureExt;

use super::{restart_while_config_server_refuses, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::platform::Cache;

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
    with_restore(ctx, async {
        let logs = restart_while_config_server_refuses(ctx, Cache::Empty, "config-server down, empty cache").await?;
        ensure(logs.contains("no cached values"), || {
            "the log does not say that no cached values were used".into()
        })?;
        Ok("ready on bootstrap config; the log says no cached values were used".into())
    })
    .await
}
