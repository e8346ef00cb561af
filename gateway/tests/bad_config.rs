//! Bad inputs: each exits non-zero, from `validate-config` and from a real start, with a
//! message that names the file and the key (or the line, for YAML syntax).
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use assert_cmd::Command;
use light_gateway::config::crypt;
use rstest::rstest;
use support::*;

/// A working config for the test tuple with registry off; each case breaks one thing.
fn base_values() -> String {
    values(&format!("http://127.0.0.1:{}", free_port()), None, free_port())
}

/// The base values with `extra` lines replacing the lines of the same key.
fn app_with(extra_values: &str, files: &[(&str, &str)]) -> AppDir {
    let key = |line: &str| line.split(':').next().unwrap_or_default().to_string();
    let overridden: Vec<String> = extra_values.lines().map(key).collect();
    let mut text: String = base_values()
        .lines()
        .filter(|line| !overridden.contains(&key(line)))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(extra_values);
    let app = AppDir::new(&text);
    for (path, text) in files {
        app.write(path, text);
    }
    app
}

fn encrypted() -> String {
    crypt::encrypt("http://127.0.0.1:1", "right-password", b"0123456789abcdef")
}

#[rstest]
#[case::unknown_placeholder_without_default(
    "",
    &[("config/portal-registry.yml", "portalUrl: ${portalRegistry.nowhere}\n")],
    &["config/portal-registry.yml", "'portalUrl'", "portalRegistry.nowhere"]
)]
#[case::placeholder_cycle("server.ip: ${loop.a}\nloop.a: ${server.ip}\n", &[], &["server.yml", "'ip'", "cycle"])]
#[case::invalid_yaml("a: [unclosed\n", &[], &["config/values.yml", "line"])]
#[case::port_out_of_range("server.httpPort: 70000\n", &[], &["server.yml", "'httpPort'", "70000"])]
#[case::port_zero("server.httpsPort: 0\n", &[], &["server.yml", "'httpsPort'", "port 0 is out of range (1-65535)"])]
#[case::ip_that_is_a_hostname("server.ip: localhost\n", &[], &["server.yml", "'ip'", "not an IP address"])]
#[case::missing_ca_file("client.caCertPath: config/missing-ca.pem\n", &[], &["client.yml tls.caCertPath", "missing-ca.pem"])]
#[case::dynamic_port("server.dynamicPort: true\n", &[], &["server.yml", "'dynamicPort'", "not supported"])]
#[case::both_listeners_disabled("server.enableHttp: false\n", &[], &["server.yml", "'enableHttp'", "no listener"])]
#[case::https_without_a_cert("server.enableHttps: true\n", &[], &["server.yml", "'tlsCertPath'"])]
#[case::unknown_key_in_server_yml(
    "",
    &[("config/server.yml", "ip: 0.0.0.0\nadvertisedAddress: a\nhttpPort: 1\nenableHttp: true\nhttpsPort: 2\nenableHttps: false\nserviceId: s\nenableRegistry: false\nstartOnRegistryFailure: true\nenvironment: e\nshutdownGracefulPeriod: 1\nbindAll: true\n")],
    &["config/server.yml", "bindAll"]
)]
#[case::unknown_mcp_router_key("mcp-router.tools: [{name: t, apiType: mcp, targetHost: 'https://mcp.example', colour: red}]\n", &[], &["mcp-router.yml", "tools[0].colour", "unknown key"])]
#[case::unknown_handler_id("handler.handlers: [mcp, teleport]\n", &[], &["handler.yml", "unknown handler id 'teleport'"])]
#[case::handler_chain_cycle("handler.handlers: [mcp]\nhandler.chains: {a: [b], b: [a]}\nhandler.defaultHandlers: [a]\n", &[], &["handler.yml", "refers to itself"])]
#[case::private_target_without_allow("mcp-router.tools: [{name: t, apiType: mcp, targetHost: 'http://10.0.0.7:8080'}]\n", &[], &["mcp-router.yml", "tools[0].targetHost", "allowPrivateTargetHost"])]
#[case::forwarded_host("mcp-router.forwardClientHeaders: [x-tenant, Host]\n", &[], &["mcp-router.yml", "forwardClientHeaders[1]", "'Host' is set by the gateway"])]
#[case::forwarded_transfer_encoding("mcp-router.forwardClientHeaders: [transfer-encoding]\n", &[], &["mcp-router.yml", "forwardClientHeaders[0]", "cannot be forwarded"])]
#[case::forwarded_session_id("mcp-router.forwardClientHeaders: [Mcp-Session-Id]\n", &[], &["mcp-router.yml", "forwardClientHeaders[0]", "cannot be forwarded"])]
#[case::forwarded_header_not_a_name("mcp-router.forwardClientHeaders: ['x tenant']\n", &[], &["mcp-router.yml", "forwardClientHeaders[0]", "not a header name"])]
#[case::json_depth_beyond_the_parser("mcp-router.maxJsonDepth: 500\n", &[], &["mcp-router.yml", "maxJsonDepth", "outside 1 to 128"])]
#[case::zero_stateless_limit("mcp-router.protocols.stateless.maxConcurrentRequests: 0\n", &[], &["mcp-router.yml", "protocols.stateless.maxConcurrentRequests", "greater than 0"])]
#[case::audit_handler("handler.handlers: [mcp, audit]\n", &[], &["handler.yml", "handler 'audit' is not implemented", "audit trail"])]
#[case::header_handler("handler.handlers: [mcp, 'com.networknt.header.HeaderHandler@header']\n", &[], &["handler.yml", "handler 'header' is not implemented"])]
#[case::token_without_tls_when_required("light-config-server-uri: http://127.0.0.1:9\nlight_portal_authorization: tok\nclient.requireTls: true\n", &[], &["startup.yml", "configServerUri", "without TLS and client.requireTls is true"])]
#[case::tool_name_outside_the_spec("mcp-router.tools: [{name: 'bad name', apiType: mcp, targetHost: 'https://mcp.example'}]\n", &[], &["mcp-router.yml", "tools[0].name"])]
#[case::allowed_host_that_is_a_url("mcp-router.allowedHosts: ['https://mcp.example']\n", &[], &["mcp-router.yml", "allowedHosts[0]", "not a host name"])]
#[case::trusted_proxy_that_is_a_name("mcp-router.trustedProxies: [10.0.0.0/8, lb.internal]\n", &[], &["mcp-router.yml", "trustedProxies[1]", "'lb.internal'"])]
#[case::backend_certificate_without_key("mcp-router.backendTls.clientCertPath: config/client.pem\n", &[], &["mcp-router.yml", "backendTls.clientKeyPath"])]
#[case::missing_backend_ca_file("handler.handlers: [mcp]\nhandler.chains: {c: [mcp]}\nhandler.paths: [{path: /mcp, method: POST, exec: [c]}]\nmcp-router.backendTls.caCertPath: config/missing-backend-ca.pem\n", &[], &["mcp-router.yml backendTls.caCertPath", "missing-backend-ca.pem"])]
#[case::settings_nested_under_a_file_name("mcp-router:\n  maxSessions: 5\n", &[], &["config/values.yml", "'mcp-router'", "mcp-router.maxSessions"])]
fn bad_input_exits_non_zero_naming_file_and_key(
    #[case] extra: &str,
    #[case] files: &[(&str, &str)],
    #[case] expected: &[&str],
) {
    let app = app_with(extra, files);
    check_both_ways(&app, &[], expected);
}

