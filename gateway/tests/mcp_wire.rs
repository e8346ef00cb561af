//! The MCP endpoint on the wire: each bad input gets its exact status and JSON-RPC code, SSE
//! answers, the bridge, and what reaches backends.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use reqwest::blocking::Response;
use rstest::rstest;
use serde_json::{Value, json};
use support::client;
use support::mcp::{McpDeployment, deploy, first_text};

const BOTH: &str = "application/json, text/event-stream";

fn post(d: &McpDeployment, headers: &[(&str, &str)], body: &str) -> Response {
    let mut request = client().post(&d.url).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(body.to_string()).send().unwrap()
}

fn initialize(d: &McpDeployment) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let response = post(d, &[("accept", BOTH)], body);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["mcp-protocol-version"], "2025-06-18");
    let id = response.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let result: Value = response.json().unwrap();
    assert_eq!(result["result"]["capabilities"]["tools"]["listChanged"], false);
    id
}

fn legacy_call(d: &McpDeployment, session: &str, tool: &str, args: Value) -> Value {
    let body =
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":tool,"arguments":args}}).to_string();
    post(
        d,
        &[
            ("accept", BOTH),
            ("mcp-session-id", session),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        &body,
    )
    .json()
    .unwrap()
}

fn stateless(d: &McpDeployment, method: &str, name: Option<&str>, params: Value) -> Response {
    let body = json!({"jsonrpc":"2.0","id":9,"method":method,"params":params}).to_string();
    let mut headers = vec![
        ("accept", BOTH),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(n) = name {
        headers.push(("mcp-name", n));
    }
    post(d, &headers, &body)
}

fn code(response: Response) -> (u16, i64) {
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap_or(Value::Null);
    (status, body["error"]["code"].as_i64().unwrap_or(0))
}

#[test]
fn bad_inputs_get_their_exact_status_and_code() {
    let d = deploy("mcp-router.maxRequestBodyBytes: 2048\nmcp-router.originAllowlist: [https://app.example]\n");
    let session = initialize(&d);
    let with_session = [("accept", BOTH), ("mcp-session-id", session.as_str())];
    let call = |name: &str, args: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"{name}","arguments":{args}}}}}"#)
    };

    assert_eq!(
        code(post(&d, &with_session, "{not json")),
        (400, -32700),
        "malformed JSON"
    );
    assert_eq!(
        code(post(&d, &with_session, r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)),
        (400, -32600),
        "batch"
    );
    let big = call("echo", &format!(r#"{{"x":"{}"}}"#, "a".repeat(4096)));
    assert_eq!(post(&d, &with_session, &big).status(), 413, "oversized body");
    assert_eq!(
        code(post(&d, &with_session, &call("nope", "{}"))),
        (200, -32602),
        "unknown tool"
    );
    assert_eq!(
        code(post(&d, &with_session, &call("echo", "[1]"))),
        (200, -32602),
        "arguments not an object"
    );
    assert_eq!(
        code(post(&d, &[("accept", BOTH)], &call("echo", "{}"))),
        (400, -32000),
        "missing session"
    );
    let unknown = [
        ("accept", BOTH),
        ("mcp-session-id", "00000000-0000-0000-0000-000000000000"),
    ];
    assert_eq!(
        code(post(&d, &unknown, &call("echo", "{}"))),
        (400, -32000),
        "unknown session (upstream's choice)"
    );
    let get = client().get(&d.url).header("accept", BOTH).send().unwrap();
    assert_eq!(
        (get.status().as_u16(), get.headers()["allow"].to_str().unwrap()),
        (405, "POST, DELETE"),
        "GET"
    );
    assert_eq!(
        post(&d, &[("accept", "text/html")], &call("echo", "{}")).status(),
        406,
        "wrong Accept"
    );
    assert_eq!(
        code(stateless(&d, "tools/call", Some("add"), json!({"name": "echo"}))),
        (400, -32020),
        "header mismatch"
    );
    let old = [("accept", BOTH), ("mcp-protocol-version", "1999-01-01")];
    let refused = post(&d, &old, &call("echo", "{}"));
    let status = refused.status().as_u16();
    let body: Value = refused.json().unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_i64().unwrap()),
        (400, -32022),
        "unsupported version"
    );
    assert!(
        body["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
    let foreign = [
        ("accept", BOTH),
        ("origin", "https://evil.example"),
        ("mcp-session-id", session.as_str()),
    ];
    assert_eq!(
        post(&d, &foreign, &call("echo", "{}")).status(),
        403,
        "disallowed Origin"
    );
    let allowed = [
        ("accept", BOTH),
        ("origin", "https://app.example"),
        ("mcp-session-id", session.as_str()),
    ];
    assert_eq!(post(&d, &allowed, &call("echo", "{}")).status(), 200, "allowed Origin");
}

#[test]
fn backend_down_and_backend_too_slow_are_named_errors_and_the_gateway_keeps_serving() {
    let d = deploy("");
    let session = initialize(&d);
    let down = legacy_call(&d, &session, "down", json!({}));
    assert_eq!(down["error"]["code"], -32000, "{down}");
    let message = down["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("tool 'down'") && message.contains("could not be reached") && message.contains("incident "),
        "{message}"
    );
    // The backend's address is for the log, not for the caller.
    assert!(!message.contains("127.0.0.1"), "{message}");
    let slow = legacy_call(&d, &session, "slow", json!({"ms": 2000}));
    assert_eq!(slow["error"]["code"], -32000, "{slow}");
    assert!(
        slow["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within the tool's timeout"),
        "{slow}"
    );
    // The log keeps the detail (its line may land a moment after the answer).
    d.gateway.logs.wait_for("no answer within 300 ms", support::WAIT);
    let ok = legacy_call(&d, &session, "echo", json!({}));
    assert_eq!(
        ok["result"]["structuredContent"]["instance"], "backend-a",
        "still serving: {ok}"
    );
}

#[rstest]
#[case::legacy_client(false)]
#[case::stateless_client(true)]
fn sse_answers_are_one_event_per_message(#[case] stateless_client: bool) {
    let d = deploy("");
    let body =
        json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"k":1}}}).to_string();
    let response = if stateless_client {
        let with_meta = json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"k":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}).to_string();
        post(
            &d,
            &[
                ("accept", "text/event-stream"),
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "echo"),
            ],
            &with_meta,
        )
    } else {
        let session = initialize(&d);
        post(
            &d,
            &[("accept", "text/event-stream"), ("mcp-session-id", &session)],
            &body,
        )
    };
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().unwrap();
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    assert!(text.starts_with("event: message\n"), "{text}");
    let message: Value = serde_json::from_str(data).unwrap();
    assert_eq!(message["id"], 5);
    assert_eq!(
        message["result"]["structuredContent"]["instance"], "backend-a",
        "stateless client bridged to the legacy backend"
    );
}

