//! The real gateway against the real mock controller: the record, startOnRegistryFailure,
//! controller requests and the runtime tools.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

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

/// A registered gateway and the mock controller it registered with.
fn registered_gateway() -> (Mock, Gateway, AppDir) {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    let app = AppDir::new(&values(&dead, Some(&ctl.main), port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    (ctl, gw, app)
}

/// The gateway's answer frame to `method`, sent through the controller's `/__admin/call`.
fn call(ctl: &Mock, method: &str, params: Value) -> Value {
    let reply = ctl.post(
        "/__admin/call",
        json!({"method": method, "params": params, "serviceId": SID}),
    );
    assert!(reply.get("method").is_some_and(Value::is_null), "{reply}");
    reply
}

/// The result of a `tools/call` of `name`.
fn tool(ctl: &Mock, name: &str, arguments: Value) -> Value {
    call(ctl, "tools/call", json!({"name": name, "arguments": arguments}))["result"].clone()
}

#[test]
fn runtime_tools_are_listed_and_service_info_masks_the_portal_token() {
    let (ctl, gw, _app) = registered_gateway();
    let list = call(&ctl, "tools/list", json!({}))["result"].clone();
    assert_eq!(list["capabilityVersion"], "light-runtime-mcp-capabilities-v1", "{list}");
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "get_service_info",
            "get_modules",
            "reload_modules",
            "get_logging_filter",
            "set_logging_filter"
        ]
    );

    let info = tool(&ctl, "get_service_info", json!({}));
    assert_eq!(info["service"]["serviceId"], SID, "{info}");
    assert_eq!(info["service"]["envTag"], ENV);
    assert_eq!(info["service"]["address"], "127.0.0.1");
    assert_eq!(info["service"]["protocol"], "http");
    let record = &registrations(&ctl)[0];
    assert_eq!(info["service"]["runtimeInstanceId"], record["runtimeInstanceId"]);
    assert_eq!(info["service"]["port"], record["port"]);
    assert_eq!(info["component"]["portal-registry"]["portalToken"], "*", "{info}");
    assert_eq!(info["component"]["startup"]["authorization"], "*", "{info}");
    assert_eq!(info["component"]["portal-registry"]["portalUrl"], ctl.main.as_str());
    let shown = info.to_string();
    let jwt = token(HOST, SID, ENV);
    assert!(
        !shown.contains(&jwt) && !shown.contains(SECRET_MARK),
        "token shown: {shown}"
    );
    let reloadable = |id: &str| {
        info["modules"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["moduleId"] == id))
            .map(|m| m["reloadable"].clone())
    };
    assert_eq!(reloadable("light-pingora/mcp-router"), Some(json!(true)), "{info}");
    assert_eq!(reloadable("light-runtime/server"), Some(json!(false)), "{info}");

    let modules = tool(&ctl, "get_modules", json!({}));
    assert!(
        modules["modules"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("light-runtime/server"))),
        "{modules}"
    );

    // This gateway's config-server is down: the reload fails as a whole and says why.
    let reload = tool(&ctl, "reload_modules", json!({"modules": ["ALL"]}));
    assert_eq!(reload["failed"][0]["moduleId"], "ALL", "{reload}");
    assert!(
        reload["failed"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("config-server")),
        "{reload}"
    );
    let refused = tool(&ctl, "reload_modules", json!({"modules": "ALL"}));
    assert_eq!(refused["status"], "error", "{refused}");

    let unknown = tool(&ctl, "clear_cache", json!({"name": "x"}));
    assert_eq!(
        (
            unknown["supported"].clone(),
            unknown["status"].clone(),
            unknown["error"]["code"].clone()
        ),
        (json!(false), json!("unsupported"), json!("unsupported_method")),
        "{unknown}"
    );
    gw.assert_no_token_in_output();
}

#[test]
fn set_logging_filter_refuses_a_bad_directive_and_applies_a_good_one_at_once() {
    let (ctl, gw, _app) = registered_gateway();
    let initial = tool(&ctl, "get_logging_filter", json!({}));
    assert_eq!(
        (initial["filter"].clone(), initial["source"].clone()),
        (json!("info"), json!("env:RUST_LOG")),
        "{initial}"
    );
    // Answered and logged at debug only if the filter lets debug through.
    call(&ctl, "probe/before-change", json!({}));

    let bad = tool(
        &ctl,
        "set_logging_filter",
        json!({"filter": "info,light_gateway=chatty"}),
    );
    assert_eq!(bad["status"], "error", "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .is_some_and(|m| m.contains("info,light_gateway=chatty")),
        "{bad}"
    );
    assert_eq!(tool(&ctl, "get_logging_filter", json!({}))["filter"], "info");

    let directive = "info,light_gateway::registry=debug";
    let good = tool(&ctl, "set_logging_filter", json!({"filter": directive}));
    assert_eq!(
        good,
        json!({"status": "success", "filter": directive, "source": "mcp:set_logging_filter"})
    );
    assert_eq!(tool(&ctl, "get_logging_filter", json!({}))["filter"], directive);
    call(&ctl, "probe/after-change", json!({}));
    let line = gw.logs.wait_for("probe/after-change", WAIT);
    assert!(line.contains("DEBUG"), "{line}");
    // Lines arrive in order: had the first probe been logged, it would be there by now.
    assert!(!gw.logs.text().contains("probe/before-change"), "{}", gw.logs.text());
}
