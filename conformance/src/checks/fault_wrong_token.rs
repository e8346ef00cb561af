//! A wrong token: config-server answers 403 and the gateway says so.

use futures_util::FutureExt;

use super::with_restore;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::Restart;
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
        let _ = ctx.target.restart(&restart).await?;
        let requests = peers::config_requests(&ctx.http, &admin).await?;
        let refused = requests
            .iter()
            .skip(before)
            .any(|r| r["path"] == "/config-server/configs" && r["status"] == 403);
        ensure(refused, || "config-server did not answer 403 to the wrong token".into())?;
        let logs = ctx.target.gateway_logs().await?;
        ensure(logs.contains("403"), || {
            "the gateway's logs do not mention the 403".into()
        })?;
        Ok("config-server answered 403 and the gateway logged it".into())
    })
    .await
}
