//! MCP: the JSON-RPC envelope, and the router's validation of a whole HTTP request.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use light_gateway::mcp::backend::Backends;
use light_gateway::mcp::config::McpRouterConfig;
use light_gateway::mcp::protocol::{HEADER_SESSION_ID, decode_header_value, encode_header_value};
use light_gateway::mcp::tools::{self, ToolTable};
use light_gateway::mcp::wire::{self, CallParams, CommonParams, Incoming};
use light_gateway::mcp::{Body, HttpRequest, Reply, Router};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::input;
use crate::loopback::block_on;

/// The deepest nesting `maxJsonDepth` may allow; deeper bodies never reach the parser.
const DEEPEST: usize = 128;

/// Input: a request body. Checks the depth scan, parsing, the router's params classification,
/// the frames built around parsed parts, and the `Mcp-Name` header encoding.
pub fn jsonrpc(data: &[u8]) {
    assert!(
        !wire::nests_deeper_than(data, data.len()),
        "nests deeper than it has bytes"
    );
    for max in [0, 1, 2, 7, 31, 64] {
        if wire::nests_deeper_than(data, max + 1) {
            assert!(
                wire::nests_deeper_than(data, max),
                "deeper than {} but not than {max}",
                max + 1
            );
        }
    }
    if let Ok(text) = str::from_utf8(data) {
        let encoded = encode_header_value(text);
        assert_eq!(
            decode_header_value(&encoded).as_deref(),
            Some(text),
            "header value {encoded}"
        );
    }
    if wire::nests_deeper_than(data, DEEPEST) {
        return;
    }
    let Ok(message) = wire::parse(data) else {
        return;
    };
    assert_eq!(message.jsonrpc.as_deref(), Some("2.0"));
    assert!(
        message.method.is_some() || message.id.is_some(),
        "neither method nor id"
    );

    let rebuilt = rebuild(&message);
    let again =
        wire::parse(rebuilt.as_bytes()).unwrap_or_else(|e| panic!("re-serialised as {rebuilt}, it fails: {e:?}"));
    assert_eq!(again.method, message.method, "{rebuilt}");
    assert_eq!(again.id.map(RawValue::get), message.id.map(RawValue::get), "{rebuilt}");
    assert_eq!(
        again.params.map(RawValue::get),
        message.params.map(RawValue::get),
        "{rebuilt}"
    );

    // As the router reads params: tools/call strictly, anything else leniently.
    let params = message.params.map_or("{}", RawValue::get);
    if message.method.as_deref() == Some("tools/call") {
        if let Ok(call) = serde_json::from_str::<CallParams>(params) {
            let header = encode_header_value(&call.name);
            assert_eq!(decode_header_value(&header).as_deref(), Some(call.name.as_ref()));
        }
    } else {
        let _ = serde_json::from_str::<CommonParams>(params);
    }
    if let Some(id) = message.id {
        let frame = json_rpc(&wire::result_frame(id, params));
        assert_eq!(
            frame.id.as_deref(),
            Some(id.get()),
            "the result frame carries the request's id"
        );
    }
}

