//! The runtime config as the controller may see it (`get_service_info`): every file the gateway
//! runs with, placeholders resolved, secrets replaced by `"*"` (docs/protocols.md#controller).
//!
//! A value is masked when its key names a secret ([`is_secret_key`]), when it is still a
//! `CRYPT:` value, or when it carries a known secret: a decrypted `CRYPT:` value, the portal
//! token, or the value of any secret-named key, wherever it was copied to. The snapshot is taken
//! once at startup: without hot reload the running config cannot change.

use serde_json::{Map, Value};

use crate::config::crypt;
use crate::config::files::load;
use crate::config::sources::parse_yaml;
use crate::config::{BootstrapConfig, ConfigDirs, Env, Layers, Phase, RuntimeConfig};

/// What a masked value reads as (upstream's mask).
pub const MASK: &str = "*";

/// Key-name endings that mark a secret, compared lower-cased with `-` and `_` removed:
/// upstream's default and client masks (`password`, `secret`, `clientSecret`, `apiKey`, `token`,
/// `portalToken`, `privateKey`, `tlsKeyPath`, `keyPass`, `authorization`, ...) generalised to
/// any key that ends with one, so `client_secret`, `x-api-key` and `clientKeyPath` are caught.
const SECRET_KEY_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "privatekey",
    "keypath",
    "keypass",
    "storepass",
    // metrics.yml's push password (upstream's `serverPass`).
    "serverpass",
    "credential",
    "credentials",
];

/// A known secret shorter than this is masked only where a value equals it: a short one
/// (`"1"`) inside longer text would mask unrelated values.
const MIN_CONTAINED_SECRET: usize = 8;

/// The files shown, by upstream's module ids (light-fabric `light-runtime`, `light-pingora`).
pub const FILES: &[ConfigFileKind] = &[
    ConfigFileKind::core("light-runtime/startup", "startup"),
    ConfigFileKind::core("light-runtime/server", "server"),
    ConfigFileKind::core("light-runtime/portal-registry", "portal-registry"),
    ConfigFileKind::core("light-client/client", "client"),
    ConfigFileKind::framework("light-pingora/handler", "handler"),
    ConfigFileKind::framework("light-pingora/mcp-router", "mcp-router"),
    ConfigFileKind::framework("light-pingora/security", "security"),
    ConfigFileKind::framework("light-pingora/unified-security", "unified-security"),
    ConfigFileKind::framework("light-pingora/apikey", "apikey"),
    ConfigFileKind::framework("light-pingora/basic-auth", "basic-auth"),
    ConfigFileKind::framework("light-pingora/access-control", "access-control"),
    ConfigFileKind::framework("light-pingora/rule", "rule"),
    ConfigFileKind::framework("light-pingora/metrics", "metrics"),
];

/// One config file the gateway runs with, as a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigFileKind {
    /// Upstream's module id.
    pub module_id: &'static str,
    /// The file name without `.yml` (upstream's `configName`).
    pub config_name: &'static str,
    /// `core` or `framework`, as upstream classes it.
    pub kind: &'static str,
}

impl ConfigFileKind {
    const fn core(module_id: &'static str, config_name: &'static str) -> Self {
        Self {
            module_id,
            config_name,
            kind: "core",
        }
    }

    const fn framework(module_id: &'static str, config_name: &'static str) -> Self {
        Self {
            module_id,
            config_name,
            kind: "framework",
        }
    }
}

/// One file of the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedFile {
    /// Which file.
    pub kind: ConfigFileKind,
    /// Where it came from (`config-cache/server.yml`, `embedded:server.yml`).
    pub source: Option<String>,
    /// The resolved, masked document; the load error (which withholds secrets) when it failed.
    pub config: Result<Value, String>,
}

/// The masked config, taken once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSnapshot {
    /// Every file of [`FILES`], in that order.
    pub files: Vec<MaskedFile>,
    /// The values files merged, lowest first (`config-server` last when it answered).
    pub value_sources: Vec<String>,
}

