//! Per-request protocol decisions that need no state: era, version, required headers, the
//! answer's media type and the Origin check (docs/protocols.md#mcp).

use base64::Engine;
use http::HeaderMap;

use super::config::McpRouterConfig;

/// `MCP-Protocol-Version`.
pub const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// `Mcp-Session-Id`.
pub const HEADER_SESSION_ID: &str = "mcp-session-id";
/// `Mcp-Method` (SEP-2243, stateless era).
pub const HEADER_METHOD: &str = "mcp-method";
/// `Mcp-Name` (SEP-2243, stateless era).
pub const HEADER_NAME: &str = "mcp-name";

/// Which era serves a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Era {
    /// Sessions and `initialize`.
    Legacy,
    /// 2026-07-28 with this version.
    Stateless(String),
}

/// A protocol decision that ends the request with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// -32022 listing the supported versions.
    UnsupportedVersion(String),
    /// -32020: a header disagrees with the body, or is missing.
    HeaderMismatch(String),
}

/// How the answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `application/json`.
    Json,
    /// One SSE event per message.
    Sse,
}

/// Picks the answer's media type from `Accept`: JSON when accepted (the cheaper one), else SSE;
/// `None` when neither is (406).
pub fn answer_mode(headers: &HeaderMap) -> Option<Answer> {
    let accept = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Some(Answer::Json);
    }
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    let has = |t: &str| types.iter().any(|x| x.eq_ignore_ascii_case(t));
    if has("application/json") || has("application/*") || has("*/*") {
        Some(Answer::Json)
    } else if has("text/event-stream") {
        Some(Answer::Sse)
    } else {
        None
    }
}

/// Whether the request's Origin is allowed. A request without one is not from a browser page
/// and passes; one with an Origin passes only when the allowlist names it (or holds `*`): an
/// empty allowlist refuses every browser origin, so a page on another site (or a DNS-rebound
/// name) cannot drive the gateway from a user's browser.
pub fn origin_allowed(config: &McpRouterConfig, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    config
        .origin_allowlist
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin.trim_end_matches('/')))
}

/// Whether a POST body is declared JSON (`application/json`, parameters allowed). A form or
/// `text/plain` POST is what a cross-site page can send without a preflight: refused.
pub fn declares_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Decides the era of a request from the header, `_meta` and the method.
///
/// # Errors
/// A version nobody serves, or a header that disagrees with `_meta`.
pub fn era(
    config: &McpRouterConfig,
    headers: &HeaderMap,
    method: &str,
    meta_version: Option<&str>,
) -> Result<Era, Refusal> {
    let header_version = headers.get(HEADER_PROTOCOL_VERSION).and_then(|v| v.to_str().ok());
    let stateless = &config.protocols.stateless;
    let legacy = &config.protocols.legacy;
    let is_stateless = |v: &str| stateless.enabled && stateless.versions.iter().any(|s| s == v);
    if let (Some(h), Some(m)) = (header_version, meta_version)
        && h != m
    {
        return Err(Refusal::HeaderMismatch(format!(
            "MCP-Protocol-Version {h} does not match _meta protocolVersion {m}"
        )));
    }
    let version = meta_version.or(header_version);
    if method == "initialize" && meta_version.is_none() {
        return if legacy.enabled {
            Ok(Era::Legacy)
        } else {
            Err(unsupported(config, "initialize"))
        };
    }
    match version {
        Some(v) if is_stateless(v) => Ok(Era::Stateless(v.to_string())),
        Some(v) if legacy.enabled && legacy.versions.iter().any(|l| l == v) && meta_version.is_none() => {
            Ok(Era::Legacy)
        }
        Some(v) => Err(unsupported(config, v)),
        None if method == "server/discover" => match stateless.versions.first() {
            Some(v) if stateless.enabled => Ok(Era::Stateless(v.clone())),
            _ => Err(unsupported(config, "server/discover")),
        },
        None => Ok(Era::Legacy),
    }
}

fn unsupported(config: &McpRouterConfig, asked: &str) -> Refusal {
    Refusal::UnsupportedVersion(format!(
        "{asked} is not supported; supported: {}",
        supported(config).join(", ")
    ))
}

/// Every version served, stateless first.
pub fn supported(config: &McpRouterConfig) -> Vec<String> {
    let p = &config.protocols;
    let mut out = Vec::new();
    if p.stateless.enabled {
        out.extend(p.stateless.versions.iter().cloned());
    }
    if p.legacy.enabled {
        out.extend(p.legacy.versions.iter().cloned());
    }
    out
}

/// Checks the stateless era's `Mcp-Method` and, for `tools/call`, `Mcp-Name` headers.
///
/// # Errors
/// [`Refusal::HeaderMismatch`] naming the header.
pub fn check_stateless_headers(headers: &HeaderMap, method: &str, tool: Option<&str>) -> Result<(), Refusal> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match get(HEADER_METHOD) {
        None => return Err(Refusal::HeaderMismatch("missing required Mcp-Method header".into())),
        Some(m) if m != method => {
            return Err(Refusal::HeaderMismatch(format!(
                "Mcp-Method header {m} does not match body method {method}"
            )));
        }
        Some(_) => {}
    }
    if let Some(expected) = tool {
        let raw = get(HEADER_NAME)
            .ok_or_else(|| Refusal::HeaderMismatch(format!("missing required Mcp-Name header for {method}")))?;
        let decoded = decode_header_value(raw)
            .ok_or_else(|| Refusal::HeaderMismatch("Mcp-Name header is not valid Base64".into()))?;
        if decoded != expected {
            return Err(Refusal::HeaderMismatch(format!(
                "Mcp-Name header {decoded} does not match body name {expected}"
            )));
        }
    }
    Ok(())
}

/// SEP-2243 header values: plain, or `=?base64?<b64>?=` for values that need it.
pub fn decode_header_value(value: &str) -> Option<String> {
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(inner) => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(inner).ok()?).ok(),
        None => Some(value.to_string()),
    }
}

/// Encodes a header value the way [`decode_header_value`] reads it.
pub fn encode_header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| b.is_ascii_graphic()) && !value.starts_with("=?base64?");
    if plain {
        value.to_string()
    } else {
        format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