/// The message written out again from its parsed parts.
fn rebuild(message: &Incoming<'_>) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut members = vec![format!(
        r#""jsonrpc":{}"#,
        quote(message.jsonrpc.as_deref().unwrap_or_default())
    )];
    if let Some(id) = message.id {
        members.push(format!(r#""id":{}"#, id.get()));
    }
    if let Some(method) = &message.method {
        members.push(format!(r#""method":{}"#, quote(method)));
    }
    if let Some(params) = message.params {
        members.push(format!(r#""params":{}"#, params.get()));
    }
    format!("{{{}}}", members.join(","))
}

/// The envelope of a JSON-RPC message the gateway wrote. Members stay raw: a backend's result
/// may hold numbers `Value` cannot (`1e400`), which the gateway rightly passes on untouched.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// What the checks need of a message: its id (as written) and its method.
#[derive(Debug)]
pub(crate) struct Message {
    /// The raw id, if any.
    pub id: Option<String>,
    /// The method, if any.
    pub method: Option<String>,
}

/// A JSON-RPC message the gateway wrote: valid JSON, `jsonrpc: "2.0"`, and a result or an error
/// when it is a response.
pub(crate) fn json_rpc(bytes: &[u8]) -> Message {
    let envelope: Envelope = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "the gateway wrote no JSON-RPC message ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    });
    assert_eq!(envelope.jsonrpc, "2.0", "{envelope:?}");
    if envelope.method.is_none() {
        assert!(
            envelope.result.is_some() != envelope.error.is_some(),
            "a response needs a result or an error: {envelope:?}"
        );
    }
    Message {
        id: envelope.id.map(|id| id.get().to_string()),
        method: envelope.method.map(Cow::into_owned),
    }
}

/// Every JSON-RPC message of a reply, its framing checked: a JSON body is one message, an SSE
/// body is events of exactly `event: message\ndata: <one line>\n\n`.
pub(crate) fn messages(reply: Reply) -> Vec<Message> {
    assert!((200..600).contains(&reply.status), "status {}", reply.status);
    let sse = reply
        .headers
        .iter()
        .any(|(name, value)| name == http::header::CONTENT_TYPE && value == "text/event-stream");
    let mut out = Vec::new();
    match reply.body {
        Body::Empty => {}
        Body::Full(bytes) if sse => out.push(event(&bytes)),
        Body::Full(bytes) => out.push(json_rpc(&bytes)),
        Body::Events(mut events) => block_on(async {
            while let Some(bytes) = events.recv().await {
                out.push(event(&bytes));
            }
        }),
    }
    out
}

/// One SSE event as the gateway writes it.
fn event(bytes: &[u8]) -> Message {
    let shown = String::from_utf8_lossy(bytes);
    let data = bytes
        .strip_prefix(b"event: message\ndata: ")
        .and_then(|rest| rest.strip_suffix(b"\n\n"))
        .unwrap_or_else(|| panic!("not one SSE message event: {shown:?}"));
    assert!(
        !data.contains(&b'\n') && !data.contains(&b'\r'),
        "a line break inside an SSE data line ends the line there, so the client reads a broken message: {shown:?}"
    );
    json_rpc(data)
}

/// The router the request target runs against: both eras, Origin and Host allowlists, a trusted
/// proxy (the peer, so `X-Forwarded-For` counts), a forwarded header and one tool of each kind. Backends are on a closed loopback port: a call fails
/// fast, which is all request validation needs (the backend target reads real answers).
fn router() -> Router {
    let config: McpRouterConfig = serde_json::from_value(serde_json::json!({
        "originAllowlist": ["https://app.example"],
        "allowedHosts": ["gw.example", "localhost:8080", "[::1]"],
        "trustedProxies": ["127.0.0.1", "10.0.0.0/8"],
        "forwardClientHeaders": ["x-trace-id"],
        "maxJsonDepth": 32,
        "maxSessions": 4,
        "maxSessionsPerClient": 2,
        "backendTimeoutMs": 1000,
        "tools": [
            tool("echo", "mcp", Some("stateless")),
            tool("legacy.echo", "mcp", None),
            tool("http_get", "http", None),
        ],
    }))
    .expect("the fuzz mcp-router.yml is valid");
    build(config)
}

/// A tool entry on `http://127.0.0.1:1` (nothing listens there).
pub(crate) fn tool(name: &str, api: &str, era: Option<&str>) -> Value {
    tool_at(name, api, era, "http://127.0.0.1:1")
}

/// A tool entry on `target`, loopback allowed.
pub(crate) fn tool_at(name: &str, api: &str, era: Option<&str>, target: &str) -> Value {
    let mut tool = serde_json::json!({
        "name": name,
        "description": format!("{name} for fuzzing"),
        "apiType": api,
        "targetHost": target,
        "path": format!("/{name}"),
        "toolMetadata": {"runtime": {"allowPrivateTargetHost": true}},
    });
    if let Some(era) = era {
        tool["backendMcpProtocol"] = era.into();
    }
    tool
}

/// A router over a validated config, as `mcp::setup::build` makes it (no access policy).
pub(crate) fn build(config: McpRouterConfig) -> Router {
    config
        .validate("mcp-router.yml")
        .expect("the fuzz mcp-router.yml validates");
    let timeout = Duration::from_millis(config.backend_timeout_ms);
    let tools = config
        .tools
        .iter()
        .enumerate()
        .map(|(i, t)| tools::from_config(t, t.url("mcp-router.yml", i).expect("a valid URL"), timeout))
        .collect();
    let backends = Backends::new(
        super::tls(),
        config.max_response_body_bytes,
        (
            config.max_concurrent_backend_calls,
            config.protocols.stateless.max_concurrent_backend_calls_per_target,
        ),
        Duration::from_millis(config.session_idle_timeout_ms),
    );
    let sessions = Router::new_sessions(&config, None);
    Router::new(
        config,
        "mcp-router.yml",
        ToolTable::new(tools),
        std::sync::Arc::new(backends),
        sessions,
    )
    .expect("the fuzz router builds")
}

/// Input: up to four requests between separator lines, each a method line (`POST`), header
/// lines, an empty line and the body. `@SESSION@` stands for the last `Mcp-Session-Id` the
/// router handed out, so a legacy session can be opened and then used. Each run gets a fresh
/// router: sessions must not leak from one input into the next.
pub fn mcp_request(data: &[u8]) {
    let router = Arc::new(router());
    let mut session: Option<String> = None;
    for request in input::parts(data, 4) {
        let request = match &session {
            Some(id) => input::replace(request, b"@SESSION@", id.as_bytes()),
            None => request.to_vec(),
        };
        let (method, rest) = input::first_line(&request);
        let method = Method::from_bytes(method.trim_ascii()).unwrap_or(Method::POST);
        let (headers, body) = input::head_and_body(rest);
        let authority = headers.get(http::header::HOST).and_then(|v| v.to_str().ok());
        let reply = block_on(router.handle(HttpRequest {
            method: &method,
            headers: &headers,
            body,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            authority,
            principal: None,
            policy: None,
            correlation: Default::default(),
        }));
        if let Some((_, id)) = reply.headers.iter().find(|(name, _)| name == HEADER_SESSION_ID) {
            session = Some(id.clone());
        }
        let status = reply.status;
        let messages = messages(reply);
        assert!(
            messages.len() <= 1,
            "HTTP {status} answered {} messages",
            messages.len()
        );
    }
}
