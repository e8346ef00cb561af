//! SIGTERM under load: no failed request, deregistered.

use futures_util::FutureExt;
use futures_util::future::join_all;
use serde_json::json;

use super::{current_record, error_code, restore, tools};
use crate::check::{Check, Context, Profile};
use crate::mcp;
use crate::outcome::{Failure, ensure};
use crate::peers;

/// Requests in flight when SIGTERM arrives.
const IN_FLIGHT: usize = 8;
/// How long each takes at the backend.
const CALL_MS: u64 = 400;

/// The check.
pub static CHECK: Check = Check {
    id: "fault-sigterm-under-load",
    description: "SIGTERM while tools/call requests are in flight: all of them complete, the gateway deregisters and exits 0.",
    checklist: "Fault: SIGTERM under load (no failed request, deregistered).",
    profile: Profile::Faults,
    features: &[],
    disruptive: true,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let endpoints = ctx.target.endpoints();
    let url = endpoints.mcp();
    let record = current_record(ctx).await?;
    let token = super::bearer(ctx).await?;
    let calls =
        (0..IN_FLIGHT).map(|_| mcp::raw_call(&ctx.http, &url, tools::SLOW, json!({"ms": CALL_MS}), token.as_deref()));
    let load = join_all(calls);
    let stop = async {
        tokio::time::sleep(std::time::Duration::from_millis(CALL_MS / 4)).await;
        ctx.target.terminate().await
    };
    let (answers, code) = tokio::join!(load, stop);
    let result = (|| -> Result<(), Failure> {
        let code = code?;
        let failed: Vec<String> = answers
            .iter()
            .filter_map(|a| match a {
                Ok((200, body)) if error_code(body).is_none() => None,
                Ok((status, body)) => Some(format!("{status} {body}")),
                Err(e) => Some(e.0.clone()),
            })
            .collect();
        ensure(failed.is_empty(), || {
            format!("{} of {IN_FLIGHT} in-flight requests failed: {failed:?}", failed.len())
        })?;
        ensure(code == Some(0), || format!("the gateway exited with {code:?}, not 0"))?;
        Ok(())
    })();
    let records = peers::registrations(&ctx.http, &endpoints.controller_admin).await;
    restore(ctx).await?;
    result?;
    let records = records?;
    let old = records
        .iter()
        .find(|r| r["runtimeInstanceId"] == record["runtimeInstanceId"])
        .ok_or_else(|| Failure("the registration vanished".into()))?;
    ensure(old["deregistered"] == true, || {
        format!("the controller was not told: {old}")
    })?;
    Ok(format!(
        "{IN_FLIGHT} in-flight calls completed; deregistered ({}); exit 0",
        old["deregistrationReason"]
    ))
}
