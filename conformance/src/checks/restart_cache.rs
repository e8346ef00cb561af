//! A pod restart starts cleanly under the selected cache policy.

use futures_util::FutureExt;
use serde_json::Value;

use super::{has_milestone, ready, with_restore};
use crate::check::{Check, Context, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::Restart;

/// The check.
pub static CHECK: Check = Check {
    id: "restart-cache",
    description: "emptyDir: a restarted gateway downloads its config afresh; PVC: it starts from the cache while config-server is down.",
    checklist: "A pod restart still starts cleanly with the selected cache policy.",
    profile: Profile::Validation,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let pvc = ctx.deployment.values.pointer("/cache/type").and_then(Value::as_str) == Some("pvc");
    with_restore(ctx, async {
        if pvc {
            from_cache(ctx).await
        } else {
            fresh_download(ctx).await
        }
    })
    .await
}

async fn fresh_download(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().config_server_admin;
    let before = peers::config_requests(&ctx.http, &admin).await?.len();
    ready(
        ctx.target.restart(&Restart::as_deployed()).await?,
        "restart with an emptyDir cache",
    )?;
    let requests = peers::config_requests(&ctx.http, &admin).await?;
    let fresh = requests
        .iter()
        .skip(before)
        .any(|r| r["path"] == "/config-server/configs" && r["status"] == 200);
    ensure(fresh, || {
        "config-server saw no successful configs download after the restart".into()
    })?;
    let logs = ctx.target.gateway_logs().await?;
    ensure(
        has_milestone(&logs, "bootstrap_ok", "config-server bootstrap ok"),
        || "the restarted gateway did not log a bootstrap".into(),
    )?;
    Ok("emptyDir: the restarted gateway downloaded its config afresh".into())
}

async fn from_cache(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().config_server_admin;
    peers::outage(&ctx.http, &admin, "refuse").await?;
    let started = ctx.target.restart(&Restart::as_deployed()).await;
    let tools = match &started {
        Ok(crate::platform::Started::Ready) => tool_count(ctx).await,
        _ => Ok(0),
    };
    peers::outage(&ctx.http, &admin, "off").await?;
    ready(started?, "restart on a PVC cache with config-server down")?;
    let tools = tools?;
    let logs = ctx.target.gateway_logs().await?;
    ensure(logs.contains("config-cache"), || {
        "the restarted gateway did not say it fell back to config-cache".into()
    })?;
    ensure(tools > 0, || {
        "the gateway offers no tools: the runtime config did not come from the cache".into()
    })?;
    Ok(format!(
        "PVC: started from the cache with config-server down ({tools} tools served)"
    ))
}

async fn tool_count(ctx: &Context<'_>) -> Result<usize, Failure> {
    let token = super::bearer(ctx).await?;
    let client = mcp::connect(&ctx.target.endpoints().mcp(), Era::Stateless, token.as_deref()).await?;
    let names = client.tool_names().await;
    client.close().await;
    Ok(names?.len())
}
