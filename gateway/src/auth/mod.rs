//! Protecting MCP traffic, upstream's way: the `jwt` (alias `security`), `unified-security`,
//! `apikey` and `basic-auth` handlers of `handler.yml` chains authenticate the caller before
//! `mcp` runs, and `access-control` (`access-control.yml` + `rule.yml`) decides per tool.
//! `/health` never needs credentials; the OAuth protected-resource metadata is public.
//! Wire details: `docs/protocols.md#auth`.

pub mod access;
pub mod challenge;
pub mod config;
pub mod jwt;
pub mod keys;
pub mod principal;
pub mod unified;

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderMap;
use tracing::info;

use self::access::AccessPolicy;
use self::config::{ApiKeyConfig, BasicAuthConfig, ClientOauth, SecurityConfig, UnifiedSecurityConfig};
use self::jwt::{JwtVerifier, Refusal, bearer};
use self::keys::{KeyStore, Timing};
use self::principal::Principal;
use self::unified::{ApiKeys, BasicUsers, Unified};
use crate::config::{ConfigError, Env, RuntimeConfig};
use crate::handler::Activation;

/// Handler ids that authenticate.
pub const JWT_IDS: &[&str] = &["jwt", "security"];
/// `unified-security` and its alias.
pub const UNIFIED_IDS: &[&str] = &["unified-security", "unified"];
/// `apikey` and its alias.
pub const APIKEY_IDS: &[&str] = &["apikey", "api-key"];
/// `basic-auth` and its alias.
pub const BASIC_IDS: &[&str] = &["basic-auth", "basic"];

/// Why auth could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A config rule is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An HTTP client for the key service could not be built.
    #[error("failed to build the key service client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The authentication handlers of the active chains, and the access policy.
pub struct Auth {
    activation: Activation,
    jwt: Option<JwtVerifier>,
    unified: Option<Unified>,
    apikeys: Option<ApiKeys>,
    basic: Option<BasicUsers>,
    security: Option<Arc<SecurityConfig>>,
    stores: Vec<Arc<KeyStore>>,
    /// The per-tool policy (off unless `access-control.enabled`).
    pub policy: Arc<AccessPolicy>,
}

/// `<file> loaded` for the config, as the resolved path label.
fn load<T: serde::de::DeserializeOwned>(
    rt: &RuntimeConfig,
    env: &dyn Env,
    name: &str,
) -> Result<(T, String), ConfigError> {
    rt.file::<T>(env, name)
}

impl Auth {
    /// Builds what `activation` uses. `tls` is the outbound trust for the key service.
    ///
    /// # Errors
    /// A config rule is broken (named with file and key).
    pub fn build(
        rt: &RuntimeConfig,
        env: &dyn Env,
        activation: Activation,
        tls: &rustls::ClientConfig,
        timing: Timing,
    ) -> Result<Self, AuthError> {
        let uses = |ids: &[&str]| activation.uses_any(ids);
        let (unified, unified_file) = if uses(UNIFIED_IDS) {
            let (config, file) = load::<UnifiedSecurityConfig>(rt, env, "unified-security.yml")?;
            config.validate(&file)?;
            (Some(Unified::new(config)), Some(file))
        } else {
            (None, None)
        };
        let unified_uses = |pick: fn(&config::PrefixAuth) -> bool| unified.as_ref().is_some_and(|u| u.uses(pick));
        let needs_jwt = uses(JWT_IDS) || unified_uses(|r| r.jwt || r.sjwt);
        let (jwt, security, stores) = if needs_jwt {
            let (config, file) = load::<SecurityConfig>(rt, env, "security.yml")?;
            config.validate(&file)?;
            let (oauth, client_file) = load::<ClientOauthFile>(rt, env, "client.yml")?;
            let (default, by_service) = oauth.oauth.token.key.providers(&client_file)?;
            let key = |k: &str| format!("oauth.token.key.{k}");
            let mut stores = Vec::new();
            let default = match default {
                Some(provider) => Some(Arc::new(KeyStore::new(provider, tls.clone(), timing)?)),
                None if uses(JWT_IDS) || unified.as_ref().is_some_and(|u| u.default_keys_needed()) => {
                    return Err(ConfigError::invalid(
                        &client_file,
                        &key("server_url"),
                        "JWT verification is on (handler.yml) but no key service is set: set server_url here (the embedded and chart templates read it from the value client.tokenKeyServerUrl)",
                    )
                    .into());
                }
                None => None,
            };
            stores.extend(default.clone());
            let mut services = BTreeMap::new();
            for (id, provider) in by_service {
                let store = Arc::new(KeyStore::new(provider, tls.clone(), timing)?);
                stores.push(store.clone());
                services.insert(id, store);
            }
            if let (Some(u), Some(file)) = (&unified, &unified_file)
                && let Some(missing) = u.service_ids().find(|id| !services.contains_key(*id))
            {
                return Err(ConfigError::invalid(
                    file,
                    "pathPrefixAuths",
                    format!("key provider '{missing}' is not in client.yml oauth.token.key.serviceIdAuthServers"),
                )
                .into());
            }
            if config.enable_verify_jwt && stores.is_empty() {
                return Err(ConfigError::invalid(
                    &client_file,
                    &key("server_url"),
                    "no key service is set (value client.tokenKeyServerUrl in the templates)",
                )
                .into());
            }
            let config = Arc::new(config);
            (
                Some(JwtVerifier::new(config.clone(), default, services)),
                Some(config),
                stores,
            )
        } else {
            (None, None, Vec::new())
        };
        let apikeys = if uses(APIKEY_IDS) || unified_uses(|r| r.apikey) {
            let (config, file) = load::<ApiKeyConfig>(rt, env, "apikey.yml")?;
            config.validate(&file)?;
            Some(ApiKeys::new(&config))
        } else {
            None
        };
        let basic = if uses(BASIC_IDS) || unified_uses(|r| r.basic) {
            let (config, file) = load::<BasicAuthConfig>(rt, env, "basic-auth.yml")?;
            Some(BasicUsers::new(&config, &file)?)
        } else {
            None
        };
        let (access, access_file) = load::<access::AccessControlConfig>(rt, env, "access-control.yml")?;
        let (rules, rules_file) = load::<access::rules::RuleFile>(rt, env, "rule.yml")?;
        let policy = AccessPolicy::new(access, &access_file, &rules, &rules_file)?;
        if uses(&["access-control"]) && !policy.enabled() {
            return Err(ConfigError::invalid(
                &access_file,
                "enabled",
                "handler.yml runs access-control but access-control.enabled is false: set it true, or take the handler out of the chain",
            )
            .into());
        }
        Ok(Self {
            activation,
            jwt,
            unified,
            apikeys,
            basic,
            security,
            stores,
            policy: Arc::new(policy),
        })
    }

