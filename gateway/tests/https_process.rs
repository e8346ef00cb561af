//! The HTTPS listener with a certificate generated at run time, and the protocol it registers.

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
    let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
    let response = client.get(format!("https://localhost:{port}/health")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");

    let record = &ctl.get("/__admin/registrations")[0];
    assert_eq!(record["protocol"], "https");
    assert_eq!(record["port"], port);
}
