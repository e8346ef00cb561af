//! A protected MCP deployment for process tests: the mock key service, the two mock MCP
//! backends and a gateway whose `/mcp` chain is `jwt`, `access-control`, `mcp`. Tellers may call
//! `echo` and `echo_b`, managers `echo_b` and `add`; every other tool has no rule and is denied.

use serde_json::{Value, json};

use super::mcp::{mcp_server, tools};
use super::*;

/// The issuer tokens carry.
pub const ISSUER: &str = "https://auth.test";
/// The audience the gateway requires.
pub const AUDIENCE: &str = "mcp-gateway";

/// The running pieces.
pub struct AuthDeployment {
    /// The key service.
    pub keys: Mock,
    /// `backend-a` (legacy sessions).
    pub a: Mock,
    /// `backend-b` (stateless).
    pub b: Mock,
    /// The gateway.
    pub gateway: Gateway,
    /// `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    _app: AppDir,
}

/// Handler, security and access-control values of the protected scenario (`keys` is the key
/// service's URL).
pub fn auth_values(keys: &str) -> String {
    format!(
        "handler.handlers: [jwt, access-control, mcp]
handler.chains: {{mcp-chain: [jwt, access-control, mcp]}}
handler.paths: [{{path: /mcp, method: POST, exec: [mcp-chain]}}]
handler.defaultHandlers: []
client.tokenKeyServerUrl: '{keys}'
security.issuer: {ISSUER}
security.audience: [{AUDIENCE}]
security.protectedResource.scopesSupported: [mcp.tools]
access-control.enabled: true
rule.ruleBodies:
  allow-role: {{ruleId: allow-role, ruleType: req-acc, actions: [{{actionRef: RoleBasedAccessControlAction}}]}}
rule.endpointRules:
  echo@call: {{req-acc: [allow-role], permission: {{roles: teller}}}}
  echo_b@call: {{req-acc: [allow-role], permission: {{roles: teller manager}}}}
  add@call: {{req-acc: [allow-role], permission: {{roles: manager}}}}
"
    )
}

/// Starts the protected deployment; `extra` is appended to values.yml; `keys_args` go to the
/// key service.
pub fn deploy_auth(extra: &str) -> AuthDeployment {
    let keys = Mock::key_service(light_gateway_fixtures::key_service::KeyAlg::RS256);
    let a = mcp_server("backend-a", "legacy");
    let b = mcp_server("backend-b", "stateless");
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let values = format!(
        "{}{}{}",
        values(&dead, None, port),
        auth_values(&keys.main),
        tools(&a, &b, extra)
    );
    let app = AppDir::new(&values);
    let gateway = Gateway::start(&app, None);
    gateway.wait_ready();
    AuthDeployment {
        keys,
        a,
        b,
        gateway,
        url: format!("http://127.0.0.1:{port}/mcp"),
        base: format!("http://127.0.0.1:{port}"),
        _app: app,
    }
}

impl AuthDeployment {
    /// A token from the key service with `claims` over the standard issuer and audience.
    pub fn token(&self, claims: Value) -> String {
        self.mint(json!({"claims": with_defaults(claims)}))
    }

    /// A token minted with a raw `POST /__admin/tokens` body.
    pub fn mint(&self, body: Value) -> String {
        let answer = self.keys.post("/__admin/tokens", body);
        answer["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {answer}"))
            .to_string()
    }
}

/// `claims` with `iss` and `aud` unless given.
pub fn with_defaults(claims: Value) -> Value {
    let mut claims = claims.as_object().cloned().unwrap_or_default();
    claims.entry("iss").or_insert(json!(ISSUER));
    claims.entry("aud").or_insert(json!(AUDIENCE));
    Value::Object(claims)
}
