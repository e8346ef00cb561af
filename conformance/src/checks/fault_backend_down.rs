//! A backend MCP server down: a clear JSON-RPC error, and the gateway stays up.

use futures_util::FutureExt;
use serde_json::json;

use super::{error_code, tools};
use crate::check::{Check, Context, Profile};
use crate::mcp;
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "fault-backend-down",
    description: "With backend-b stopped, tools/call of its tool is a JSON-RPC error naming the tool, /health stays 200 and backend-a's tool still answers.",
    checklist: "Fault: backend MCP down (clear JSON-RPC error, gateway stays up).",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let endpoints = ctx.target.endpoints();
    let url = endpoints.mcp();
    let token = super::bearer(ctx).await?;
    ctx.target.set_backend(tools::INSTANCES[1], false).await?;
    let result = async {
        let (_, down) = mcp::raw_call(&ctx.http, &url, tools::ECHO_B, json!({}), token.as_deref()).await?;
        ensure(error_code(&down) == Some(-32000), || {
            format!("expected -32000 for a backend that is down, got {down}")
        })?;
        let message = down
            .pointer("/error/message")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string();
        ensure(message.contains(tools::ECHO_B), || {
            format!("the error does not name the tool: {message}")
        })?;
        let mut health = endpoints.gateway.clone();
        health.set_path("/health");
        let status = ctx.http.get(health).send().await?.status();
        ensure(status == 200, || {
            format!("/health answered {status} while a backend was down")
        })?;
        let (_, up) = mcp::raw_call(&ctx.http, &url, tools::ECHO_A, json!({}), token.as_deref()).await?;
        ensure(
            up.pointer("/result/structuredContent/instance") == Some(&json!(tools::INSTANCES[0])),
            || format!("backend-a's tool failed too: {up}"),
        )?;
        Ok(format!(
            "-32000 \"{message}\"; /health 200; {} still served",
            tools::ECHO_A
        ))
    }
    .await;
    ctx.target.set_backend(tools::INSTANCES[1], true).await?;
    result
}
