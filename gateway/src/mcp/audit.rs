//! The audit log (`mcp-audit.yml`; README, "Audit log"): one JSON line per tools/call on
//! standard output, apart from the logs on standard error, so a log shipper routes the two
//! apart by stream, and so `RUST_LOG` or the controller's `set_logging_filter` can never
//! silence the audit trail by accident. Upstream light-gateway has no audit file of its own,
//! and light-4j's `audit.yml` means something else, hence the name.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::registry::config_snapshot::is_secret_key;

/// What a masked argument reads as.
const MASK: &str = "*";

/// `mcp-audit.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditConfig {
    /// Whether tools/call lines are written.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether the call's arguments are in the line (masked).
    #[serde(default)]
    pub log_arguments: bool,
    /// Argument keys (at any depth, any case) whose values are masked, besides every key that
    /// names a secret (`password`, `token`, `apiKey`, `secret`, ...).
    #[serde(default)]
    pub masked_arguments: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            log_arguments: false,
            masked_arguments: Vec::new(),
        }
    }
}

impl AuditConfig {
    /// `arguments` with every secret or listed key's value replaced by `*`.
    pub fn masked(&self, mut arguments: Value) -> Value {
        self.mask(&mut arguments);
        arguments
    }

    fn mask(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if self.masks(key) {
                        *item = Value::String(MASK.into());
                    } else {
                        self.mask(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask(item)),
            _ => {}
        }
    }

    fn masks(&self, key: &str) -> bool {
        is_secret_key(key) || self.masked_arguments.iter().any(|k| k.eq_ignore_ascii_case(key))
    }
}

/// Set once a line could not be written, so the warning is logged once, not per call.
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes one audit line (`line` as compact JSON and a newline) to standard output.
pub fn emit(line: &Map<String, Value>) {
    let mut text = match serde_json::to_vec(line) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(reason = %e, "an audit line could not be serialised");
            return;
        }
    };
    text.push(b'\n');
    // One write of the whole line under the lock: lines of concurrent calls never interleave.
    let written = std::io::stdout().lock().write_all(&text);
    if let Err(e) = written
        && !WRITE_FAILED.swap(true, Ordering::Relaxed)
    {
        tracing::error!(reason = %e, "audit lines cannot be written to standard output; further failures are not logged");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_and_listed_keys_are_masked_at_any_depth() {
        let config = AuditConfig {
            masked_arguments: vec!["SSN".into()],
            ..AuditConfig::default()
        };
        let masked = config.masked(json!({
            "query": "weather", "password": "p", "nested": {"apiKey": "k", "ssn": "123", "list": [{"token": "t", "n": 1}]}
        }));
        assert_eq!(
            masked,
            json!({"query": "weather", "password": "*", "nested": {"apiKey": "*", "ssn": "*", "list": [{"token": "*", "n": 1}]}})
        );
    }

    #[test]
    fn a_typo_is_refused() {
        let e = serde_json::from_value::<AuditConfig>(json!({"logArgument": true})).unwrap_err();
        assert!(e.to_string().contains("logArgument"), "{e}");
    }
}
