//! MCP traffic is protected: a call without a token, or with an expired, foreign-audience or
//! forged one, is refused with 401 and the MCP authorization challenge, and the protected
//! resource metadata tells a client where to get a token. A valid token gets through (so the
//! check cannot pass against a gateway that refuses everything).

use futures_util::FutureExt;
use serde_json::{Value, json};

use super::{auth, claims};
use crate::check::{Check, Context, Feature, Profile};
use crate::outcome::{Failure, ensure};
use crate::peers;

/// The check.
pub static CHECK: Check = Check {
    id: "security-mcp-auth-required",
    description: "MCP calls without a valid token get 401 with WWW-Authenticate: Bearer resource_metadata=...; the metadata names the authorization server; a valid token gets through.",
    checklist: "Route protected MCP traffic: only callers with a valid token reach the tools.",
    profile: Profile::Security,
    features: &[Feature::ProtectedMcp],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

/// A stateless tools/list with `token` (none: no Authorization header): status and
/// `WWW-Authenticate`.
pub(super) async fn list(ctx: &Context<'_>, token: Option<&str>) -> Result<(u16, String), Failure> {
    let mut request = ctx
        .http
        .post(ctx.target.endpoints().mcp())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((response.status().as_u16(), challenge))
}

/// `resource_metadata="<url>"` of a challenge.
fn metadata_url(challenge: &str) -> Option<String> {
    let start = challenge.find("resource_metadata=\"")? + "resource_metadata=\"".len();
    let end = challenge[start..].find('"')?;
    Some(challenge[start..start + end].to_string())
}

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let admin = ctx.target.endpoints().key_service_admin;
    let (status, challenge) = list(ctx, None).await?;
    ensure(status == 401 && challenge.starts_with("Bearer"), || {
        format!("tools/list without a token answered {status} with WWW-Authenticate {challenge:?}, not 401 Bearer")
    })?;
    let url = metadata_url(&challenge)
        .ok_or_else(|| Failure(format!("the challenge names no resource_metadata: {challenge:?}")))?;
    let url = url::Url::parse(&url).map_err(|e| Failure(format!("resource_metadata {url:?}: {e}")))?;
    let metadata: Value = ctx
        .http
        .get(url.clone())
        .send()
        .await?
        .json()
        .await
        .map_err(|e| Failure(format!("the metadata document at {url} is not JSON: {e}")))?;
    let servers = metadata["authorization_servers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure(
        metadata["resource"].is_string() && servers.iter().any(|s| s == auth::ISSUER),
        || {
            format!(
                "the metadata at {url} lacks the resource or the authorization server {}: {metadata}",
                auth::ISSUER
            )
        },
    )?;

    let valid = claims("conformance-auth", auth::OPERATOR);
    let mint = |body: Value| peers::mint_token(&ctx.http, &admin, body);
    let expired = mint(json!({"claims": valid, "expiresIn": -600})).await?;
    let mut foreign = valid.clone();
    foreign["aud"] = json!("another-api");
    let foreign = mint(json!({"claims": foreign})).await?;
    let good = mint(json!({"claims": valid})).await?;
    let (signed, _) = good
        .rsplit_once('.')
        .ok_or_else(|| Failure("the minted token is not a compact JWS".into()))?;
    let forged = format!("{signed}.AAAA");
    for (what, token) in [
        ("expired", &expired),
        ("another audience", &foreign),
        ("a forged signature", &forged),
    ] {
        let (status, challenge) = list(ctx, Some(token)).await?;
        ensure(status == 401 && challenge.contains("error=\"invalid_token\""), || {
            format!(
                "a token with {what} was answered {status} with WWW-Authenticate {challenge:?}, not 401 invalid_token"
            )
        })?;
    }
    let (status, _) = list(ctx, Some(&good)).await?;
    ensure(status == 200, || {
        format!("a valid token was answered {status}, not 200")
    })?;
    Ok(format!(
        "no token: 401 Bearer with resource_metadata {url}; expired, another audience, forged: 401 invalid_token; metadata names {}; a valid token: 200",
        auth::ISSUER
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_metadata_url_is_read_from_the_challenge() {
        assert_eq!(
            super::metadata_url(r#"Bearer resource_metadata="http://gw:1/.well-known/oauth-protected-resource/mcp", error="invalid_token""#).as_deref(),
            Some("http://gw:1/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(super::metadata_url("Bearer"), None);
    }
}
