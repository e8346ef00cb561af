//! `metrics.yml`: whether the gateway records metrics and where Prometheus scrapes them.
//!
//! Upstream's `metrics.yml` describes a push to an InfluxDB-style collector (`serverHost`,
//! `serverPort`, `reportInMinutes`, ...). This gateway does not push; it serves a scrape
//! endpoint on `prometheusPort`. The push keys are accepted so upstream's file loads as it is,
//! and a startup line names the ones that are set, so nobody believes a push happens.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::config::files::port;
use crate::config::{ConfigError, ServerConfig};

/// `metrics.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsConfig {
    /// Whether anything is recorded; `false` also keeps the scrape listener closed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The scrape listener's port on `server.yml` `ip`; 0 opens none.
    #[serde(default)]
    pub prometheus_port: i64,
    /// The scrape path.
    #[serde(default = "default_path")]
    pub prometheus_path: String,
    // Upstream's push settings: accepted, not used (see the module note); each optional so a
    // file without them loads too.
    #[serde(default)]
    enable_jvm_monitor: Option<serde_json::Value>,
    #[serde(default)]
    server_protocol: Option<serde_json::Value>,
    #[serde(default)]
    server_host: Option<serde_json::Value>,
    #[serde(default)]
    server_path: Option<serde_json::Value>,
    #[serde(default)]
    server_port: Option<serde_json::Value>,
    #[serde(default)]
    server_name: Option<serde_json::Value>,
    #[serde(default)]
    server_user: Option<serde_json::Value>,
    #[serde(default)]
    server_pass: Option<serde_json::Value>,
    #[serde(default)]
    report_in_minutes: Option<serde_json::Value>,
    #[serde(default)]
    product_name: Option<serde_json::Value>,
    #[serde(default)]
    send_scope_client_id: Option<serde_json::Value>,
    #[serde(default)]
    send_caller_id: Option<serde_json::Value>,
    #[serde(default)]
    send_issuer: Option<serde_json::Value>,
    #[serde(default)]
    issuer_regex: Option<serde_json::Value>,
}

impl MetricsConfig {
    /// Upstream's push keys the file sets (their names as written).
    pub fn push_keys_set(&self) -> Vec<&'static str> {
        let keys = [
            ("enableJvmMonitor", &self.enable_jvm_monitor),
            ("serverProtocol", &self.server_protocol),
            ("serverHost", &self.server_host),
            ("serverPath", &self.server_path),
            ("serverPort", &self.server_port),
            ("serverName", &self.server_name),
            ("serverUser", &self.server_user),
            ("serverPass", &self.server_pass),
            ("reportInMinutes", &self.report_in_minutes),
            ("productName", &self.product_name),
            ("sendScopeClientId", &self.send_scope_client_id),
            ("sendCallerId", &self.send_caller_id),
            ("sendIssuer", &self.send_issuer),
            ("issuerRegex", &self.issuer_regex),
        ];
        keys.into_iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k).collect()
    }
}

fn yes() -> bool {
    true
}

fn default_path() -> String {
    "/metrics".into()
}

/// Where the scrape listener binds and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrape {
    /// The address.
    pub addr: SocketAddr,
    /// The path.
    pub path: String,
}

impl MetricsConfig {
    /// The scrape listener, if any; checks the port and path against `server`.
    ///
    /// # Errors
    /// A port out of range or taken by an HTTP/HTTPS listener, or a path not starting with `/`,
    /// named with `file` and the key.
    pub fn scrape(&self, file: &str, server: &ServerConfig) -> Result<Option<Scrape>, ConfigError> {
        if !self.enabled || self.prometheus_port == 0 {
            return Ok(None);
        }
        let p = port(file, "prometheusPort", self.prometheus_port)?;
        let taken = [
            (server.enable_http, server.http_port, "httpPort"),
            (server.enable_https, server.https_port, "httpsPort"),
        ];
        if let Some((_, _, key)) = taken.iter().find(|(on, other, _)| *on && *other == p) {
            return Err(ConfigError::invalid(
                file,
                "prometheusPort",
                format!("port {p} is server.yml {key}; the scrape listener needs its own port"),
            ));
        }
        if !self.prometheus_path.starts_with('/') || self.prometheus_path.contains(['?', '#']) {
            return Err(ConfigError::invalid(
                file,
                "prometheusPath",
                format!("'{}' is not a path (it starts with /, no query)", self.prometheus_path),
            ));
        }
        Ok(Some(Scrape {
            addr: SocketAddr::new(server.ip, p),
            path: self.prometheus_path.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn server() -> ServerConfig {
        serde_json::from_value(serde_json::json!({
            "ip": "127.0.0.1", "advertisedAddress": "127.0.0.1", "httpPort": 8080, "enableHttp": true,
            "httpsPort": 8443, "enableHttps": false, "serviceId": "s", "enableRegistry": false,
            "startOnRegistryFailure": true, "environment": "test", "shutdownGracefulPeriod": 1000
        }))
        .expect("server.yml")
    }

    fn metrics(yaml: serde_json::Value) -> MetricsConfig {
        serde_json::from_value(yaml).expect("metrics.yml")
    }

    #[test]
    fn upstream_push_file_loads_names_its_push_keys_and_opens_no_listener() {
        let m = metrics(serde_json::json!({
            "enabled": true, "serverHost": "localhost", "serverPort": 8086, "reportInMinutes": 1
        }));
        assert_eq!(m.push_keys_set(), ["serverHost", "serverPort", "reportInMinutes"]);
        assert_eq!(m.scrape("metrics.yml", &server()).expect("valid"), None);
    }

    #[test]
    fn a_port_opens_the_listener_on_the_server_ip() {
        let m = metrics(serde_json::json!({"prometheusPort": 9464}));
        let scrape = m.scrape("metrics.yml", &server()).expect("valid").expect("listener");
        assert_eq!(scrape.addr, "127.0.0.1:9464".parse().expect("addr"));
        assert_eq!(scrape.path, "/metrics");
    }

    #[test]
    fn disabled_metrics_open_no_listener() {
        let m = metrics(serde_json::json!({"enabled": false, "prometheusPort": 9464}));
        assert_eq!(m.scrape("metrics.yml", &server()).expect("valid"), None);
    }

    #[rstest]
    #[case(serde_json::json!({"prometheusPort": 8080}), "prometheusPort", "httpPort")]
    #[case(serde_json::json!({"prometheusPort": 70000}), "prometheusPort", "out of range")]
    #[case(serde_json::json!({"prometheusPort": 9464, "prometheusPath": "metrics"}), "prometheusPath", "not a path")]
    fn bad_settings_are_refused_naming_the_key(
        #[case] yaml: serde_json::Value,
        #[case] key: &str,
        #[case] reason: &str,
    ) {
        let e = metrics(yaml)
            .scrape("metrics.yml", &server())
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("metrics.yml") && e.contains(key) && e.contains(reason),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let e = serde_json::from_value::<MetricsConfig>(serde_json::json!({"prometheusPrt": 9464}))
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("prometheusPrt"), "{e}");
    }
}
