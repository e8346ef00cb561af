//! Hot reload end to end: config-server starts serving a new tool, the controller calls
//! `reload_modules`, and the gateway serves it, with traffic running across the reload and a
//! legacy session opened before it still usable; a broken config then fails and changes nothing.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::{HANDLERS, mcp_server, stateless_call};
use support::*;

const BOTH: &str = "application/json, text/event-stream";
const PRIVATE: &str = "toolMetadata: {runtime: {allowPrivateTargetHost: true}}";

/// Values config-server serves: the handlers and `tools` (YAML list items).
fn served(tools: &str) -> String {
    format!("{HANDLERS}mcp-router.tools:\n{tools}")
}

fn tool(name: &str, backend: &Mock, protocol: &str) -> String {
    format!(
        "  - {{name: {name}, endpointName: echo, apiType: mcp, backendMcpProtocol: {protocol}, targetHost: '{}', path: /mcp, {PRIVATE}}}\n",
        backend.main
    )
}

struct Deployment {
    config_server: Mock,
    controller: Mock,
    gateway: Gateway,
    url: String,
    _data: tempfile::TempDir,
    _app: AppDir,
}

fn deploy(tools: &str) -> Deployment {
    deploy_serving(&served(tools))
}

/// A gateway whose config-server serves `values`, registered with a controller.
fn deploy_serving(values_served: &str) -> Deployment {
    let data = config_data(values_served);
    let config_server = config_server(data.path());
    let controller = controller(None);
    let port = free_port();
    let app = AppDir::new(&values(&config_server.main, Some(&controller.main), port));
    let gateway = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gateway.wait_ready();
    Deployment {
        config_server,
        controller,
        gateway,
        url: format!("http://127.0.0.1:{port}/mcp"),
        _data: data,
        _app: app,
    }
}

impl Deployment {
    /// Makes config-server serve `values` from now on.
    fn serve(&self, values: &str) {
        self.config_server.post(
            "/__admin/configs",
            json!({"host": HOST, "serviceId": SID, "envTag": ENV, "values": values}),
        );
    }

    /// The gateway's answer to `reload_modules` with `arguments`, through the controller.
    fn reload(&self, arguments: Value) -> Value {
        let reply = self.controller.post(
            "/__admin/call",
            json!({"method": "tools/call", "params": {"name": "reload_modules", "arguments": arguments},
                   "serviceId": SID, "timeoutMs": 20000}),
        );
        reply["result"].clone()
    }

    fn post(&self, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
        let mut request = client()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", BOTH);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.body(body.to_string()).send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn stateless(&self, method: &str, name: Option<&str>, params: Value) -> (u16, Value) {
        let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        self.post(
            &headers,
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
        )
    }

    fn listed(&self) -> Vec<String> {
        let (status, body) = self.stateless("tools/list", None, json!({}));
        assert_eq!(status, 200, "{body}");
        body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Whether a stateless call of `name` succeeded.
    fn calls(&self, name: &str) -> Result<(), String> {
        let (status, body) = self.stateless("tools/call", Some(name), json!({"name": name, "arguments": {}}));
        match (status, body["result"]["isError"].as_bool()) {
            (200, Some(false) | None) if body.get("result").is_some() => Ok(()),
            _ => Err(format!("{status} {body}")),
        }
    }

    fn initialize(&self) -> String {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                          "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let response = client()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", BOTH)
            .body(body.to_string())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.headers()["mcp-session-id"].to_str().unwrap().to_string()
    }

    fn legacy_call(&self, session: &str, name: &str) -> (u16, Value) {
        self.post(
            &[("mcp-session-id", session), ("mcp-protocol-version", "2025-06-18")],
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": {}}}),
        )
    }
}

/// Calls `tool` in a loop until stopped; counts the calls and keeps the failures.
struct Load {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    worker: JoinHandle<Vec<String>>,
}

impl Load {
    fn start(url: &str, tool: &'static str) -> Load {
        let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (stop2, done2, url) = (stop.clone(), done.clone(), url.to_string());
        let worker = std::thread::spawn(move || {
            let mut failures = Vec::new();
            let http = client();
            while !stop2.load(Ordering::Relaxed) {
                let answer = stateless_call(&http, &url, tool)
                    .send()
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        let status = r.status().as_u16();
                        let body: Value = r.json().map_err(|e| e.to_string())?;
                        match (status, body["result"]["isError"].as_bool()) {
                            (200, Some(false) | None) if body.get("result").is_some() => Ok(()),
                            _ => Err(format!("{status} {body}")),
                        }
                    });
                if let Err(e) = answer {
                    failures.push(e);
                }
                done2.fetch_add(1, Ordering::Relaxed);
            }
            failures
        });
        Load { stop, done, worker }
    }

    /// Waits until `n` more calls than now have been answered, so a reload lands under load.
    fn wait_calls(&self, n: usize) {
        let target = self.done.load(Ordering::Relaxed) + n;
        eventually(&format!("{n} calls under load"), WAIT, || {
            self.done.load(Ordering::Relaxed) >= target
        });
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let failures = self.worker.join().unwrap();
        (self.done.load(Ordering::Relaxed), failures)
    }
}

