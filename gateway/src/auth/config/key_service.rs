//! `client.yml` `oauth.token.key`: where the keys that verify tokens come from.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::is_empty_value;
use crate::config::ConfigError;

/// `client.yml` `oauth`: only the key service (`token.key`) is read; the other token flows
/// belong to backend credentials, which this gateway does not implement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientOauth {
    /// Upstream: several key providers.
    #[serde(default)]
    pub multiple_auth_servers: bool,
    /// `token`.
    #[serde(default)]
    pub token: ClientToken,
}

/// `client.yml` `oauth.token`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientToken {
    /// `key`: where JWKS come from.
    #[serde(default)]
    pub key: KeyServiceConfig,
}

/// `client.yml` `oauth.token.key`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyServiceConfig {
    /// Base URL of the key service.
    #[serde(default, alias = "serverUrl")]
    pub server_url: String,
    /// Upstream: find the key service through the controller. Refused when set (set
    /// `server_url`).
    #[serde(default, rename = "serviceId")]
    pub service_id: String,
    /// JWKS path (`/oauth2/key`).
    #[serde(default = "default_key_uri")]
    pub uri: String,
    /// Basic credentials for the key service (both or neither).
    #[serde(default)]
    pub client_id: String,
    /// Basic credentials for the key service (both or neither).
    #[serde(default)]
    pub client_secret: String,
    /// Key providers by service id (unified-security's `jwkServiceIds`).
    #[serde(default, rename = "serviceIdAuthServers")]
    pub service_id_auth_servers: Option<serde_json::Value>,
    /// Accepted: the key service is reached over HTTP/1.1 or HTTP/2, whichever it offers.
    #[serde(default, rename = "enableHttp2")]
    pub enable_http2: Option<bool>,
    /// The audience a token verified with these keys must carry, besides `security.audience`.
    #[serde(default)]
    pub audience: String,
    /// Upstream: proxy for the key service. Refused when set.
    #[serde(default, rename = "proxyHost")]
    pub proxy_host: String,
    /// Upstream: proxy for the key service. Refused when set.
    #[serde(default, rename = "proxyPort")]
    pub proxy_port: Option<serde_json::Value>,
}

impl std::fmt::Debug for KeyServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServiceConfig")
            .field("server_url", &self.server_url)
            .field("uri", &self.uri)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn default_key_uri() -> String {
    "/oauth2/key".into()
}

/// One resolved key provider: where its JWKS are and who may use them.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyProvider {
    /// `default`, or the service id.
    pub name: String,
    /// The JWKS URL.
    pub url: url::Url,
    /// Basic credentials, when both are set.
    pub basic: Option<(String, String)>,
    /// The audience a token verified with these keys must carry.
    pub audience: Option<String>,
}

impl std::fmt::Debug for KeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyProvider")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("basic", &self.basic.as_ref().map(|(id, _)| id))
            .field("audience", &self.audience)
            .finish()
    }
}

impl KeyServiceConfig {
    /// The default provider and the providers by service id.
    ///
    /// # Errors
    /// A URL that does not parse, a provider found only through discovery, a proxy, or half a
    /// pair of Basic credentials; each named with its key in `file`.
    pub fn providers(&self, file: &str) -> Result<(Option<KeyProvider>, BTreeMap<String, KeyProvider>), ConfigError> {
        let base = "oauth.token.key";
        let default = self.provider(file, base, "default", None)?;
        let mut by_service = BTreeMap::new();
        let entries = match &self.service_id_auth_servers {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::String(text)) if text.trim().is_empty() || text.trim() == "{}" => {
                serde_json::Map::new()
            }
            Some(serde_json::Value::String(text)) => serde_json::from_str(text).map_err(|e| {
                ConfigError::invalid(
                    file,
                    &format!("{base}.serviceIdAuthServers"),
                    format!("not a JSON map: {e}"),
                )
            })?,
            Some(serde_json::Value::Object(map)) => map.clone(),
            Some(other) => {
                return Err(ConfigError::invalid(
                    file,
                    &format!("{base}.serviceIdAuthServers"),
                    format!("expected a map of service id to key service, found {other}"),
                ));
            }
        };
        for (service, entry) in entries {
            let key = format!("{base}.serviceIdAuthServers.{service}");
            let entry: KeyServiceConfig =
                serde_json::from_value(entry).map_err(|e| ConfigError::invalid(file, &key, e.to_string()))?;
            let provider = entry
                .provider(file, &key, &service, Some(self))?
                .ok_or_else(|| ConfigError::invalid(file, &format!("{key}.server_url"), "must be set"))?;
            by_service.insert(service, provider);
        }
        Ok((default, by_service))
    }

    /// This entry as a provider (fields missing here come from `fallback`); `None` when it
    /// names no server.
    fn provider(
        &self,
        file: &str,
        key: &str,
        name: &str,
        fallback: Option<&KeyServiceConfig>,
    ) -> Result<Option<KeyProvider>, ConfigError> {
        let pick = |own: &str, other: fn(&KeyServiceConfig) -> &str| -> String {
            let own = own.trim();
            if own.is_empty() {
                fallback.map(|f| other(f).trim().to_string()).unwrap_or_default()
            } else {
                own.to_string()
            }
        };
        if !self.proxy_host.trim().is_empty() || self.proxy_port.as_ref().is_some_and(|p| !is_empty_value(p)) {
            return Err(ConfigError::invalid(
                file,
                &format!("{key}.proxyHost"),
                "a proxy for the key service is not supported; reach it directly",
            ));
        }
        let server = self.server_url.trim();
        if server.is_empty() {
            if !self.service_id.trim().is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    &format!("{key}.serviceId"),
                    "finding the key service through the controller is not implemented; set server_url (client.tokenKeyServerUrl)",
                ));
            }
            return Ok(None);
        }
        let uri = pick(&self.uri, |f| &f.uri);
        let uri = if uri.is_empty() { default_key_uri() } else { uri };
        let joined = format!("{}/{}", server.trim_end_matches('/'), uri.trim_start_matches('/'));
        let url = url::Url::parse(&joined).map_err(|e| {
            ConfigError::invalid(
                file,
                &format!("{key}.server_url"),
                format!("'{joined}' is not a URL: {e}"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::invalid(
                file,
                &format!("{key}.server_url"),
                format!("'{joined}' is not an http(s) URL"),
            ));
        }
        let (id, secret) = (
            pick(&self.client_id, |f| &f.client_id),
            pick(&self.client_secret, |f| &f.client_secret),
        );
        let basic = match (id.is_empty(), secret.is_empty()) {
            (true, true) => None,
            (false, false) => Some((id, secret)),
            _ => {
                return Err(ConfigError::invalid(
                    file,
                    &format!("{key}.client_id"),
                    "client_id and client_secret go together: set both or neither",
                ));
            }
        };
        let audience = Some(pick(&self.audience, |f| &f.audience)).filter(|a| !a.is_empty());
        Ok(Some(KeyProvider {
            name: name.to_string(),
            url,
            basic,
            audience,
        }))
    }
}
