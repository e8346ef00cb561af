//! The controller reaches the gateway's runtime tools over the registry session: `tools/list`
//! offers them, and `get_service_info` names the registered service and shows no token.

use futures_util::FutureExt;
use serde_json::{Value, json};

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "controller-runtime-tools",
    description: "Over the registry session, the controller's tools/list lists the runtime tools (get_service_info, get_modules, reload_modules) and get_service_info names the gateway's serviceId with the portal token masked and shown nowhere.",
    checklist: "Normal route, policy, and backend changes should go through config-server and controller reload flows (the controller reaches the gateway's runtime tools).",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

/// The runtime tools a gateway must offer for the reload flow.
pub const REQUIRED: [&str; 3] = ["get_service_info", "get_modules", "reload_modules"];

/// Sends `method` with `params` to the deployment's gateway through the controller's
/// `/__admin/call`; the JSON-RPC `result` of its answer.
pub async fn runtime_call(ctx: &Context<'_>, method: &str, params: Value, wait_ms: u64) -> Result<Value, Failure> {
    let controller = ctx.target.endpoints().controller_admin;
    let body = json!({
        "method": method,
        "params": params,
        "serviceId": ctx.deployment.identity.service_id,
        "timeoutMs": wait_ms,
    });
    let answer = crate::peers::post_json(&ctx.http, &controller, "/__admin/call", body).await?;
    answer
        .get("result")
        .cloned()
        .ok_or_else(|| Failure(format!("the gateway answered {method} without a result: {answer}")))
}

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    // The session may still be coming up right after a restart.
    let list = ctx
        .timeouts
        .eventually(|| runtime_call(ctx, "tools/list", json!({}), 5000))
        .await?;
    let listed = judge_list(&list)?;
    let params = json!({"name": "get_service_info", "arguments": {}});
    let info = runtime_call(ctx, "tools/call", params, 5000).await?;
    let token = ctx
        .deployment
        .secret_env
        .iter()
        .find(|(name, _)| name == "LIGHT_PORTAL_AUTHORIZATION")
        .map(|(_, value)| value.trim_start_matches("Bearer ").trim().to_string());
    let shown = judge_info(&info, &ctx.deployment.identity.service_id, token.as_deref())?;
    Ok(format!("tools/list: {listed}; get_service_info: {shown}"))
}

/// The runtime tools listed, when every [`REQUIRED`] one is.
pub(super) fn judge_list(list: &Value) -> Result<String, Failure> {
    let names: Vec<&str> = list["tools"]
        .as_array()
        .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    for tool in REQUIRED {
        ensure(names.contains(&tool), || {
            format!("the controller's tools/list over the session lacks {tool}: {list}")
        })?;
    }
    Ok(names.join(", "))
}

/// `get_service_info` names `service_id`, masks the portal token and never shows `token`.
pub(super) fn judge_info(info: &Value, service_id: &str, token: Option<&str>) -> Result<String, Failure> {
    let named = info
        .pointer("/service/serviceId")
        .or_else(|| info.pointer("/component/server/serviceId"))
        .and_then(Value::as_str);
    ensure(named == Some(service_id), || {
        format!("get_service_info names serviceId {named:?}, the deployment is {service_id}")
    })?;
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        ensure(!info.to_string().contains(token), || {
            "get_service_info shows the portal token".to_string()
        })?;
    }
    let masked = info.pointer("/component/portal-registry/portalToken");
    ensure(masked.is_none_or(|t| t == "*"), || {
        format!(
            "get_service_info shows portalToken as {}",
            masked.cloned().unwrap_or_default()
        )
    })?;
    let modules = info["modules"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "serviceId {service_id}, {modules} modules, token masked{}",
        if masked.is_some() { " (portalToken \"*\")" } else { "" }
    ))
}
