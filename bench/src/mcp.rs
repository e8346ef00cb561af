//! What each workload sends to each target, the legacy sessions it needs, and the check that an
//! answer is a success (status, then the JSON-RPC body: a `result` echoing the arguments).

use anyhow::{Context, Result, bail, ensure};
use reqwest::blocking::{Client, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt;

/// Both kinds of answer, as MCP clients ask.
pub const ACCEPT: &str = "application/json, text/event-stream";
/// The stateless era.
pub const STATELESS_VERSION: &str = "2026-07-28";
/// The legacy era's newest revision.
pub const LEGACY_VERSION: &str = "2025-11-25";
/// The gateway tool that reaches the backend with legacy sessions.
pub const GATEWAY_LEGACY_TOOL: &str = "echo_legacy";
/// The arguments every call sends; the echo must return them.
const ARGUMENT: &str = "bench";

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// tools/call in the 2026-07-28 era (no session), JSON answers.
    Stateless,
    /// The same with a bearer JWT; the gateway under this load verifies it (jwt handler).
    #[value(name = "stateless-jwt")]
    #[serde(rename = "stateless-jwt")]
    StatelessJwt,
    /// The stateless call through a gateway whose metrics are off (`metrics.enabled: false`):
    /// measured on the gateway only, against the stateless workload of the same run.
    #[value(name = "stateless-no-metrics")]
    #[serde(rename = "stateless-no-metrics")]
    StatelessNoMetrics,
    /// tools/call with a legacy session (2025-11-25).
    Legacy,
    /// GET /health.
    Health,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::Stateless => "stateless tools/call",
            Workload::StatelessJwt => "stateless tools/call with JWT",
            Workload::StatelessNoMetrics => "stateless tools/call, metrics off",
            Workload::Legacy => "legacy tools/call",
            Workload::Health => "GET /health",
        })
    }
}

/// Where the load goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The backend itself.
    Direct,
    /// nginx, a plain reverse proxy to the backend.
    Nginx,
    /// light-gateway.
    Gateway,
}

impl Target {
    /// Every target, in table order.
    pub const ALL: [Target; 3] = [Target::Direct, Target::Nginx, Target::Gateway];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Nginx => "nginx",
            Target::Gateway => "gateway",
        }
    }
}

/// One request as the load generator sends it; `sessions` (legacy) go round-robin into
/// `Mcp-Session-Id`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path.
    pub path: &'static str,
    /// Headers other than Host and Content-Length.
    pub headers: Vec<(&'static str, String)>,
    /// Body, when any.
    pub body: Option<String>,
    /// Session ids, one per connection.
    pub sessions: Vec<String>,
    /// Whether the body must be a JSON-RPC `result` (else only the status counts).
    pub check_result: bool,
}

/// The tool name the target knows the backend's `echo` by.
fn legacy_tool(target: Target) -> &'static str {
    match target {
        Target::Gateway => GATEWAY_LEGACY_TOOL,
        Target::Direct | Target::Nginx => "echo",
    }
}

/// The request `workload` sends to `target`; `token` is the bearer token of the JWT workload
/// (sent to every target alike: direct and nginx pass it on, the backend ignores it).
pub fn spec(workload: Workload, target: Target, sessions: Vec<String>, token: &str) -> RequestSpec {
    let post = |headers, body: Value| RequestSpec {
        method: "POST",
        path: "/mcp",
        headers,
        body: Some(body.to_string()),
        sessions,
        check_result: true,
    };
    let stateless = || {
        (
            vec![
                ("Content-Type", "application/json".into()),
                ("Accept", ACCEPT.into()),
                ("MCP-Protocol-Version", STATELESS_VERSION.into()),
                ("Mcp-Method", "tools/call".into()),
                ("Mcp-Name", "echo".into()),
            ],
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "echo", "arguments": {"msg": ARGUMENT},
                "_meta": {"io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                          "io.modelcontextprotocol/clientCapabilities": {}}}}),
        )
    };
    match workload {
        Workload::Stateless | Workload::StatelessNoMetrics => {
            let (headers, body) = stateless();
            post(headers, body)
        }
        Workload::StatelessJwt => {
            let (mut headers, body) = stateless();
            headers.push(("Authorization", format!("Bearer {token}")));
            post(headers, body)
        }
        Workload::Legacy => post(
            vec![
                ("Content-Type", "application/json".into()),
                ("Accept", ACCEPT.into()),
                ("MCP-Protocol-Version", LEGACY_VERSION.into()),
            ],
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                   "params": {"name": legacy_tool(target), "arguments": {"msg": ARGUMENT}}}),
        ),
        Workload::Health => RequestSpec {
            method: "GET",
            path: "/health",
            headers: Vec::new(),
            body: None,
            sessions: Vec::new(),
            check_result: false,
        },
    }
}

/// The JSON-RPC message of an answer: the body itself (JSON) or the last `data:` line that
/// holds JSON (SSE).
pub fn jsonrpc_message(content_type: &str, body: &str) -> Result<Value> {
    if content_type.starts_with("text/event-stream") {
        let last = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .rfind(|d| d.starts_with('{'))
            .context("an SSE answer without a JSON data line")?;
        return Ok(serde_json::from_str(last)?);
    }
    serde_json::from_str(body).with_context(|| format!("not JSON: {body:.200}"))
}

