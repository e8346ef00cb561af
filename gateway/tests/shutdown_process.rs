//! SIGTERM: in-flight requests complete, deregistration is recorded, exit 0 within the grace.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

/// A request whose headers and first 3 body bytes are sent, the rest of its `content_length`
/// still to come: in flight until the test sends more. Returns once the gateway (metrics on
/// `metrics_port`) counts it in flight.
fn request_in_flight(port: u16, metrics_port: u16, content_length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!("POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: {content_length}\r\n\r\nabc");
    stream.write_all(head.as_bytes()).unwrap();
    wait_in_flight(metrics_port, 1);
    stream
}

/// The test values with metrics on a port of their own; returns them and that port.
fn values_with_metrics(config_server: &str, controller: Option<&str>, port: u16) -> (String, u16) {
    let metrics_port = free_port();
    let values = format!(
        "{}metrics.prometheusPort: {metrics_port}\n",
        values(config_server, controller, port)
    );
    (values, metrics_port)
}

#[test]
fn sigterm_drains_in_flight_requests_deregisters_and_exits_zero() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    let (values, metrics_port) = values_with_metrics(&dead, Some(&ctl.main), port);
    let app = AppDir::new(&values);
    let mut gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    gw.logs.wait_for("controller registered", WAIT);

    // A request in flight: headers sent, body still coming.
    let mut slow = request_in_flight(port, metrics_port, 6);

    let sent = Instant::now();
    gw.signal("TERM");
    gw.logs.wait_for("event=\"draining\"", WAIT);
    // New requests are refused while draining; /health still answers.
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/other")).map(|r| r.0),
        Some(503)
    );
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/health")),
        Some((200, "ok".into()))
    );
    // The drain holds on for the request: it is still in flight after the signal.
    wait_in_flight(metrics_port, 1);
    slow.write_all(b"def").unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "the in-flight request completed: {answer}"
    );

    let status = gw.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit 0: {status:?}\n{}", gw.logs.text());
    assert!(
        sent.elapsed() < Duration::from_millis(2000 + 1500),
        "within the default 2 s grace (+ process exit)"
    );
    gw.logs.wait_for("controller deregistered", WAIT);
    gw.logs.wait_for("event=\"stopped\"", WAIT);
    let record = &ctl.get("/__admin/registrations")[0];
    assert_eq!(record["deregistered"], true, "{record}");
    assert_eq!(record["deregistrationReason"], "shutdown");
}

/// A path without a route does not read a long body to its end: the 404 goes out after 64 KiB
/// and the connection closes, so a client cannot hold a connection by streaming forever.
#[test]
fn an_unrouted_path_does_not_wait_for_a_long_body() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&values(&dead, None, port));
    let mut gw = Gateway::start(&app, None);
    gw.wait_ready();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = "POST /nowhere HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    // Just over the 64 KiB the gateway drains: all of it is read before it closes, so the close
    // is a clean one (unread bytes would make it a reset). It may close while this is written.
    let _ = stream.write_all(&vec![b'x'; 65 * 1024]);
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("answered and closed without the other 99.9 MiB");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    gw.signal("TERM");
    gw.wait_exit(Duration::from_secs(10));
}

#[test]
fn grace_period_bounds_a_request_that_never_finishes() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (values, metrics_port) = values_with_metrics(&dead, None, port);
    let app = AppDir::new(&(values + "server.shutdownGracefulPeriod: 500\n"));
    let mut gw = Gateway::start(&app, None);
    gw.wait_ready();
    let _stuck = request_in_flight(port, metrics_port, 100);
    let sent = Instant::now();
    gw.signal("TERM");
    assert!(gw.wait_exit(Duration::from_secs(10)).success());
    assert!(
        sent.elapsed() < Duration::from_millis(500 + 1500),
        "took {:?}",
        sent.elapsed()
    );
    gw.logs.wait_for("grace period over with requests in flight", WAIT);
}

#[test]
fn second_signal_exits_at_once() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (values, metrics_port) = values_with_metrics(&dead, None, port);
    let app = AppDir::new(&(values + "server.shutdownGracefulPeriod: 60000\n"));
    let mut gw = Gateway::start(&app, None);
    gw.wait_ready();
    let _stuck = request_in_flight(port, metrics_port, 100);
    gw.signal("TERM");
    gw.logs.wait_for("event=\"draining\"", WAIT);
    let sent = Instant::now();
    gw.signal("TERM");
    let status = gw.wait_exit(Duration::from_secs(5));
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(status.code(), Some(130));
}

#[test]
fn json_logs_carry_the_milestone_events_and_trace_level_leaks_no_token() {
    let port = free_port();
    let data = config_data("a: 1\n");
    let cs = config_server(data.path());
    let ctl = controller(None);
    let app = AppDir::new(&values(&cs.main, Some(&ctl.main), port));
    let tok = token(HOST, SID, ENV);
    let mut gw = Gateway::start_with(&app, Some(&tok), &[("LOG_FORMAT", "json"), ("RUST_LOG", "trace")]);
    let ready = gw.logs.wait_for("\"event\":\"ready\"", WAIT);
    let line: serde_json::Value = serde_json::from_str(&ready).expect("a JSON line");
    assert_eq!(line["message"], "ready");
    gw.signal("TERM");
    assert!(gw.wait_exit(WAIT).success());
    for event in [
        "bootstrap_ok",
        "config_loaded",
        "listeners_bound",
        "registered",
        "draining",
        "deregistered",
        "stopped",
    ] {
        assert!(
            gw.logs.text().contains(&format!("\"event\":\"{event}\"")),
            "{event} missing"
        );
    }
    gw.assert_no_token_in_output();
}

/// An SSE tool call that outlasts Pingora's own 1 s stop window but not the grace period runs
/// to its end during a drain: its stream is counted in flight until the last event is written.
#[test]
fn an_sse_call_within_the_grace_period_completes_during_the_drain() {
    let metrics_port = free_port();
    let mut d = support::mcp::deploy(&format!(
        "server.shutdownGracefulPeriod: 6000\nmetrics.prometheusPort: {metrics_port}\n"
    ));
    let mut stream = TcpStream::connect(("127.0.0.1", d.port())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let request = support::mcp::raw_sse_call("b_slow", r#"{"ms":2500}"#, true);
    stream.write_all(request.as_bytes()).unwrap();
    wait_in_flight(metrics_port, 1);
    let sent = Instant::now();
    d.gateway.signal("TERM");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("\"result\"") && answer.contains("\"id\":1"),
        "the whole SSE answer, its result last: {answer}"
    );
    assert!(
        sent.elapsed() > Duration::from_millis(1500),
        "the call ran its 2.5 s, not cut by the stop: {:?}",
        sent.elapsed()
    );
    assert!(d.gateway.wait_exit(Duration::from_secs(10)).success());
}