#[test]
fn client_authorization_and_cookie_do_not_reach_backends() {
    let d = deploy("");
    let session = initialize(&d);
    let body =
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}).to_string();
    let headers = [
        ("accept", BOTH),
        ("mcp-session-id", session.as_str()),
        ("authorization", "Bearer client-secret"),
        ("cookie", "sid=client-cookie"),
    ];
    let answer: Value = post(&d, &headers, &body).json().unwrap();
    assert!(!first_text(&answer["result"]).is_empty(), "{answer}");
    let recorded = d.a.get("/__admin/requests");
    let calls: Vec<&Value> = recorded
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["jsonrpcMethod"] == "tools/call")
        .collect();
    assert!(!calls.is_empty(), "the backend saw the call");
    for request in calls {
        for header in request["headers"].as_array().unwrap() {
            let name = header[0].as_str().unwrap().to_ascii_lowercase();
            assert!(
                name != "authorization" && name != "cookie",
                "{name} reached the backend: {request}"
            );
        }
    }
}

#[test]
fn delete_ends_the_session_and_its_backend_sessions() {
    let d = deploy("");
    let session = initialize(&d);
    let _ = legacy_call(&d, &session, "echo", json!({}));
    let deleted = client()
        .delete(&d.url)
        .header("mcp-session-id", &session)
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let after = legacy_call(&d, &session, "echo", json!({}));
    assert_eq!(after["error"]["code"], -32000);
    support::eventually("backend session deleted", support::WAIT, || {
        d.a.get("/__admin/requests")
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["method"] == "DELETE")
    });
}