#[test]
fn undecryptable_crypt_value_exits_non_zero_naming_file_and_key() {
    let app = app_with(&format!("light-config-server-uri: {}\n", encrypted()), &[]);
    check_both_ways(
        &app,
        &[(crypt::PASSWORD_ENV, "wrong-password")],
        &["startup.yml", "'configServerUri'", "decrypt"],
    );
}

#[test]
fn crypt_value_with_the_right_password_is_accepted() {
    let app = app_with(&format!("light-config-server-uri: {}\n", encrypted()), &[]);
    Command::new(gateway_bin())
        .current_dir(app.dir.path())
        .env(crypt::PASSWORD_ENV, "right-password")
        .arg("validate-config")
        .assert()
        .success();
}

#[test]
fn a_config_dir_holding_only_values_yml_is_valid() {
    let app = AppDir::new(&base_values());
    Command::new(gateway_bin())
        .current_dir(app.dir.path())
        .arg("validate-config")
        .assert()
        .success()
        .stdout(predicates::str::contains("config ok"));
}

fn check_both_ways(app: &AppDir, env: &[(&str, &str)], expected: &[&str]) {
    let validate = Command::new(gateway_bin())
        .current_dir(app.dir.path())
        .envs(env.iter().copied())
        .args(["validate-config", "--config-dir", app.path("config").to_str().unwrap()])
        .assert()
        .failure();
    let text = String::from_utf8_lossy(&validate.get_output().stderr).to_string();
    for needle in expected {
        assert!(text.contains(needle), "validate-config: {needle:?} not in:\n{text}");
    }
    let run = Command::new(gateway_bin())
        .current_dir(app.dir.path())
        .envs(env.iter().copied())
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .failure();
    let text = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    for needle in expected {
        assert!(text.contains(needle), "start: {needle:?} not in:\n{text}");
    }
}

