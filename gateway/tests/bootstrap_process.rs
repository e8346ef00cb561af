//! The real gateway against the real mock config-server: download, cache, fallback, 403.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use support::*;

#[test]
fn bootstrap_ok_writes_the_cache_and_applies_downloaded_values() {
    let (local_port, served_port) = (free_port(), free_port());
    let data = config_data(&format!(
        "server.httpPort: {served_port}\nexample.setting: from-config-server\n"
    ));
    let cs = config_server(data.path());
    let app = AppDir::new(&values(&cs.main, None, local_port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    gw.logs.wait_for("config-server bootstrap ok", WAIT);
    let cached = std::fs::read_to_string(app.path("config-cache/values.yml")).unwrap();
    assert!(cached.contains("from-config-server"), "{cached}");
    assert_eq!(
        std::fs::read_to_string(app.path("config-cache/hello.txt")).unwrap(),
        "hello from config-server\n"
    );
    // The downloaded values beat config/values.yml: the gateway listens where config-server said.
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{served_port}/health")),
        Some((200, "ok".into()))
    );
    let requests = cs.get("/__admin/requests");
    let paths: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/config-server/configs", "/config-server/certs", "/config-server/files"]
    );
    gw.assert_no_token_in_output();
}

#[test]
fn restart_with_config_server_in_outage_starts_from_the_cache() {
    let (local_port, served_port) = (free_port(), free_port());
    let data = config_data(&format!("server.httpPort: {served_port}\n"));
    let cs = config_server(data.path());
    let app = AppDir::new(&values(&cs.main, None, local_port));
    let mut first = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    first.wait_ready();
    first.signal("TERM");
    assert!(first.wait_exit(WAIT).success());

    cs.post("/__admin/outage", serde_json::json!({"mode": "refuse"}));
    let second = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    second.wait_ready();
    let failed = second.logs.wait_for("config-server bootstrap failed", WAIT);
    assert!(failed.contains("config-cache/values.yml"), "fallback named: {failed}");
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{served_port}/health")),
        Some((200, "ok".into()))
    );
    second.assert_no_token_in_output();
}

#[test]
fn config_server_down_without_cache_runs_on_bootstrap_config_and_says_so() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = AppDir::new(&values(&dead, None, port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    let failed = gw.logs.wait_for("config-server bootstrap failed", WAIT);
    assert!(failed.contains("no cached values"), "{failed}");
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/health")),
        Some((200, "ok".into()))
    );
    assert!(!app.path("config-cache/values.yml").exists());
}

#[test]
fn wrong_token_gives_a_403_that_the_gateway_logs_clearly() {
    let port = free_port();
    let data = config_data("a: 1\n");
    let cs = config_server(data.path());
    let app = AppDir::new(&values(&cs.main, None, port));
    let gw = Gateway::start(&app, Some(&token(HOST, "another-service", ENV)));
    gw.wait_ready();
    let failed = gw.logs.wait_for("config-server bootstrap failed", WAIT);
    assert!(failed.contains("HTTP 403"), "{failed}");
    assert!(failed.contains("sid"), "the config-server's reason is kept: {failed}");
    gw.assert_no_token_in_output();
}

/// A `files` entry named values.yml does not replace the values `configs` sent.
#[test]
fn a_file_named_values_yml_does_not_replace_the_downloaded_values() {
    let (local_port, served_port) = (free_port(), free_port());
    let data = config_data(&format!(
        "server.httpPort: {served_port}\nexample.setting: from-configs\n"
    ));
    let files = data.path().join(HOST).join(SID).join(ENV).join("files");
    std::fs::write(files.join("values.yml"), "example.setting: from-a-file\n").unwrap();
    let cs = config_server(data.path());
    let app = AppDir::new(&values(&cs.main, None, local_port));
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    gw.logs.wait_for("values.yml comes from configs only", WAIT);
    let cached = std::fs::read_to_string(app.path("config-cache/values.yml")).unwrap();
    assert!(
        cached.contains("from-configs") && !cached.contains("from-a-file"),
        "{cached}"
    );
}
