//! Bearer JWT verification with keys from the key service (`jsonwebtoken` does the crypto).
//!
//! Only asymmetric algorithms are accepted (RS*, PS*, ES256/384, EdDSA): `none` cannot be
//! parsed and HS* is refused before any key is looked at, so a public key can never serve as an
//! HMAC secret. A JWK that pins an `alg` verifies only that algorithm. `exp` is required (unless
//! `ignoreJwtExpiry`), `nbf` is honoured, both with `jwt.clockSkewInSeconds` of leeway.
//! Verified tokens are cached by their SHA-256 until they expire or the key set changes, so a
//! busy caller costs one signature check, not one per request.

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::SecurityConfig;
use super::keys::{Key, KeyError, KeyStore};
use super::principal::Principal;

/// Largest token looked at (a 16 KiB header is refused before any parsing).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a request's credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No credentials at all (401 without an error code, per RFC 6750).
    #[error("{0}")]
    Missing(String),
    /// Credentials that do not verify (401 `invalid_token`).
    #[error("{0}")]
    Invalid(String),
    /// A valid token without a required scope (403 `insufficient_scope`).
    #[error("the token lacks the scope {}", .0.join(" "))]
    InsufficientScope(Vec<String>),
    /// Basic credentials missing or wrong (401 with a Basic challenge).
    #[error("{0}")]
    Basic(String),
    /// An API key missing or wrong (401).
    #[error("{0}")]
    ApiKey(String),
    /// Valid credentials not allowed on this path (403).
    #[error("{0}")]
    Forbidden(String),
    /// The keys cannot be had (503: fail closed, never allow).
    #[error("{0}")]
    KeysUnavailable(String),
}

struct Cached {
    principal: Arc<Principal>,
    generation: u64,
}

