//! The interop matrix, strict on both ends: clients {rmcp, the official Python SDK} x client era
//! {legacy `initialize`, 2026-07-28 `discover`} x backends {mock-mcp-server (rmcp), the Python
//! SDK's `MCPServer`} x backend era {legacy, stateless}. A stateless client reaching a
//! legacy-era backend crosses the bridge. For each: tools/list, a structured result, a text
//! result, a tool answering `isError`, an unknown tool, a backend that is down. The Python side
//! runs as real processes from `.venv` (`make setup`), and the SDK's own models validate every
//! answer it reads.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use light_gateway_fixtures::SessionMode;
use rmcp::model::CallToolRequestParams;
use rstest::rstest;
use serde_json::{Value, json};
use support::mcp::HANDLERS;
use support::{AppDir, Gateway, Mock, free_port, values};

/// The backends and eras the gateway routes to, by tool prefix: `<backend>_<era>_`.
const PREFIXES: [(&str, &str); 4] = [
    ("rs_l_", "backend-a"),
    ("rs_s_", "backend-a"),
    ("py_l_", "py"),
    ("py_s_", "py"),
];
/// A tool whose backend does not listen.
const DOWN: &str = "down";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// `.venv`'s python with the official MCP SDK (made by `make setup` / `make test`).
fn python() -> PathBuf {
    let python = workspace().join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import mcp.client.session, mcp.server.mcpserver"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import the MCP SDK: run `make setup` (conformance/requirements.txt installs it into .venv)",
        python.display()
    );
    python
}

/// The Python SDK backend, killed on drop.
struct PyBackend {
    child: Child,
    url: String,
}

impl PyBackend {
    fn start(instance: &str) -> Self {
        let port = free_port();
        let mut child = Command::new(python())
            .arg(interop_dir().join("py_backend.py"))
            .args(["--port", &port.to_string(), "--instance", instance])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        assert!(
            line.starts_with("LISTENING"),
            "the Python backend did not start: {line:?}"
        );
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for PyBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both backends and a gateway routing `<prefix>echo|add|fail` to each, in each era.
struct Matrix {
    _rs: Mock,
    _py: PyBackend,
    _gateway: Gateway,
    _app: AppDir,
    url: String,
}

fn matrix() -> Matrix {
    let rs = Mock::mcp_server("backend-a", SessionMode::Legacy, None);
    let py = PyBackend::start("py");
    let private = "toolMetadata: {runtime: {allowPrivateTargetHost: true}}";
    let mut tools = String::from("mcp-router.tools:\n");
    for (label, url) in [("rs", &rs.main), ("py", &py.url)] {
        for (era, protocol) in [("l", "legacy"), ("s", "stateless")] {
            for name in ["echo", "add", "fail"] {
                tools.push_str(&format!(
                    "  - {{name: {label}_{era}_{name}, endpointName: {name}, apiType: mcp, backendMcpProtocol: {protocol}, targetHost: '{url}', path: /mcp, {private}}}\n"
                ));
            }
        }
    }
    let dead = free_port();
    tools.push_str(&format!(
        "  - {{name: {DOWN}, endpointName: echo, apiType: mcp, targetHost: 'http://127.0.0.1:{dead}', path: /mcp, {private}}}\n"
    ));
    let port = free_port();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&format!("{}{HANDLERS}{tools}", values(&nowhere, None, port)));
    let gateway = Gateway::start(&app, None);
    gateway.wait_ready();
    Matrix {
        _rs: rs,
        _py: py,
        _gateway: gateway,
        _app: app,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

#[rstest]
#[case::legacy("legacy")]
#[case::stateless("stateless")]
fn the_official_python_sdk_client_works_with_both_backends_in_both_eras(#[case] era: &str) {
    let m = matrix();
    let mut command = Command::new(python());
    command
        .arg(interop_dir().join("py_client.py"))
        .args(["--url", &m.url, "--era", era, "--down", DOWN]);
    for (prefix, instance) in PREFIXES {
        command.arg("--prefix").arg(format!("{prefix}={instance}"));
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python SDK client failed checks:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok")).count(),
        PREFIXES.len() * 6 + 2,
        "every check ran:\n{stdout}"
    );
}

#[rstest]
#[case::legacy(false)]
#[case::stateless(true)]
#[tokio::test(flavor = "multi_thread")]
async fn the_rmcp_client_works_with_both_backends_in_both_eras(#[case] stateless: bool) {
    let m = tokio::task::spawn_blocking(matrix).await.unwrap();
    let client = support::mcp::rmcp_client(&m.url, stateless, None).await;
    let listed: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    let call = async |name: &str, arguments: Value| {
        let params = CallToolRequestParams::new(name.to_string())
            .with_arguments(arguments.as_object().cloned().unwrap_or_default());
        client.call_tool(params).await
    };
    for (prefix, instance) in PREFIXES {
        for name in ["echo", "add", "fail"] {
            assert!(
                listed.contains(&format!("{prefix}{name}")),
                "{prefix}{name} in {listed:?}"
            );
        }
        let echo =
            serde_json::to_value(call(&format!("{prefix}echo"), json!({"msg": "interop"})).await.unwrap()).unwrap();
        assert_eq!(echo["structuredContent"]["instance"], instance, "{echo}");
        assert_eq!(echo["structuredContent"]["arguments"]["msg"], "interop", "{echo}");
        let added =
            serde_json::to_value(call(&format!("{prefix}add"), json!({"a": 1, "b": 2})).await.unwrap()).unwrap();
        assert!(
            added["content"].as_array().unwrap().iter().any(|c| c["text"] == "3"),
            "{prefix}add: {added}"
        );
        let failed = serde_json::to_value(call(&format!("{prefix}fail"), json!({})).await.unwrap()).unwrap();
        assert_eq!(failed["isError"], true, "{prefix}fail: {failed}");
    }
    let unknown = format!("{:?}", call("no_such_tool", json!({})).await.unwrap_err());
    assert!(
        unknown.contains("-32602") && unknown.contains("no_such_tool"),
        "{unknown}"
    );
    let down = format!("{:?}", call(DOWN, json!({})).await.unwrap_err());
    assert!(down.contains("-32000") && down.contains(DOWN), "{down}");
    let _ = client.cancel().await;
    tokio::task::block_in_place(move || drop(m));
}