#[test]
fn stateless_discover_lists_the_versions() {
    let d = deploy("");
    let response = stateless(
        &d,
        "server/discover",
        None,
        json!({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}),
    );
    let body: Value = response.json().unwrap();
    let versions = body["result"]["supportedVersions"].as_array().unwrap();
    assert!(
        versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25")),
        "{body}"
    );
}

#[test]
fn session_limits_answer_429_per_client_and_503_for_the_gateway() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let per_client = deploy("mcp-router.maxSessionsPerClient: 1\n");
    assert_eq!(post(&per_client, &[("accept", BOTH)], body).status(), 200);
    assert_eq!(code(post(&per_client, &[("accept", BOTH)], body)), (429, -32000));
    let global = deploy("mcp-router.maxSessions: 1\n");
    assert_eq!(post(&global, &[("accept", BOTH)], body).status(), 200);
    assert_eq!(code(post(&global, &[("accept", BOTH)], body)), (503, -32000));
}

#[test]
fn stateless_calls_to_a_legacy_backend_share_one_backend_session() {
    let d = deploy("");
    for _ in 0..3 {
        let answer: Value = stateless(&d, "tools/call", Some("echo"), json!({"name": "echo", "arguments": {}}))
            .json()
            .unwrap();
        assert_eq!(
            answer["result"]["structuredContent"]["instance"], "backend-a",
            "{answer}"
        );
    }
    let recorded = d.a.get("/__admin/requests");
    let count = |m: &str| {
        recorded
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["jsonrpcMethod"] == m)
            .count()
    };
    assert_eq!(count("tools/call"), 3);
    assert_eq!(count("initialize"), 1, "no initialize per request: {recorded}");
}

/// Results are shaped for the client's era whatever the backend spoke: the official Python SDK
/// refuses a 2026-07-28 tools/call result without `resultType`.
#[rstest]
#[case::legacy_backend_bridged("echo", "backend-a")]
#[case::stateless_backend("echo_b", "backend-b")]
fn results_carry_result_type_for_stateless_clients_and_not_for_legacy_ones(#[case] tool: &str, #[case] instance: &str) {
    let d = deploy("");
    let stateless_answer: Value = stateless(&d, "tools/call", Some(tool), json!({"name": tool, "arguments": {}}))
        .json()
        .unwrap();
    assert_eq!(
        stateless_answer["result"]["resultType"], "complete",
        "{stateless_answer}"
    );
    assert_eq!(
        stateless_answer["result"]["structuredContent"]["instance"], instance,
        "{stateless_answer}"
    );
    let ping: Value = stateless(&d, "ping", None, json!({})).json().unwrap();
    assert_eq!(ping["result"]["resultType"], "complete", "{ping}");

    let session = initialize(&d);
    let legacy_answer = legacy_call(&d, &session, tool, json!({}));
    assert!(
        legacy_answer["result"].get("resultType").is_none(),
        "a legacy client gets the legacy shape: {legacy_answer}"
    );
    assert_eq!(legacy_answer["result"]["structuredContent"]["instance"], instance);
}

/// A stateless call to `slow` that holds its places for `ms`, on its own thread.
fn hold(d: &McpDeployment, ms: u64) -> std::thread::JoinHandle<u16> {
    let url = d.url.clone();
    std::thread::spawn(move || {
        let body = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","arguments":{"ms":ms}}});
        client()
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", BOTH)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "slow")
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    })
}

