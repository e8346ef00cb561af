//! The router's edge: which Host names it answers to, which address a client's limits count
//! against behind trusted proxies, and which TLS trust reaches HTTPS backends.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use light_gateway_fixtures::SessionMode;
use reqwest::blocking::Response;
use rstest::rstest;
use serde_json::{Value, json};
use support::certs::pki;
use support::mcp::{HANDLERS, deploy};
use support::*;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(body.to_string()).send().unwrap()
}

#[test]
fn only_allowed_host_names_are_answered() {
    let d = deploy("mcp-router.allowedHosts: [mcp.example.com]\n");
    let refused = post(&d.url, &[], INITIALIZE);
    assert_eq!(refused.status(), 403, "Host 127.0.0.1 is not allowed");
    let body: Value = refused.json().unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("allowedHosts"),
        "{body}"
    );
    let rebound = post(&d.url, &[("host", "attacker.example")], INITIALIZE);
    assert_eq!(rebound.status(), 403, "a DNS-rebound name");
    let allowed = post(
        &d.url,
        &[("host", &format!("mcp.example.com:{}", d.port()))],
        INITIALIZE,
    );
    assert_eq!(allowed.status(), 200, "the configured name");
}

/// Opens a session as the client `forwarded_for` names; the status.
fn open_as(url: &str, forwarded_for: &str) -> u16 {
    post(url, &[("x-forwarded-for", forwarded_for)], INITIALIZE)
        .status()
        .as_u16()
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let d = deploy("mcp-router.maxSessionsPerClient: 1\nmcp-router.trustedProxies: [127.0.0.0/8]\n");
    assert_eq!(open_as(&d.url, "198.51.100.1"), 200);
    assert_eq!(open_as(&d.url, "198.51.100.2"), 200, "another client");
    assert_eq!(open_as(&d.url, "198.51.100.1"), 429, "the first client again");
    assert_eq!(open_as(&d.url, "2001:db8:7:7::1"), 200);
    assert_eq!(open_as(&d.url, "2001:db8:7:7::2"), 429, "the same IPv6 /64");
    assert_eq!(open_as(&d.url, "2001:db8:7:8::1"), 200, "another /64");
}

#[test]
fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let d = deploy("mcp-router.maxSessionsPerClient: 1\n");
    assert_eq!(open_as(&d.url, "198.51.100.1"), 200);
    assert_eq!(
        open_as(&d.url, "198.51.100.2"),
        429,
        "a client naming another address is still itself"
    );
}

/// An HTTPS backend whose certificate, from a private CA, names `names`; the gateway's values
/// get `values_extra` (lines for client.yml replace the base ones). Calls its `echo` tool.
fn call_https_backend(names: &[&str], values_extra: &str) -> (Value, Gateway) {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let tls = pki(names);
    let certs = tempfile::tempdir().unwrap();
    tls.write(certs.path());
    let (cert, key) = (certs.path().join("server.pem"), certs.path().join("server.key"));
    let backend = Mock::mcp_server("tls-backend", SessionMode::Stateless, Some((&cert, &key)));
    let tool = format!(
        "mcp-router.tools:\n  - {{name: tls_echo, endpointName: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: 'https://127.0.0.1:{}', path: /mcp, toolMetadata: {{runtime: {{allowPrivateTargetHost: true}}}}}}\n",
        backend.port()
    );
    let mut values = values(&dead, None, port);
    let mut extra = String::new();
    for line in values_extra.lines() {
        match line.split_once(':') {
            Some((key, _)) if values.contains(&format!("{key}:")) => {
                let old = values
                    .lines()
                    .find(|l| l.starts_with(&format!("{key}:")))
                    .unwrap()
                    .to_string();
                values = values.replace(&old, line);
            }
            _ => extra.push_str(&format!("{line}\n")),
        }
    }
    let app = AppDir::new(&format!("{values}{extra}{HANDLERS}{tool}"));
    tls.write(&app.path("config"));
    let gw = Gateway::start(&app, None);
    gw.wait_ready();
    let body = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"tls_echo","arguments":{},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}});
    let answer: Value = post(
        &format!("http://127.0.0.1:{port}/mcp"),
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "tls_echo"),
        ],
        &body.to_string(),
    )
    .json()
    .unwrap();
    (answer, gw)
}

#[rstest]
#[case::client_yml_ca_is_not_for_backends(&["127.0.0.1"], "client.caCertPath: config/ca.pem", false)]
#[case::backend_ca(&["127.0.0.1"], "mcp-router.backendTls.caCertPath: config/ca.pem", true)]
#[case::client_yml_hostname_switch_is_not_for_backends(
    &["localhost"],
    "mcp-router.backendTls.caCertPath: config/ca.pem\nclient.verifyHostname: false",
    false
)]
#[case::backend_hostname_switch(
    &["localhost"],
    "mcp-router.backendTls.caCertPath: config/ca.pem\nmcp-router.backendTls.verifyHostname: false",
    true
)]
fn https_backends_are_trusted_by_backend_tls_only(
    #[case] names: &[&str],
    #[case] values_extra: &str,
    #[case] reached: bool,
) {
    let (answer, gw) = call_https_backend(names, values_extra);
    if reached {
        assert_eq!(
            answer["result"]["structuredContent"]["instance"],
            "tls-backend",
            "{answer}\n{}",
            gw.logs.text()
        );
    } else {
        assert_eq!(answer["error"]["code"], -32000, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("could not be reached"), "{answer}");
        let logged = gw.logs.wait_for(support::mcp::incident_of(message), WAIT);
        assert!(logged.to_lowercase().contains("certificate"), "{logged}");
    }
}