/// Checks a tools/call answer: a `result`, not an error, echoing the arguments.
pub fn check_echo(message: &Value) -> Result<()> {
    ensure!(message.get("error").is_none(), "JSON-RPC error: {message}");
    let result = message.get("result").context("no result")?;
    ensure!(result["isError"] != json!(true), "tool error: {result}");
    let echoed = &result["structuredContent"]["arguments"]["msg"];
    ensure!(echoed == ARGUMENT, "the echo lost the arguments: {result}");
    Ok(())
}

fn send(client: &Client, base: &str, spec: &RequestSpec, session: Option<&str>) -> Result<Response> {
    let url = format!("{base}{}", spec.path);
    let mut request = match spec.method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    for (name, value) in &spec.headers {
        request = request.header(*name, value);
    }
    if let Some(id) = session {
        request = request.header("Mcp-Session-Id", id);
    }
    if let Some(body) = &spec.body {
        request = request.body(body.clone());
    }
    Ok(request.send()?)
}

/// Sends `samples` requests as the load generator would and checks each answer fully.
pub fn verify(client: &Client, base: &str, spec: &RequestSpec, samples: usize) -> Result<()> {
    for i in 0..samples {
        let session = (!spec.sessions.is_empty()).then(|| spec.sessions[i % spec.sessions.len()].as_str());
        let response = send(client, base, spec, session)?;
        let status = response.status();
        let content_type = header(&response, "content-type");
        let body = response.text()?;
        ensure!(status.is_success(), "{base}{}: {status}: {body:.300}", spec.path);
        if spec.check_result {
            check_echo(&jsonrpc_message(&content_type, &body)?).with_context(|| format!("{base}{}", spec.path))?;
        } else {
            ensure!(body.trim() == "ok", "{base}{}: {body:.100}", spec.path);
        }
    }
    Ok(())
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Opens one legacy session: initialize (its answer checked), then notifications/initialized.
pub fn open_session(client: &Client, base: &str) -> Result<String> {
    let url = format!("{base}/mcp");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": LEGACY_VERSION, "capabilities": {},
        "clientInfo": {"name": "light-gateway-bench", "version": "1"}}});
    let response = client
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Accept", ACCEPT)
        .body(init.to_string())
        .send()?;
    let session = header(&response, "mcp-session-id");
    let content_type = header(&response, "content-type");
    let status = response.status();
    let body = response.text()?;
    if !status.is_success() || session.is_empty() {
        bail!("initialize at {url}: {status}, session {session:?}: {body:.300}");
    }
    let message = jsonrpc_message(&content_type, &body)?;
    ensure!(message.get("result").is_some(), "initialize at {url}: {message}");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let status = client
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Accept", ACCEPT)
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", LEGACY_VERSION)
        .body(initialized.to_string())
        .send()?
        .status();
    ensure!(status.is_success(), "notifications/initialized at {url}: {status}");
    Ok(session)
}

/// Opens `n` sessions.
pub fn open_sessions(client: &Client, base: &str, n: usize) -> Result<Vec<String>> {
    (0..n).map(|_| open_session(client, base)).collect()
}

/// Ends sessions with DELETE (best effort: a failure only leaves a session to expire).
pub fn close_sessions(client: &Client, base: &str, sessions: &[String]) {
    for id in sessions {
        let _ = client
            .delete(format!("{base}/mcp"))
            .header("Mcp-Session-Id", id)
            .header("MCP-Protocol-Version", LEGACY_VERSION)
            .send();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const RESULT: &str =
        r#"{"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"arguments":{"msg":"bench"}},"isError":false}}"#;

    #[rstest]
    #[case("application/json", RESULT.to_owned())]
    #[case("text/event-stream", format!("data: \nid: 0/0\nretry: 3000\n\ndata: {RESULT}\nid: 1/0\n\n"))]
    fn a_result_is_found_in_json_and_in_sse(#[case] content_type: &str, #[case] body: String) {
        let message = jsonrpc_message(content_type, &body).unwrap();
        check_echo(&message).unwrap();
    }

    #[rstest]
    #[case(r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"down"}}"#)]
    #[case(r#"{"jsonrpc":"2.0","id":2,"result":{"isError":true,"structuredContent":{"arguments":{"msg":"bench"}}}}"#)]
    #[case(r#"{"jsonrpc":"2.0","id":2,"result":{"structuredContent":{"arguments":{}}}}"#)]
    fn errors_and_wrong_echoes_are_refused(#[case] body: &str) {
        let message = jsonrpc_message("application/json", body).unwrap();
        assert!(check_echo(&message).is_err());
    }

    #[test]
    fn an_sse_answer_without_data_is_an_error() {
        assert!(jsonrpc_message("text/event-stream", "data: \nretry: 3000\n\n").is_err());
    }

    #[test]
    fn the_gateway_gets_its_legacy_tool_name() {
        let body = spec(Workload::Legacy, Target::Gateway, Vec::new(), "").body.unwrap();
        assert!(body.contains(GATEWAY_LEGACY_TOOL));
        let body = spec(Workload::Legacy, Target::Direct, Vec::new(), "").body.unwrap();
        assert!(body.contains(r#""name":"echo""#));
    }

    #[test]
    fn the_jwt_workload_is_the_stateless_call_with_a_bearer_token() {
        let plain = spec(Workload::Stateless, Target::Gateway, Vec::new(), "t0k");
        let jwt = spec(Workload::StatelessJwt, Target::Gateway, Vec::new(), "t0k");
        assert_eq!(plain.body, jwt.body);
        assert_eq!(jwt.headers.len(), plain.headers.len() + 1);
        assert!(jwt.headers.contains(&("Authorization", "Bearer t0k".to_string())));
    }
}
