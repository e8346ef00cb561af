//! A config change reaches the running gateway through config-server and the controller's
//! `reload_modules`, with no failed request meanwhile; a broken config is refused and the tools
//! in service stay. Config-server is then given its original values back and reloaded again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt;
use serde_json::{Map, Value, json};

use super::controller_runtime_tools::runtime_call;
use super::tools;
use crate::check::{Check, Context, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "config-reload",
    description: "Config-server starts serving a new tool and the controller calls reload_modules: tools/list then shows it and tools/call reaches it, with zero failed calls from a load running across the reload; a broken config then reloads as failed and the tools in service keep working.",
    checklist: "Normal route, policy, and backend changes should go through config-server and controller reload flows.",
    profile: Profile::Validation,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

/// The tool the check adds: a second name for backend-b's echo.
pub const PROBE_TOOL: &str = "reload_probe";
/// The MCP router's module id.
const MCP_ROUTER: &str = "light-pingora/mcp-router";
/// How long one reload may take (a config-server download and the router's build).
const RELOAD_WAIT_MS: u64 = 30_000;

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let original = served_values(ctx).await?;
    let result = reload_flow(ctx, &original).await;
    // Whatever happened, config-server serves the original values again and the gateway
    // reloads them; a gateway that cannot is started again from them.
    let put_back = async {
        serve_values(ctx, &original).await?;
        let report = reload(ctx, json!({})).await?;
        judge_reloaded(&report).map(|_| ())
    }
    .await;
    if put_back.is_err() {
        super::restore(ctx).await?;
    }
    let evidence = result?;
    put_back?;
    Ok(format!("{evidence}; original config reloaded"))
}

async fn reload_flow(ctx: &Context<'_>, original: &str) -> Result<String, Failure> {
    let url = ctx.target.endpoints().mcp();
    let token = super::bearer(ctx).await?;
    let client = mcp::connect(&url, Era::Stateless, token.as_deref()).await?;
    let before = client.tool_names().await?;
    ensure(!before.iter().any(|t| t == PROBE_TOOL), || {
        format!("{PROBE_TOOL} is listed before the reload: {before:?}")
    })?;

    let load = Load::start(url.clone(), token.clone());
    // Let the load connect and run before the first reload.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    serve_values(ctx, &with_probe_tool(original)?).await?;
    let report = reload(ctx, json!({})).await?;
    let reloaded = judge_reloaded(&report);
    let after = client.tool_names().await;
    let called = client.call(PROBE_TOOL, tools::echo_arguments()).await;

    serve_values(ctx, &with_broken_tool(original)?).await?;
    let refused = reload(ctx, json!({"modules": [MCP_ROUTER]})).await?;
    let still = client.tool_names().await;
    let still_called = client.call(PROBE_TOOL, tools::echo_arguments()).await;
    let (calls, failures) = load.finish().await;
    client.close().await;

    let reloaded = reloaded?;
    let after = after?;
    ensure(after.iter().any(|t| t == PROBE_TOOL), || {
        format!("after the reload tools/list lacks {PROBE_TOOL}: {after:?}")
    })?;
    let answer = called?;
    ensure(answer["isError"] != json!(true), || {
        format!("{PROBE_TOOL} answered isError after the reload: {answer}")
    })?;
    let why = judge_refused(&refused)?;
    let still = still?;
    ensure(still.iter().any(|t| t == PROBE_TOOL), || {
        format!("after the broken reload the tools in service changed: {still:?}")
    })?;
    let answer = still_called?;
    ensure(answer["isError"] != json!(true), || {
        format!("{PROBE_TOOL} answered isError after the broken reload: {answer}")
    })?;
    ensure(failures.is_empty(), || {
        format!(
            "{} of {calls} calls across the reloads failed, first: {}",
            failures.len(),
            failures[0]
        )
    })?;
    ensure(calls > 0, || "no call of the load finished".to_string())?;
    Ok(format!(
        "reloaded {reloaded}; {PROBE_TOOL} listed and called; broken config refused ({why}); {calls} calls across the reloads, 0 failed"
    ))
}

/// The values config-server serves for the deployment's tuple.
async fn served_values(ctx: &Context<'_>) -> Result<String, Failure> {
    let id = &ctx.deployment.identity;
    let mut url = ctx.target.endpoints().config_server_admin;
    url.set_path("/__admin/configs");
    url.query_pairs_mut()
        .append_pair("host", &id.host)
        .append_pair("serviceId", &id.service_id)
        .append_pair("envTag", &id.env_tag);
    let response = ctx.http.get(url.clone()).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure(status.is_success(), || format!("GET {url}: {status} {body}"))?;
    body["values"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure(format!("GET {url} gave no values text: {body}")))
}

