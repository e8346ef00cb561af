//! A wrong token: config-server answers 403 and the gateway says so.

use futures_util::FutureExt;

use super::{milestone_lines, with_restore};
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::{Restart, Started};
use crate::scenario;

/// The check.
pub static CHECK: Check = Check {
    id: "fault-wrong-token",
    description: "With a token for another service, config-server answers 403 and the gateway's logs report the 403.",
    checklist: "Fault: wrong token (403 from config-server).",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let id = &ctx.deployment.identity;
    let wrong = format!(
        "Bearer {}",
        scenario::token(&id.host, "com.example.some-other-service-9.9.9", &id.env_tag, "wrong")
    );
    let admin = ctx.target.endpoints().config_server_admin;
    with_restore(ctx, async {
        let before = peers::config_requests(&ctx.http, &admin).await?.len();
        let mut restart = Restart::as_deployed();
        restart.env = vec![("LIGHT_PORTAL_AUTHORIZATION".into(), wrong)];
        let started = ctx.target.restart(&restart).await?;
        let requests = peers::config_requests(&ctx.http, &admin).await?;
        let refused = requests
            .iter()
            .skip(before)
            .any(|r| r["path"] == "/config-server/configs" && r["status"] == 403);
        ensure(refused, || "config-server did not answer 403 to the wrong token".into())?;
        judge(started, &ctx.target.gateway_logs().await?)
    })
    .await
}

/// The bootstrap-failed milestone must carry the 403, and the start must end the documented
/// way: ready on the cache or bootstrap config, or an exit of the gateway's own with a non-zero
/// code (the controller refuses the same token, and startOnRegistryFailure may be false), never
/// stuck unready or killed.
pub(super) fn judge(started: Started, logs: &str) -> Result<String, Failure> {
    let line = milestone_lines(logs, "bootstrap_failed", "config-server bootstrap failed")
        .find(|l| l.contains("403"))
        .ok_or_else(|| Failure("no config-server bootstrap failed line names the 403".into()))?;
    let ended = match started {
        Started::Ready => "became ready without the downloaded config".to_string(),
        Started::Exited(Some(code)) if code != 0 => format!("exited with code {code}"),
        other => return Err(Failure(format!("the start with a wrong token ended {other:?}"))),
    };
    Ok(format!(
        "config-server answered 403; the gateway logged it ({}) and {ended}",
        line.trim()
    ))
}