#[test]
fn a_reload_serves_the_new_tool_with_no_failed_request_and_a_broken_one_changes_nothing() {
    let a = mcp_server("backend-a", "legacy");
    let b = mcp_server("backend-b", "stateless");
    let first = tool("echo_a", &a, "legacy");
    let d = deploy(&first);
    assert_eq!(d.listed(), ["echo_a"]);
    let session = d.initialize();
    assert_eq!(d.legacy_call(&session, "echo_a").0, 200);

    let load = Load::start(&d.url, "echo_a");
    load.wait_calls(20);
    d.serve(&served(&format!("{first}{}", tool("echo_b", &b, "stateless"))));
    let report = d.reload(json!({}));
    assert_eq!(report["failed"], json!([]), "{report}");
    let reloaded: Vec<&str> = report["reloaded"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        reloaded.contains(&"light-pingora/mcp-router") && reloaded.contains(&"light-pingora/handler"),
        "{report}"
    );
    assert!(
        report["skipped"]
            .as_array()
            .unwrap()
            .contains(&json!({"moduleId": "light-runtime/server", "reason": "requiresRestart"})),
        "{report}"
    );
    assert_eq!(d.listed(), ["echo_a", "echo_b"]);
    d.calls("echo_b").expect("the new tool answers");
    let (status, body) = d.legacy_call(&session, "echo_a");
    assert_eq!(status, 200, "the session opened before the reload still works: {body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    load.wait_calls(20);

    // A config that cannot be built: nothing changes, the reason is reported and logged.
    d.serve(&served(&format!(
        "{first}  - {{name: broken, apiType: mcp, path: /mcp, {PRIVATE}}}\n"
    )));
    let report = d.reload(json!({"modules": ["light-pingora/mcp-router"]}));
    assert_eq!(report["reloaded"], json!([]), "{report}");
    let failed = &report["failed"][0];
    assert_eq!(failed["moduleId"], "light-pingora/mcp-router", "{report}");
    assert!(failed["message"].as_str().unwrap().contains("mcp-router"), "{report}");
    d.gateway.logs.wait_for("reload failed", Duration::from_secs(5));
    assert_eq!(d.listed(), ["echo_a", "echo_b"], "the previous tools stay");
    d.calls("echo_b").expect("the previous tools still answer");

    let (calls, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {failures:?}",
        failures.len()
    );
    assert!(calls > 20, "the load ran across the reloads ({calls} calls)");

    let info = d.controller.post(
        "/__admin/call",
        json!({"method": "tools/call", "params": {"name": "get_service_info", "arguments": {}}, "serviceId": SID}),
    )["result"]
        .clone();
    let router = info["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["moduleId"] == "light-pingora/mcp-router")
        .unwrap()
        .clone();
    assert_eq!(router["reloadable"], true, "{router}");
    assert_eq!(router["lastReload"]["status"], "failed", "{router}");
}

#[test]
fn a_reload_when_config_server_is_down_fails_and_keeps_serving() {
    let a = mcp_server("backend-a", "legacy");
    let d = deploy(&tool("echo_a", &a, "legacy"));
    d.config_server.post("/__admin/outage", json!({"mode": "refuse"}));
    let report = d.reload(json!({}));
    assert_eq!(report["reloaded"], json!([]), "{report}");
    assert_eq!(report["failed"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["failed"][0]["moduleId"], "ALL", "{report}");
    let message = report["failed"][0]["message"].as_str().unwrap();
    assert!(message.contains("config-server"), "{report}");
    assert_eq!(d.listed(), ["echo_a"]);
    d.calls("echo_a").expect("the tool still answers");
}

#[test]
fn a_module_that_needs_a_restart_is_skipped_and_an_unknown_one_fails() {
    let a = mcp_server("backend-a", "legacy");
    let d = deploy(&tool("echo_a", &a, "legacy"));
    let report = d.reload(json!({"modules": ["light-runtime/server", "light-pingora/nope"]}));
    assert_eq!(
        report,
        json!({"modules": [], "reloaded": [],
               "skipped": [{"moduleId": "light-runtime/server", "reason": "requiresRestart"}],
               "failed": [{"moduleId": "light-pingora/nope", "message": "module not found"}]})
    );
}

/// `basic-auth` on the MCP path, with `password` for alice.
fn basic_auth(password: &str, tools: &str) -> String {
    format!(
        "handler.handlers: [basic-auth, mcp]
handler.chains: {{mcp-chain: [basic-auth, mcp]}}
handler.paths: [{{path: /mcp, method: POST, exec: [mcp-chain]}}]
handler.defaultHandlers: []
basic-auth.enabled: true
basic-auth.users: [{{username: alice, password: {password}}}]
mcp-router.tools:
{tools}"
    )
}

/// A stateless tools/list as alice with `password`: the status and the body.
fn list_as_alice(d: &Deployment, password: &str) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let response = client()
        .post(&d.url)
        .basic_auth("alice", Some(password))
        .header("content-type", "application/json")
        .header("accept", BOTH)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn an_auth_module_reload_applies_new_credentials_and_leaves_the_router_alone() {
    let a = mcp_server("backend-a", "legacy");
    let tools = tool("echo_a", &a, "legacy");
    let d = deploy_serving(&basic_auth("first", &tools));
    assert_eq!(
        (list_as_alice(&d, "first").0, list_as_alice(&d, "second").0),
        (200, 401)
    );

    // New password and a new tool served; only basic-auth is reloaded.
    d.serve(&basic_auth(
        "second",
        &format!("{tools}{}", tool("echo_c", &a, "legacy")),
    ));
    let report = d.reload(json!({"modules": ["light-pingora/basic-auth"]}));
    assert_eq!(report["reloaded"], json!(["light-pingora/basic-auth"]), "{report}");
    assert_eq!(list_as_alice(&d, "first").0, 401, "the old password is refused");
    let (status, listed) = list_as_alice(&d, "second");
    assert_eq!(status, 200, "the new password is accepted: {listed}");
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["echo_a"], "the router was not asked to reload");
}
