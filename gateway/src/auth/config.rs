//! The auth files as upstream writes them (`security.yml`, `unified-security.yml`,
//! `apikey.yml`, `basic-auth.yml`, the key service in `client.yml`), typed and strict. Every
//! upstream key is either honoured or refused with a reason when set to something this gateway
//! does not do; a key nobody knows is an error. Details: `docs/protocols.md#auth`.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// A list written as a YAML list, a comma-separated string or a JSON-array string (upstream
/// accepts all three, and config-server values often carry the string forms).
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Raw::List(list)) => list,
        Some(Raw::Text(text)) => split_list(&text).map_err(de::Error::custom)?,
    })
}

/// `a, b` or `["a","b"]` as a list; blanks dropped.
pub fn split_list(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim();
    let items: Vec<String> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|e| format!("'{text}' is not a JSON list of strings: {e}"))?
    } else {
        text.split(',').map(str::to_string).collect()
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

/// A list of objects written as a YAML list or as a JSON string holding one.
fn object_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let value = match value {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::String(text)) if text.trim().is_empty() => return Ok(Vec::new()),
        Some(serde_json::Value::String(text)) => {
            serde_json::from_str(&text).map_err(|e| de::Error::custom(format!("not a JSON list: {e}")))?
        }
        Some(other) => other,
    };
    serde_json::from_value(value).map_err(de::Error::custom)
}

fn yes() -> bool {
    true
}

/// `security.yml`: the `jwt` (alias `security`) handler.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityConfig {
    /// Whether tokens are verified at all (false: the handler passes every request through
    /// without a principal).
    #[serde(default = "yes")]
    pub enable_verify_jwt: bool,
    /// Whether the token must carry every scope in `requiredScopes`.
    #[serde(default)]
    pub enable_verify_scope: bool,
    /// Signature algorithms accepted (this gateway's key; default every asymmetric one it
    /// verifies: RS256/384/512, PS256/384/512, ES256/384, EdDSA).
    #[serde(default = "all_algorithms", deserialize_with = "string_list")]
    pub algorithms: Vec<String>,
    /// Scopes a token must carry when `enableVerifyScope` is true (this gateway's key:
    /// upstream parses `enableVerifyScope` and checks nothing).
    #[serde(default, deserialize_with = "string_list")]
    pub required_scopes: Vec<String>,
    /// Skip the `exp` check (and do not require `exp`).
    #[serde(default)]
    pub ignore_jwt_expiry: bool,
    /// A token without `kid` may be checked against every key of its algorithm.
    #[serde(default)]
    pub enable_relaxed_key_validation: bool,
    /// The `iss` a token must carry; empty: any.
    #[serde(default)]
    pub issuer: String,
    /// `aud` must name one of these; empty: any.
    #[serde(default, deserialize_with = "string_list")]
    pub audience: Vec<String>,
    /// Request paths that pass without a token.
    #[serde(default, deserialize_with = "string_list")]
    pub skip_path_prefixes: Vec<String>,
    /// `jwt.clockSkewInSeconds`.
    #[serde(default)]
    pub jwt: JwtSection,
    /// Fetch the keys at startup. This gateway always does (a failure is logged and retried,
    /// never fatal, as upstream), so both values are honoured.
    #[serde(default)]
    pub bootstrap_from_key_service: bool,
    /// Take the token from `X-Scope-Token` when `Authorization` carries no bearer token.
    #[serde(default)]
    pub enable_extract_scope_token: bool,
    /// Cache verified tokens (by their SHA-256) until they expire.
    #[serde(default = "yes")]
    pub enable_jwt_cache: bool,
    /// Most cached tokens.
    #[serde(default = "default_cache_size")]
    pub jwt_cache_full_size: u64,
    /// What an MCP client reads at `/.well-known/oauth-protected-resource` (RFC 9728).
    #[serde(default)]
    pub protected_resource: ProtectedResource,
    /// Upstream: unused there. Refused when set.
    #[serde(default)]
    pub provider_id: String,
    /// Upstream: a fixed fake principal. Refused when true.
    #[serde(default)]
    pub enable_mock_jwt: bool,
    /// Upstream: allows `Upgrade: h2c`. This gateway serves no h2c upgrade; refused when true.
    #[serde(default)]
    pub enable_h2c: bool,
    /// Upstream: copies claims into proxied request headers. Nothing is proxied here; refused
    /// when set.
    #[serde(default)]
    pub pass_through_claims: Option<serde_json::Value>,
    /// Upstream: opaque token introspection. Not implemented; refused when true.
    #[serde(default)]
    pub enable_verify_swt: bool,
    /// Upstream: SWT header names, only meaningful with `enableVerifySwt`.
    #[serde(default)]
    pub swt_client_id_header: Option<String>,
    /// Upstream: SWT header names, only meaningful with `enableVerifySwt`.
    #[serde(default)]
    pub swt_client_secret_header: Option<String>,
    /// Upstream: scope checks driven by an OpenAPI spec. Refused when true.
    #[serde(default)]
    pub skip_verify_scope_without_spec: bool,
    /// Upstream: logs tokens. Tokens are never logged here; refused when true.
    #[serde(default)]
    pub log_jwt_token: bool,
    /// Upstream: logs client, user and scope per request. Refused when true.
    #[serde(default)]
    pub log_client_user_scope: bool,
}

