//! The auth files as upstream writes them (`security.yml`, `unified-security.yml`,
//! `apikey.yml`, `basic-auth.yml`, the key service in `client.yml`), typed and strict. Every
//! upstream key is either honoured or refused with a reason when set to something this gateway
//! does not do; a key nobody knows is an error. Details: `docs/protocols.md#auth`.

use serde::Deserialize;
use serde::de::{self, Deserializer};

mod credentials;
mod key_service;
mod security;

pub use credentials::{ApiKeyConfig, ApiKeyRule, BasicAuthConfig, BasicUser, PrefixAuth, UnifiedSecurityConfig};
pub use key_service::{ClientOauth, ClientToken, KeyProvider, KeyServiceConfig};
pub use security::{JwtSection, ProtectedResource, SUPPORTED_ALGORITHMS, SecurityConfig};

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
pub(super) fn object_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
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

pub(super) fn yes() -> bool {
    true
}

/// Whether a setting holds nothing (null, blank, `{}` or an empty map).
pub(super) fn is_empty_value(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.trim().is_empty() || s.trim() == "{}",
        serde_json::Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
