//! An MCP backend's answer to a tools/call, read by the gateway: one JSON body, or an SSE stream
//! whose notifications are passed on and whose response to the call's id ends the call.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, Method};
use light_gateway::mcp::{HttpRequest, Router};
use serde_json::{Value, json};

use super::mcp::{build, messages, tool_at};
use crate::input;
use crate::loopback::{Canned, Loopback, Seen, Stage, block_on, stage, staged};

/// What the backend answers a legacy `initialize` with (the session handshake is not the input).
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"fuzz","version":"1"}}}"#;

/// Stands for the id of the backend request in a staged answer.
const ID_MARKER: &[u8] = b"@ID@";

/// The router of one thread, its tools on the loopback backend, and the staged answer. The
/// router lives as long as the thread: a stateless call leaves nothing behind, and a legacy
/// backend's bridge session is reused as in production (the backend may drop it with a 404).
struct Backend {
    stage: Stage,
    router: Arc<Router>,
}

impl Backend {
    fn new() -> Self {
        let stage: Stage = Arc::new(Mutex::new(Canned::ok(b"application/json", Vec::new())));
        let shared = stage.clone();
        let server = Loopback::start(move |seen| answer(&shared, &seen));
        let target = server.url("");
        let config = serde_json::from_value(json!({
            "backendTimeoutMs": 2000,
            "maxResponseBodyBytes": 65536,
            "tools": [
                tool_at("reply", "mcp", Some("stateless"), &target),
                tool_at("legacy_reply", "mcp", Some("legacy"), &target),
            ],
        }))
        .expect("the fuzz mcp-router.yml is valid");
        Self {
            stage,
            router: Arc::new(build(config)),
        }
    }
}

/// The backend: the legacy handshake answered as a server would, the call with the staged
/// answer, its `@ID@` replaced by the id the gateway sent.
fn answer(stage: &Stage, seen: &Seen<'_>) -> Canned {
    let request: Value = serde_json::from_slice(seen.body).unwrap_or_default();
    match request["method"].as_str() {
        Some("initialize") => {
            let mut canned = Canned::ok(b"application/json", INITIALIZE.as_bytes().to_vec());
            canned.headers.push(("mcp-session-id", b"fuzz-session".to_vec()));
            canned
        }
        Some("notifications/initialized") => Canned {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
        },
        _ => {
            let mut canned = staged(stage);
            canned.body = input::replace(&canned.body, ID_MARKER, request["id"].to_string().as_bytes());
            canned
        }
    }
}

thread_local! {
    static BACKEND: Backend = Backend::new();
}

/// Input: a first line `<mode> <status> <content type>`, then the backend's body, where `@ID@`
/// stands for the id of the gateway's request. Modes: `json` and `sse` call a stateless backend
/// with the client accepting JSON or only SSE; `legacy-json` and `legacy-sse` a legacy one.
pub fn backend_reply(data: &[u8]) {
    let (line, body) = input::first_line(data);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut fields = line.splitn(3, |&b| b == b' ');
    let mode = fields.next().unwrap_or_default();
    let status = fields
        .next()
        .and_then(|s| str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200);
    let content_type = fields.next().unwrap_or_default();
    let (tool, sse) = match mode {
        b"sse" => ("reply", true),
        b"legacy-json" => ("legacy_reply", false),
        b"legacy-sse" => ("legacy_reply", true),
        _ => ("reply", false),
    };
    BACKEND.with(|backend| {
        stage(
            &backend.stage,
            Canned {
                status,
                headers: vec![("content-type", content_type.to_vec())],
                body: body.to_vec(),
            },
        );
        let mut headers = HeaderMap::new();
        let accept = if sse {
            "text/event-stream"
        } else {
            "application/json, text/event-stream"
        };
        for (name, value) in [
            ("accept", accept),
            ("content-type", "application/json"),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let call = json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool, "arguments": {"q": "fuzz"}},
        })
        .to_string();
        let reply = block_on(backend.router.handle(HttpRequest {
            method: &Method::POST,
            headers: &headers,
            body: call.as_bytes(),
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            authority: Some("localhost"),
            principal: None,
            policy: None,
            correlation: Default::default(),
        }));
        assert_eq!(reply.status, 200, "a tools/call is answered in a 200, failed or not");
        let messages = messages(reply);
        let (last, before) = messages.split_last().expect("the call was answered");
        assert_eq!(last.id.as_deref(), Some("1"), "the call's answer comes last: {last:?}");
        assert!(last.method.is_none(), "the call's answer is a response: {last:?}");
        assert!(sse || before.is_empty(), "a JSON answer is one message");
        for message in before {
            let notification = message
                .method
                .as_deref()
                .is_some_and(|m| m.starts_with("notifications/"));
            assert!(
                notification && message.id.is_none(),
                "only notifications pass before the answer: {message:?}"
            );
        }
    });
}