impl ConfigSnapshot {
    /// Loads every file of [`FILES`] as the gateway does (startup.yml from the bootstrap
    /// sources, the rest from the runtime ones) and masks it.
    pub fn gather(rt: &RuntimeConfig, boot: &BootstrapConfig, dirs: &ConfigDirs, env: &dyn Env) -> Self {
        let bootstrap = Layers::new(dirs.clone(), Phase::Bootstrap);
        let runtime = Layers::new(dirs.clone(), Phase::Runtime);
        let bootstrap_values = bootstrap.values().map(|m| m.values).unwrap_or_default();
        let password = env.var(crypt::PASSWORD_ENV);
        let mut secrets = KnownSecrets::default();
        for token in [
            &boot.authorization,
            &rt.registry.portal_token,
            &rt.registry.controller_discovery_token,
        ] {
            secrets.add_text(token.as_deref().unwrap_or_default());
        }
        for values in [&rt.values, &bootstrap_values] {
            for (key, value) in values {
                secrets.collect(key, value, password.as_deref());
            }
        }
        let mut loaded = Vec::new();
        for kind in FILES {
            let name = format!("{}.yml", kind.config_name);
            let (layers, result) = if kind.config_name == "startup" {
                (&bootstrap, load::<Value>(&bootstrap, &bootstrap_values, env, &name))
            } else {
                (&runtime, rt.file::<Value>(env, &name))
            };
            // CRYPT: values written in the file itself are decrypted by the load; find them raw.
            if let Ok(Some(raw)) = layers.file(&name)
                && let Ok(doc) = parse_yaml(&raw.label, &raw.text)
            {
                secrets.collect("", &doc, password.as_deref());
            }
            if let Ok((doc, _)) = &result {
                secrets.collect("", doc, None);
            }
            loaded.push((kind, result));
        }
        let files = loaded
            .into_iter()
            .map(|(kind, result)| match result {
                Ok((mut doc, label)) => {
                    mask(&mut doc, &secrets);
                    MaskedFile {
                        kind: *kind,
                        source: Some(label),
                        config: Ok(doc),
                    }
                }
                Err(e) => MaskedFile {
                    kind: *kind,
                    source: None,
                    config: Err(secrets.withhold(&e.to_string())),
                },
            })
            .collect();
        Self {
            files,
            value_sources: rt.value_sources.clone(),
        }
    }

    /// The masked document of `config_name`, if it loaded.
    pub fn config(&self, config_name: &str) -> Option<&Value> {
        self.files
            .iter()
            .find(|f| f.kind.config_name == config_name)
            .and_then(|f| f.config.as_ref().ok())
    }
}

/// Whether a key names a secret (see [`SECRET_KEY_ENDINGS`]).
pub fn is_secret_key(key: &str) -> bool {
    let normalized: String = key
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEY_ENDINGS.iter().any(|ending| normalized.ends_with(ending))
}

/// Secret values seen while gathering, to mask wherever they were copied.
#[derive(Debug, Default)]
pub struct KnownSecrets {
    values: Vec<String>,
    /// `CRYPT:` values already decrypted: each costs 65,536 PBKDF2 rounds, and the bootstrap and
    /// runtime values maps mostly repeat each other.
    decrypted: Vec<String>,
}

impl KnownSecrets {
    /// Remembers `text` (and the token inside a `Bearer <token>`) as a secret.
    pub fn add_text(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if let Some((scheme, rest)) = text.split_once(char::is_whitespace)
            && scheme.eq_ignore_ascii_case("bearer")
        {
            self.add_text(rest);
        }
        if !self.values.iter().any(|s| s == text) {
            self.values.push(text.to_string());
        }
    }

    /// Remembers the secrets inside `value` found under `key` (a dotted values key, or `""`):
    /// the scalars of secret-named keys and, with `password`, decrypted `CRYPT:` values.
    pub fn collect(&mut self, key: &str, value: &Value, password: Option<&str>) {
        let last = key.rsplit('.').next().unwrap_or(key);
        match value {
            Value::String(s) if s.starts_with(crypt::PREFIX) => {
                if self.decrypted.contains(s) {
                    return;
                }
                if let Ok(plain) = crypt::decrypt(s, password) {
                    self.decrypted.push(s.clone());
                    self.add_text(&plain);
                }
            }
            Value::String(s) if is_secret_key(last) => self.add_text(s),
            Value::Number(n) if is_secret_key(last) => self.add_text(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|item| self.collect(key, item, password)),
            Value::Object(map) => map.iter().for_each(|(k, v)| self.collect(k, v, password)),
            _ => {}
        }
    }

    /// Whether `text` is, or carries, a known secret.
    pub fn hides(&self, text: &str) -> bool {
        self.values
            .iter()
            .any(|secret| text == secret || (secret.len() >= MIN_CONTAINED_SECRET && text.contains(secret.as_str())))
    }

    /// `text` with every known secret replaced by the mask (for error messages).
    pub fn withhold(&self, text: &str) -> String {
        let mut longest_first: Vec<&String> = self.values.iter().collect();
        longest_first.sort_by_key(|s| std::cmp::Reverse(s.len()));
        longest_first
            .into_iter()
            .filter(|s| s.len() >= MIN_CONTAINED_SECRET)
            .fold(text.to_string(), |out, secret| out.replace(secret.as_str(), MASK))
    }
}

/// Masks `value` in place (see the module docs). Booleans, nulls and empty strings are kept:
/// they carry no secret and show whether one is set.
pub fn mask(value: &mut Value, secrets: &KnownSecrets) {
    match value {
        Value::Object(map) => mask_map(map, secrets),
        Value::Array(items) => items.iter_mut().for_each(|item| mask(item, secrets)),
        Value::String(s) if s.starts_with(crypt::PREFIX) || secrets.hides(s) => *value = Value::String(MASK.into()),
        _ => {}
    }
}

fn mask_map(map: &mut Map<String, Value>, secrets: &KnownSecrets) {
    for (key, value) in map.iter_mut() {
        if is_secret_key(key) {
            mask_all_scalars(value);
        } else {
            mask(value, secrets);
        }
    }
}

