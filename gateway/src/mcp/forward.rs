//! `forwardClientHeaders`: which client headers reach backends. The gateway writes framing,
//! connection and MCP session headers itself on each backend request; a client's copy of one
//! would break the framing, the connection, the target (Host) or the backend's session and era,
//! so such names are refused at startup.

use crate::config::ConfigError;

/// Headers the gateway writes itself on backend requests: forwarding a client's copy would
/// break the framing (length, encoding), the connection (hop-by-hop headers), the target (Host)
/// or the backend's MCP session and era.
const GATEWAY_OWNED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "content-type",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
];

/// Checks `forwardClientHeaders` of `file`.
///
/// # Errors
/// An entry that is no header name or names a header the gateway owns, with its index.
pub fn check(file: &str, names: &[String]) -> Result<(), ConfigError> {
    let bad = |key: &str, reason: String| ConfigError::invalid(file, key, reason);
    for (i, name) in names.iter().enumerate() {
        let key = format!("forwardClientHeaders[{i}]");
        let header = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| bad(&key, format!("'{name}' is not a header name")))?;
        if GATEWAY_OWNED_HEADERS.contains(&header.as_str()) {
            return Err(bad(
                &key,
                format!(
                    "'{name}' is set by the gateway for each backend request (framing, connection or MCP session) and cannot be forwarded"
                ),
            ));
        }
    }
    Ok(())
}
