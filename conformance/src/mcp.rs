//! MCP as a client sees it, with rmcp's own client (an implementation neither the gateway nor
//! the suite wrote): both eras, tools/list and tools/call. [`strict`] is the second opinion:
//! the official Python SDK, which validates every answer against its models.

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt};
use serde_json::Value;

use crate::outcome::Failure;

pub mod strict;

/// A protocol era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` and a session (2025-11-25 and older).
    Legacy,
    /// 2026-07-28: `server/discover`, no session.
    Stateless,
}

impl Era {
    /// Both, in order.
    pub const BOTH: [Era; 2] = [Era::Legacy, Era::Stateless];

    /// Name in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Stateless => "2026-07-28",
        }
    }
}

/// A connected client.
pub struct Client(RunningService<RoleClient, ClientConfig>);

/// Connects to `url` in `era`, sending `bearer` as `Authorization: Bearer` when given.
///
/// # Errors
/// The handshake failed.
pub async fn connect(url: &url::Url, era: Era, bearer: Option<&str>) -> Result<Client, Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
    if let Some(token) = bearer {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let lifecycle = match era {
        Era::Legacy => ClientLifecycleMode::Initialize,
        Era::Stateless => ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    };
    let service = ClientConfig::default()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .map_err(|e| Failure(format!("{} handshake with {url}: {e}", era.name())))?;
    Ok(Client(service))
}

impl Client {
    /// tools/list, all pages: the names.
    ///
    /// # Errors
    /// The request failed.
    pub async fn tool_names(&self) -> Result<Vec<String>, Failure> {
        let tools = self
            .0
            .list_all_tools()
            .await
            .map_err(|e| Failure(format!("tools/list: {e}")))?;
        Ok(tools.into_iter().map(|t| t.name.to_string()).collect())
    }

    /// tools/call with object arguments; the result as JSON.
    ///
    /// # Errors
    /// A JSON-RPC error or a transport failure.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, Failure> {
        let Value::Object(arguments) = arguments else {
            return Err(Failure("arguments must be an object".into()));
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        let result = self
            .0
            .call_tool(params)
            .await
            .map_err(|e| Failure(format!("tools/call {tool}: {e}")))?;
        Ok(serde_json::to_value(result)?)
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.0.cancel().await;
    }
}

/// One stateless tools/call as raw HTTP (for load and fault checks), with `bearer` when given:
/// status and JSON body.
///
/// # Errors
/// No answer.
pub async fn raw_call(
    http: &reqwest::Client,
    url: &url::Url,
    tool: &str,
    arguments: Value,
    bearer: Option<&str>,
) -> Result<(u16, Value), Failure> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mut request = http.post(url.clone());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&body)
        .send()
        .await
        .map_err(|e| Failure(format!("tools/call {tool}: {e}")))?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}
