//! What a tool's config derives: its backend URL (`targetHost` + `path`), the name sent to the
//! backend and its runtime metadata.

use serde_json::Value;

use super::ToolConfig;
use crate::config::ConfigError;

impl ToolConfig {
    /// Whether private and loopback targets are allowed for this tool.
    pub fn allow_private_target(&self) -> bool {
        self.tool_metadata
            .pointer("/runtime/allowPrivateTargetHost")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The per-tool timeout, if set.
    pub fn timeout_ms(&self) -> Option<u64> {
        self.tool_metadata.pointer("/runtime/timeoutMs").and_then(Value::as_u64)
    }

    /// The name sent to the backend.
    pub fn backend_name(&self) -> &str {
        self.endpoint_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.name)
    }

    /// The backend URL: `targetHost` with `path` appended.
    ///
    /// # Errors
    /// No or a malformed `targetHost`.
    pub fn url(&self, file: &str, i: usize) -> Result<url::Url, ConfigError> {
        let key = format!("tools[{i}].targetHost");
        let base = self
            .target_host
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ConfigError::invalid(file, &key, format!("tool '{}' has no targetHost", self.name)))?;
        let mut url = url::Url::parse(base.trim())
            .map_err(|e| ConfigError::invalid(file, &key, format!("'{base}' is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::invalid(
                file,
                &key,
                format!("'{base}' is not an http(s) URL"),
            ));
        }
        let base_path = url.path().trim_end_matches('/').to_string();
        let tool_path = self.path.trim().trim_start_matches('/');
        let joined = match (base_path.is_empty(), tool_path.is_empty()) {
            (true, true) => "/".to_string(),
            (false, true) => base_path,
            _ => format!("{base_path}/{tool_path}"),
        };
        url.set_path(&joined);
        Ok(url)
    }
}
