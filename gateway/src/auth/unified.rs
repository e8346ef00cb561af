//! `unified-security` (per path prefix: JWT with a scope, simple JWT, Basic or API key) and the
//! `apikey` and `basic-auth` checks it uses, as upstream defines them: the longest matching
//! prefix wins (on a tie, the later entry); a path no rule covers is refused (403); anonymous
//! prefixes pass. Secrets are compared in constant time.

use std::sync::Arc;

use base64::Engine;
use http::{HeaderMap, HeaderName};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::config::{ApiKeyConfig, BasicAuthConfig, BasicUser, PrefixAuth, UnifiedSecurityConfig};
use super::jwt::{JwtVerifier, Refusal, bearer};
use super::principal::Principal;
use crate::config::ConfigError;

/// `iterations:saltHex:hashHex` (light-4j's PBKDF2-HMAC-SHA1 format).
pub fn parse_hash(stored: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split(':');
    let iterations = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let salt = hex::decode(parts.next()?).ok()?;
    let hash = hex::decode(parts.next()?).ok().filter(|h| !h.is_empty())?;
    parts.next().is_none().then_some((iterations, salt, hash))
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The entry with the longest prefix `path` starts with; the later one on a tie.
fn longest<'a, T>(items: &'a [T], path: &str, prefix: impl Fn(&T) -> &str) -> Option<&'a T> {
    items
        .iter()
        .filter(|item| path.starts_with(prefix(item)))
        .max_by_key(|item| prefix(item).len())
}

/// `apikey.yml`, resolved.
pub struct ApiKeys {
    enabled: bool,
    hashed: bool,
    rules: Vec<(String, HeaderName, String)>,
}

impl ApiKeys {
    /// From a validated config.
    pub fn new(config: &ApiKeyConfig) -> Self {
        Self {
            enabled: config.enabled,
            hashed: config.hash_enabled,
            rules: config
                .path_prefix_auths
                .iter()
                .filter_map(|r| {
                    let name = HeaderName::from_bytes(r.header_name.trim().as_bytes()).ok()?;
                    Some((r.path_prefix.clone(), name, r.api_key.clone()))
                })
                .collect(),
        }
    }

    /// Checks the key of `path`'s rule. Standalone (`required` false) a path without a rule
    /// passes; under unified-security it is refused.
    ///
    /// # Errors
    /// A missing or wrong key.
    pub fn check(&self, path: &str, headers: &HeaderMap, required: bool) -> Result<(), Refusal> {
        if !self.enabled {
            return Ok(());
        }
        let Some((_, header, stored)) = longest(&self.rules, path, |r| &r.0) else {
            return if required {
                Err(Refusal::ApiKey("no API key rule covers this path".into()))
            } else {
                Ok(())
            };
        };
        let given = headers
            .get(header)
            .map(|v| v.as_bytes())
            .ok_or_else(|| Refusal::ApiKey(format!("the API key header {header} is required")))?;
        let ok = if self.hashed {
            parse_hash(stored).is_some_and(|(iterations, salt, hash)| {
                let mut derived = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(given, &salt, iterations, &mut derived);
                equal(&derived, &hash)
            })
        } else {
            equal(given, stored.as_bytes())
        };
        if ok {
            Ok(())
        } else {
            Err(Refusal::ApiKey(format!("the API key in {header} is not valid")))
        }
    }
}

/// `basic-auth.yml`, resolved.
pub struct BasicUsers {
    enabled: bool,
    allow_anonymous: bool,
    allow_bearer: bool,
    users: Vec<BasicUser>,
}

fn basic_refusal(message: &str) -> Refusal {
    Refusal::Basic(message.to_string())
}

impl BasicUsers {
    /// From a config.
    ///
    /// # Errors
    /// Users in no shape upstream accepts.
    pub fn new(config: &BasicAuthConfig, file: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: config.enabled,
            allow_anonymous: config.allow_anonymous,
            allow_bearer: config.allow_bearer_token,
            users: config.users(file)?,
        })
    }

    fn user(&self, name: &str) -> Option<&BasicUser> {
        self.users.iter().find(|u| u.username == name)
    }

    fn allowed(user: &BasicUser, path: &str) -> Result<(), Refusal> {
        if user.paths.is_empty() || user.paths.iter().any(|p| path.starts_with(p.as_str())) {
            Ok(())
        } else {
            Err(Refusal::Forbidden(format!(
                "Basic user {} is not allowed on this path",
                user.username
            )))
        }
    }

    /// Checks the request's Basic credentials; the principal is the user.
    ///
    /// # Errors
    /// Missing or wrong credentials, or a user not allowed on `path`.
    pub fn check(&self, path: &str, headers: &HeaderMap) -> Result<Option<Arc<Principal>>, Refusal> {
        if !self.enabled {
            return Ok(None);
        }
        let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return match self.user("anonymous").filter(|_| self.allow_anonymous) {
                Some(user) => Self::allowed(user, path).map(|()| None),
                None => Err(basic_refusal("credentials are required")),
            };
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return match self.user("bearer").filter(|_| self.allow_bearer) {
                Some(user) => Self::allowed(user, path).map(|()| None),
                None => Err(basic_refusal("a Bearer token is not accepted here")),
            };
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(basic_refusal("unsupported Authorization scheme"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| basic_refusal("the credentials are not base64 user:password"))?;
        let (name, password) = decoded
            .split_once(':')
            .ok_or_else(|| basic_refusal("the credentials are not user:password"))?;
        let user = self
            .user(name)
            .ok_or_else(|| basic_refusal("unknown user or wrong password"))?;
        if !equal(password.as_bytes(), user.password.as_bytes()) {
            return Err(basic_refusal("unknown user or wrong password"));
        }
        Self::allowed(user, path)?;
        Ok(Some(Arc::new(Principal::named("basic", name))))
    }
}