    /// Whether any request can need credentials.
    pub fn authenticates(&self) -> bool {
        self.jwt.is_some() || self.unified.is_some() || self.apikeys.is_some() || self.basic.is_some()
    }

    /// The key stores (fetched before ready, refreshed in the background).
    pub fn key_stores(&self) -> &[Arc<KeyStore>] {
        &self.stores
    }

    /// Fetches every key set once (failures are logged by the store, never fatal) and keeps
    /// them fresh in the background.
    pub async fn start_key_refresh(&self) {
        for store in &self.stores {
            let _ = store.refresh().await;
            tokio::spawn(KeyStore::refresh_forever(Arc::downgrade(store)));
        }
        if !self.stores.is_empty() {
            info!(providers = self.stores.len(), "key service refresh running");
        }
    }

    /// Which handlers run where (`handler.yml`), as these handlers were built for.
    pub fn activation(&self) -> &Activation {
        &self.activation
    }

    /// The security settings behind the metadata document, when JWTs are verified.
    pub fn security(&self) -> Option<&SecurityConfig> {
        self.security.as_deref().filter(|s| s.enable_verify_jwt)
    }

    /// The chain for `method` and `path`. The router owns every method on its path (`mcp_path`),
    /// so a method no rule names there takes the chain of POST, which `handler.yml` names for MCP.
    fn chain(&self, method: &str, path: &str, mcp_path: Option<&str>) -> &[String] {
        let chain = self.activation.handlers_for(path, method);
        if mcp_path == Some(path) && !chain.iter().any(|id| id == crate::handler::MCP) {
            return self.activation.handlers_for(path, "POST");
        }
        chain
    }

    /// Authenticates a request by its chain: the principal, or why it is refused.
    ///
    /// # Errors
    /// [`Refusal`].
    pub async fn check(
        &self,
        method: &str,
        path: &str,
        mcp_path: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<Principal>>, Refusal> {
        let mut principal = None;
        for id in self.chain(method, path, mcp_path) {
            let id = id.as_str();
            if JWT_IDS.contains(&id) {
                let Some(jwt) = &self.jwt else { continue };
                let config = jwt.config();
                if !config.enable_verify_jwt || config.skip_path_prefixes.iter().any(|p| path.starts_with(p.as_str())) {
                    continue;
                }
                let token = bearer(headers, config.enable_extract_scope_token)?;
                principal = Some(jwt.verify(token, &[], true).await?);
            } else if UNIFIED_IDS.contains(&id) {
                if let Some(unified) = &self.unified
                    && let Some(found) = unified
                        .check(
                            path,
                            headers,
                            self.jwt.as_ref(),
                            self.basic.as_ref(),
                            self.apikeys.as_ref(),
                        )
                        .await?
                {
                    principal = Some(found);
                }
            } else if APIKEY_IDS.contains(&id) {
                if let Some(keys) = &self.apikeys {
                    keys.check(path, headers, false)?;
                }
            } else if BASIC_IDS.contains(&id)
                && let Some(basic) = &self.basic
                && let Some(found) = basic.check(path, headers)?
            {
                principal = Some(found);
            }
        }
        Ok(principal)
    }
}

/// `client.yml` read only for its `oauth` section (the TLS section is read elsewhere).
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct ClientOauthFile {
    #[serde(default)]
    oauth: ClientOauth,
}
