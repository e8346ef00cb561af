//! `apiType: http` tools through the real gateway to a JSON API (wiremock), and the SSRF guard
//! for host names that resolve to loopback.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use serde_json::{Value, json};
use support::mcp::HANDLERS;
use support::*;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock as Stub, MockServer, ResponseTemplate};

fn gateway_with_tools(tools: &str) -> (Gateway, String, AppDir) {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&format!(
        "{}{HANDLERS}mcp-router.tools:\n{tools}",
        values(&dead, None, port)
    ));
    let gateway = Gateway::start(&app, None);
    gateway.wait_ready();
    (gateway, format!("http://127.0.0.1:{port}/mcp"), app)
}

/// One stateless tools/call (no session needed), answered as JSON.
fn call(url: &str, tool: &str, arguments: Value) -> Value {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":tool,"arguments":arguments,
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}});
    client()
        .post(url)
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_tools_send_json_or_query_and_answer_text_and_structured_content() {
    let api = MockServer::start().await;
    Stub::given(method("POST"))
        .and(path("/orders"))
        .and(body_json(json!({"item": "book", "qty": 2})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"orderId": 7})))
        .mount(&api)
        .await;
    Stub::given(method("GET"))
        .and(path("/weather"))
        .and(query_param("city", "Oslo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tempC": -3})))
        .mount(&api)
        .await;
    Stub::given(path("/broken"))
        .respond_with(ResponseTemplate::new(502).set_body_string("upstream db-7.internal down"))
        .mount(&api)
        .await;
    Stub::given(path("/refusing"))
        .respond_with(ResponseTemplate::new(422).set_body_string("field q is required"))
        .mount(&api)
        .await;
    let private = "toolMetadata: {runtime: {allowPrivateTargetHost: true}}";
    let tools = format!(
        "  - {{name: order, apiType: http, method: POST, targetHost: '{u}', path: /orders, {private}}}\n\
         \x20 - {{name: weather, apiType: http, method: GET, targetHost: '{u}', path: weather, {private}}}\n\
         \x20 - {{name: broken, apiType: http, method: GET, targetHost: '{u}', path: /broken, {private}}}\n\
         \x20 - {{name: refusing, apiType: http, method: GET, targetHost: '{u}', path: /refusing, {private}}}\n",
        u = api.uri()
    );
    // The gateway and the blocking client run off the async runtime that serves the API stub.
    tokio::task::spawn_blocking(move || check_http_tools(&tools))
        .await
        .unwrap();
}

fn check_http_tools(tools: &str) {
    let (gw, url, _app) = gateway_with_tools(tools);
    let order = call(&url, "order", json!({"item": "book", "qty": 2}));
    assert_eq!(order["result"]["structuredContent"], json!({"orderId": 7}), "{order}");
    assert_eq!(order["result"]["content"][0]["text"], r#"{"orderId":7}"#);
    let weather = call(&url, "weather", json!({"city": "Oslo"}));
    assert_eq!(weather["result"]["structuredContent"]["tempC"], -3, "{weather}");
    // A 4xx body is the API's answer to the arguments; a 5xx body stays in the log.
    let refusing = call(&url, "refusing", json!({}));
    assert_eq!(refusing["result"]["isError"], true, "{refusing}");
    assert_eq!(
        refusing["result"]["content"][0]["text"],
        "HTTP 422: field q is required"
    );
    let broken = call(&url, "broken", json!({}));
    assert_eq!(broken["result"]["isError"], true, "{broken}");
    let text = broken["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("HTTP 502: the API failed (incident "), "{text}");
    assert!(!text.contains("db-7"), "the API's body reached the caller: {text}");
    // The log line may land a moment after the answer: waited for.
    let logged = gw.logs.wait_for(support::mcp::incident_of(text), WAIT);
    assert!(logged.contains("upstream db-7.internal down"), "{logged}");
}

#[test]
fn host_names_resolving_to_loopback_are_refused_unless_allowed() {
    let backend = support::mcp::mcp_server("backend-a", "stateless");
    let port = backend.port();
    let tools = format!(
        "  - {{name: guarded, endpointName: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: 'http://localhost:{port}', path: /mcp}}\n\
         \x20 - {{name: allowed, endpointName: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: 'http://localhost:{port}', path: /mcp, toolMetadata: {{runtime: {{allowPrivateTargetHost: true}}}}}}\n"
    );
    let (gw, url, _app) = gateway_with_tools(&tools);
    let guarded = call(&url, "guarded", json!({}));
    assert_eq!(guarded["error"]["code"], -32000, "{guarded}");
    let message = guarded["error"]["message"].as_str().unwrap();
    assert!(message.contains("could not be reached"), "{guarded}");
    // Why stays in the log, under the id the caller was given.
    let logged = gw.logs.wait_for(support::mcp::incident_of(message), WAIT);
    assert!(logged.contains("loopback or private"), "{logged}");
    let allowed = call(&url, "allowed", json!({}));
    assert_eq!(
        allowed["result"]["structuredContent"]["instance"], "backend-a",
        "{allowed}"
    );
}
