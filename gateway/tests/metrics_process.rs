//! Metrics end to end: a gateway with `metrics.prometheusPort` serves Prometheus text on that
//! port whose counters rise by the calls made, per tool, backend and outcome; with metrics off
//! nothing listens there.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::time::Duration;

use serde_json::Value;
use support::mcp::{deploy, stateless_call};
use support::*;

/// The value of the series `series` (name and labels exactly as printed), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn scrape(port: u16) -> String {
    let (status, text) = http_get(&format!("http://127.0.0.1:{port}/metrics")).expect("scrape answered");
    assert_eq!(status, 200, "{text}");
    text
}

fn call(url: &str, tool: &str) -> Value {
    let response = stateless_call(&client(), url, tool)
        .send()
        .expect("tools/call answered");
    response.json().unwrap_or(Value::Null)
}

fn calls(tool: &str, backend: &str, outcome: &str) -> String {
    format!(r#"light_gateway_tool_calls_total{{tool="{tool}",backend="{backend}",outcome="{outcome}"}}"#)
}

#[test]
fn the_scrape_endpoint_counts_each_call_by_tool_backend_and_outcome() {
    let metrics_port = free_port();
    let d = deploy(&format!("metrics.prometheusPort: {metrics_port}\n"));
    let a = d.a.main.trim_end_matches('/').to_string();
    let before = scrape(metrics_port);
    for _ in 0..3 {
        assert!(call(&d.url, "echo").get("result").is_some());
    }
    assert_eq!(call(&d.url, "fail")["result"]["isError"], true);
    assert!(call(&d.url, "down").get("error").is_some());
    assert!(call(&d.url, "no_such_tool").get("error").is_some());
    let (status, _) = http_get(&format!("http://127.0.0.1:{}/health", d.port())).expect("health");
    assert_eq!(status, 200);
    let after = scrape(metrics_port);
    let rose = |series: &str| value(&after, series) - value(&before, series);

    assert_eq!(rose(&calls("echo", &a, "ok")), 3.0, "{after}");
    assert_eq!(rose(&calls("fail", &a, "tool_error")), 1.0, "{after}");
    let down = after
        .lines()
        .find(|l| l.starts_with(r#"light_gateway_tool_calls_total{tool="down""#) && l.contains("backend_failed"))
        .expect("the call to a dead backend is counted");
    assert!(down.ends_with(" 1"), "{down}");
    // Every configured tool's series exist from the start, at 0.
    assert!(after.contains(&format!("{} 0", calls("echo", &a, "denied"))), "{after}");
    assert_eq!(rose(&calls("(unknown)", "", "refused")), 1.0, "{after}");
    assert!(
        !after.contains("no_such_tool"),
        "a name from a request never becomes a label"
    );
    let echo_latency = format!(r#"light_gateway_tool_call_duration_seconds_count{{tool="echo",backend="{a}"}}"#);
    assert_eq!(rose(&echo_latency), 3.0, "{after}");
    assert!(
        rose(r#"light_gateway_http_requests_total{route="mcp",status="200"}"#) >= 6.0,
        "{after}"
    );
    assert_eq!(
        rose(r#"light_gateway_http_requests_total{route="health",status="200"}"#),
        1.0
    );
    // deploy() points at a config-server that is down: the startup download failed.
    assert_eq!(
        value(
            &after,
            r#"light_gateway_config_loads_total{kind="bootstrap",outcome="failed"}"#
        ),
        1.0
    );
    assert!(after.contains("light_gateway_build_info{version="), "{after}");
    assert!(after.contains("# TYPE light_gateway_mcp_sessions gauge"), "{after}");

    let wrong = client()
        .post(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .expect("answered");
    assert_eq!(wrong.status(), 405);
    let elsewhere = http_get(&format!("http://127.0.0.1:{metrics_port}/mcp")).expect("answered");
    assert_eq!(elsewhere.0, 404);
    // The MCP port does not serve the metrics.
    let on_mcp_port = http_get(&format!("http://127.0.0.1:{}/metrics", d.port())).expect("answered");
    assert_eq!(on_mcp_port.0, 404);
}

#[test]
fn with_metrics_off_nothing_listens_and_the_log_says_so() {
    let metrics_port = free_port();
    let d = deploy(&format!(
        "metrics.prometheusPort: {metrics_port}\nmetrics.enabled: false\n"
    ));
    assert!(call(&d.url, "echo").get("result").is_some());
    d.gateway
        .logs
        .wait_for("metrics off (metrics.enabled: false)", Duration::from_secs(5));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", metrics_port)).is_err(),
        "nothing may listen on prometheusPort with metrics off"
    );
}
