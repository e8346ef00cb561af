//! The router in-process through [`Router::handle`]: a config as `mcp-router.yml` would give it,
//! requests as the server module hands them over, answers judged by status and JSON-RPC body.
//! The process tests (`tests/mcp_wire.rs`) cover the same paths over HTTP with real backends;
//! these pin the router's own decisions without a socket.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::*;
use crate::mcp::Body;
use crate::mcp::backend::Backends;
use crate::mcp::config::McpRouterConfig;
use crate::mcp::tools::{self, ToolTable};

const BOTH: &str = "application/json, text/event-stream";

/// A router over `extra` merged into a config with two tools on a port nothing listens on.
fn router(extra: Value) -> Arc<Router> {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("its address").port()
    };
    let private = json!({"runtime": {"allowPrivateTargetHost": true, "timeoutMs": 2000}});
    let mut config = json!({
        "tools": [
            {"name": "echo", "description": "Echo", "apiType": "mcp", "targetHost": format!("http://127.0.0.1:{dead}"), "path": "/mcp", "toolMetadata": private},
            {"name": "add", "apiType": "mcp", "targetHost": format!("http://127.0.0.1:{dead}"), "path": "/mcp", "toolMetadata": private},
        ]
    });
    if let (Some(base), Some(more)) = (config.as_object_mut(), extra.as_object()) {
        base.extend(more.clone());
    }
    let config: McpRouterConfig = serde_json::from_value(config).expect("mcp-router.yml");
    config.validate("mcp-router.yml").expect("it validates");
    let timeout = Duration::from_millis(config.backend_timeout_ms);
    let table = config
        .tools
        .iter()
        .enumerate()
        .map(|(i, t)| tools::from_config(t, t.url("mcp-router.yml", i).expect("a URL"), timeout))
        .collect();
    crate::tls::install_crypto_provider();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let backends = Backends::new(
        tls,
        config.max_response_body_bytes,
        (
            config.max_concurrent_backend_calls,
            config.protocols.stateless.max_concurrent_backend_calls_per_target,
        ),
        Duration::from_millis(config.session_idle_timeout_ms),
    );
    let sessions = Router::new_sessions(&config, None);
    Arc::new(
        Router::new(
            config,
            "mcp-router.yml",
            ToolTable::new(table),
            Arc::new(backends),
            sessions,
        )
        .expect("it builds"),
    )
}

/// What came back: status, headers and the JSON body (`Null` when none or not JSON).
struct Answer {
    status: u16,
    headers: Vec<(http::HeaderName, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn code(&self) -> Option<i64> {
        self.body.pointer("/error/code").and_then(Value::as_i64)
    }
}

async fn send(router: &Arc<Router>, method: Method, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut map = HeaderMap::new();
    map.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    let reply = router
        .handle(HttpRequest {
            method: &method,
            headers: &map,
            body: body.as_bytes(),
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            authority: Some("127.0.0.1"),
            principal: None,
            policy: None,
            correlation: Default::default(),
        })
        .await;
    let body = match reply.body {
        Body::Full(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Body::Empty => Value::Null,
        Body::Events(mut events) => {
            // The last SSE event carries the answer.
            let mut last = Value::Null;
            while let Some(event) = events.recv().await {
                let text = String::from_utf8_lossy(&event).into_owned();
                if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: "))
                    && let Ok(v) = serde_json::from_str(data)
                {
                    last = v;
                }
            }
            last
        }
    };
    Answer {
        status: reply.status,
        headers: reply.headers,
        body,
    }
}

fn stateless_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("accept", BOTH),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    headers
}

#[tokio::test]
async fn initialize_opens_a_session_that_lists_the_configured_tools() {
    let router = router(json!({}));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let answer = send(&router, Method::POST, &[("accept", BOTH)], init).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["result"]["protocolVersion"], "2025-06-18");
    let session = answer.header("mcp-session-id").expect("a session id").to_string();
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;
    let listed = send(
        &router,
        Method::POST,
        &[("accept", BOTH), ("mcp-session-id", &session)],
        list,
    )
    .await;
    let names: Vec<&str> = listed.body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["echo", "add"], "{}", listed.body);
}

#[tokio::test]
async fn a_stateless_tools_list_needs_no_session_and_says_it_is_complete() {
    let router = router(json!({}));
    let list = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}"#;
    let answer = send(&router, Method::POST, &stateless_headers("tools/list", None), list).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], 7);
    assert_eq!(answer.body["result"]["resultType"], "complete", "{}", answer.body);
    assert_eq!(answer.body["result"]["tools"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn bad_requests_get_their_status_and_code_before_any_backend_is_asked() {
    let router = router(json!({"originAllowlist": ["https://app.example"]}));
    let call = |name: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#)
    };
    let cases: Vec<(&str, Answer, u16, Option<i64>)> = vec![
        (
            "malformed JSON",
            send(
                &router,
                Method::POST,
                &stateless_headers("tools/call", Some("echo")),
                "{not json",
            )
            .await,
            400,
            Some(-32700),
        ),
        (
            "a batch",
            send(
                &router,
                Method::POST,
                &[("accept", BOTH)],
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            )
            .await,
            400,
            Some(-32600),
        ),
        (
            "a legacy call without a session",
            send(&router, Method::POST, &[("accept", BOTH)], &call("echo")).await,
            400,
            Some(-32000),
        ),
        (
            "an unknown tool",
            send(
                &router,
                Method::POST,
                &stateless_headers("tools/call", Some("nope")),
                &call("nope"),
            )
            .await,
            200,
            Some(-32602),
        ),
        (
            "Mcp-Name that is not the body's tool",
            send(
                &router,
                Method::POST,
                &stateless_headers("tools/call", Some("add")),
                &call("echo"),
            )
            .await,
            400,
            Some(-32020),
        ),
        (
            "an Accept without JSON",
            send(&router, Method::POST, &[("accept", "text/html")], &call("echo")).await,
            406,
            None,
        ),
        (
            "an Origin not allowed",
            send(
                &router,
                Method::POST,
                &[("accept", BOTH), ("origin", "https://evil.example")],
                &call("echo"),
            )
            .await,
            403,
            None,
        ),
        (
            "GET",
            send(&router, Method::GET, &[("accept", BOTH)], "").await,
            405,
            None,
        ),
    ];
    for (what, answer, status, code) in cases {
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        if code.is_some() {
            assert_eq!(answer.code(), code, "{what}: {}", answer.body);
        }
    }
}

#[tokio::test]
async fn a_call_to_a_backend_that_is_down_is_an_error_naming_the_tool_and_a_correlation_id() {
    let router = router(json!({}));
    let call = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let answer = send(
        &router,
        Method::POST,
        &stateless_headers("tools/call", Some("echo")),
        call,
    )
    .await;
    assert_eq!(answer.body["id"], 4, "{}", answer.body);
    let message = answer.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("echo"), "the tool is named: {}", answer.body);
    let id = answer.header("x-correlation-id").expect("a correlation id is minted");
    assert_eq!(answer.body["error"]["data"]["correlationId"], id, "{}", answer.body);
}
