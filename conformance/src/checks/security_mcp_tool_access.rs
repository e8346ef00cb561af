//! Access control per tool: a teller lists only the tools it may call and is refused the
//! others (a JSON-RPC error naming the tool), in both eras; a refused call never reaches the
//! backend, and an allowed one is answered by it.

use futures_util::FutureExt;
use serde_json::json;

use super::{auth, claims, error_code, tools};
use crate::check::{Check, Context, Feature, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};
use crate::peers;

/// The check.
pub static CHECK: Check = Check {
    id: "security-mcp-tool-access",
    description: "A teller's token lists and calls echo and echo_b only; add and slow are refused with -32001 and never reach the backend, in both eras.",
    checklist: "Route protected MCP traffic: each caller reaches only the tools its role allows.",
    profile: Profile::Security,
    features: &[Feature::ProtectedMcp],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

/// How many tools/call of `tool` backend-a has recorded.
async fn backend_calls(ctx: &Context<'_>, tool: &str) -> Result<usize, Failure> {
    let endpoints = ctx.target.endpoints();
    let admin = endpoints
        .backends
        .iter()
        .find(|(name, _)| name == tools::INSTANCES[0])
        .map(|(_, url)| url.clone())
        .ok_or_else(|| Failure("no backend-a admin endpoint".into()))?;
    let recorded = peers::get_json(&ctx.http, &admin, "/__admin/requests").await?;
    Ok(recorded
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|r| r["jsonrpcMethod"] == "tools/call" && r["body"]["params"]["name"] == tool)
                .count()
        })
        .unwrap_or(0))
}

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let endpoints = ctx.target.endpoints();
    let url = endpoints.mcp();
    let token = peers::mint_token(
        &ctx.http,
        &endpoints.key_service_admin,
        json!({"claims": claims("conformance-teller", auth::TELLER)}),
    )
    .await?;
    let before = backend_calls(ctx, auth::DENIED_TO_TELLER[0]).await?;
    let mut evidence = Vec::new();
    for era in Era::BOTH {
        let client = mcp::connect(&url, era, Some(&token)).await?;
        let result = async {
            let mut names = client.tool_names().await?;
            names.sort();
            let mut expected: Vec<String> = auth::TELLER_TOOLS.iter().map(|t| t.to_string()).collect();
            expected.sort();
            ensure(names == expected, || {
                format!(
                    "{}: a teller's tools/list is {names:?}, expected {expected:?}",
                    era.name()
                )
            })?;
            let echo = client.call(tools::ECHO_A, json!({"probe": "teller"})).await?;
            ensure(
                echo.pointer("/structuredContent/instance") == Some(&json!(tools::INSTANCES[0])),
                || format!("{}: the allowed call was not answered by backend-a: {echo}", era.name()),
            )?;
            for denied in auth::DENIED_TO_TELLER {
                match client.call(denied, json!({"a": 1, "b": 2, "ms": 1})).await {
                    Ok(answer) => {
                        return Err(Failure(format!("{}: a teller called {denied}: {answer}", era.name())));
                    }
                    Err(Failure(reason)) => ensure(reason.contains(denied), || {
                        format!("{}: the refusal of {denied} does not name it: {reason}", era.name())
                    })?,
                }
            }
            Ok::<(), Failure>(())
        }
        .await;
        client.close().await;
        result?;
        evidence.push(format!("{}: lists {:?}", era.name(), auth::TELLER_TOOLS));
    }
    let (_, raw) = mcp::raw_call(
        &ctx.http,
        &url,
        auth::DENIED_TO_TELLER[0],
        json!({"a": 1, "b": 2}),
        Some(&token),
    )
    .await?;
    ensure(error_code(&raw) == Some(-32001), || {
        format!("a refused call answered {raw}, not JSON-RPC -32001")
    })?;
    let after = backend_calls(ctx, auth::DENIED_TO_TELLER[0]).await?;
    ensure(after == before, || {
        format!(
            "refused calls of {} reached backend-a ({} recorded calls before, {after} after)",
            auth::DENIED_TO_TELLER[0],
            before
        )
    })?;
    evidence.push(format!(
        "{:?} refused with -32001, none reached the backend",
        auth::DENIED_TO_TELLER
    ));
    Ok(evidence.join("; "))
}
