//! The controller holds the gateway with the expected identity and endpoint.

use futures_util::FutureExt;

use super::current_record;
use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "controller-record",
    description: "The controller's registry holds the gateway with the serviceId, environment, advertised address, protocol and port the chart rendered.",
    checklist: "Controller shows the gateway registered with the expected service id, environment, host, and port.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let id = &ctx.deployment.identity;
    let record = current_record(ctx).await?;
    let checks = [
        (
            "envTag",
            record["envTag"].as_str().unwrap_or_default().to_string(),
            id.env_tag.clone(),
        ),
        (
            "address",
            record["address"].as_str().unwrap_or_default().to_string(),
            id.advertised_address.clone(),
        ),
        (
            "protocol",
            record["protocol"].as_str().unwrap_or_default().to_string(),
            id.protocol.clone(),
        ),
        ("port", record["port"].to_string(), id.port.to_string()),
    ];
    for (field, seen, expected) in checks {
        ensure(seen == expected, || {
            format!("controller record {field} is {seen:?}, the chart rendered {expected:?}")
        })?;
    }
    Ok(format!(
        "{} env {} at {}://{}:{} (runtimeInstanceId {})",
        id.service_id, id.env_tag, id.protocol, id.advertised_address, id.port, record["runtimeInstanceId"]
    ))
}
