//! Bootstrap: download runtime config from config-server into the cache, or fall back to the
//! cache (docs/protocols.md#config-server). Only a config mistake (an unreadable CA, say) stops the gateway
//! here; an unreachable or refusing config-server is logged with the fallback used.

pub mod cache;
pub mod client;

use std::path::Path;

use tracing::{error, info, warn};

use crate::config::files::non_blank;
use crate::config::{BootstrapConfig, ConfigDirs, Values};
use crate::logging::milestone;
use crate::tls::{self, ClientTlsSettings, TlsError};
use client::ConfigServerClient;

/// A bootstrap that cannot even be attempted.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The TLS settings for config-server are unusable (unreadable CA, ...).
    #[error("failed to prepare the config-server client: {0}")]
    Tls(#[from] TlsError),
    /// The HTTP client could not be built.
    #[error("failed to build the config-server client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The outbound TLS settings from `client.yml`, with `fallback_ca` when it names no CA.
pub fn tls_settings(
    client: &crate::config::ClientTls,
    fallback_ca: Option<&str>,
    dirs: &ConfigDirs,
) -> ClientTlsSettings {
    let (ca, ca_cert_key) = match non_blank(&client.ca_cert_path) {
        Some(ca) => (Some(ca), "CA bundle (client.yml tls.caCertPath)"),
        None => (fallback_ca, "CA bundle (startup.yml bootstrapCaCertPath)"),
    };
    let identity = match (non_blank(&client.client_cert_path), non_blank(&client.client_key_path)) {
        (Some(cert), Some(key)) => Some((dirs.resolve(cert), dirs.resolve(key))),
        _ => None,
    };
    ClientTlsSettings {
        ca_cert_path: ca.map(|p| dirs.resolve(p)),
        ca_cert_key,
        verify_hostname: client.verify_hostname,
        client_identity: identity,
        identity_keys: crate::tls::CLIENT_YML_IDENTITY,
        min_version: client.tls_version,
    }
}

/// Downloads values, certs and files; returns the downloaded values when `configs` succeeded.
///
/// # Errors
/// Only when the client cannot be built; a failing config-server is logged, not returned.
pub async fn run(boot: &BootstrapConfig, dirs: &ConfigDirs) -> Result<Option<Values>, BootstrapError> {
    let Some(uri) = boot.config_server_uri.as_deref() else {
        warn!(
            event = milestone::BOOTSTRAP_SKIPPED,
            reason = "no configServerUri in startup.yml and LIGHT_CONFIG_SERVER_URI is not set",
            fallback = fallback(&dirs.cache),
            "config-server bootstrap skipped"
        );
        return Ok(None);
    };
    match download(boot, dirs, uri).await? {
        Ok((values, cached)) => {
            info!(
                event = milestone::BOOTSTRAP_OK,
                config_server = uri,
                values = values.len(),
                cached_files = ?cached,
                "config-server bootstrap ok"
            );
            Ok(Some(values))
        }
        Err(e) => {
            error!(
                event = milestone::BOOTSTRAP_FAILED,
                config_server = uri,
                reason = %e,
                fallback = fallback(&dirs.cache),
                "config-server bootstrap failed"
            );
            Ok(None)
        }
    }
}

/// Downloads again for a reload: the values config-server serves now (`None` when no
/// config-server is configured). Unlike startup, a failure is returned: a reload never falls
/// back to the cache it was meant to replace.
///
/// # Errors
/// Why config-server's values could not be had, naming its URL.
pub async fn refetch(boot: &BootstrapConfig, dirs: &ConfigDirs) -> Result<Option<Values>, String> {
    let Some(uri) = boot.config_server_uri.as_deref() else {
        return Ok(None);
    };
    let downloaded = download(boot, dirs, uri)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("config-server {uri}: {e}"))?;
    let (values, cached) = downloaded;
    info!(config_server = uri, values = values.len(), cached_files = ?cached, "config-server download for a reload ok");
    Ok(Some(values))
}

/// Fetches the values (the outer error: no client could be built; the inner: config-server
/// failed) and caches them with the certs and files; returns the values and the files cached.
async fn download(
    boot: &BootstrapConfig,
    dirs: &ConfigDirs,
    uri: &str,
) -> Result<Result<(Values, Vec<String>), client::FetchError>, BootstrapError> {
    let settings = tls_settings(&boot.client.tls, non_blank(&boot.startup.bootstrap_ca_cert_path), dirs);
    let client = ConfigServerClient::new(boot, uri, tls::client_config(&settings)?)?;
    let values = match client.configs().await {
        Ok(values) => values,
        Err(e) => return Ok(Err(e)),
    };
    let stale = cache::remove_stale_temps(&dirs.cache);
    if stale > 0 {
        info!(removed = stale, dir = %dirs.cache.display(), "temp files of cache writes cut short removed");
    }
    let values_cached = cache_values(&dirs.cache, &values);
    let mut cached = Vec::new();
    if values_cached {
        cached.push("values.yml".to_string());
    }
    for endpoint in ["certs", "files"] {
        match client.blobs(endpoint).await {
            Ok(blobs) => cached.extend(cache_blobs(&dirs.cache, endpoint, blobs)),
            Err(e) => {
                error!(config_server = uri, endpoint, reason = %e, "config-server {endpoint} download failed; values kept")
            }
        }
    }
    Ok(Ok((values, cached)))
}

fn fallback(cache: &Path) -> String {
    let values = cache.join("values.yml");
    if values.is_file() {
        values.display().to_string()
    } else {
        "none: running on bootstrap config only (no cached values)".to_string()
    }
}

fn cache_values(dir: &Path, values: &Values) -> bool {
    let text = match serde_saphyr::to_string(values) {
        Ok(text) => text,
        Err(e) => {
            error!(reason = %e, "failed to serialise downloaded values for the cache");
            return false;
        }
    };
    match cache::write_atomic(dir, "values.yml", text.as_bytes()) {
        Ok(_) => true,
        Err(e) => {
            error!(reason = %e, "failed to cache downloaded values; they are used from memory");
            false
        }
    }
}

fn cache_blobs(dir: &Path, endpoint: &str, blobs: Vec<(String, Vec<u8>)>) -> Vec<String> {
    let mut written = Vec::new();
    for (name, bytes) in blobs {
        // The values come from `configs` alone: a blob of that name would replace them.
        if name == "values.yml" {
            error!(
                endpoint,
                name, "config-server entry not cached: values.yml comes from configs only"
            );
            continue;
        }
        match cache::write_atomic(dir, &name, &bytes) {
            Ok(_) => written.push(name),
            Err(e) => error!(endpoint, reason = %e, "config-server entry not cached"),
        }
    }
    written
}
