//! What a refused request is told, and where an MCP client learns how to get a token.
//!
//! Statuses and bodies keep upstream's (`text/plain`, `<code>: <message>`), and the challenge
//! follows the MCP authorization spec on top: a 401 carries `WWW-Authenticate: Bearer
//! resource_metadata="<url>"` (with `error="invalid_token"` when a token was sent and failed,
//! RFC 6750), a missing scope is 403 with `error="insufficient_scope"`, and the OAuth 2.0
//! Protected Resource Metadata (RFC 9728) is served at `/.well-known/oauth-protected-resource`
//! and at that path followed by the MCP path. An unreachable key service is 503 with
//! `Retry-After`: the gateway fails closed, and the client may try again.

use serde::Serialize;

use super::config::SecurityConfig;
use super::jwt::Refusal;

/// The well-known path of the metadata document (RFC 9728 §3).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// A complete refusal: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// `text/plain` body.
    pub body: String,
}

/// Characters a quoted-string of a challenge may not carry as they are.
fn quoted(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect();
    format!("\"{clean}\"")
}

/// The response for `refusal`; `metadata_url` is where the resource metadata is.
pub fn respond(refusal: &Refusal, metadata_url: Option<&str>) -> Response {
    let bearer = |params: Vec<(&str, String)>| {
        let mut all: Vec<String> = Vec::new();
        if let Some(url) = metadata_url {
            all.push(format!("resource_metadata={}", quoted(url)));
        }
        all.extend(params.into_iter().map(|(k, v)| format!("{k}={}", quoted(&v))));
        if all.is_empty() {
            "Bearer".to_string()
        } else {
            format!("Bearer {}", all.join(", "))
        }
    };
    let (status, code, headers) = match refusal {
        Refusal::Missing(_) => (401, "ERR10002", vec![("www-authenticate", bearer(Vec::new()))]),
        Refusal::Invalid(reason) => (
            401,
            "ERR10002",
            vec![(
                "www-authenticate",
                bearer(vec![
                    ("error", "invalid_token".into()),
                    ("error_description", reason.clone()),
                ]),
            )],
        ),
        Refusal::InsufficientScope(missing) => (
            403,
            "ERR10005",
            vec![(
                "www-authenticate",
                bearer(vec![
                    ("error", "insufficient_scope".into()),
                    ("scope", missing.join(" ")),
                ]),
            )],
        ),
        Refusal::Basic(_) => (
            401,
            "ERR10005",
            vec![("www-authenticate", "Basic realm=\"light-gateway\"".to_string())],
        ),
        Refusal::ApiKey(_) => (401, "ERR10075", Vec::new()),
        Refusal::Forbidden(_) => (403, "ERR10007", Vec::new()),
        Refusal::KeysUnavailable(_) => (503, "ERR10056", vec![("retry-after", "5".to_string())]),
    };
    Response {
        status,
        headers,
        body: format!("{code}: {refusal}\n"),
    }
}

/// The metadata document (RFC 9728 §2).
#[derive(Debug, Serialize)]
struct Metadata<'a> {
    resource: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scopes_supported: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    resource_name: &'a str,
}

/// Where the protected resource (the MCP endpoint) is, as clients name it: the configured
/// `protectedResource.resource`, else the URL of this request's host and the MCP path.
pub fn resource(config: &SecurityConfig, host: Option<&str>, tls: bool, mcp_path: &str) -> String {
    let configured = config.protected_resource.resource.trim();
    if !configured.is_empty() {
        return configured.to_string();
    }
    let host = host.filter(|h| valid_host(h)).unwrap_or("localhost");
    format!("{}://{host}{mcp_path}", if tls { "https" } else { "http" })
}

/// The metadata URL for `resource` (RFC 9728 §3.1: the well-known path, then the resource's path).
pub fn metadata_url(resource: &str) -> String {
    match url::Url::parse(resource) {
        Ok(url) => {
            let path = url.path().trim_end_matches('/');
            let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("localhost"));
            if let Some(port) = url.port() {
                out.push_str(&format!(":{port}"));
            }
            format!("{out}{METADATA_PATH}{path}")
        }
        Err(_) => METADATA_PATH.to_string(),
    }
}

