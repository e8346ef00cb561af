//! `backendTls` (mcp-router.yml): trust and identity for HTTPS backends, kept apart from
//! `client.yml`'s, which are for config-server and the controller. A private CA or
//! `verifyHostname: false` set for the controller must not weaken every public backend, and a
//! backend does not get the gateway's client certificate unless it is given here.

use serde::Deserialize;

use crate::config::{ConfigDirs, ConfigError, TlsVersion, files::non_blank};
use crate::tls::{ClientTlsSettings, TlsError};

/// `backendTls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendTlsConfig {
    /// A CA bundle trusted for backends besides the system roots (none by default).
    #[serde(default)]
    pub ca_cert_path: Option<String>,
    /// Whether a backend's certificate must name its host (default true).
    #[serde(default = "yes")]
    pub verify_hostname: bool,
    /// Client certificate for backends that ask for one (mTLS).
    #[serde(default)]
    pub client_cert_path: Option<String>,
    /// Its key.
    #[serde(default)]
    pub client_key_path: Option<String>,
    /// Minimum TLS version.
    #[serde(default)]
    pub tls_version: Option<TlsVersion>,
}

fn yes() -> bool {
    true
}

impl Default for BackendTlsConfig {
    fn default() -> Self {
        Self {
            ca_cert_path: None,
            verify_hostname: true,
            client_cert_path: None,
            client_key_path: None,
            tls_version: None,
        }
    }
}

impl BackendTlsConfig {
    /// Checks that the certificate and key come together.
    ///
    /// # Errors
    /// Only one of them given, naming the key.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let cert = non_blank(&self.client_cert_path).is_some();
        let key = non_blank(&self.client_key_path).is_some();
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

    /// The rustls settings, paths resolved against `dirs` (after [`Self::validate`]).
    ///
    /// # Errors
    /// A file that cannot be read, or settings rustls refuses.
    pub fn client_config(&self, dirs: &ConfigDirs) -> Result<rustls::ClientConfig, TlsError> {
        let identity = match (non_blank(&self.client_cert_path), non_blank(&self.client_key_path)) {
            (Some(cert), Some(key)) => Some((dirs.resolve(cert), dirs.resolve(key))),
            _ => None,
        };
        let settings = ClientTlsSettings {
            ca_cert_path: non_blank(&self.ca_cert_path).map(|p| dirs.resolve(p)),
            ca_cert_key: "CA bundle (mcp-router.yml backendTls.caCertPath)",
            verify_hostname: self.verify_hostname,
            client_identity: identity,
            identity_keys: [
                "client certificate (mcp-router.yml backendTls.clientCertPath)",
                "client key (mcp-router.yml backendTls.clientKeyPath)",
            ],
            min_version: self.tls_version,
        };
        crate::tls::client_config(&settings)
    }
}
