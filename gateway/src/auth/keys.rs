//! Signing keys from a key service (JWKS at `client.yml` `tokenKeyServerUrl` + `tokenKeyUri`),
//! cached by `kid`.
//!
//! - A `kid` the cache does not hold triggers one fetch, at most once per
//!   [`Timing::unknown_kid_interval`]: a flood of made-up kids costs the key service one request
//!   per interval, not one per request. Concurrent misses share one fetch.
//! - Keys are fetched again in the background every [`Timing::refresh`] (sooner after a
//!   failure), so rotated keys arrive before the old ones age out.
//! - A failed fetch keeps the keys already held (tokens signed with them still verify); a kid
//!   that cannot be looked up while the key service is down fails closed (503, never allow).
//! - One log line per change of state (reachable / unreachable), not one per request.
//!
//! Only asymmetric keys are kept: `oct` (HMAC) entries are dropped, so a token can never be
//! verified with a public key used as an HMAC secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

use super::config::KeyProvider;

/// Largest JWKS answer read.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// The waits of one key store.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Shortest time between two fetches caused by unknown kids.
    pub unknown_kid_interval: Duration,
    /// Background refresh period while the key service answers.
    pub refresh: Duration,
    /// Background retry period while it does not.
    pub retry: Duration,
    /// Connect timeout of a fetch.
    pub connect_timeout: Duration,
    /// Whole-request timeout of a fetch.
    pub timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            unknown_kid_interval: Duration::from_secs(5),
            refresh: Duration::from_secs(300),
            retry: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        }
    }
}

/// One verification key.
pub struct Key {
    /// The algorithm the JWK pins, if it pins one.
    pub algorithm: Option<Algorithm>,
    /// The key.
    pub key: DecodingKey,
}

/// Why a key could not be had.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The key service answered, and has no such key.
    #[error("the key service has no key '{0}'")]
    Unknown(String),
    /// The key service could not be asked (or answered unusably) and the key is not cached.
    #[error("the key service cannot be reached: {0}")]
    Unavailable(String),
}

#[derive(Default)]
struct Fetches {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

/// The keys of one provider.
pub struct KeyStore {
    provider: KeyProvider,
    client: reqwest::Client,
    timing: Timing,
    keys: ArcSwap<HashMap<String, Arc<Key>>>,
    fetches: Mutex<Fetches>,
    reachable: AtomicBool,
    /// Bumped whenever the key set changes; cached verifications from older sets are dropped.
    generation: AtomicU64,
}

impl KeyStore {
    /// A store for `provider`, reaching it with `tls` trust (no proxies, no redirects).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(provider: KeyProvider, tls: rustls::ClientConfig, timing: Timing) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timing.connect_timeout)
            .timeout(timing.timeout)
            .build()?;
        Ok(Self {
            provider,
            client,
            timing,
            keys: ArcSwap::from_pointee(HashMap::new()),
            fetches: Mutex::new(Fetches::default()),
            reachable: AtomicBool::new(true),
            generation: AtomicU64::new(0),
        })
    }

    /// The provider's name (`default` or a service id).
    pub fn name(&self) -> &str {
        &self.provider.name
    }

    /// The audience its tokens must carry, if set.
    pub fn audience(&self) -> Option<&str> {
        self.provider.audience.as_deref()
    }

    /// The key-set generation (changes whenever keys are added or removed).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Every key held now.
    pub fn all(&self) -> Vec<Arc<Key>> {
        self.keys.load().values().cloned().collect()
    }

