//! Signing keys rotate without a restart: after the key service publishes a new key and retires
//! the old one, a token of the new key is accepted and one of the retired key refused, and the
//! gateway did not start again.

use futures_util::FutureExt;
use serde_json::json;

use super::security_mcp_auth_required::list;
use super::{auth, claims, has_milestone};
use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;

/// The check.
pub static CHECK: Check = Check {
    id: "security-key-rotation",
    description: "After the key service rotates its signing key, a token of the new key is accepted and one of the retired key refused, without a gateway restart.",
    checklist: "Token and key services: a rotated signing key is picked up without a restart.",
    profile: Profile::Security,
    features: &[Feature::ProtectedMcp],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

fn ready_lines(logs: &str) -> usize {
    logs.lines().filter(|l| has_milestone(l, "ready", "ready")).count()
}

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().key_service_admin;
    let body = json!({"claims": claims("conformance-rotation", auth::OPERATOR)});
    let old = peers::mint_token(&ctx.http, &admin, body.clone()).await?;
    let (status, _) = list(ctx, Some(&old)).await?;
    ensure(status == 200, || {
        format!("a token of the current key was answered {status} before the rotation")
    })?;
    let starts = ready_lines(&ctx.target.gateway_logs().await?);
    let kid = peers::rotate_key(&ctx.http, &admin, "ES256").await?;
    let mut with_kid = body;
    with_kid["kid"] = json!(kid);
    let new = peers::mint_token(&ctx.http, &admin, with_kid).await?;
    // Unknown kids fetch the keys at most every few seconds: allow the convergence window.
    ctx.timeouts
        .eventually(|| async {
            let (status, challenge) = list(ctx, Some(&new)).await?;
            ensure(status == 200, || {
                format!("a token of the new key {kid} is answered {status} ({challenge})")
            })
        })
        .await?;
    let (status, challenge) = list(ctx, Some(&old)).await?;
    ensure(status == 401, || {
        format!("a token of the retired key was answered {status} ({challenge}) after the rotation, not 401")
    })?;
    let after = ready_lines(&ctx.target.gateway_logs().await?);
    ensure(after == starts, || {
        format!("the gateway started again during the rotation ({starts} ready lines before, {after} after)")
    })?;
    Ok(format!(
        "new key {kid}: accepted; retired key: 401; no restart ({after} ready line(s) throughout)"
    ))
}