/// `unified-security.yml`, resolved.
pub struct Unified {
    config: UnifiedSecurityConfig,
}

/// Whether an unverified token carries a scope (`scope` a non-blank string or `scp` a
/// non-empty list): such tokens take the `jwt` keys, others the `sjwt` keys.
fn has_scope_claim(token: &str) -> bool {
    let Ok(claims) = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Map<String, Value>>(token) else {
        return false;
    };
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    let scp = match claims.get("scp") {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(s)) => !s.trim().is_empty(),
        _ => false,
    };
    scope || scp
}

impl Unified {
    /// From a validated config.
    pub fn new(config: UnifiedSecurityConfig) -> Self {
        Self { config }
    }

    /// The service ids the rules name (each must be a key provider).
    pub fn service_ids(&self) -> impl Iterator<Item = &String> {
        self.config
            .path_prefix_auths
            .iter()
            .flat_map(|r| r.jwk_service_ids.iter().chain(&r.sjwk_service_ids))
    }

    /// Whether a JWT rule names no key provider (so the default key service is needed).
    pub fn default_keys_needed(&self) -> bool {
        self.uses(|r| (r.jwt && r.jwk_service_ids.is_empty()) || (r.sjwt && r.sjwk_service_ids.is_empty()))
    }

    /// Whether any rule accepts these credentials.
    pub fn uses(&self, pick: impl Fn(&PrefixAuth) -> bool) -> bool {
        self.config.enabled && self.config.path_prefix_auths.iter().any(pick)
    }

    /// Checks `path`'s credentials by its rule.
    ///
    /// # Errors
    /// [`Refusal`].
    pub async fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        jwt: Option<&JwtVerifier>,
        basic: Option<&BasicUsers>,
        apikeys: Option<&ApiKeys>,
    ) -> Result<Option<Arc<Principal>>, Refusal> {
        if !self.config.enabled
            || self
                .config
                .anonymous_prefixes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
        {
            return Ok(None);
        }
        let rule = longest(&self.config.path_prefix_auths, path, |r| &r.prefix)
            .ok_or_else(|| Refusal::Forbidden("this path is not configured for unified security".into()))?;
        if rule.basic || rule.jwt || rule.sjwt {
            let scheme = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().split_once(' ').map(|(s, _)| s.to_ascii_lowercase()));
            return match scheme.as_deref() {
                None if headers.contains_key(http::header::AUTHORIZATION) => {
                    Err(Refusal::Invalid("the Authorization header is not valid".into()))
                }
                None => Err(Refusal::Missing("the Authorization header is required".into())),
                Some("basic") if rule.basic => match basic {
                    Some(basic) => basic.check(path, headers),
                    None => Err(Refusal::KeysUnavailable("basic-auth is not configured".into())),
                },
                Some("basic") => Err(basic_refusal("Basic authentication is not allowed on this path")),
                Some("bearer") if rule.jwt || rule.sjwt => {
                    let token = bearer(headers, false)?;
                    let jwt = jwt.ok_or_else(|| Refusal::KeysUnavailable("no JWT verifier is configured".into()))?;
                    let scoped = match (rule.jwt, rule.sjwt) {
                        (true, true) => has_scope_claim(token),
                        (jwt_only, _) => jwt_only,
                    };
                    let ids = if scoped {
                        &rule.jwk_service_ids
                    } else {
                        &rule.sjwk_service_ids
                    };
                    jwt.verify(token, ids, scoped).await.map(Some)
                }
                Some(_) => Err(Refusal::Invalid(
                    "this Authorization scheme is not allowed on this path".into(),
                )),
            };
        }
        if rule.apikey {
            let keys = apikeys.ok_or_else(|| Refusal::KeysUnavailable("apikey is not configured".into()))?;
            keys.check(path, headers, true)?;
        }
        Ok(None)
    }
}

#[cfg(test)]
#[path = "unified_tests.rs"]
mod tests;