    /// The key `kid`, fetching the set once when it is not held (rate limited).
    ///
    /// # Errors
    /// [`KeyError`].
    pub async fn key(&self, kid: &str) -> Result<Arc<Key>, KeyError> {
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(key.clone());
        }
        let mut fetches = self.fetches.lock().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(key.clone());
        }
        let recent = fetches
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.timing.unknown_kid_interval);
        if !recent {
            self.fetch_locked(&mut fetches).await;
        }
        match self.keys.load().get(kid) {
            Some(key) => Ok(key.clone()),
            None => match &fetches.last_error {
                Some(reason) => Err(KeyError::Unavailable(reason.clone())),
                None => Err(KeyError::Unknown(kid.to_string())),
            },
        }
    }

    /// Fetches the set now (startup and the background loop).
    ///
    /// # Errors
    /// Why the fetch failed (the keys held are kept).
    pub async fn refresh(&self) -> Result<(), String> {
        let mut fetches = self.fetches.lock().await;
        self.fetch_locked(&mut fetches).await;
        fetches.last_error.clone().map_or(Ok(()), Err)
    }

    /// Refreshes until the store is dropped (run on a background task): a reload replaces the
    /// auth handlers, and the old keys stop being fetched once no request uses them.
    pub async fn refresh_forever(store: std::sync::Weak<Self>) {
        loop {
            let Some(wait) = store.upgrade().map(|s| {
                if s.reachable.load(Ordering::Acquire) {
                    s.timing.refresh
                } else {
                    s.timing.retry
                }
            }) else {
                return;
            };
            tokio::time::sleep(wait).await;
            let Some(current) = store.upgrade() else {
                return;
            };
            let _ = current.refresh().await;
        }
    }

    async fn fetch_locked(&self, fetches: &mut Fetches) {
        fetches.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                fetches.last_error = None;
                let changed = {
                    let current = self.keys.load();
                    current.len() != keys.len() || keys.keys().any(|k| !current.contains_key(k))
                };
                if changed {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                let count = keys.len();
                self.keys.store(Arc::new(keys));
                if !self.reachable.swap(true, Ordering::AcqRel) || changed {
                    info!(provider = %self.provider.name, keys = count, url = %self.provider.url, "key service keys loaded");
                }
            }
            Err(reason) => {
                if self.reachable.swap(false, Ordering::AcqRel) {
                    warn!(provider = %self.provider.name, url = %self.provider.url, reason, "key service unreachable; tokens signed with unknown keys are refused until it answers");
                }
                fetches.last_error = Some(reason);
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<Key>>, String> {
        let mut request = self
            .client
            .get(self.provider.url.clone())
            .header(http::header::ACCEPT, "application/json");
        if let Some((id, secret)) = &self.provider.basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let body = read_capped(response).await?;
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(format!("HTTP {}: {}", status.as_u16(), text.trim()));
        }
        parse_jwks(&body)
    }
}

async fn read_capped(response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading the answer failed: {e}"))?;
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("the answer exceeds {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The usable keys of a JWKS answer (`{"keys": [...]}` or one JWK), by kid. Entries without a
/// kid, symmetric (`oct`) keys and keys the verifier cannot use are dropped.
///
/// # Errors
/// The body is not a JWKS or a JWK, or no usable key is in it.
pub fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<Key>>, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let entries: Vec<serde_json::Value> = match value.get("keys") {
        Some(serde_json::Value::Array(keys)) => keys.clone(),
        Some(_) => return Err("`keys` is not a list".into()),
        None if value.get("kty").is_some() => vec![value],
        None => return Err("the answer is neither a JWKS nor a JWK".into()),
    };
    let mut keys = HashMap::new();
    for entry in entries {
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone().filter(|k| !k.trim().is_empty()) else {
            continue;
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            continue;
        }
        let algorithm = match jwk.common.key_algorithm {
            None => None,
            Some(alg) => match signing_algorithm(alg) {
                Some(alg) => Some(alg),
                None => continue,
            },
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        keys.insert(kid, Arc::new(Key { algorithm, key }));
    }
    if keys.is_empty() {
        return Err("no usable signing key with a kid".into());
    }
    Ok(keys)
}

/// The signature algorithm a JWK's `alg` names (encryption algorithms name none).
fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
