//! Typed bootstrap files: `startup.yml`, `server.yml`, `portal-registry.yml`, `client.yml`
//! (docs/protocols.md#bootstrap-config). Each is strict: an unknown key is an error naming it.

use std::net::IpAddr;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ConfigError;
use super::placeholder::{Env, Resolver};
use super::sources::{Layers, Values, parse_yaml};

/// `startup.yml`: how to reach config-server.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartupConfig {
    /// The `host` of the config tuple (the tenant's host name).
    pub host: String,
    /// The `serviceId` of the config tuple.
    #[serde(default)]
    pub service_id: Option<String>,
    /// The `envTag` of the config tuple; `LIGHT_ENV` when unset.
    #[serde(default)]
    pub env_tag: Option<String>,
    /// `Accept` header of the configs request.
    #[serde(default = "default_accept")]
    pub accept_header: String,
    /// Total timeout of each config-server request, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Connect timeout of each config-server request, in milliseconds.
    #[serde(default = "default_timeout")]
    pub connect_timeout: u64,
    /// Base URI of config-server; `LIGHT_CONFIG_SERVER_URI` when unset.
    #[serde(default)]
    pub config_server_uri: Option<String>,
    /// Bearer token for config-server; a non-blank `LIGHT_PORTAL_AUTHORIZATION` overrides it.
    #[serde(default)]
    pub authorization: Option<String>,
    /// CA bundle trusted for config-server when `client.yml` names none.
    #[serde(default)]
    pub bootstrap_ca_cert_path: Option<String>,
    /// Optional `productId` query parameter.
    #[serde(default)]
    pub product_id: Option<String>,
    /// Optional `productVersion` query parameter.
    #[serde(default)]
    pub product_version: Option<String>,
    /// Optional `apiId` query parameter.
    #[serde(default)]
    pub api_id: Option<String>,
    /// Optional `apiVersion` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
}

fn default_accept() -> String {
    "application/yaml".to_string()
}
fn default_timeout() -> u64 {
    3000
}

/// `server.yml`: listeners, identity and registration switches.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the listeners bind.
    #[serde(deserialize_with = "listen_ip")]
    pub ip: IpAddr,
    /// Address registered with the controller (a DNS name or IP that callers can reach).
    pub advertised_address: String,
    /// HTTP listener port.
    #[serde(deserialize_with = "listener_port")]
    pub http_port: u16,
    /// Whether the HTTP listener is on.
    pub enable_http: bool,
    /// HTTPS listener port.
    #[serde(deserialize_with = "listener_port")]
    pub https_port: u16,
    /// Whether the HTTPS listener is on.
    pub enable_https: bool,
    /// PEM certificate chain for HTTPS (may point into config-cache).
    #[serde(default)]
    pub tls_cert_path: Option<String>,
    /// PEM private key for HTTPS (may point into config-cache).
    #[serde(default)]
    pub tls_key_path: Option<String>,
    /// The service id registered with the controller.
    pub service_id: String,
    /// Whether to register with the controller at all.
    pub enable_registry: bool,
    /// Whether to become ready when the first registration fails.
    pub start_on_registry_failure: bool,
    /// Unsupported; must be false.
    #[serde(default)]
    pub dynamic_port: bool,
    /// The environment tag registered with the controller.
    pub environment: String,
    /// How long a SIGTERM may take, in milliseconds.
    pub shutdown_graceful_period: u64,
    /// Connections open at once; past it new ones are closed as they arrive.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How long a connection may wait for its next request head to arrive whole (idle
    /// keep-alive time included), in milliseconds.
    #[serde(default = "default_io_timeout")]
    pub keep_alive_timeout: u64,
    /// How long a request body may take to arrive whole, in milliseconds (408 beyond).
    #[serde(default = "default_io_timeout")]
    pub request_read_timeout: u64,
    /// How long one write to a client may wait (a client that stops reading), in milliseconds.
    #[serde(default = "default_io_timeout")]
    pub write_timeout: u64,
}

/// `ip` as an address, refused with what to write instead (a host name cannot be bound).
fn listen_ip<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<IpAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("'{text}' is not an IP address (use 0.0.0.0 to listen on all)")))
}

/// A listener port, 1 to 65535, refused with the number named.
fn listener_port<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let value = i64::deserialize(deserializer)?;
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| serde::de::Error::custom(format!("port {value} is out of range (1-65535)")))
}

fn default_max_connections() -> usize {
    10_000
}
fn default_io_timeout() -> u64 {
    30_000
}

/// `portal-registry.yml`: where the controller is and how to authenticate to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortalRegistryConfig {
    /// The controller's base URL (`https://controller:8438`).
    pub portal_url: String,
    /// Token sent in the register frame (with or without `Bearer `).
    #[serde(default)]
    pub portal_token: Option<String>,
    /// Token for controller discovery; kept for upstream compatibility.
    #[serde(default)]
    pub controller_discovery_token: Option<String>,
}

