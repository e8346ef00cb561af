//! Configuration: sources and layering, placeholders, `CRYPT:` values and the typed files.
//!
//! Data flows one way: bootstrap files -> [`BootstrapConfig`] (to reach config-server) ->
//! downloaded values -> [`RuntimeConfig`] (what the services run with).

pub mod crypt;
mod error;
pub mod files;
pub mod placeholder;
pub mod sources;

pub use error::ConfigError;
pub use files::{ClientConfig, ClientTls, PortalRegistryConfig, ServerConfig, StartupConfig, TlsVersion};
pub use placeholder::{Env, ProcessEnv};
pub use sources::{ConfigDirs, Layers, MergedValues, Phase, Source, Values};

use files::{load, non_blank};

/// Environment variable that overrides `startup.yml` `authorization` when not blank.
pub const AUTHORIZATION_ENV: &str = "LIGHT_PORTAL_AUTHORIZATION";
/// Environment variable used when `startup.yml` has no `envTag`.
pub const ENV_TAG_ENV: &str = "LIGHT_ENV";
/// Environment variable used when `startup.yml` has no `configServerUri`.
pub const CONFIG_SERVER_URI_ENV: &str = "LIGHT_CONFIG_SERVER_URI";

/// What the bootstrap phase reads: embedded, `config-defaults` and `config`, never the cache.
#[derive(Debug, Clone)]
pub struct BootstrapConfig {
    /// `startup.yml`, with the environment fallbacks applied.
    pub startup: StartupConfig,
    /// `client.yml`.
    pub client: ClientConfig,
    /// The config-server base URI, if any source gives one.
    pub config_server_uri: Option<String>,
    /// The envTag of the config tuple.
    pub env_tag: String,
    /// The token for config-server, if any.
    pub authorization: Option<String>,
    /// The values files that were merged, lowest first.
    pub value_sources: Vec<String>,
}

impl BootstrapConfig {
    /// Loads the bootstrap files from `dirs`.
    ///
    /// # Errors
    /// Any config error, naming the file and key.
    pub fn load(dirs: &ConfigDirs, env: &dyn Env) -> Result<Self, ConfigError> {
        let layers = Layers::new(dirs.clone(), Phase::Bootstrap);
        let merged = layers.values()?;
        let (startup, label): (StartupConfig, _) = load(&layers, &merged.values, env, "startup.yml")?;
        let (client, _): (ClientConfig, _) = load(&layers, &merged.values, env, "client.yml")?;
        let env_tag = non_blank(&startup.env_tag)
            .map(str::to_string)
            .or_else(|| env.var(ENV_TAG_ENV).filter(|v| !v.trim().is_empty()))
            .ok_or_else(|| ConfigError::invalid(&label, "envTag", format!("no envTag and {ENV_TAG_ENV} is not set")))?;
        if startup.host.trim().is_empty() {
            return Err(ConfigError::invalid(&label, "host", "host is empty"));
        }
        let config_server_uri = non_blank(&startup.config_server_uri)
            .map(str::to_string)
            .or_else(|| env.var(CONFIG_SERVER_URI_ENV).filter(|v| !v.trim().is_empty()));
        let authorization = env
            .var(AUTHORIZATION_ENV)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| non_blank(&startup.authorization).map(str::to_string));
        Ok(Self {
            startup,
            client,
            config_server_uri,
            env_tag,
            authorization,
            value_sources: merged.sources,
        })
    }
}

/// What the services run with, after config-server answered (or did not).
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// `server.yml`, validated.
    pub server: ServerConfig,
    /// Where `server.yml` came from.
    pub server_file: String,
    /// `portal-registry.yml`.
    pub registry: PortalRegistryConfig,
    /// `portalUrl`, parsed (checked only when the registry is enabled).
    pub portal_url: Option<url::Url>,
    /// `client.yml`.
    pub client: ClientConfig,
    /// The merged values map.
    pub values: Values,
    /// The values sources, lowest first (`config-server` last when a download succeeded).
    pub value_sources: Vec<String>,
    /// The sources behind this config, for loading further files.
    layers: Layers,
}

impl RuntimeConfig {
    /// Loads the runtime files from every source, cache included, with `downloaded` values
    /// (config-server's answer) on top.
    ///
    /// # Errors
    /// Any config error, naming the file and key.
    pub fn load(dirs: &ConfigDirs, env: &dyn Env, downloaded: Option<&Values>) -> Result<Self, ConfigError> {
        let layers = Layers::new(dirs.clone(), Phase::Runtime);
        let mut merged = layers.values()?;
        if let Some(downloaded) = downloaded {
            merged
                .values
                .extend(downloaded.iter().map(|(k, v)| (k.clone(), v.clone())));
            merged.sources.push("config-server".to_string());
        }
        let (server, server_file): (ServerConfig, _) = load(&layers, &merged.values, env, "server.yml")?;
        server.validate(&server_file)?;
        let (registry, registry_file): (PortalRegistryConfig, _) =
            load(&layers, &merged.values, env, "portal-registry.yml")?;
        let portal_url = if server.enable_registry {
            Some(registry.validate(&registry_file)?)
        } else {
            None
        };
        let (client, _): (ClientConfig, _) = load(&layers, &merged.values, env, "client.yml")?;
        Ok(Self {
            server,
            server_file,
            registry,
            portal_url,
            client,
            values: merged.values,
            value_sources: merged.sources,
            layers,
        })
    }

    /// Loads another runtime file (`mcp-router.yml`, `handler.yml`, ...) from the same sources
    /// and values: typed, placeholders resolved; returns it with the label of its source.
    ///
    /// # Errors
    /// Any config error, naming the file and key.
    pub fn file<T: serde::de::DeserializeOwned>(&self, env: &dyn Env, name: &str) -> Result<(T, String), ConfigError> {
        load(&self.layers, &self.values, env, name)
    }
}

#[cfg(test)]
#[path = "bootstrap_tests.rs"]
mod tests;