async fn serve_values(ctx: &Context<'_>, values: &str) -> Result<(), Failure> {
    let id = &ctx.deployment.identity;
    let admin = ctx.target.endpoints().config_server_admin;
    let body = json!({"host": id.host, "serviceId": id.service_id, "envTag": id.env_tag, "values": values});
    crate::peers::post_json(&ctx.http, &admin, "/__admin/configs", body)
        .await
        .map(|_| ())
}

async fn reload(ctx: &Context<'_>, arguments: Value) -> Result<Value, Failure> {
    let params = json!({"name": "reload_modules", "arguments": arguments});
    runtime_call(ctx, "tools/call", params, RELOAD_WAIT_MS).await
}

/// `values` with [`PROBE_TOOL`] added: a copy of backend-b's echo under another name.
pub(super) fn with_probe_tool(values: &str) -> Result<String, Failure> {
    edit_tools(values, |tools| {
        let echo_b = tools
            .iter()
            .find(|t| t["name"] == tools::ECHO_B)
            .cloned()
            .ok_or_else(|| Failure(format!("the served config has no {} tool", tools::ECHO_B)))?;
        let mut probe = echo_b.clone();
        let endpoint = echo_b
            .get("endpointName")
            .cloned()
            .unwrap_or_else(|| echo_b["name"].clone());
        probe["name"] = json!(PROBE_TOOL);
        probe["endpointName"] = endpoint;
        tools.push(probe);
        Ok(())
    })
}

/// `values` with the probe and a tool that names no backend, which no router can build.
pub(super) fn with_broken_tool(values: &str) -> Result<String, Failure> {
    let probed = with_probe_tool(values)?;
    edit_tools(&probed, |tools| {
        tools.push(json!({"name": "reload_broken", "apiType": "mcp", "path": "/mcp"}));
        Ok(())
    })
}

fn edit_tools(values: &str, edit: impl FnOnce(&mut Vec<Value>) -> Result<(), Failure>) -> Result<String, Failure> {
    let mut map: Map<String, Value> =
        serde_saphyr::from_str(values).map_err(|e| Failure(format!("the served values do not parse: {e}")))?;
    let Some(Value::Array(tools)) = map.get_mut("mcp-router.tools") else {
        return Err(Failure("the served values have no mcp-router.tools list".into()));
    };
    edit(tools)?;
    serde_saphyr::to_string(&map).map_err(|e| Failure(format!("writing the values back: {e}")))
}

/// The modules a reload answer says were reloaded, when the router was and nothing failed.
pub(super) fn judge_reloaded(report: &Value) -> Result<String, Failure> {
    let failed = report["failed"].as_array().map_or(0, Vec::len);
    ensure(report.get("reloaded").is_some() && failed == 0, || {
        format!("reload_modules did not reload cleanly: {report}")
    })?;
    let reloaded: Vec<&str> = report["reloaded"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ensure(reloaded.contains(&MCP_ROUTER), || {
        format!("reload_modules did not reload {MCP_ROUTER}: {report}")
    })?;
    Ok(format!("{} modules", reloaded.len()))
}

/// The reason a broken config's reload gives, when it failed the router and reloaded nothing.
pub(super) fn judge_refused(report: &Value) -> Result<String, Failure> {
    let reloaded = report["reloaded"].as_array().map_or(0, Vec::len);
    let failed = report["failed"]
        .as_array()
        .and_then(|f| f.iter().find(|m| m["moduleId"] == MCP_ROUTER));
    match failed {
        Some(failure) if reloaded == 0 => Ok(failure["message"].as_str().unwrap_or_default().to_string()),
        _ => Err(Failure(format!(
            "a config with a tool naming no backend was not refused: {report}"
        ))),
    }
}

/// Stateless tools/call of backend-b's echo in a loop until finished; failures kept.
struct Load {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<String>)>,
}

impl Load {
    fn start(url: url::Url, token: Option<String>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let running = stop.clone();
        let task = tokio::spawn(async move {
            let (mut calls, mut failures) = (0usize, Vec::new());
            let client = match mcp::connect(&url, Era::Stateless, token.as_deref()).await {
                Ok(client) => client,
                Err(e) => return (0, vec![e.0]),
            };
            while !running.load(Ordering::Relaxed) {
                calls += 1;
                match client.call(tools::ECHO_B, tools::echo_arguments()).await {
                    Ok(answer) if answer["isError"] != json!(true) => {}
                    Ok(answer) => failures.push(format!("isError: {answer}")),
                    Err(e) => failures.push(e.0),
                }
            }
            client.close().await;
            (calls, failures)
        });
        Load { stop, task }
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task
            .await
            .unwrap_or_else(|e| (0, vec![format!("the load task failed: {e}")]))
    }
}
