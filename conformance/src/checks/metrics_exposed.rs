//! The gateway's metrics endpoint answers Prometheus text, and its tools/call counter rises by
//! exactly the calls this check makes.

use futures_util::FutureExt;

use super::tools;
use crate::check::{Check, Context, Profile};
use crate::mcp::{self, Era};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "metrics-exposed",
    description: "The metrics endpoint (metrics.prometheusPort, metrics.prometheusPath) answers Prometheus text, and light_gateway_tool_calls_total for echo_b with outcome ok rises by exactly the 3 calls the check makes.",
    checklist: "Operators can scrape the gateway's metrics; they count the MCP calls it serves.",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

/// How many calls the check makes.
const CALLS: u32 = 3;
/// The counter family.
const FAMILY: &str = "light_gateway_tool_calls_total";

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let Some(scrape_url) = ctx.target.endpoints().metrics else {
        return Err(Failure(
            "the deployment serves no metrics: bootstrap.values metrics.prometheusPort is 0 or metrics.enabled is false".into(),
        ));
    };
    let before = scrape(ctx, &scrape_url).await?;
    let token = super::bearer(ctx).await?;
    let client = mcp::connect(&ctx.target.endpoints().mcp(), Era::Stateless, token.as_deref()).await?;
    let mut called = Ok(());
    for _ in 0..CALLS {
        if let Err(e) = client.call(tools::ECHO_B, tools::echo_arguments()).await {
            called = Err(e);
            break;
        }
    }
    client.close().await;
    called?;
    let after = scrape(ctx, &scrape_url).await?;
    let rose = judge(&before, &after, tools::ECHO_B, CALLS)?;
    Ok(format!(
        "{scrape_url} answered Prometheus text; {FAMILY}{{tool=\"{}\",outcome=\"ok\"}} rose by {rose} after {CALLS} calls",
        tools::ECHO_B
    ))
}

/// One scrape: status 200 and the Prometheus text content type.
async fn scrape(ctx: &Context<'_>, url: &url::Url) -> Result<String, Failure> {
    let response = ctx.http.get(url.clone()).send().await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await?;
    ensure(status == 200, || format!("{url} answered {status}: {}", head(&text)))?;
    ensure(
        content_type.starts_with("text/plain") && content_type.contains("version=0.0.4"),
        || format!("{url} answered content-type {content_type:?}, not the Prometheus text format"),
    )?;
    Ok(text)
}

fn head(text: &str) -> &str {
    &text[..text.len().min(200)]
}

/// The sum of `tool`'s `outcome="ok"` series of the counter.
fn ok_calls(text: &str, tool: &str) -> f64 {
    let tool_label = format!("tool=\"{tool}\"");
    text.lines()
        .filter(|l| l.starts_with(&format!("{FAMILY}{{")) && l.contains(&tool_label) && l.contains("outcome=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Passes when the text declares the counter and `tool`'s ok calls rose by exactly `calls`.
pub(super) fn judge(before: &str, after: &str, tool: &str, calls: u32) -> Result<f64, Failure> {
    ensure(after.contains(&format!("# TYPE {FAMILY} counter")), || {
        format!("the scrape has no `# TYPE {FAMILY} counter`: {}", head(after))
    })?;
    let rose = ok_calls(after, tool) - ok_calls(before, tool);
    ensure((rose - f64::from(calls)).abs() < f64::EPSILON, || {
        format!("{FAMILY} for {tool} (outcome ok) rose by {rose} after {calls} calls")
    })?;
    Ok(rose)
}