/// The verifier of one `security.yml`.
pub struct JwtVerifier {
    config: Arc<SecurityConfig>,
    /// `security.algorithms`, parsed (validated names only).
    accepted: Vec<Algorithm>,
    default: Option<Arc<KeyStore>>,
    by_service: BTreeMap<String, Arc<KeyStore>>,
    cache: Option<quick_cache::sync::Cache<[u8; 32], Arc<Cached>>>,
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl JwtVerifier {
    /// A verifier over `config` and the key stores (validated: every store the config can
    /// reach exists).
    pub fn new(
        config: Arc<SecurityConfig>,
        default: Option<Arc<KeyStore>>,
        by_service: BTreeMap<String, Arc<KeyStore>>,
    ) -> Self {
        let cache = config
            .enable_jwt_cache
            .then(|| quick_cache::sync::Cache::new(config.jwt_cache_full_size.max(1) as usize));
        let accepted = config
            .algorithms
            .iter()
            .filter_map(|name| name.parse::<Algorithm>().ok())
            .filter(|alg| !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
            .collect();
        Self {
            config,
            accepted,
            default,
            by_service,
            cache,
        }
    }

    /// The config.
    pub fn config(&self) -> &SecurityConfig {
        &self.config
    }

    fn stores(&self, service_ids: &[String]) -> Result<Vec<&Arc<KeyStore>>, Refusal> {
        let stores: Vec<&Arc<KeyStore>> = if service_ids.is_empty() {
            self.default.iter().collect()
        } else {
            service_ids.iter().filter_map(|id| self.by_service.get(id)).collect()
        };
        if stores.is_empty() {
            // Startup refuses such a config; this guards a reload that lost its providers.
            return Err(Refusal::KeysUnavailable("no key service is configured".into()));
        }
        Ok(stores)
    }

    /// Verifies `token` against the keys of `service_ids` (the default key service when empty);
    /// `check_scope` applies `requiredScopes` when `enableVerifyScope` is on.
    ///
    /// # Errors
    /// [`Refusal`].
    pub async fn verify(
        &self,
        token: &str,
        service_ids: &[String],
        check_scope: bool,
    ) -> Result<Arc<Principal>, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Invalid(format!(
                "the token is larger than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let stores = self.stores(service_ids)?;
        let generation: u64 = stores.iter().map(|s| s.generation()).sum();
        let digest = self.cache.as_ref().map(|_| cache_key(token, service_ids));
        if let (Some(cache), Some(digest)) = (&self.cache, &digest)
            && let Some(hit) = cache.get(digest)
        {
            if hit.generation == generation && self.still_valid(&hit.principal) {
                return self.scoped(hit.principal.clone(), check_scope);
            }
            cache.remove(digest);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| Refusal::Invalid(format!("the token cannot be read: {}", describe(e.kind()))))?;
        if !self.accepted.contains(&header.alg) {
            return Err(Refusal::Invalid(format!(
                "algorithm {:?} is not accepted (security.algorithms; never HMAC)",
                header.alg
            )));
        }
        let (store, key) = self.find_key(&stores, &header).await?;
        let claims = self.decode(token, &header, &key, store)?;
        let principal = Arc::new(Principal::from_claims(claims));
        if let (Some(cache), Some(digest)) = (&self.cache, digest) {
            cache.insert(
                digest,
                Arc::new(Cached {
                    principal: principal.clone(),
                    generation,
                }),
            );
        }
        self.scoped(principal, check_scope)
    }

    fn scoped(&self, principal: Arc<Principal>, check_scope: bool) -> Result<Arc<Principal>, Refusal> {
        let required = &self.config.required_scopes;
        if check_scope && self.config.enable_verify_scope && !principal.has_scopes(required) {
            let missing = required
                .iter()
                .filter(|r| !principal.scopes.contains(r))
                .cloned()
                .collect();
            return Err(Refusal::InsufficientScope(missing));
        }
        Ok(principal)
    }

    fn still_valid(&self, principal: &Principal) -> bool {
        if self.config.ignore_jwt_expiry {
            return true;
        }
        principal
            .expires_at
            .is_some_and(|exp| now() <= exp.saturating_add(self.config.jwt.clock_skew_in_seconds))
    }

    async fn find_key<'s>(
        &self,
        stores: &[&'s Arc<KeyStore>],
        header: &Header,
    ) -> Result<(&'s Arc<KeyStore>, Vec<Arc<Key>>), Refusal> {
        let Some(kid) = header.kid.as_deref().filter(|k| !k.is_empty()) else {
            return self.keys_without_kid(stores, header.alg);
        };
        let mut unavailable = None;
        for store in stores {
            match store.key(kid).await {
                Ok(key) => return Ok((store, vec![key])),
                Err(KeyError::Unknown(_)) => {}
                Err(KeyError::Unavailable(reason)) => unavailable = Some(reason),
            }
        }
        match unavailable {
            Some(reason) => Err(Refusal::KeysUnavailable(format!(
                "the key '{kid}' cannot be looked up: {reason}"
            ))),
            None => Err(Refusal::Invalid(format!("the key service has no key '{kid}'"))),
        }
    }

    /// A token without `kid`: the one key there is, or with `enableRelaxedKeyValidation` every
    /// key of the token's algorithm.
    fn keys_without_kid<'s>(
        &self,
        stores: &[&'s Arc<KeyStore>],
        alg: Algorithm,
    ) -> Result<(&'s Arc<KeyStore>, Vec<Arc<Key>>), Refusal> {
        let mut candidates: Vec<(&'s Arc<KeyStore>, Arc<Key>)> = stores
            .iter()
            .flat_map(|s| s.all().into_iter().map(move |k| (*s, k)))
            .filter(|(_, k)| k.algorithm.is_none_or(|a| a == alg))
            .collect();
        let usable = candidates.len() == 1 || (self.config.enable_relaxed_key_validation && !candidates.is_empty());
        if !usable {
            return Err(Refusal::Invalid(
                "the token names no key (kid) and more than one key could verify it".into(),
            ));
        }
        let store = candidates[0].0;
        candidates.retain(|(s, _)| Arc::ptr_eq(s, store));
        Ok((store, candidates.into_iter().map(|(_, k)| k).collect()))
    }

    fn decode(
        &self,
        token: &str,
        header: &Header,
        keys: &[Arc<Key>],
        store: &KeyStore,
    ) -> Result<Map<String, Value>, Refusal> {
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.jwt.clock_skew_in_seconds;
        validation.validate_nbf = true;
        validation.validate_exp = !self.config.ignore_jwt_expiry;
        validation.required_spec_claims.clear();
        if !self.config.ignore_jwt_expiry {
            validation.required_spec_claims.insert("exp".into());
        }
        let issuer = self.config.issuer.trim();
        if !issuer.is_empty() {
            validation.set_issuer(&[issuer]);
        }
        if self.config.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.config.audience);
        }
        let mut last = Refusal::Invalid("no key verified the token".into());
        for key in keys {
            if key.algorithm.is_some_and(|a| a != header.alg) {
                last = Refusal::Invalid(format!("the key does not sign with {:?}", header.alg));
                continue;
            }
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => {
                    if let Some(audience) = store.audience()
                        && !audience_names(data.claims.get("aud"), audience)
                    {
                        return Err(Refusal::Invalid(format!("the token is not for audience '{audience}'")));
                    }
                    return Ok(data.claims);
                }
                Err(e) => last = Refusal::Invalid(describe(e.kind())),
            }
        }
        Err(last)
    }
}

/// Whether `aud` (a string or a list) names `audience`.
fn audience_names(aud: Option<&Value>, audience: &str) -> bool {
    match aud {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

fn cache_key(token: &str, service_ids: &[String]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(token.as_bytes());
    for id in service_ids {
        hasher.update([0]);
        hasher.update(id.as_bytes());
    }
    hasher.finalize().into()
}

/// A verification failure in words for the client (no key material, no token).
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "the token is not for this audience".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not the configured issuer".into(),
        ErrorKind::InvalidSignature => "the signature does not verify".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no '{claim}' claim"),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "the key does not match the token's algorithm".into()
        }
        ErrorKind::InvalidToken => "not a compact JWS (three base64url parts)".into(),
        ErrorKind::Base64(_) => "a part is not base64url".into(),
        ErrorKind::Json(_) => "a part is not the expected JSON".into(),
        ErrorKind::Utf8(_) => "a part is not UTF-8".into(),
        _ => "the token cannot be verified".into(),
    }
}

/// The bearer token of a request: `Authorization: Bearer <token>` (scheme in any case), else
/// `X-Scope-Token` when `scope_header` allows it.
///
/// # Errors
/// No token ([`Refusal::Missing`]), or an `Authorization` header that is not one bearer token.
pub fn bearer(headers: &http::HeaderMap, scope_header: bool) -> Result<&str, Refusal> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(Refusal::Invalid("more than one Authorization header".into()));
        }
        let value = value
            .to_str()
            .map_err(|_| Refusal::Invalid("the Authorization header is not text".into()))?;
        return match value.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Ok(token.trim())
            }
            _ => Err(Refusal::Invalid(
                "the Authorization header is not a Bearer token".into(),
            )),
        };
    }
    if scope_header
        && let Some(token) = headers
            .get("x-scope-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    {
        return Ok(token);
    }
    Err(Refusal::Missing("a Bearer token is required".into()))
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
