//! MCP tools/list reaches the gateway, in both eras.

use futures_util::FutureExt;

use super::tools;
use crate::check::{Check, Context, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "mcp-tools-list",
    description: "rmcp's client lists the configured tools through the gateway, as a legacy (initialize) and as a 2026-07-28 (discover) client.",
    checklist: "MCP tools/list reaches the gateway.",
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
        let names = client.tool_names().await;
        client.close().await;
        let names = names?;
        for expected in [tools::ECHO_A, tools::ECHO_B, tools::SLOW] {
            ensure(names.iter().any(|n| n == expected), || {
                format!("{}: tools/list lacks {expected}: {names:?}", era.name())
            })?;
        }
        evidence.push(format!("{}: {} tools", era.name(), names.len()));
    }
    Ok(evidence.join("; "))
}
