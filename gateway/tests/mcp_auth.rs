//! Protected MCP traffic through the real binary: tokens from the mock key service, the MCP
//! authorization challenge and metadata, per-tool access in both eras, sessions bound to their
//! principal, key rotation without a restart, and an unreachable key service failing closed.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use reqwest::blocking::Response;
use rstest::rstest;
use serde_json::{Value, json};
use support::auth::{AuthDeployment, deploy_auth, with_defaults};
use support::{WAIT, client, eventually};

const BOTH: &str = "application/json, text/event-stream";

fn post(d: &AuthDeployment, token: Option<&str>, headers: &[(&str, &str)], body: Value) -> Response {
    let mut request = client()
        .post(&d.url)
        .header("content-type", "application/json")
        .header("accept", BOTH);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(body.to_string()).send().unwrap()
}

fn stateless(d: &AuthDeployment, token: &str, method: &str, name: Option<&str>, params: Value) -> Value {
    let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    if let Some(n) = name {
        headers.push(("mcp-name", n));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = post(d, Some(token), &headers, body);
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

fn initialize(d: &AuthDeployment, token: &str) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = post(d, Some(token), &[], body);
    assert_eq!(response.status(), 200);
    response.headers()["mcp-session-id"].to_str().unwrap().to_string()
}

fn legacy(d: &AuthDeployment, token: &str, session: &str, method: &str, params: Value) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
    post(
        d,
        Some(token),
        &[("mcp-session-id", session), ("mcp-protocol-version", "2025-11-25")],
        body,
    )
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn challenge(response: &Response) -> String {
    response.headers()["www-authenticate"].to_str().unwrap().to_string()
}

#[test]
fn credentials_are_required_and_each_bad_token_gets_its_challenge() {
    let d = deploy_auth("");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", d.base);

    let none = post(&d, None, &[], list.clone());
    assert_eq!(none.status(), 401);
    assert_eq!(challenge(&none), format!("Bearer resource_metadata=\"{metadata}\""));

    let expired = d.mint(json!({"claims": with_defaults(json!({"sub": "a", "role": "teller"})), "expiresIn": -600}));
    let other_audience = d.token(json!({"sub": "a", "aud": "another-api"}));
    let good = d.token(json!({"sub": "a", "role": "teller"}));
    let (head, _) = good.rsplit_once('.').unwrap();
    let bad_signature = format!("{head}.AAAA");
    for (token, reason) in [
        (expired.as_str(), "expired"),
        (other_audience.as_str(), "audience"),
        (bad_signature.as_str(), "signature"),
        ("not.a.jwt", "cannot be read"),
    ] {
        let response = post(&d, Some(token), &[], list.clone());
        assert_eq!(response.status(), 401, "{reason}");
        let header = challenge(&response);
        assert!(
            header.contains("error=\"invalid_token\"") && header.contains(reason) && header.contains(&metadata),
            "{reason}: {header}"
        );
    }
    let huge = "x".repeat(16 * 1024);
    assert_eq!(post(&d, Some(&huge), &[], list.clone()).status(), 401);

    let health = client().get(format!("{}/health", d.base)).send().unwrap();
    assert_eq!(health.status(), 200, "/health never needs credentials");
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let doc: Value = client()
            .get(format!("{}{path}", d.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(doc["resource"], d.url, "{doc}");
        assert_eq!(doc["authorization_servers"], json!([support::auth::ISSUER]));
        assert_eq!(doc["scopes_supported"], json!(["mcp.tools"]));
    }
    d.gateway.assert_no_token_in_output();
    assert!(
        !d.gateway.logs.text().contains(&good[..40]),
        "tokens never reach the logs"
    );
}

#[rstest]
#[case::teller("teller", &["echo", "echo_b"])]
#[case::manager("manager", &["add", "echo_b"])]
#[case::nobody("clerk", &[])]
fn each_role_lists_and_calls_only_its_tools_in_both_eras(#[case] role: &str, #[case] allowed: &[&str]) {
    let d = deploy_auth("");
    let token = d.token(json!({"sub": format!("user-{role}"), "role": role}));
    let stateless_list = stateless(&d, &token, "tools/list", None, json!({}));
    assert_eq!(names(&stateless_list), allowed, "stateless tools/list");
    let session = initialize(&d, &token);
    let legacy_list: Value = legacy(&d, &token, &session, "tools/list", json!({})).json().unwrap();
    assert_eq!(names(&legacy_list), allowed, "legacy tools/list");

    for tool in ["echo", "echo_b", "add", "fail", "b_echo"] {
        let args = json!({"name": tool, "arguments": {"a": 1, "b": 2}});
        let answer = stateless(&d, &token, "tools/call", Some(tool), args.clone());
        let legacy_answer: Value = legacy(&d, &token, &session, "tools/call", args).json().unwrap();
        for answer in [answer, legacy_answer] {
            if allowed.contains(&tool) {
                assert!(
                    answer.get("error").is_none() && answer["result"]["structuredContent"].is_object(),
                    "{tool} is answered by its backend: {answer}"
                );
            } else {
                assert_eq!(answer["error"]["code"], -32001, "{tool}: {answer}");
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.contains(tool) && !message.contains("allow-role"), "{message}");
            }
        }
    }
}

#[test]
fn a_session_belongs_to_the_principal_that_opened_it() {
    let d = deploy_auth("");
    let alice = d.token(json!({"sub": "alice", "role": "teller"}));
    let alice_again = d.token(json!({"sub": "alice", "role": "teller", "jti": "second"}));
    let bob = d.token(json!({"sub": "bob", "role": "teller"}));
    let session = initialize(&d, &alice);
    let by_bob = legacy(&d, &bob, &session, "tools/list", json!({}));
    assert_eq!(by_bob.status(), 403);
    assert_eq!(by_bob.json::<Value>().unwrap()["error"]["code"], -32001);
    let delete = client()
        .delete(&d.url)
        .header("authorization", format!("Bearer {bob}"))
        .header("mcp-session-id", &session)
        .send()
        .unwrap();
    assert_eq!(delete.status(), 403, "bob cannot end alice's session");
    let by_alice = legacy(&d, &alice_again, &session, "tools/list", json!({}));
    assert_eq!(
        by_alice.status(),
        200,
        "a new token of the same caller keeps the session"
    );
}

#[test]
fn the_bridge_keeps_one_backend_session_per_principal_and_no_credential_reaches_backends() {
    let d = deploy_auth("");
    let alice = d.token(json!({"sub": "alice", "role": "teller"}));
    let bob = d.token(json!({"sub": "bob", "role": "teller"}));
    for token in [&alice, &bob, &alice, &bob] {
        let answer = stateless(
            &d,
            token,
            "tools/call",
            Some("echo"),
            json!({"name": "echo", "arguments": {}}),
        );
        assert_eq!(
            answer["result"]["structuredContent"]["instance"], "backend-a",
            "{answer}"
        );
    }
    let recorded = d.a.get("/__admin/requests");
    let initializes = recorded
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["jsonrpcMethod"] == "initialize")
        .count();
    assert_eq!(
        initializes, 2,
        "one bridged backend session each, never shared: {recorded}"
    );
    assert!(
        !recorded.to_string().to_ascii_lowercase().contains("bearer"),
        "the caller's token never reaches a backend"
    );
}

