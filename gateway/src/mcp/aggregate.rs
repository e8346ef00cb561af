//! Aggregation: a tool entry with `aggregate` offers its backend's own tools as
//! `<prefix>_<tool>`, listed from the backend and refreshed on an interval.

use std::time::Duration;

use serde_json::Value;

use super::backend::Backends;
use super::backend::mcp_client;
use super::config::{BackendProtocol, ToolConfig, valid_tool_name};
use super::tools::{Listing, Target, Tool};

/// One aggregated backend.
#[derive(Debug, Clone)]
pub struct Source {
    /// The entry's name (for logs).
    pub entry: String,
    /// Prefix of the offered names.
    pub prefix: String,
    /// The backend endpoint.
    pub url: url::Url,
    /// Its era.
    pub protocol: BackendProtocol,
    /// Refresh interval.
    pub refresh: Duration,
    /// Whether private targets are allowed.
    pub allow_private: bool,
    /// Call timeout for the offered tools.
    pub timeout: Duration,
}

impl Source {
    /// The source for an entry with `aggregate` (URL already validated).
    pub fn from_config(tool: &ToolConfig, url: url::Url, default_timeout: Duration) -> Option<Self> {
        let aggregate = tool.aggregate.as_ref()?;
        Some(Self {
            entry: tool.name.clone(),
            prefix: aggregate.prefix.clone(),
            url,
            protocol: tool.backend_mcp_protocol.unwrap_or_default(),
            refresh: Duration::from_millis(aggregate.refresh_interval_ms),
            allow_private: tool.allow_private_target(),
            timeout: tool.timeout_ms().map_or(default_timeout, Duration::from_millis),
        })
    }

    /// Lists the backend's tools as prefixed gateway tools.
    ///
    /// # Errors
    /// The backend's tools/list failed.
    pub async fn fetch(&self, backends: &Backends) -> Result<Vec<(Tool, Listing)>, String> {
        let pool = backends.pool_for(self.allow_private);
        let listed = mcp_client::list_tools(pool, backends.max_response(), &self.url, self.protocol)
            .await
            .map_err(|e| match e {
                super::backend::CallError::Backend(reason) => reason,
                super::backend::CallError::JsonRpc(raw) => raw.get().to_string(),
            })?;
        let tools = listed
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for item in tools {
            let Some(backend_name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            let name = prefixed(&self.prefix, backend_name);
            if !valid_tool_name(&name) {
                tracing::warn!(entry = %self.entry, tool = backend_name, "aggregated tool name cannot be offered; skipped");
                continue;
            }
            let tool = Tool {
                name: name.clone(),
                backend_name: backend_name.to_string(),
                target: Target::Mcp {
                    url: self.url.clone(),
                    protocol: self.protocol,
                },
                timeout: self.timeout,
                allow_private: self.allow_private,
                endpoint: super::tools::default_endpoint(&name),
            };
            let listing = Listing {
                name,
                description: item
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                input_schema: item
                    .get("inputSchema")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                output_schema: item.get("outputSchema").and_then(Value::as_object).cloned(),
            };
            out.push((tool, listing));
        }
        Ok(out)
    }
}

/// `<prefix>_<tool>` with characters outside `[A-Za-z0-9_.-]` replaced by `_`, cut to 128.
pub fn prefixed(prefix: &str, tool: &str) -> String {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{prefix}_{clean}");
    name.truncate(128);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_names_keep_to_the_spec_alphabet_and_length() {
        assert_eq!(prefixed("b1", "echo"), "b1_echo");
        assert_eq!(prefixed("b1", "say hi/now"), "b1_say_hi_now");
        let long = prefixed("p", &"x".repeat(300));
        assert_eq!(long.len(), 128);
        assert!(valid_tool_name(&long));
    }
}
