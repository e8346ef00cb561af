//! MCP tools/list reaches the gateway, in both eras, as rmcp's client and as the official Python
//! SDK (strict: its models validate the answer) see it; both are held to the same lines.

use futures_util::FutureExt;

use super::tools;
use crate::check::{Check, Context, Feature, Profile};
use crate::mcp::strict::{Answer, Step};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "mcp-tools-list",
    description: "rmcp's client and the official Python MCP SDK (which validates every answer) list the configured tools through the gateway, as legacy (initialize) and 2026-07-28 (discover) clients.",
    checklist: "MCP tools/list reaches the gateway.",
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
        let names = client.tool_names().await;
        client.close().await;
        evidence.push(judge("rmcp", era, &names?)?);
    }
    for era in Era::BOTH {
        let transcript = strict
            .run(
                &url,
                era,
                token.as_deref(),
                &[Step::ListTools],
                ctx.timeouts.strict_client,
            )
            .await?;
        let [Answer::Tools(names)] = transcript.answers.as_slice() else {
            return Err(Failure(format!(
                "{} {}: no tools/list answer",
                strict.name(),
                era.name()
            )));
        };
        evidence.push(judge(&strict.name(), era, names)?);
    }
    Ok(evidence.join("; "))
}

/// The listing `client` got in `era` offers every tool the scenario configures.
pub(super) fn judge(client: &str, era: Era, names: &[String]) -> Result<String, Failure> {
    for expected in tools::LISTED {
        ensure(names.iter().any(|n| n == expected), || {
            format!("{client} {}: tools/list lacks {expected}: {names:?}", era.name())
        })?;
    }
    Ok(format!("{client} {}: {} tools", era.name(), names.len()))
}
