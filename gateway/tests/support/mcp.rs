//! An MCP deployment for process tests: two mock MCP servers (instance `backend-a` with
//! sessions, `backend-b` stateless) and a gateway routing tools to them.

use serde_json::Value;

use super::*;

/// The running pieces.
pub struct McpDeployment {
    /// `backend-a`: legacy sessions.
    pub a: Mock,
    /// `backend-b`: stateless.
    pub b: Mock,
    /// The gateway.
    pub gateway: Gateway,
    /// `http://127.0.0.1:<port>/mcp` of the gateway.
    pub url: String,
    _app: AppDir,
}

impl McpDeployment {
    /// The gateway's port.
    pub fn port(&self) -> u16 {
        let authority = self.url.trim_start_matches("http://").trim_end_matches("/mcp");
        authority.rsplit(':').next().unwrap().parse().unwrap()
    }
}

/// A raw HTTP/1.1 stateless tools/call of `tool` with `arguments` (JSON text), answered as SSE;
/// `connection: close` when `close`.
pub fn raw_sse_call(tool: &str, arguments: &str, close: bool) -> String {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    );
    format!(
        "POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\naccept: text/event-stream\r\n{}\
         mcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\nmcp-name: {tool}\r\n\
         content-length: {}\r\n\r\n{body}",
        if close { "connection: close\r\n" } else { "" },
        body.len()
    )
}

/// A stateless (2026-07-28) tools/call of `tool` with no arguments, JSON or SSE accepted.
pub fn stateless_call(http: &reqwest::blocking::Client, url: &str, tool: &str) -> reqwest::blocking::RequestBuilder {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    http.post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(body.to_string())
}

/// The incident id in a client-facing failure message.
pub fn incident_of(message: &str) -> &str {
    let start = message.find("incident ").expect("no incident id") + "incident ".len();
    &message[start..start + 16]
}

/// A mock MCP server, `mode` `legacy` or `stateless`.
pub fn mcp_server(instance: &str, mode: &str) -> Mock {
    let mode = match mode {
        "legacy" => light_gateway_fixtures::SessionMode::Legacy,
        "stateless" => light_gateway_fixtures::SessionMode::Stateless,
        other => panic!("no session mode {other:?}"),
    };
    Mock::mcp_server(instance, mode, None)
}

/// The tools: echo/add/slow/fail on A (legacy), echo_b on B (stateless), `down` to a dead
/// port, and B aggregated under the prefix `b`.
pub fn tools(a: &Mock, b: &Mock, extra: &str) -> String {
    let private = "toolMetadata: {runtime: {allowPrivateTargetHost: true}}";
    let dead = free_port();
    format!(
        "mcp-router.tools:
  - {{name: echo, description: Echo on A, apiType: mcp, targetHost: '{a}', path: /mcp, {private}}}
  - {{name: add, apiType: mcp, targetHost: '{a}', path: /mcp, {private}, inputSchema: {{type: object, properties: {{a: {{type: number}}, b: {{type: number}}}}}}}}
  - {{name: fail, apiType: mcp, targetHost: '{a}', path: /mcp, {private}}}
  - {{name: slow, apiType: mcp, targetHost: '{a}', path: /mcp, toolMetadata: {{runtime: {{allowPrivateTargetHost: true, timeoutMs: 300}}}}}}
  - {{name: echo_b, endpointName: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: '{b}', path: /mcp, {private}}}
  - {{name: down, endpointName: echo, apiType: mcp, targetHost: 'http://127.0.0.1:{dead}', path: /mcp, {private}}}
  - {{name: all_of_b, apiType: mcp, backendMcpProtocol: stateless, targetHost: '{b}', path: /mcp, {private}, aggregate: {{prefix: b, refreshIntervalMs: 60000}}}}
{extra}",
        a = a.main,
        b = b.main
    )
}

/// Handler values that put `mcp` on `/mcp`.
pub const HANDLERS: &str = "handler.handlers: [mcp]
handler.chains: {mcp-chain: [mcp]}
handler.paths: [{path: /mcp, method: POST, exec: [mcp-chain]}]
handler.defaultHandlers: []
";

/// Starts the deployment; `extra` is appended to values.yml.
pub fn deploy(extra: &str) -> McpDeployment {
    let a = mcp_server("backend-a", "legacy");
    let b = mcp_server("backend-b", "stateless");
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let values = format!("{}{HANDLERS}{}", values(&dead, None, port), tools(&a, &b, extra));
    let app = AppDir::new(&values);
    let gateway = Gateway::start(&app, None);
    gateway.wait_ready();
    McpDeployment {
        a,
        b,
        gateway,
        url: format!("http://127.0.0.1:{port}/mcp"),
        _app: app,
    }
}

/// The text of a tools/call result's first content item.
pub fn first_text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

/// rmcp's own client through the gateway at `url`: the 2026-07-28 lifecycle (`discover`) when
/// `stateless`, else `initialize`; `bearer` as `Authorization: Bearer` when given.
pub async fn rmcp_client(
    url: &str,
    stateless: bool,
    bearer: Option<String>,
) -> rmcp::service::RunningService<rmcp::service::RoleClient, rmcp::model::ClientConfig> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::{ClientLifecycleMode, ClientServiceExt};

    light_gateway::tls::install_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = bearer {
        config = config.auth_header(token);
    }
    let lifecycle = if stateless {
        ClientLifecycleMode::Discover {
            preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
        }
    } else {
        ClientLifecycleMode::Initialize
    };
    rmcp::model::ClientConfig::default()
        .serve_with_lifecycle(StreamableHttpClientTransport::with_client(http, config), lifecycle)
        .await
        .expect("the rmcp client connects through the gateway")
}
