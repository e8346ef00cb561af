//! MCP tools/call reaches the backend MCP server, whose answer names its instance: in both eras,
//! as rmcp's client and as the official Python SDK (strict: its models validate the answer) see
//! it; both are held to the same lines.

use futures_util::FutureExt;
use serde_json::Value;

use super::tools;
use crate::check::{Check, Context, Feature, Profile};
use crate::mcp::strict::{Answer, Step};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "mcp-tools-call",
    description: "tools/call of echo on each backend comes back from that backend instance, in both eras, to rmcp's client and to the official Python MCP SDK (which validates every answer).",
    checklist: "MCP tools/call reaches the backend MCP server.",
    profile: Profile::Validation,
    features: &[Feature::StrictMcpClient],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let url = ctx.target.endpoints().mcp();
    let token = super::bearer(ctx).await?;
    let strict = super::strict_client().await?;
    let mut evidence = Vec::new();
    for era in Era::BOTH {
        let client = mcp::connect(&url, era, token.as_deref()).await?;
        let mut answers = Vec::new();
        let mut called = Ok(());
        for (tool, _) in tools::ROUTED {
            match client.call(tool, tools::echo_arguments()).await {
                Ok(answer) => answers.push(answer),
                Err(e) => {
                    called = Err(e);
                    break;
                }
            }
        }
        client.close().await;
        called?;
        evidence.push(judge("rmcp", era, &answers)?);
    }
    let steps: Vec<Step> = tools::ROUTED
        .iter()
        .map(|(tool, _)| Step::Call {
            tool: (*tool).to_string(),
            arguments: tools::echo_arguments(),
        })
        .collect();
    for era in Era::BOTH {
        let transcript = strict
            .run(&url, era, token.as_deref(), &steps, ctx.timeouts.strict_client)
            .await?;
        let answers: Vec<Value> = transcript
            .answers
            .into_iter()
            .filter_map(|a| match a {
                Answer::Called(result) => Some(result),
                Answer::Tools(_) => None,
            })
            .collect();
        evidence.push(judge(&strict.name(), era, &answers)?);
    }
    Ok(evidence.join("; "))
}

/// The answers `client` got in `era`, one per [`tools::ROUTED`] call in order: each a result
/// (not `isError`) from the instance that serves the tool.
pub(super) fn judge(client: &str, era: Era, answers: &[Value]) -> Result<String, Failure> {
    let who = format!("{client} {}", era.name());
    ensure(answers.len() == tools::ROUTED.len(), || {
        format!("{who}: {} answers to {} calls", answers.len(), tools::ROUTED.len())
    })?;
    let mut seen = Vec::new();
    for ((tool, instance), answer) in tools::ROUTED.iter().zip(answers) {
        let from = answer
            .pointer("/structuredContent/instance")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ensure(answer.get("isError") != Some(&Value::Bool(true)), || {
            format!("{who}: {tool} answered isError: {answer}")
        })?;
        ensure(from == *instance, || {
            format!("{who}: {tool} answered from {from:?}, expected {instance}: {answer}")
        })?;
        seen.push(format!("{tool} -> {instance}"));
    }
    Ok(format!("{who}: {}", seen.join(", ")))
}
