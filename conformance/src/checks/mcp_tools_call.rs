//! MCP tools/call reaches the backend MCP server, whose answer names its instance.

use futures_util::FutureExt;
use serde_json::json;

use super::tools;
use crate::check::{Check, Context, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "mcp-tools-call",
    description: "tools/call of echo on each backend comes back from that backend instance, in both eras.",
    checklist: "MCP tools/call reaches the backend MCP server.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let url = ctx.target.endpoints().mcp();
    let token = super::bearer(ctx).await?;
    let mut evidence = Vec::new();
    for era in Era::BOTH {
        let client = mcp::connect(&url, era, token.as_deref()).await?;
        let result = async {
            for (tool, instance) in [
                (tools::ECHO_A, tools::INSTANCES[0]),
                (tools::ECHO_B, tools::INSTANCES[1]),
            ] {
                let answer = client.call(tool, json!({"probe": "conformance"})).await?;
                let seen = answer
                    .pointer("/structuredContent/instance")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                ensure(seen == instance, || {
                    format!(
                        "{}: {tool} answered from {seen:?}, expected {instance}: {answer}",
                        era.name()
                    )
                })?;
                evidence.push(format!("{} {tool} -> {instance}", era.name()));
            }
            Ok::<(), Failure>(())
        }
        .await;
        client.close().await;
        result?;
    }
    Ok(evidence.join("; "))
}