/// `client.yml`: outbound TLS. Other upstream sections (`oauth`, `request`, ...) are accepted
/// and not used by this gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// Outbound TLS settings.
    #[serde(default)]
    pub tls: ClientTls,
    /// Refuse to send the portal token or the controller JWT without TLS (default false, as
    /// upstream: then a warning names the URL).
    #[serde(default)]
    pub require_tls: bool,
}

/// `client.yml` `tls`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTls {
    /// CA bundle added to the trust roots.
    #[serde(default)]
    pub ca_cert_path: Option<String>,
    /// Whether the server's name must match its certificate.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
    /// Client certificate for mTLS.
    #[serde(default)]
    pub client_cert_path: Option<String>,
    /// Client key for mTLS.
    #[serde(default)]
    pub client_key_path: Option<String>,
    /// Minimum TLS version.
    #[serde(default)]
    pub tls_version: Option<TlsVersion>,
}

impl Default for ClientTls {
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

fn yes() -> bool {
    true
}

/// Minimum TLS version for outbound connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 and later.
    #[serde(rename = "TLSv1.2", alias = "TLSv1_2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "TLSv1.3", alias = "TLSv1_3")]
    Tls13,
}

/// Loads `name` from the highest source, resolves its placeholders and types it.
///
/// # Errors
/// A missing file, bad YAML, an unresolvable placeholder, or a value of the wrong shape (the
/// error names the key).
pub fn load<T: DeserializeOwned>(
    layers: &Layers,
    values: &Values,
    env: &dyn Env,
    name: &str,
) -> Result<(T, String), ConfigError> {
    let file = layers
        .file(name)?
        .ok_or_else(|| ConfigError::invalid(name, "", "no source has this file"))?;
    let doc = parse_yaml(&file.label, &file.text)?;
    let resolver = Resolver::new(values, env);
    let resolved = resolver.resolve_document(&file.label, doc)?;
    // A type error echoes the value: a decrypted one or a token must not reach the log.
    let typed = serde_path_to_error::deserialize::<_, T>(resolved).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::invalid(&file.label, &key, resolver.withhold(&e.into_inner().to_string()))
    })?;
    Ok((typed, file.label))
}

/// An optional string with blanks as `None`.
pub fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A port number in 1..=65535.
///
/// # Errors
/// A number outside the range, named with its file and key.
pub fn port(file: &str, key: &str, value: i64) -> Result<u16, ConfigError> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ConfigError::invalid(file, key, format!("port {value} is out of range (1-65535)")))
}

impl ServerConfig {
    /// Checks the rules a `server.yml` must keep (cert files are checked by the server module).
    ///
    /// # Errors
    /// The first broken rule, naming the key.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        if self.dynamic_port {
            return Err(ConfigError::invalid(
                file,
                "dynamicPort",
                "dynamicPort: true is not supported; set fixed ports",
            ));
        }
        if !self.enable_http && !self.enable_https {
            return Err(ConfigError::invalid(
                file,
                "enableHttp",
                "both enableHttp and enableHttps are false: no listener would serve",
            ));
        }
        if self.enable_http && self.enable_https && self.http_port == self.https_port {
            return Err(ConfigError::invalid(
                file,
                "httpsPort",
                "httpPort and httpsPort are the same port",
            ));
        }
        if self.enable_https && (non_blank(&self.tls_cert_path).is_none() || non_blank(&self.tls_key_path).is_none()) {
            return Err(ConfigError::invalid(
                file,
                "tlsCertPath",
                "enableHttps is true but tlsCertPath or tlsKeyPath is empty",
            ));
        }
        for (key, value) in [
            ("maxConnections", self.max_connections as u64),
            ("keepAliveTimeout", self.keep_alive_timeout),
            ("requestReadTimeout", self.request_read_timeout),
            ("writeTimeout", self.write_timeout),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(file, key, "must be greater than 0"));
            }
        }
        if self.enable_registry {
            let address = self.advertised_address.trim();
            let unspecified = address.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
            if address.is_empty() || unspecified {
                return Err(ConfigError::invalid(
                    file,
                    "advertisedAddress",
                    format!(
                        "'{address}' cannot be registered: advertise a name or address callers can reach (for example <service>.<namespace>)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The protocol and port registered with the controller: HTTPS when it is on.
    pub fn registered_endpoint(&self) -> (&'static str, u16) {
        if self.enable_https {
            ("https", self.https_port)
        } else {
            ("http", self.http_port)
        }
    }
}

impl PortalRegistryConfig {
    /// Checks that `portalUrl` is an http(s) URL.
    ///
    /// # Errors
    /// A URL that does not parse or has another scheme.
    pub fn validate(&self, file: &str) -> Result<url::Url, ConfigError> {
        let url = url::Url::parse(self.portal_url.trim())
            .map_err(|e| ConfigError::invalid(file, "portalUrl", format!("'{}' is not a URL: {e}", self.portal_url)))?;
        match url.scheme() {
            "http" | "https" => Ok(url),
            other => Err(ConfigError::invalid(
                file,
                "portalUrl",
                format!("scheme '{other}' is not http or https"),
            )),
        }
    }
}
