//! The HTTPS listener with a certificate generated at run time, and the protocol it registers.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use support::certs::pki;
use support::*;

#[test]
fn https_listener_serves_health_and_registers_https() {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ctl = controller(None);
    let app = AppDir::new(&values(&dead, Some(&ctl.main), free_port()));
    let tls = pki(&["localhost", "127.0.0.1"]);
    tls.write(&app.path("config"));
    let extra = format!(
        "server.enableHttp: false\nserver.enableHttps: true\nserver.httpsPort: {port}\n\
         server.tlsCertPath: config/server.pem\nserver.tlsKeyPath: config/server.key\n"
    );
    let path = app.path("config/values.yml");
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap() + &extra).unwrap();
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();

    light_gateway::tls::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let response = client.get(format!("https://localhost:{port}/health")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");

    let record = &ctl.get("/__admin/registrations")[0];
    assert_eq!(record["protocol"], "https");
    assert_eq!(record["port"], port);
}

/// Config-server over HTTPS with a certificate for `localhost` only, reached as 127.0.0.1.
fn https_config_server(verify_hostname: bool, trust_ca: bool) -> Gateway {
    let pki = pki(&["localhost"]);
    let certs = tempfile::tempdir().unwrap();
    pki.write(certs.path());
    let data = config_data("a: 1\n");
    let (cert, key) = (certs.path().join("server.pem"), certs.path().join("server.key"));
    let cs = Mock::config_server(data.path(), Some((&cert, &key)));
    let url = format!("https://127.0.0.1:{}", cs.port());
    let mut values = values(&url, None, free_port());
    if trust_ca {
        values = values.replace("client.caCertPath: \"\"", "client.caCertPath: config/ca.pem");
    }
    values.push_str(&format!("client.verifyHostname: {verify_hostname}\n"));
    let app = AppDir::new(&values);
    app.write("config/ca.pem", &pki.ca_pem);
    let gw = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gw.wait_ready();
    // Keep the mock and dirs alive until the bootstrap line is out.
    gw.logs.wait_for("config-server bootstrap", WAIT);
    drop((cs, data, certs, app));
    gw
}

#[test]
fn config_server_ca_is_trusted_and_hostname_is_checked_by_default() {
    let gw = https_config_server(true, true);
    let line = gw.logs.wait_for("config-server bootstrap", WAIT);
    assert!(
        line.contains("bootstrap failed") && line.contains("not valid for name"),
        "{line}"
    );
}

#[test]
fn verify_hostname_false_skips_only_the_name_check() {
    let gw = https_config_server(false, true);
    let line = gw.logs.wait_for("config-server bootstrap", WAIT);
    assert!(line.contains("bootstrap ok"), "{line}");
    let gw = https_config_server(false, false);
    let line = gw.logs.wait_for("config-server bootstrap", WAIT);
    assert!(
        line.contains("bootstrap failed") && line.contains("UnknownIssuer"),
        "chain still checked: {line}"
    );
}
