//! The controller's JSON-RPC 2.0 frames (docs/protocols.md#controller).

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The id of the first frame, always.
pub const REGISTER_ID: &str = "register-1";

/// `service/register` params (Debug shows the token as `<redacted>`).
#[derive(Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegisterParams {
    /// `server.serviceId`.
    pub service_id: String,
    /// The suffix of serviceId after its last `-` when it starts with a digit, else ours.
    pub version: String,
    /// `https` when HTTPS is on, else `http`.
    pub protocol: String,
    /// `server.advertisedAddress`.
    pub address: String,
    /// The port matching `protocol`.
    pub port: u16,
    /// `server.environment`.
    pub env_tag: String,
    /// The token without `Bearer `.
    pub jwt: String,
}

impl std::fmt::Debug for RegisterParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterParams")
            .field("service_id", &self.service_id)
            .field("version", &self.version)
            .field("protocol", &self.protocol)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("env_tag", &self.env_tag)
            .field("jwt", &if self.jwt.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

/// The registered version: serviceId's suffix after its last `-` when it starts with a digit
/// (`com.x.gw-1.2.0` -> `1.2.0`), else the gateway's own version.
pub fn service_version(service_id: &str) -> String {
    service_id
        .rsplit_once('-')
        .map(|(_, suffix)| suffix)
        .filter(|s| s.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(env!("CARGO_PKG_VERSION"))
        .to_string()
}

/// The token without its `Bearer ` scheme.
pub fn bare_token(token: &str) -> String {
    let token = token.trim();
    match token.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().to_string(),
        _ => token.to_string(),
    }
}

/// A request frame.
pub fn request(id: &str, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// The answer to a controller request: same id, `"method": null`.
pub fn answer(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": null, "result": result}).to_string()
}

/// The result for a controller method this gateway does not implement.
pub fn unsupported(method: &str) -> Value {
    json!({
        "supported": false,
        "status": "unsupported",
        "error": {"code": "unsupported_method", "message": format!("method '{method}' is not supported by this gateway")},
    })
}

/// The result for a `tools/call` of a tool this gateway does not have: the same shape as an
/// unknown method (upstream hands such calls to its unknown-method answer).
pub fn unsupported_tool(name: &str) -> Value {
    json!({
        "supported": false,
        "status": "unsupported",
        "error": {"code": "unsupported_method", "message": format!("tool '{name}' is not supported by this gateway")},
    })
}

/// An inbound frame, classified.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// An answer to one of our requests.
    Response {
        /// Its id.
        id: String,
        /// `result`, or the error message.
        outcome: Result<Value, String>,
    },
    /// A controller request that needs an answer.
    Request {
        /// Its id (any JSON value).
        id: Value,
        /// The method.
        method: String,
        /// Its params; `{}` when absent or null, as upstream reads them.
        params: Value,
    },
    /// A notification or something we ignore.
    Other,
}

/// Classifies a text frame; `None` when it is not JSON-RPC.
pub fn classify(text: &str) -> Option<Inbound> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let id = frame.get("id").filter(|id| !id.is_null());
    let method = frame.get("method").and_then(Value::as_str);
    Some(match (id, method) {
        (Some(id), Some(method)) => Inbound::Request {
            id: id.clone(),
            method: method.to_string(),
            params: frame
                .get("params")
                .filter(|p| !p.is_null())
                .cloned()
                .unwrap_or_else(|| json!({})),
        },
        (Some(id), None) => Inbound::Response {
            id: id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string()),
            outcome: match frame.get("error") {
                Some(error) => Err(error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| error.to_string())),
                None => Ok(frame.get("result").cloned().unwrap_or(Value::Null)),
            },
        },
        _ => Inbound::Other,
    })
}

/// The runtimeInstanceId of a register result.
///
/// # Errors
/// A result without a UUID `runtimeInstanceId` or with a status other than `registered`.
pub fn registered_id(result: &Value) -> Result<Uuid, String> {
    let status = result.get("status").and_then(Value::as_str).unwrap_or("registered");
    if status != "registered" {
        return Err(format!("controller answered status '{status}'"));
    }
    result
        .get("runtimeInstanceId")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| format!("controller ack has no UUID runtimeInstanceId: {result}"))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let params = RegisterParams {
            service_id: "svc-1".into(),
            version: "1".into(),
            protocol: "http".into(),
            address: "gw".into(),
            port: 8080,
            env_tag: "dev".into(),
            jwt: "eyJ.secret.sig".into(),
        };
        let shown = format!("{params:?}");
        assert!(!shown.contains("secret") && shown.contains("<redacted>"), "{shown}");
    }

    #[rstest]
    #[case("com.customer.mcp-gateway-1.0.0", "1.0.0")]
    #[case("svc-2", "2")]
    #[case("com.customer.mcp-gateway", env!("CARGO_PKG_VERSION"))]
    #[case("plain", env!("CARGO_PKG_VERSION"))]
    fn version_is_the_numeric_suffix_of_service_id(#[case] sid: &str, #[case] expected: &str) {
        assert_eq!(service_version(sid), expected);
    }

    #[rstest]
    #[case("Bearer abc", "abc")]
    #[case("bearer abc", "abc")]
    #[case("abc", "abc")]
    fn jwt_is_sent_without_the_bearer_scheme(#[case] token: &str, #[case] expected: &str) {
        assert_eq!(bare_token(token), expected);
    }

    #[test]
    fn controller_request_gets_same_id_and_null_method() {
        let frame: Value = serde_json::from_str(&answer(&json!(7), unsupported("x/y"))).unwrap();
        assert_eq!(frame["id"], 7);
        assert!(frame["method"].is_null() && frame.as_object().unwrap().contains_key("method"));
        assert_eq!(frame["result"]["status"], "unsupported");
    }

    #[test]
    fn frames_are_classified() {
        let ok = classify(r#"{"jsonrpc":"2.0","id":"register-1","result":{"a":1}}"#).unwrap();
        assert!(matches!(ok, Inbound::Response { ref id, outcome: Ok(_) } if id == "register-1"));
        let err = classify(r#"{"jsonrpc":"2.0","id":"register-1","error":{"code":1,"message":"bad sid"}}"#).unwrap();
        assert_eq!(
            err,
            Inbound::Response {
                id: "register-1".into(),
                outcome: Err("bad sid".into())
            }
        );
        let req = classify(r#"{"jsonrpc":"2.0","id":3,"method":"a/b","params":{"name":"x"}}"#).unwrap();
        assert_eq!(
            req,
            Inbound::Request {
                id: json!(3),
                method: "a/b".into(),
                params: json!({"name": "x"}),
            }
        );
        let bare = classify(r#"{"jsonrpc":"2.0","id":"c-1","method":"tools/list"}"#).unwrap();
        assert!(
            matches!(bare, Inbound::Request { ref params, .. } if *params == json!({})),
            "{bare:?}"
        );
        assert_eq!(classify("not json"), None);
    }

    #[test]
    fn ack_needs_a_uuid() {
        let id = Uuid::new_v4();
        assert_eq!(
            registered_id(&json!({"runtimeInstanceId": id.to_string(), "status": "registered"})),
            Ok(id)
        );
        assert!(registered_id(&json!({"runtimeInstanceId": "nope"})).is_err());
        assert!(registered_id(&json!({"runtimeInstanceId": id.to_string(), "status": "rejected"})).is_err());
    }
}