/// A Host header value safe to echo into a URL: a name or address and an optional port.
fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// Whether `path` is a metadata document this gateway serves for `mcp_path`.
pub fn is_metadata_path(path: &str, mcp_path: &str) -> bool {
    path == METADATA_PATH || path.strip_prefix(METADATA_PATH) == Some(mcp_path)
}

/// The metadata document as JSON.
pub fn metadata(config: &SecurityConfig, resource: &str) -> String {
    let doc = Metadata {
        resource,
        authorization_servers: config.authorization_servers(),
        bearer_methods_supported: ["header"],
        scopes_supported: &config.protected_resource.scopes_supported,
        resource_name: config.protected_resource.resource_name.trim(),
    };
    serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    const META: &str = "https://gw.example/.well-known/oauth-protected-resource/mcp";

    #[rstest]
    #[case::missing(Refusal::Missing("a Bearer token is required".into()), 401, Some(r#"Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp""#))]
    #[case::invalid(Refusal::Invalid("the token has expired".into()), 401, Some(r#"Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the token has expired""#))]
    #[case::scope(Refusal::InsufficientScope(vec!["mcp.call".into(), "x".into()]), 403, Some(r#"Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", scope="mcp.call x""#))]
    #[case::basic(Refusal::Basic("unknown user".into()), 401, Some(r#"Basic realm="light-gateway""#))]
    #[case::apikey(Refusal::ApiKey("bad".into()), 401, None)]
    #[case::forbidden(Refusal::Forbidden("no".into()), 403, None)]
    #[case::keys_down(Refusal::KeysUnavailable("down".into()), 503, None)]
    fn each_refusal_gets_its_status_and_challenge(
        #[case] refusal: Refusal,
        #[case] status: u16,
        #[case] challenge: Option<&str>,
    ) {
        let r = respond(&refusal, Some(META));
        assert_eq!(r.status, status);
        assert_eq!(header(&r, "www-authenticate"), challenge);
        assert!(r.body.ends_with(&format!("{refusal}\n")), "{}", r.body);
    }

    #[test]
    fn quotes_in_reasons_cannot_break_the_challenge() {
        let r = respond(&Refusal::Invalid("a \"quoted\"\r\n reason\\".into()), None);
        assert_eq!(
            header(&r, "www-authenticate"),
            Some(r#"Bearer error="invalid_token", error_description="a 'quoted' reason'""#)
        );
        assert_eq!(
            header(&respond(&Refusal::Missing("x".into()), None), "www-authenticate"),
            Some("Bearer")
        );
    }

    #[test]
    fn the_resource_and_its_metadata_url_follow_the_request_unless_configured() {
        let mut config: SecurityConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(resource(&config, Some("gw:8080"), false, "/mcp"), "http://gw:8080/mcp");
        assert_eq!(
            resource(&config, Some("evil\"/x"), true, "/mcp"),
            "https://localhost/mcp"
        );
        assert_eq!(
            metadata_url("http://gw:8080/mcp"),
            "http://gw:8080/.well-known/oauth-protected-resource/mcp"
        );
        config.protected_resource.resource = "https://mcp.example.com/mcp".into();
        assert_eq!(
            resource(&config, Some("gw"), false, "/mcp"),
            "https://mcp.example.com/mcp"
        );
        assert!(is_metadata_path("/.well-known/oauth-protected-resource", "/mcp"));
        assert!(is_metadata_path("/.well-known/oauth-protected-resource/mcp", "/mcp"));
        assert!(!is_metadata_path("/.well-known/oauth-protected-resource/other", "/mcp"));
    }

    #[test]
    fn the_metadata_names_the_issuer_when_no_server_is_listed() {
        let config: SecurityConfig = serde_json::from_value(
            serde_json::json!({"issuer": "https://auth.example", "protectedResource": {"scopesSupported": "mcp.call"}}),
        )
        .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&metadata(&config, "https://gw/mcp")).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"resource": "https://gw/mcp", "authorization_servers": ["https://auth.example"],
                "bearer_methods_supported": ["header"], "scopes_supported": ["mcp.call"]})
        );
    }
}
