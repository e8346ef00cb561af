//! The real gateway against the real mock controller: the record, startOnRegistryFailure,
//! controller requests.

mod support;

use serde_json::{Value, json};
use support::*;

fn registrations(controller: &Mock) -> Vec<Value> {
    controller
        .get("/__admin/registrations")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn controller_record_has_the_expected_identity_and_endpoint() {
    let port = free_port();
    let data = config_data("a: 1\n");
    let cs = config_server(data.path());
    let ctl = controller(None);
    let app = AppDir::new(&values(&cs.main, Some(&ctl.main), port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    let line = gw.logs.wait_for("controller registered", WAIT);
    let records = registrations(&ctl);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["serviceId"], SID);
    assert_eq!(r["envTag"], ENV);
    assert_eq!(r["address"], "127.0.0.1");
    assert_eq!(r["port"], port);
    assert_eq!(r["protocol"], "http");
    assert_eq!(r["version"], "1.0.0");
    assert_eq!(r["connected"], true);
    assert!(
        line.contains(r["runtimeInstanceId"].as_str().unwrap()),
        "log names the runtimeInstanceId: {line}"
    );
    // The controller can reach the advertised address.
    let probe = ctl.post("/__admin/probe", json!({"runtimeInstanceId": r["runtimeInstanceId"]}));
    assert_eq!(probe["status"], 200, "{probe}");
    assert_eq!(probe["body"], "ok");
    gw.assert_no_token_in_output();
}

#[test]
fn controller_requests_are_answered_with_the_same_id_and_null_method() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    let app = AppDir::new(&values(&dead, Some(&ctl.main), port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    let id = registrations(&ctl)[0]["runtimeInstanceId"].clone();
    let reply = ctl.post(
        "/__admin/send",
        json!({"runtimeInstanceId": id, "method": "config/reload", "params": {}}),
    );
    assert!(reply.get("method").is_some_and(Value::is_null), "{reply}");
    assert_eq!(reply["result"]["supported"], false, "{reply}");
}

#[test]
fn controller_down_with_start_on_failure_true_becomes_ready_and_registers_later() {
    let port = free_port();
    let ctl_port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&values(&dead, Some(&format!("http://127.0.0.1:{ctl_port}")), port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    gw.logs.wait_for("controller registration failed", WAIT);
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/health")),
        Some((200, "ok".into()))
    );
    let ctl = controller(Some(&format!("127.0.0.1:{ctl_port}")));
    gw.logs
        .wait_for("controller registered", std::time::Duration::from_secs(20));
    assert_eq!(registrations(&ctl).len(), 1);
}

#[test]
fn controller_down_with_start_on_failure_false_exits_non_zero_with_the_reason() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&(values(&dead, Some(&ctl), port) + "server.startOnRegistryFailure: false\n"));
    let mut gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    let status = gw.wait_exit(WAIT);
    assert!(!status.success());
    let logs = gw.logs.text();
    assert!(
        logs.contains("startOnRegistryFailure is false") && logs.contains("failed to connect"),
        "{logs}"
    );
    assert!(!logs.contains("event=\"ready\""), "never ready: {logs}");
}

#[test]
fn controller_refusing_the_token_is_reported() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    let app = AppDir::new(&(values(&dead, Some(&ctl.main), port) + "server.startOnRegistryFailure: false\n"));
    let mut gw = Gateway::start(&app, Some(&token(HOST, SID, "prod")));
    assert!(!gw.wait_exit(WAIT).success());
    assert!(
        gw.logs.text().contains("controller refused registration"),
        "{}",
        gw.logs.text()
    );
    gw.assert_no_token_in_output();
}
