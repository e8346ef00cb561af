//! `unified-security.yml`, `apikey.yml` and `basic-auth.yml`: which credentials a path takes.

use serde::Deserialize;

use super::{object_list, string_list, yes};
use crate::config::ConfigError;

/// `unified-security.yml`: per path prefix, which credentials are accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnifiedSecurityConfig {
    /// Whether the handler checks anything.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Paths that pass without credentials.
    #[serde(default, deserialize_with = "string_list")]
    pub anonymous_prefixes: Vec<String>,
    /// Rules; the longest matching prefix wins.
    #[serde(default, deserialize_with = "object_list")]
    pub path_prefix_auths: Vec<PrefixAuth>,
}

/// One `pathPrefixAuths` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixAuth {
    /// The path prefix.
    pub prefix: String,
    /// Accept HTTP Basic (`basic-auth.yml`).
    #[serde(default)]
    pub basic: bool,
    /// Accept a JWT carrying a scope (`scope` or `scp`).
    #[serde(default)]
    pub jwt: bool,
    /// Accept a simple JWT (no scope claim).
    #[serde(default)]
    pub sjwt: bool,
    /// Opaque tokens: not implemented, refused.
    #[serde(default)]
    pub swt: bool,
    /// Accept an API key (`apikey.yml`).
    #[serde(default)]
    pub apikey: bool,
    /// Key providers (client.yml `serviceIdAuthServers`) for `jwt`.
    #[serde(default, deserialize_with = "string_list")]
    pub jwk_service_ids: Vec<String>,
    /// Key providers for `sjwt`.
    #[serde(default, deserialize_with = "string_list")]
    pub sjwk_service_ids: Vec<String>,
    /// Opaque-token services: refused when set.
    #[serde(default, deserialize_with = "string_list")]
    pub swt_service_ids: Vec<String>,
}

impl UnifiedSecurityConfig {
    /// Checks the rules.
    ///
    /// # Errors
    /// A rule using SWT, or a prefix that does not start with `/`.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        for (i, rule) in self.path_prefix_auths.iter().enumerate() {
            let key = |k: &str| format!("pathPrefixAuths[{i}].{k}");
            if !rule.prefix.starts_with('/') {
                return Err(ConfigError::invalid(
                    file,
                    &key("prefix"),
                    format!("'{}' must start with /", rule.prefix),
                ));
            }
            if rule.swt || !rule.swt_service_ids.is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    &key("swt"),
                    "opaque token (SWT) introspection is not implemented; use jwt or sjwt",
                ));
            }
        }
        Ok(())
    }
}

/// `apikey.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Whether the handler checks anything.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Stored keys are `iterations:saltHex:hashHex` (PBKDF2-HMAC-SHA1, light-4j's format).
    #[serde(default)]
    pub hash_enabled: bool,
    /// Keys per path prefix; the longest matching prefix wins.
    #[serde(default, deserialize_with = "object_list")]
    pub path_prefix_auths: Vec<ApiKeyRule>,
}

/// One API key rule.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyRule {
    /// The path prefix.
    pub path_prefix: String,
    /// The header carrying the key.
    pub header_name: String,
    /// The key (or its hash).
    pub api_key: String,
}

impl std::fmt::Debug for ApiKeyRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRule")
            .field("path_prefix", &self.path_prefix)
            .field("header_name", &self.header_name)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

impl ApiKeyConfig {
    /// Checks the rules.
    ///
    /// # Errors
    /// An empty header name or key, or a hash that is not `iterations:saltHex:hashHex`.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        for (i, rule) in self.path_prefix_auths.iter().enumerate() {
            let key = |k: &str| format!("pathPrefixAuths[{i}].{k}");
            if rule.header_name.trim().is_empty() {
                return Err(ConfigError::invalid(file, &key("headerName"), "must not be empty"));
            }
            if http::HeaderName::from_bytes(rule.header_name.trim().as_bytes()).is_err() {
                return Err(ConfigError::invalid(
                    file,
                    &key("headerName"),
                    format!("'{}' is not a header name", rule.header_name),
                ));
            }
            if rule.api_key.is_empty() {
                return Err(ConfigError::invalid(file, &key("apiKey"), "must not be empty"));
            }
            if self.hash_enabled && crate::auth::unified::parse_hash(&rule.api_key).is_none() {
                return Err(ConfigError::invalid(
                    file,
                    &key("apiKey"),
                    "hashEnabled is true: the key must be iterations:saltHex:hashHex",
                ));
            }
        }
        Ok(())
    }
}

/// `basic-auth.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuthConfig {
    /// Whether the handler checks anything.
    #[serde(default)]
    pub enabled: bool,
    /// Upstream: Active Directory lookups (unused there too). Accepted as either value only
    /// because upstream's template sets it true; no directory is ever asked.
    #[serde(default = "yes", rename = "enableAD")]
    pub enable_ad: bool,
    /// A request without credentials passes as user `anonymous` when that user exists.
    #[serde(default)]
    pub allow_anonymous: bool,
    /// A bearer scheme passes as user `bearer` when that user exists (the token is not checked).
    #[serde(default)]
    pub allow_bearer_token: bool,
    /// Users: a list of `{username, password, paths}` or a map of name to password (or to
    /// `{password, paths}`), or a JSON string of either.
    #[serde(default)]
    pub users: Option<serde_json::Value>,
}

/// One basic-auth user.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicUser {
    /// The name.
    #[serde(default)]
    pub username: String,
    /// The password (plain, as upstream stores it).
    #[serde(default)]
    pub password: String,
    /// Path prefixes the user may reach; empty: all.
    #[serde(default, deserialize_with = "string_list")]
    pub paths: Vec<String>,
}

impl std::fmt::Debug for BasicUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicUser")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("paths", &self.paths)
            .finish()
    }
}

impl BasicAuthConfig {
    /// The users, in whichever of upstream's shapes they were written.
    ///
    /// # Errors
    /// A shape that is none of them, named with `file`.
    pub fn users(&self, file: &str) -> Result<Vec<BasicUser>, ConfigError> {
        let bad = |reason: String| ConfigError::invalid(file, "users", reason);
        let value = match &self.users {
            None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
            Some(serde_json::Value::String(text)) if text.trim().is_empty() => return Ok(Vec::new()),
            Some(serde_json::Value::String(text)) => serde_saphyr::from_str::<serde_json::Value>(text)
                .map_err(|e| bad(format!("not a YAML/JSON list or map of users: {e}")))?,
            Some(other) => other.clone(),
        };
        match value {
            serde_json::Value::Array(_) => {
                serde_json::from_value(value).map_err(|e| bad(format!("a user entry is wrong: {e}")))
            }
            serde_json::Value::Object(map) => map
                .into_iter()
                .map(|(name, entry)| match entry {
                    serde_json::Value::String(password) => Ok(BasicUser {
                        username: name,
                        password,
                        paths: Vec::new(),
                    }),
                    other => {
                        let mut user: BasicUser =
                            serde_json::from_value(other).map_err(|e| bad(format!("user '{name}' is wrong: {e}")))?;
                        user.username = name;
                        Ok(user)
                    }
                })
                .collect(),
            other => Err(bad(format!("expected a list or a map of users, found {other}"))),
        }
    }
}
