//! Who is calling: the verified claims of a token (or the name of a Basic or API-key user), and a
//! stable binding that sessions and limits are keyed by. The binding hashes the identity
//! claims, so a new token of the same caller keeps its sessions, and another caller never gets
//! them.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A verified caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The token's claims (empty for Basic and API-key callers).
    pub claims: Map<String, Value>,
    /// `client_id` (or `cid`).
    pub client_id: Option<String>,
    /// `user_id` (or `uid`, or `sub`).
    pub user_id: Option<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: Option<u64>,
    /// Scopes from `scope` (space separated) or `scp` (a list or a string).
    pub scopes: Vec<String>,
    /// Sessions, limits and the bridge's backend sessions are keyed by this.
    pub binding: String,
}

/// A claim as text: strings as they are, numbers and booleans printed.
fn text(claims: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| match claims.get(*name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Tokens of a claim: a list of strings, or a string split on commas and white space.
pub fn claim_tokens(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|t| !t.is_empty())
            .collect(),
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

impl Principal {
    /// The principal of verified JWT claims.
    pub fn from_claims(claims: Map<String, Value>) -> Self {
        let client_id = text(&claims, &["client_id", "cid"]);
        let user_id = text(&claims, &["user_id", "uid", "sub"]);
        let issuer = text(&claims, &["iss"]);
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let mut scopes = Vec::new();
        for name in ["scope", "scp"] {
            if let Some(value) = claims.get(name) {
                scopes.extend(claim_tokens(value));
            }
        }
        let identity = serde_json::json!({
            "iss": issuer,
            "client": client_id,
            "user": user_id,
            "email": text(&claims, &["email", "eml"]),
            "host": text(&claims, &["host"]),
            "tenant": text(&claims, &["tenant", "tenant_id", "tenantId", "tid"]),
        });
        let binding = format!("jwt:{}", hex::encode(Sha256::digest(identity.to_string().as_bytes())));
        Self {
            claims,
            client_id,
            user_id,
            issuer,
            expires_at,
            scopes,
            binding,
        }
    }

    /// The principal of a user checked by name (Basic or API key): no claims but the name.
    pub fn named(kind: &str, name: &str) -> Self {
        let mut claims = Map::new();
        claims.insert("user_id".into(), Value::String(name.to_string()));
        Self {
            claims,
            client_id: None,
            user_id: Some(name.to_string()),
            issuer: None,
            expires_at: None,
            scopes: Vec::new(),
            binding: format!("{kind}:{}", hex::encode(Sha256::digest(name.as_bytes()))),
        }
    }

    /// Whether the token carries every scope in `required`.
    pub fn has_scopes(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r))
    }

    /// A short form for logs: who, never the token.
    pub fn describe(&self) -> String {
        match (&self.user_id, &self.client_id) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(client)) => format!("client {client}"),
            (None, None) => "an anonymous token".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn identity_claims_and_scopes_are_read_in_upstreams_order() {
        let p = Principal::from_claims(claims(json!({
            "iss": "https://issuer", "cid": "agent", "sub": "alice", "exp": 100,
            "scope": "mcp.read mcp.call", "scp": ["extra"]
        })));
        assert_eq!(p.client_id.as_deref(), Some("agent"));
        assert_eq!(p.user_id.as_deref(), Some("alice"));
        assert_eq!(p.issuer.as_deref(), Some("https://issuer"));
        assert_eq!(p.expires_at, Some(100));
        assert_eq!(p.scopes, ["mcp.read", "mcp.call", "extra"]);
        assert!(p.has_scopes(&["mcp.call".into()]));
        assert!(!p.has_scopes(&["admin".into()]));
    }

    #[test]
    fn the_binding_follows_the_caller_not_the_token() {
        let a1 = Principal::from_claims(claims(json!({"iss": "i", "sub": "alice", "exp": 1, "jti": "x"})));
        let a2 = Principal::from_claims(claims(json!({"iss": "i", "sub": "alice", "exp": 2, "jti": "y"})));
        let b = Principal::from_claims(claims(json!({"iss": "i", "sub": "bob", "exp": 1})));
        assert_eq!(a1.binding, a2.binding);
        assert_ne!(a1.binding, b.binding);
        assert_ne!(Principal::named("basic", "alice").binding, a1.binding);
    }

    #[test]
    fn claim_tokens_split_strings_and_read_lists() {
        assert_eq!(claim_tokens(&json!("a b,c")), ["a", "b", "c"]);
        assert_eq!(claim_tokens(&json!(["a", " b ", 3])), ["a", "b", "3"]);
        assert!(claim_tokens(&json!({"a": 1})).is_empty());
    }
}