const JWT_ON: &str = "handler.handlers: [jwt, mcp]\nhandler.chains: {c: [jwt, mcp]}\nhandler.paths: [{path: /mcp, method: POST, exec: [c]}]\n";

#[rstest]
#[case::no_key_service("", &["client.yml", "oauth.token.key.server_url", "tokenKeyServerUrl"])]
#[case::bad_key_service_url("client.tokenKeyServerUrl: 'keys:80'\n", &["client.yml", "oauth.token.key.server_url", "not an http(s) URL"])]
#[case::key_service_by_discovery("client.tokenKeyServiceId: com.networknt.oauth2-key-1.0.0\n", &["client.yml", "serviceId", "not implemented"])]
#[case::hmac_algorithm("client.tokenKeyServerUrl: 'http://keys:8080'\nsecurity.algorithms: [RS256, HS256]\n", &["security.yml", "algorithms", "HS256"])]
#[case::unknown_rule_id("client.tokenKeyServerUrl: 'http://keys:8080'\naccess-control.enabled: true\nrule.endpointRules: {echo@call: {req-acc: [nope]}}\n", &["rule.yml", "endpointRules.echo@call.req-acc", "'nope'"])]
#[case::response_filter("client.tokenKeyServerUrl: 'http://keys:8080'\nrule.ruleBodies: {r: {ruleType: res-fil}}\nrule.endpointRules: {echo@call: {res-fil: [r]}}\n", &["rule.yml", "res-fil", "not implemented"])]
#[case::action_not_implemented("client.tokenKeyServerUrl: 'http://keys:8080'\nrule.ruleBodies: {r: {ruleType: req-acc, actions: [{actionRef: com.networknt.rule.GenericAction}]}}\n", &["rule.yml", "ruleBodies.r.actions[0]", "GenericAction"])]
#[case::bad_cel("client.tokenKeyServerUrl: 'http://keys:8080'\nrule.ruleBodies: {r: {ruleType: req-acc, expression: 'role in in x'}}\n", &["rule.yml", "ruleBodies.r.expression", "CEL"])]
#[case::unified_swt("handler.handlers: [unified-security, mcp]\nhandler.chains: {c: [unified-security, mcp]}\nhandler.paths: [{path: /mcp, method: POST, exec: [c]}]\nunified-security.pathPrefixAuths: [{prefix: /mcp, swt: true}]\n", &["unified-security.yml", "pathPrefixAuths[0].swt"])]
#[case::access_control_handler_while_disabled("handler.handlers: [access-control, mcp]\nhandler.chains: {c: [access-control, mcp]}\nhandler.paths: [{path: /mcp, method: POST, exec: [c]}]\n", &["access-control.yml", "'enabled'", "handler.yml runs access-control"])]
fn bad_auth_config_exits_non_zero_naming_file_and_key(#[case] extra: &str, #[case] expected: &[&str]) {
    let handlers = if extra.contains("handler.handlers") { "" } else { JWT_ON };
    let app = app_with(&format!("{handlers}{extra}"), &[]);
    check_both_ways(&app, &[], expected);
}

#[test]
fn a_security_yml_asking_for_mock_principals_is_refused() {
    let app = app_with(
        &format!("{JWT_ON}client.tokenKeyServerUrl: 'http://keys:8080'\n"),
        &[("config/security.yml", "enableVerifyJwt: true\nenableMockJwt: true\n")],
    );
    check_both_ways(&app, &[], &["config/security.yml", "enableMockJwt", "not supported"]);
}
