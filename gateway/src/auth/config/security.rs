//! `security.yml`: the `jwt` (alias `security`) handler's settings, and the protected-resource
//! metadata served to MCP clients.

use serde::{Deserialize, Serialize};

use super::{is_empty_value, string_list, yes};
use crate::config::ConfigError;

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