#[test]
fn a_rotated_key_is_accepted_without_a_restart() {
    let d = deploy_auth("");
    let before = d.token(json!({"sub": "alice", "role": "teller"}));
    assert_eq!(
        names(&stateless(&d, &before, "tools/list", None, json!({}))),
        ["echo", "echo_b"]
    );
    let rotated = d
        .keys
        .post("/__admin/keys", json!({"alg": "ES256", "retireOthers": true}));
    let kid = rotated["kid"].as_str().unwrap();
    let after = d.mint(json!({"claims": with_defaults(json!({"sub": "bob", "role": "teller"})), "kid": kid}));
    // Unknown kids fetch the keys at most every 5 s: the first try may come right after a fetch.
    eventually("a token of the new key is accepted", WAIT, || {
        post(
            &d,
            Some(&after),
            &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        )
        .status()
            == 200
    });
    assert_eq!(d.gateway.logs.text().matches("gateway failed").count(), 0);
}

#[test]
fn an_unreachable_key_service_fails_closed_then_heals() {
    let d = deploy_auth("");
    let token = d.token(json!({"sub": "alice", "role": "teller"}));
    let fresh_kid = d.keys.post("/__admin/keys", json!({"alg": "ES256"}))["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let new_key_token =
        d.mint(json!({"claims": with_defaults(json!({"sub": "carol", "role": "teller"})), "kid": fresh_kid}));
    d.keys.post("/__admin/outage", json!({"mode": "refuse"}));
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")];
    eventually("a token of a key not yet fetched gets 503", WAIT, || {
        post(&d, Some(&new_key_token), &headers, list.clone()).status() == 503
    });
    let refused = post(&d, Some(&new_key_token), &headers, list.clone());
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(
        post(&d, Some(&token), &headers, list.clone()).status(),
        200,
        "keys already held keep working"
    );
    assert_eq!(
        d.gateway.logs.text().matches("key service unreachable").count(),
        1,
        "one line per change of state, not per request"
    );
    d.keys.post("/__admin/outage", json!({"mode": "none"}));
    eventually("the key service is back", WAIT, || {
        post(&d, Some(&new_key_token), &headers, list.clone()).status() == 200
    });
}

/// rmcp's own client (not ours) with a bearer token, in both lifecycles.
#[rstest]
#[case::legacy(false)]
#[case::stateless(true)]
#[tokio::test(flavor = "multi_thread")]
async fn the_rmcp_client_calls_with_a_bearer_token(#[case] stateless: bool) {
    use rmcp::model::CallToolRequestParams;

    let d = tokio::task::spawn_blocking(|| deploy_auth("")).await.unwrap();
    let token = tokio::task::block_in_place(|| d.token(json!({"sub": "agent", "role": "teller"})));
    let client = support::mcp::rmcp_client(&d.url, stateless, Some(token)).await;
    let mut listed: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, ["echo", "echo_b"]);
    let echo = client
        .call_tool(CallToolRequestParams::new("echo").with_arguments(json!({"m": 1}).as_object().unwrap().clone()))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(echo).unwrap()["structuredContent"]["instance"],
        "backend-a"
    );
    let denied = client.call_tool(CallToolRequestParams::new("add")).await;
    assert!(format!("{denied:?}").contains("-32001"), "{denied:?}");
    let _ = client.cancel().await;
    tokio::task::block_in_place(move || drop(d));
}
