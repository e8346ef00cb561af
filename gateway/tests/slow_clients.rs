//! Slow and greedy clients: a connection limit, a deadline for a whole request head (idle
//! keep-alive time included) and for a whole body, so a client trickling bytes cannot hold a
//! connection and its task for good.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::mcp::HANDLERS;
use support::*;

fn gateway(extra: &str) -> (Gateway, u16, AppDir) {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&format!("{}{HANDLERS}{extra}", values(&dead, None, port)));
    let gw = Gateway::start(&app, None);
    gw.wait_ready();
    (gw, port, app)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Reads until the gateway closes the connection (or 10 s pass); what it sent and when it closed.
fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection stayed open: {e}"),
        }
    }
    (String::from_utf8_lossy(&seen).into_owned(), started.elapsed())
}

fn health_on(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut chunk = [0u8; 1024];
    let n = stream.read(&mut chunk).unwrap_or(0);
    String::from_utf8_lossy(&chunk[..n]).into_owned()
}

#[test]
fn connections_past_max_connections_are_closed_until_one_ends() {
    let (_gw, port, _app) = gateway("server.maxConnections: 2\n");
    let mut first = connect(port);
    let mut second = connect(port);
    assert!(health_on(&mut first).starts_with("HTTP/1.1 200"));
    assert!(health_on(&mut second).starts_with("HTTP/1.1 200"));
    let mut third = connect(port);
    let _ = third.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
    let (answer, _) = until_closed(&mut third);
    assert_eq!(answer, "", "a third connection is closed unanswered");
    drop(first);
    // The slot comes back once the gateway sees the close.
    let started = Instant::now();
    loop {
        let mut next = connect(port);
        if health_on(&mut next).starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no room after a close");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_head_trickled_byte_by_byte_is_cut_at_keep_alive_timeout() {
    let (_gw, port, _app) = gateway("server.keepAliveTimeout: 600\n");
    let mut stream = connect(port);
    let head = b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ";
    let started = Instant::now();
    stream.write_all(head).unwrap();
    // One byte each 200 ms: every read is quick, the head never completes.
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(200));
            if writer.write_all(b"a").is_err() {
                return;
            }
        }
    });
    let (answer, _) = until_closed(&mut stream);
    assert_eq!(answer, "");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "closed after {took:?}, not near 600 ms");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_keep_alive_timeout() {
    let (_gw, port, _app) = gateway("server.keepAliveTimeout: 600\n");
    let mut stream = connect(port);
    assert!(health_on(&mut stream).starts_with("HTTP/1.1 200"));
    let (answer, idle) = until_closed(&mut stream);
    assert_eq!(answer, "");
    assert!(idle < Duration::from_secs(3), "idle connection kept {idle:?}");
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let (_gw, port, _app) = gateway("server.requestReadTimeout: 600\n");
    let mut stream = connect(port);
    let started = Instant::now();
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"")
        .unwrap();
    let (answer, _) = until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("requestReadTimeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

/// Whether backend B has received a tools/call for `name`.
fn reached_b(d: &support::mcp::McpDeployment, name: &str) -> bool {
    d.b.get("/__admin/requests")
        .as_array()
        .is_some_and(|all| all.iter().any(|r| r["body"]["params"]["name"] == name))
}

#[test]
fn an_sse_client_that_leaves_stops_its_call() {
    let d = support::mcp::deploy("mcp-router.protocols.stateless.maxConcurrentBackendCallsPerTarget: 1\n");
    let mut stream = connect(d.port());
    let request = support::mcp::raw_sse_call("b_slow", r#"{"ms":5000}"#, false);
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 256];
    let n = stream.read(&mut head).unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
    let started = Instant::now();
    while !reached_b(&d, "slow") {
        assert!(started.elapsed() < Duration::from_secs(5), "the call never reached B");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(stream);
    // B's one place is held by the slow call until the gateway lets go of it.
    let left = Instant::now();
    let echo = || {
        let body =
            serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo_b","arguments":{}}});
        client()
            .post(&d.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo_b")
            .body(body.to_string())
            .send()
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap()
    };
    loop {
        let answer = echo();
        if answer["result"].is_object() {
            break;
        }
        assert!(
            left.elapsed() < Duration::from_secs(2),
            "the call outlived its client: {answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