/// Every algorithm the verifier can use.
pub const SUPPORTED_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn all_algorithms() -> Vec<String> {
    SUPPORTED_ALGORITHMS.iter().map(|a| a.to_string()).collect()
}

fn default_cache_size() -> u64 {
    1000
}

/// `security.yml` `jwt`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtSection {
    /// Leeway for `exp` and `nbf`.
    #[serde(default = "default_skew")]
    pub clock_skew_in_seconds: u64,
}

impl Default for JwtSection {
    fn default() -> Self {
        Self {
            clock_skew_in_seconds: default_skew(),
        }
    }
}

fn default_skew() -> u64 {
    60
}

/// OAuth 2.0 Protected Resource Metadata (RFC 9728), as served to MCP clients.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtectedResource {
    /// The resource identifier (the MCP endpoint's public URL); empty: the URL the request used.
    #[serde(default)]
    pub resource: String,
    /// Authorization servers (issuer URLs) a client gets tokens from; empty: `[issuer]`.
    #[serde(default, deserialize_with = "string_list")]
    pub authorization_servers: Vec<String>,
    /// Scopes a client may ask for.
    #[serde(default, deserialize_with = "string_list")]
    pub scopes_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default)]
    pub resource_name: String,
}

impl SecurityConfig {
    /// Checks what the gateway can honour.
    ///
    /// # Errors
    /// A setting this gateway would otherwise accept and ignore, named with its key.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let refuse = |key: &str, reason: &str| Err(ConfigError::invalid(file, key, reason));
        if self.enable_mock_jwt {
            return refuse("enableMockJwt", "mock principals are not supported; set it to false");
        }
        if self.enable_h2c {
            return refuse("enableH2c", "this gateway serves no h2c upgrade; set it to false");
        }
        if self.enable_verify_swt {
            return refuse(
                "enableVerifySwt",
                "opaque token (SWT) introspection is not implemented; use JWTs",
            );
        }
        if self.skip_verify_scope_without_spec {
            return refuse(
                "skipVerifyScopeWithoutSpec",
                "scopes are not read from an OpenAPI spec here; use requiredScopes",
            );
        }
        if self.log_jwt_token || self.log_client_user_scope {
            return refuse(
                if self.log_jwt_token {
                    "logJwtToken"
                } else {
                    "logClientUserScope"
                },
                "tokens and per-request identities are never logged by this gateway; set it to false",
            );
        }
        if !self.provider_id.trim().is_empty() {
            return refuse(
                "providerId",
                "providerId has no meaning in this gateway; leave it empty",
            );
        }
        if self.pass_through_claims.as_ref().is_some_and(|v| !is_empty_value(v)) {
            return refuse(
                "passThroughClaims",
                "nothing is proxied to carry the claims; remove passThroughClaims",
            );
        }
        if self.enable_verify_scope && self.required_scopes.is_empty() {
            return refuse(
                "requiredScopes",
                "enableVerifyScope is true but requiredScopes is empty: list the scopes a token must carry, or set enableVerifyScope: false",
            );
        }
        if self.algorithms.is_empty() {
            return refuse("algorithms", "no algorithm would be accepted; list at least one");
        }
        if let Some(bad) = self
            .algorithms
            .iter()
            .find(|a| !SUPPORTED_ALGORITHMS.contains(&a.as_str()))
        {
            return Err(ConfigError::invalid(
                file,
                "algorithms",
                format!(
                    "'{bad}' is not accepted (symmetric and unsigned tokens never are); use {}",
                    SUPPORTED_ALGORITHMS.join(", ")
                ),
            ));
        }
        if self.enable_jwt_cache && self.jwt_cache_full_size == 0 {
            return refuse("jwtCacheFullSize", "must be at least 1 while enableJwtCache is true");
        }
        Ok(())
    }

    /// The authorization servers named in the metadata document.
    pub fn authorization_servers(&self) -> Vec<String> {
        if self.protected_resource.authorization_servers.is_empty() && !self.issuer.trim().is_empty() {
            vec![self.issuer.trim().to_string()]
        } else {
            self.protected_resource.authorization_servers.clone()
        }
    }
}

fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.trim().is_empty() || s.trim() == "{}",
        serde_json::Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

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
            if self.hash_enabled && super::unified::parse_hash(&rule.api_key).is_none() {
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

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