/// Under a secret-named key every scalar is a secret, however deep; maps and lists keep their
/// shape (upstream groups whole sections under such names: `client.yml` `oauth.token`).
fn mask_all_scalars(value: &mut Value) {
    match value {
        Value::String(s) if s.is_empty() => {}
        Value::String(_) | Value::Number(_) => *value = Value::String(MASK.into()),
        Value::Array(items) => items.iter_mut().for_each(mask_all_scalars),
        Value::Object(map) => map.values_mut().for_each(mask_all_scalars),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    #[rstest]
    #[case("password", true)]
    #[case("portalToken", true)]
    #[case("controllerDiscoveryToken", true)]
    #[case("client_secret", true)]
    #[case("clientSecret", true)]
    #[case("apiKey", true)]
    #[case("X-API-Key", true)]
    #[case("authorization", true)]
    #[case("Proxy-Authorization", true)]
    #[case("tlsKeyPath", true)]
    #[case("clientKeyPath", true)]
    #[case("keyStorePass", true)]
    #[case("privateKey", true)]
    #[case("serverPass", true)]
    #[case("serviceId", false)]
    #[case("caCertPath", false)]
    #[case("portalUrl", false)]
    #[case("server_url", false)]
    #[case("keys", false)]
    fn secret_keys_are_known_by_name(#[case] key: &str, #[case] secret: bool) {
        assert_eq!(is_secret_key(key), secret, "{key}");
    }

    fn masked(doc: Value, secrets: &KnownSecrets) -> Value {
        let mut doc = doc;
        mask(&mut doc, secrets);
        doc
    }

    #[test]
    fn secret_named_keys_are_masked_at_any_depth_and_the_rest_is_kept() {
        let doc = json!({
            "portalUrl": "http://controller:8438",
            "portalToken": "Bearer eyJ.raw-portal.sig",
            "oauth": {"token": {"key": {"server_url": "https://keys", "client_secret": "raw-client-secret"}}},
            "users": [{"username": "bob", "password": "raw-password", "paths": ["/mcp"]}],
            "pathPrefixAuths": [{"pathPrefix": "/mcp", "headerName": "x-api-key", "apiKey": 12345678}],
            "enableExtractScopeToken": false,
            "controllerDiscoveryToken": "",
        });
        let out = masked(doc, &KnownSecrets::default());
        assert_eq!(out["portalUrl"], "http://controller:8438");
        assert_eq!(out["portalToken"], MASK);
        assert_eq!(
            out["oauth"]["token"]["key"]["server_url"], MASK,
            "all under `token` is secret"
        );
        assert_eq!(out["oauth"]["token"]["key"]["client_secret"], MASK);
        assert_eq!(out["users"][0]["password"], MASK);
        assert_eq!(out["users"][0]["username"], "bob");
        assert_eq!(out["pathPrefixAuths"][0]["apiKey"], MASK);
        assert_eq!(out["pathPrefixAuths"][0]["headerName"], "x-api-key");
        assert_eq!(out["enableExtractScopeToken"], false, "a switch is no secret");
        assert_eq!(out["controllerDiscoveryToken"], "", "an unset secret shows as unset");
        assert!(!out.to_string().contains("raw-"), "{out}");
    }

    #[test]
    fn crypt_values_and_copies_of_known_secrets_are_masked_under_any_key() {
        let password = "config-password";
        let encrypted = crypt::encrypt("decrypted-header-secret", password, b"0123456789abcdef");
        let mut secrets = KnownSecrets::default();
        secrets.collect("mcp-router.headerValue", &json!(encrypted), Some(password));
        secrets.collect("client.tokenKeyClientSecret", &json!("values-client-secret"), None);
        secrets.add_text("Bearer eyJ.portal-token.sig");
        let doc = json!({
            "tools": [{"name": "echo", "headers": {"X-Custom": "decrypted-header-secret"}}],
            "url": "https://user:values-client-secret@backend/mcp",
            "still": encrypted,
            "note": "eyJ.portal-token.sig",
            "short": "1",
            "plain": "visible",
        });
        let out = masked(doc, &secrets);
        assert_eq!(out["tools"][0]["headers"]["X-Custom"], MASK);
        assert_eq!(out["tools"][0]["name"], "echo");
        assert_eq!(out["url"], MASK);
        assert_eq!(out["still"], MASK);
        assert_eq!(out["note"], MASK, "the bare token of a Bearer value");
        assert_eq!(
            (out["short"].clone(), out["plain"].clone()),
            (json!("1"), json!("visible"))
        );
    }

    #[test]
    fn a_short_secret_masks_only_equal_values() {
        let mut secrets = KnownSecrets::default();
        secrets.collect("apikey.apiKey", &json!("abc"), None);
        let out = masked(json!({"a": "abc", "b": "abcdef"}), &secrets);
        assert_eq!(out, json!({"a": MASK, "b": "abcdef"}));
    }

    #[test]
    fn withheld_text_names_no_secret() {
        let mut secrets = KnownSecrets::default();
        secrets.add_text("Bearer eyJ.portal-token.sig");
        assert_eq!(
            secrets.withhold("bad value Bearer eyJ.portal-token.sig here"),
            "bad value * here"
        );
    }
}
