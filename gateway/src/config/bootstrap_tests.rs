use std::collections::HashMap;

use super::*;

fn dirs(values: &str) -> (tempfile::TempDir, ConfigDirs) {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = ConfigDirs::under(tmp.path());
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(dirs.config.join("values.yml"), values).unwrap();
    (tmp, dirs)
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn light_portal_authorization_overrides_startup_authorization_when_not_blank() {
    let (_t, d) = dirs("light_portal_authorization: from-values\n");
    let boot = BootstrapConfig::load(&d, &env(&[])).unwrap();
    assert_eq!(boot.authorization.as_deref(), Some("from-values"));
    let boot = BootstrapConfig::load(&d, &env(&[(AUTHORIZATION_ENV, "Bearer from-env")])).unwrap();
    assert_eq!(boot.authorization.as_deref(), Some("Bearer from-env"));
    let boot = BootstrapConfig::load(&d, &env(&[(AUTHORIZATION_ENV, "  ")])).unwrap();
    assert_eq!(
        boot.authorization.as_deref(),
        None,
        "blank env resolves the placeholder to blank and overrides nothing"
    );
}

#[test]
fn missing_env_tag_comes_from_light_env() {
    let (_t, d) = dirs("server.environment: \"\"\n");
    let boot = BootstrapConfig::load(&d, &env(&[(ENV_TAG_ENV, "staging")])).unwrap();
    assert_eq!(boot.env_tag, "staging");
    let err = BootstrapConfig::load(&d, &env(&[])).unwrap_err().to_string();
    assert!(err.contains("envTag") && err.contains(ENV_TAG_ENV), "{err}");
}

#[test]
fn missing_config_server_uri_comes_from_light_config_server_uri() {
    let (_t, d) = dirs("light-config-server-uri: \"\"\n");
    let boot = BootstrapConfig::load(&d, &env(&[(CONFIG_SERVER_URI_ENV, "https://cs:8435")])).unwrap();
    assert_eq!(boot.config_server_uri.as_deref(), Some("https://cs:8435"));
    assert_eq!(BootstrapConfig::load(&d, &env(&[])).unwrap().config_server_uri, None);
}

#[test]
fn environment_beats_values_for_runtime_files() {
    let (_t, d) = dirs("server.httpPort: 9000\n");
    let rt = RuntimeConfig::load(&d, &env(&[("SERVER_HTTPPORT", "9100")]), None).unwrap();
    assert_eq!(rt.server.http_port, 9100);
}

#[test]
fn downloaded_values_beat_the_cache_and_config() {
    let (_t, d) = dirs("server.httpPort: 9000\n");
    std::fs::create_dir_all(&d.cache).unwrap();
    std::fs::write(d.cache.join("values.yml"), "server.httpPort: 9001\n").unwrap();
    assert_eq!(RuntimeConfig::load(&d, &env(&[]), None).unwrap().server.http_port, 9001);
    let downloaded: Values = serde_json::from_str(r#"{"server.httpPort": 9002}"#).unwrap();
    let rt = RuntimeConfig::load(&d, &env(&[]), Some(&downloaded)).unwrap();
    assert_eq!(rt.server.http_port, 9002);
    assert_eq!(rt.value_sources.last().map(String::as_str), Some("config-server"));
}

#[test]
fn unspecified_advertised_address_is_refused_when_registering() {
    let (_t, d) = dirs("server.advertisedAddress: 0.0.0.0\n");
    let err = RuntimeConfig::load(&d, &env(&[]), None).unwrap_err().to_string();
    assert!(err.contains("advertisedAddress"), "{err}");
}

#[test]
fn a_type_error_withholds_a_decrypted_value() {
    let secret = crate::config::crypt::encrypt("s3cret-not-a-port", "pw", b"0123456789abcdef");
    let (_t, d) = dirs(&format!("server.httpPort: {secret}\n"));
    let err = RuntimeConfig::load(&d, &env(&[(crate::config::crypt::PASSWORD_ENV, "pw")]), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("httpPort") && err.contains("***"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
