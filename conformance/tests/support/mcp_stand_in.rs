//! A Streamable HTTP MCP server standing in for the gateway, for the strict client's unit tests
//! (`src/mcp/strict_tests.rs`) and the suite's (`tests/suite/strict_client.rs`): it answers
//! from a table like the suite's scenario (echo from backend-a, echo_b from backend-b, slow), and
//! can leave out tools/call's `resultType`, which the Python SDK refuses in the 2026-07-28 era
//! and rmcp accepts.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A Streamable HTTP MCP server that answers from a table (JSON responses, no session), on
/// plain tokio so the test depends on no HTTP framework. Two tools/list pages; echo and echo_b
/// answer from backend-a and backend-b; `omit_result_type` drops tools/call's `resultType`.
pub async fn stand_in(omit_result_type: bool) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, omit_result_type));
        }
    });
    url
}

async fn serve(mut stream: TcpStream, omit_result_type: bool) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let (status, reply) = if head.starts_with("post") {
            answer(&serde_json::from_slice(&body).unwrap(), omit_result_type)
        } else {
            ("405 Method Not Allowed", None)
        };
        let reply = reply.map(|r| r.to_string()).unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(request: &Value, omit_result_type: bool) -> (&'static str, Option<Value>) {
    let Some(id) = request.get("id") else {
        return ("202 Accepted", None);
    };
    let complete = json!({"resultType": "complete", "ttlMs": 0, "cacheScope": "private"});
    let tool = |name: &str| json!({"name": name, "inputSchema": {"type": "object"}});
    let mut result = match request["method"].as_str().unwrap_or_default() {
        "initialize" => json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "stand-in", "version": "1"}}),
        "server/discover" => json!({"supportedVersions": ["2025-11-25", "2026-07-28"],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "stand-in", "version": "1"}}),
        "tools/list" if request.pointer("/params/cursor").is_none() => {
            json!({"tools": [tool("echo")], "nextCursor": "page-2"})
        }
        "tools/list" => json!({"tools": [tool("echo_b"), tool("slow")]}),
        "tools/call" => {
            let instance = if request["params"]["name"] == "echo_b" {
                "backend-b"
            } else {
                "backend-a"
            };
            let mut result = json!({"content": [{"type": "text", "text": instance}],
                "structuredContent": {"instance": instance}, "isError": false});
            if !omit_result_type {
                result["resultType"] = json!("complete");
            }
            return ("200 OK", Some(json!({"jsonrpc": "2.0", "id": id, "result": result})));
        }
        other => {
            return (
                "200 OK",
                Some(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": other}})),
            );
        }
    };
    for (k, v) in complete.as_object().unwrap() {
        result[k] = v.clone();
    }
    ("200 OK", Some(json!({"jsonrpc": "2.0", "id": id, "result": result})))
}