/// Waits until backend A has the `slow` call (it then sleeps for the call's `ms`).
fn until_slow_reached_a(d: &McpDeployment) {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        let recorded = d.a.get("/__admin/requests");
        let reached = recorded
            .as_array()
            .is_some_and(|all| all.iter().any(|r| r["body"]["params"]["name"] == "slow"));
        if reached {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("the slow call never reached backend A");
}

/// `protocols.stateless.<limit>` at 1.
fn limited(limit: &str) -> String {
    format!("mcp-router.protocols.stateless.{limit}: 1\n")
}

fn echo_b(d: &McpDeployment) -> Response {
    stateless(
        d,
        "tools/call",
        Some("echo_b"),
        json!({"name": "echo_b", "arguments": {}}),
    )
}

/// Upstream's stateless limits: requests over the gateway's or a caller's limit get 429 at once,
/// a call over its target's limit fails naming it, and the places come back when calls end.
#[rstest]
#[case::gateway("maxConcurrentRequests", "maxConcurrentRequests")]
#[case::per_caller("maxConcurrentRequestsPerPrincipal", "maxConcurrentRequestsPerPrincipal")]
fn stateless_requests_over_a_limit_get_429_naming_it(#[case] limit: &str, #[case] named: &str) {
    let d = deploy(&limited(limit));
    let held = hold(&d, 250);
    until_slow_reached_a(&d);
    let refused = echo_b(&d);
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"]["code"], -32000);
    assert!(body["error"]["message"].as_str().unwrap().contains(named), "{body}");
    assert_eq!(held.join().unwrap(), 200);
    assert_eq!(echo_b(&d).status(), 200, "the places came back");
}

#[test]
fn a_call_over_its_targets_limit_fails_naming_it() {
    let d = deploy(&limited("maxConcurrentBackendCallsPerTarget"));
    let held = hold(&d, 250);
    until_slow_reached_a(&d);
    // `echo` lives on the same backend as `slow`; `echo_b` on another, which has room.
    let same: Value = stateless(&d, "tools/call", Some("echo"), json!({"name": "echo", "arguments": {}}))
        .json()
        .unwrap();
    assert_eq!(same["error"]["code"], -32000, "{same}");
    assert!(
        same["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maxConcurrentBackendCallsPerTarget"),
        "{same}"
    );
    let other: Value = echo_b(&d).json().unwrap();
    assert!(other["result"].is_object(), "{other}");
    assert_eq!(held.join().unwrap(), 200);
}

#[test]
fn a_call_over_the_gateways_backend_call_limit_fails_naming_it() {
    let d = deploy("mcp-router.maxConcurrentBackendCalls: 1\n");
    let held = hold(&d, 250);
    until_slow_reached_a(&d);
    // Another backend, with room of its own: the gateway-wide limit still holds.
    let refused: Value = echo_b(&d).json().unwrap();
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maxConcurrentBackendCalls,"),
        "{refused}"
    );
    assert_eq!(held.join().unwrap(), 200);
    let other: Value = echo_b(&d).json().unwrap();
    assert!(other["result"].is_object(), "the place came back: {other}");
}

#[test]
fn a_body_nested_deeper_than_max_json_depth_is_refused() {
    let d = deploy("mcp-router.maxJsonDepth: 6\n");
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    // The envelope, params and arguments are three levels; a string full of brackets is none.
    let body = |inner: String| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo_b","arguments":{{"v":{inner},"s":"[[[[[[[["}}}}}}"#
        )
    };
    let headers = [
        ("accept", BOTH),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo_b"),
    ];
    assert_eq!(post(&d, &headers, &body(nested(3))).status(), 200, "six levels pass");
    assert_eq!(code(post(&d, &headers, &body(nested(4)))), (400, -32600));
}

/// With the default (empty) allowlist a browser page cannot drive the gateway: any Origin is
/// refused, and so is a body a cross-site form could send without a preflight.
#[test]
fn browser_requests_are_refused_by_default() {
    let d = deploy("");
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let stateless_headers = |extra: (&'static str, &'static str)| {
        vec![
            ("accept", BOTH),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
            extra,
        ]
    };
    let from_a_page = post(&d, &stateless_headers(("origin", "https://evil.example")), list);
    assert_eq!(from_a_page.status(), 403);
    let as_text = client()
        .post(&d.url)
        .header("content-type", "text/plain")
        .header("accept", BOTH)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .body(list)
        .send()
        .unwrap();
    assert_eq!(code(as_text), (415, -32600));
    let plain = post(&d, &stateless_headers(("x-none", "1")), list);
    assert_eq!(plain.status(), 200, "no Origin, JSON body: not a browser");
}
