//! The audit log and correlation end to end: each tools/call leaves one JSON line on standard
//! output with its correlation id, tool, backend, outcome and latency (arguments masked when
//! kept); the correlation id and the W3C traceparent reach the backend, and the id comes back
//! to the client, in the header and in the gateway's own JSON-RPC errors.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::deploy;
use support::*;

const BOTH: &str = "application/json, text/event-stream";
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A stateless tools/call with `extra` headers; the answer's `x-correlation-id` and body.
fn call(url: &str, tool: &str, arguments: Value, extra: &[(&str, &str)]) -> (Option<String>, Value) {
    let body =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", BOTH)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let response = request.body(body.to_string()).send().expect("answered");
    let id = response
        .headers()
        .get("x-correlation-id")
        .map(|v| v.to_str().unwrap().to_string());
    (id, response.json().unwrap_or(Value::Null))
}

/// The audit lines on the gateway's standard output so far.
fn audit_lines(gateway: &Gateway) -> Vec<Value> {
    gateway
        .stdout
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["log"] == "audit")
        .collect()
}

/// The audit line whose `field` is `value`, waited for.
fn audit_line(gateway: &Gateway, field: &str, value: &str) -> Value {
    let mut found = None;
    eventually("the audit line", Duration::from_secs(5), || {
        found = audit_lines(gateway).into_iter().find(|l| l[field] == value);
        found.is_some()
    });
    found.unwrap()
}

#[test]
fn a_call_leaves_one_masked_audit_line_and_its_ids_reach_the_backend_and_come_back() {
    let d = deploy("mcpAudit.logArguments: true\nmcpAudit.maskedArguments: [ssn]\n");
    let a = d.a.main.trim_end_matches('/').to_string();
    let arguments = json!({"text": "hi", "password": "p4ss", "nested": {"ssn": "123-45"}});
    let (id, body) = call(
        &d.url,
        "echo",
        arguments,
        &[
            ("x-correlation-id", "corr-1"),
            ("traceparent", PARENT),
            ("x-traceability-id", "trace-9"),
        ],
    );
    assert!(body.get("result").is_some(), "{body}");
    assert_eq!(id.as_deref(), Some("corr-1"), "the client's id comes back");

    let line = audit_line(&d.gateway, "cId", "corr-1");
    assert_eq!(line["event"], "tools/call");
    assert_eq!(line["tId"], "trace-9");
    assert_eq!(line["requestId"], 7);
    assert_eq!(
        (line["tool"].as_str(), line["backend"].as_str()),
        (Some("echo"), Some(a.as_str()))
    );
    assert_eq!(line["outcome"], "ok");
    assert!(line["latencyMs"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
    assert_eq!(
        line["arguments"],
        json!({"text": "hi", "password": "*", "nested": {"ssn": "*"}})
    );
    assert!(line.get("principal").is_none(), "no auth handler: no principal");
    assert!(
        !d.gateway.stdout.text().contains("p4ss"),
        "a masked value never reaches the output"
    );
    assert!(!d.gateway.logs.text().contains("p4ss"));

    let recorded = d.a.get("/__admin/requests");
    let call = recorded
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["jsonrpcMethod"] == "tools/call")
        .expect("the backend saw the call");
    let header = |name: &str| {
        call["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_string())
    };
    assert_eq!(header("x-correlation-id").as_deref(), Some("corr-1"));
    assert_eq!(header("traceparent").as_deref(), Some(PARENT));
}

#[test]
fn a_minted_id_names_the_error_and_the_audit_line_of_an_unknown_tool() {
    let d = deploy("");
    let (id, body) = call(&d.url, "no_such_tool", json!({}), &[]);
    let id = id.expect("a minted x-correlation-id");
    assert_eq!(id.len(), 22, "{id}");
    assert_eq!(body["error"]["data"]["correlationId"], id.as_str(), "{body}");
    let line = audit_line(&d.gateway, "cId", &id);
    assert_eq!(line["tool"], "no_such_tool");
    assert_eq!(line["backend"], Value::Null);
    assert_eq!(line["outcome"], "refused");
    assert!(
        line.get("arguments").is_none(),
        "arguments are kept only when configured"
    );

    // A failing backend: the error names the same id as the header and the audit line.
    let (id, body) = call(&d.url, "down", json!({}), &[]);
    let id = id.unwrap();
    assert_eq!(body["error"]["data"]["correlationId"], id.as_str(), "{body}");
    assert_eq!(audit_line(&d.gateway, "cId", &id)["outcome"], "backend_failed");
}

#[test]
fn with_the_audit_off_no_line_is_written() {
    let mut d = deploy("mcpAudit.enabled: false\n");
    let (_, body) = call(&d.url, "echo", json!({"text": "hi"}), &[]);
    assert!(body.get("result").is_some(), "{body}");
    // Once the gateway has exited, all it wrote has been read.
    d.gateway.signal("TERM");
    assert!(d.gateway.wait_exit(WAIT).success());
    assert!(audit_lines(&d.gateway).is_empty(), "{}", d.gateway.stdout.text());
}
