//! Admission on the wire: /health for any method at all times; 503 with `connection: close`
//! and `retry-after: 0` for everything else until ready.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use serde_json::json;
use support::*;

#[test]
fn health_answers_any_method_and_other_paths_wait_for_ready() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    // The controller holds the ack for 2 s: the gateway is listening but not ready meanwhile.
    ctl.post("/__admin/behaviour", json!({"registerAckDelayMs": 2000}));
    let app = AppDir::new(&values(&dead, Some(&ctl.main), port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.logs.wait_for("listeners bound", WAIT);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();

    let early = http.post(format!("{base}/mcp")).body("{}").send().unwrap();
    assert_eq!(early.status(), 503);
    assert_eq!(early.headers()["connection"], "close");
    assert_eq!(early.headers()["retry-after"], "0");
    assert!(
        !gw.logs.text().contains("event=\"ready\""),
        "the 503 was seen before ready"
    );

    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] {
        let response = http
            .request(method.parse().unwrap(), format!("{base}/health"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{method} /health");
        assert_eq!(response.headers()["content-type"], "text/plain");
        if method != "HEAD" {
            assert_eq!(response.text().unwrap(), "ok");
        }
    }

    gw.wait_ready();
    let later = http.post(format!("{base}/mcp")).body("{}").send().unwrap();
    assert_ne!(later.status(), 503, "admitted once ready");
}
