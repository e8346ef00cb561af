//! The rules `mcp-router.yml` must keep, checked at startup; each error names the key. A tool's
//! literal private or loopback target is refused here unless the tool allows it (the SSRF guard
//! checks resolved addresses again at connect time).

use std::collections::HashMap;
use std::net::IpAddr;

use super::{
    ApiType, LEGACY_VERSIONS, MAX_JSON_DEPTH, McpRouterConfig, STATELESS_VERSIONS, ToolConfig, UPSTREAM_STATELESS_KEYS,
    UPSTREAM_TOOL_KEYS,
};
use crate::config::ConfigError;

/// Whether a tool or prefixed name keeps to the spec: 1-128 of `[A-Za-z0-9_.-]`.
pub fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl McpRouterConfig {
    /// Checks the rules the router relies on.
    ///
    /// # Errors
    /// The first broken rule, naming the key.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: String| ConfigError::invalid(file, key, reason);
        if !self.path.starts_with('/') {
            return Err(bad("path", format!("'{}' must start with /", self.path)));
        }
        crate::mcp::forward::check(file, &self.forward_client_headers)?;
        crate::mcp::hosts::AllowedHosts::parse(file, &self.allowed_hosts)?;
        crate::mcp::client_address::ClientAddresses::parse(file, &self.trusted_proxies)?;
        crate::mcp::backend::tls::validate(&self.backend_tls, file)?;
        if self.protocols.legacy.enabled {
            check_versions(
                file,
                "protocols.legacy.versions",
                &self.protocols.legacy.versions,
                LEGACY_VERSIONS,
            )?;
        }
        if self.protocols.stateless.enabled {
            check_versions(
                file,
                "protocols.stateless.versions",
                &self.protocols.stateless.versions,
                STATELESS_VERSIONS,
            )?;
        }
        if !self.protocols.legacy.enabled && !self.protocols.stateless.enabled {
            return Err(bad("protocols", "both eras are disabled".into()));
        }
        if !(1..=MAX_JSON_DEPTH).contains(&self.max_json_depth) {
            return Err(bad(
                "maxJsonDepth",
                format!("{} is outside 1 to {MAX_JSON_DEPTH}", self.max_json_depth),
            ));
        }
        if self.max_concurrent_backend_calls == 0 {
            return Err(bad("maxConcurrentBackendCalls", "must be greater than 0".into()));
        }
        let stateless = &self.protocols.stateless;
        for (key, value) in [
            ("maxConcurrentRequests", stateless.max_concurrent_requests),
            (
                "maxConcurrentRequestsPerPrincipal",
                stateless.max_concurrent_requests_per_principal,
            ),
            (
                "maxConcurrentBackendCallsPerTarget",
                stateless.max_concurrent_backend_calls_per_target,
            ),
        ] {
            if value == 0 {
                return Err(bad(
                    &format!("protocols.stateless.{key}"),
                    "must be greater than 0".into(),
                ));
            }
        }
        if let Some(key) = self
            .protocols
            .stateless
            .upstream_tuning
            .keys()
            .find(|k| !UPSTREAM_STATELESS_KEYS.contains(&k.as_str()))
        {
            return Err(bad(&format!("protocols.stateless.{key}"), "unknown key".into()));
        }
        let mut seen = HashMap::new();
        for (i, tool) in self.tools.iter().enumerate() {
            tool.validate(file, i)?;
            if let Some(previous) = seen.insert(tool.name.clone(), i) {
                return Err(bad(
                    &format!("tools[{i}].name"),
                    format!("'{}' is already tools[{previous}]", tool.name),
                ));
            }
        }
        Ok(())
    }
}

fn check_versions(file: &str, key: &str, versions: &[String], known: &[&str]) -> Result<(), ConfigError> {
    if versions.is_empty() {
        return Err(ConfigError::invalid(file, key, "no versions listed"));
    }
    match versions.iter().find(|v| !known.contains(&v.as_str())) {
        Some(v) => Err(ConfigError::invalid(
            file,
            key,
            format!("version '{v}' is not one of {known:?}"),
        )),
        None => Ok(()),
    }
}

impl ToolConfig {
    fn validate(&self, file: &str, i: usize) -> Result<(), ConfigError> {
        let key = |k: &str| format!("tools[{i}].{k}");
        if !valid_tool_name(&self.name) {
            return Err(ConfigError::invalid(
                file,
                &key("name"),
                format!("'{}' is not 1-128 characters of [A-Za-z0-9_.-]", self.name),
            ));
        }
        if let Some(k) = self.upstream_only.keys().next() {
            let reason = if UPSTREAM_TOOL_KEYS.contains(&k.as_str()) {
                format!("'{k}' (upstream discovery/workflow) is not implemented by this gateway; set targetHost")
            } else {
                "unknown key".into()
            };
            return Err(ConfigError::invalid(file, &key(k), reason));
        }
        if !self.input_schema.is_object() {
            return Err(ConfigError::invalid(
                file,
                &key("inputSchema"),
                "must be a JSON schema object",
            ));
        }
        let url = self.url(file, i)?;
        if let Some(host) = url.host_str() {
            let literal = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok();
            if literal.is_some_and(crate::mcp::backend::address::is_private) && !self.allow_private_target() {
                return Err(ConfigError::invalid(
                    file,
                    &key("targetHost"),
                    format!(
                        "{host} is a loopback or private address; set toolMetadata.runtime.allowPrivateTargetHost: true for approved internal targets"
                    ),
                ));
            }
        }
        if let Some(aggregate) = &self.aggregate {
            if self.api_type != ApiType::Mcp {
                return Err(ConfigError::invalid(
                    file,
                    &key("aggregate"),
                    "aggregation needs apiType: mcp",
                ));
            }
            if !valid_tool_name(&aggregate.prefix) || aggregate.prefix.len() > 64 {
                return Err(ConfigError::invalid(
                    file,
                    &key("aggregate.prefix"),
                    "must be 1-64 characters of [A-Za-z0-9_.-]",
                ));
            }
            if aggregate.refresh_interval_ms < 1000 {
                return Err(ConfigError::invalid(
                    file,
                    &key("aggregate.refreshIntervalMs"),
                    "must be at least 1000",
                ));
            }
        }
        Ok(())
    }
}
