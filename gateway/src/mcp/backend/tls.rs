//! `backendTls` (mcp-router.yml): trust and identity for HTTPS backends, kept apart from
//! `client.yml`'s, which are for config-server and the controller. A private CA or
//! `verifyHostname: false` set for the controller must not weaken every public backend, and a
//! backend does not get the gateway's client certificate unless it is given here.

use crate::config::{ClientTls, ConfigDirs, ConfigError, files::non_blank};
use crate::tls::{ClientTlsSettings, TlsError};

/// `backendTls`: the same keys as `client.yml` `tls`, read on their own.
pub type BackendTlsConfig = ClientTls;

/// Checks that the certificate and key come together.
///
/// # Errors
/// Only one of them given, naming the key.
pub fn validate(tls: &BackendTlsConfig, file: &str) -> Result<(), ConfigError> {
    let cert = non_blank(&tls.client_cert_path).is_some();
    let key = non_blank(&tls.client_key_path).is_some();
    if cert != key {
        let (given, missing) = if cert {
            ("clientCertPath", "clientKeyPath")
        } else {
            ("clientKeyPath", "clientCertPath")
        };
        return Err(ConfigError::invalid(
            file,
            &format!("backendTls.{missing}"),
            format!("backendTls.{given} is set: give its {missing} too, or neither"),
        ));
    }
    Ok(())
}

/// The rustls settings, paths resolved against `dirs` (after [`validate`]).
///
/// # Errors
/// A file that cannot be read, or settings rustls refuses.
pub fn client_config(tls: &BackendTlsConfig, dirs: &ConfigDirs) -> Result<rustls::ClientConfig, TlsError> {
    let identity = match (non_blank(&tls.client_cert_path), non_blank(&tls.client_key_path)) {
        (Some(cert), Some(key)) => Some((dirs.resolve(cert), dirs.resolve(key))),
        _ => None,
    };
    let settings = ClientTlsSettings {
        ca_cert_path: non_blank(&tls.ca_cert_path).map(|p| dirs.resolve(p)),
        ca_cert_key: "CA bundle (mcp-router.yml backendTls.caCertPath)",
        verify_hostname: tls.verify_hostname,
        client_identity: identity,
        identity_keys: [
            "client certificate (mcp-router.yml backendTls.clientCertPath)",
            "client key (mcp-router.yml backendTls.clientKeyPath)",
        ],
        min_version: tls.tls_version,
    };
    crate::tls::client_config(&settings)
}
