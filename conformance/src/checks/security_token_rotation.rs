//! Rotating LIGHT_PORTAL_AUTHORIZATION rolls the pods, and the new token is the one the peers see.

use futures_util::FutureExt;
use serde_json::{Value, json};

use super::{ready, with_restore};
use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;
use crate::platform::Restart;
use crate::scenario;

/// The check.
pub static CHECK: Check = Check {
    id: "security-token-rotation",
    description: "A new token in the Secret changes the pod template (checksum), and after the restart config-server and the controller see the new token.",
    checklist: "Rotate LIGHT_PORTAL_AUTHORIZATION through the customer secret process.",
    profile: Profile::Security,
    features: &[Feature::ChartSecret],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

fn pod_annotations(d: &crate::deployment::Deployment) -> Result<Value, Failure> {
    let template = d.pod_template()?;
    Ok(serde_json::to_value(template.metadata.and_then(|m| m.annotations))?)
}

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let id = &ctx.deployment.identity;
    let jti = format!("rotated-{}", uuid::Uuid::new_v4());
    let rotated = format!(
        "Bearer {}",
        scenario::token(&id.host, &id.service_id, &id.env_tag, &jti)
    );
    let mut values = ctx.deployment.values.clone();
    scenario::merge(&mut values, &json!({"secret": {"portalAuthorization": rotated}}));
    let rerendered = ctx
        .renderer
        .render(&ctx.scenario.chart, &values, &ctx.deployment.release)?;
    let rerendered = crate::deployment::Deployment::new(ctx.deployment.release.clone(), values, rerendered)?;
    ensure(
        pod_annotations(ctx.deployment)? != pod_annotations(&rerendered)?,
        || "the pod template does not change when the token does: pods would keep the old token".into(),
    )?;
    with_restore(ctx, async {
        let mut restart = Restart::as_deployed();
        restart.env = vec![("LIGHT_PORTAL_AUTHORIZATION".to_string(), rotated.clone())];
        ready(ctx.target.restart(&restart).await?, "restart with the rotated token")?;
        let endpoints = ctx.target.endpoints();
        let requests = peers::config_requests(&ctx.http, &endpoints.config_server_admin).await?;
        let last = requests
            .iter()
            .rev()
            .find(|r| r["path"] == "/config-server/configs")
            .ok_or_else(|| Failure("config-server saw no configs request".into()))?;
        ensure(
            peers::recorded_header(last, "authorization") == Some(rotated.as_str()),
            || "config-server did not see the rotated token".into(),
        )?;
        let record = super::current_record(ctx).await?;
        ensure(record["jwtClaims"]["jti"] == jti.as_str(), || {
            format!(
                "the controller saw token {} not the rotated one",
                record["jwtClaims"]["jti"]
            )
        })?;
        Ok("the pod template checksum changed; config-server and the controller saw the rotated token".into())
    })
    .await
}
