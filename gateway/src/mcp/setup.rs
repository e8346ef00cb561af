//! From runtime config to a running router: `handler.yml` decides whether `mcp` serves,
//! `mcp-router.yml` gives the tools; aggregated tool lists are fetched before ready and
//! refreshed in the background.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::aggregate::Source;
use super::audit::AuditConfig;
use super::backend::Backends;
use super::config::McpRouterConfig;
use super::correlation::CorrelationConfig;
use super::router::{Router, RouterError};
use super::tools::{self, Listing, Tool, ToolTable};
use crate::config::{ConfigDirs, Env, RuntimeConfig};
use crate::handler::Activation;

/// The router and what refreshes its tools.
pub struct McpService {
    /// The router.
    pub router: Arc<Router>,
    static_tools: Vec<(Tool, Listing)>,
    sources: Vec<Source>,
}

/// Builds the router when `mcp` is active (by `activation`) on the router's path and `enabled`
/// is true. A reload passes the router in service as `previous`: its sessions are kept, and its
/// backend clients too when the new config would build the same ones.
///
/// # Errors
/// A config error (naming file and key) or an unusable TLS setting.
pub fn build(
    rt: &RuntimeConfig,
    env: &dyn Env,
    dirs: &ConfigDirs,
    activation: &Activation,
    previous: Option<&Router>,
) -> Result<Option<McpService>, RouterError> {
    let (config, file) = rt.file::<McpRouterConfig>(env, "mcp-router.yml")?;
    config.validate(&file)?;
    if !config.enabled || !activation.mcp_on_path(&config.path) {
        let reason = if config.enabled {
            "no handler.yml path runs the mcp handler"
        } else {
            "mcp-router.enabled is false"
        };
        if config.tools.is_empty() {
            info!(reason, "MCP router off");
        } else {
            warn!(
                reason,
                tools = config.tools.len(),
                "MCP router off although tools are configured"
            );
        }
        return Ok(None);
    }
    let timeout = Duration::from_millis(config.backend_timeout_ms);
    let (mut static_tools, mut sources) = (Vec::new(), Vec::new());
    for (i, tool) in config.tools.iter().enumerate() {
        let url = tool.url(&file, i)?;
        match Source::from_config(tool, url.clone(), timeout) {
            Some(source) => sources.push(source),
            None => static_tools.push(tools::from_config(tool, url, timeout)),
        }
    }
    let backends = match previous.filter(|p| same_backends(p.config(), &config)) {
        Some(previous) => previous.backends.clone(),
        None => Arc::new(Backends::new(
            super::backend::tls::client_config(&config.backend_tls, dirs)?,
            config.max_response_body_bytes,
            (
                config.max_concurrent_backend_calls,
                config.protocols.stateless.max_concurrent_backend_calls_per_target,
            ),
            Duration::from_millis(config.session_idle_timeout_ms),
        )),
    };
    let sessions = Router::new_sessions(&config, previous);
    info!(path = %config.path, tools = static_tools.len(), aggregated = sources.len(), "MCP router on");
    let (correlation, _) = rt.file::<CorrelationConfig>(env, "correlation.yml")?;
    let (audit, audit_file) = rt.file::<AuditConfig>(env, "mcp-audit.yml")?;
    info!(
        file = audit_file,
        enabled = audit.enabled,
        arguments = audit.log_arguments,
        "tools/call audit lines on standard output"
    );
    let router = Arc::new(
        Router::new(config, &file, ToolTable::new(static_tools.clone()), backends, sessions)?
            .with_observability(correlation, audit),
    );
    Ok(Some(McpService {
        router,
        static_tools,
        sources,
    }))
}

/// Whether backend clients built for `old` serve `new` as they are: the same limits and TLS
/// settings, and no TLS file named (its content may have changed on disk since). Keeping them
/// keeps their warm connections and the bridge's backend sessions across a reload.
fn same_backends(old: &McpRouterConfig, new: &McpRouterConfig) -> bool {
    let tls = &new.backend_tls;
    let names_a_file = [&tls.ca_cert_path, &tls.client_cert_path, &tls.client_key_path]
        .into_iter()
        .any(|path| path.as_deref().is_some_and(|p| !p.trim().is_empty()));
    !names_a_file
        && old.backend_tls == new.backend_tls
        && old.max_response_body_bytes == new.max_response_body_bytes
        && old.max_concurrent_backend_calls == new.max_concurrent_backend_calls
        && old.protocols.stateless.max_concurrent_backend_calls_per_target
            == new.protocols.stateless.max_concurrent_backend_calls_per_target
        && old.session_idle_timeout_ms == new.session_idle_timeout_ms
}

impl McpService {
    /// Fetches every aggregated list once (all at once, each within its entry's timeout) and
    /// installs the table; failures are logged and the source's previous tools are kept.
    pub async fn refresh(&self, previous: &mut Vec<Vec<(Tool, Listing)>>) {
        previous.resize(self.sources.len(), Vec::new());
        let fetched = super::aggregate::fetch_all(&self.sources, &self.router.backends).await;
        for ((source, kept), outcome) in self.sources.iter().zip(previous.iter_mut()).zip(fetched) {
            match outcome {
                Ok(found) => *kept = found,
                Err(reason) => {
                    warn!(entry = %source.entry, backend = %source.url, reason, "aggregated tools/list failed; keeping the last list")
                }
            }
        }
        let mut all = self.static_tools.clone();
        let mut names: std::collections::HashSet<String> = all.iter().map(|(t, _)| t.name.clone()).collect();
        for (tool, listing) in previous.iter().flatten() {
            if names.insert(tool.name.clone()) {
                all.push((tool.clone(), listing.clone()));
            } else {
                warn!(tool = %tool.name, "aggregated tool name already taken; skipped");
            }
        }
        self.router.tools.store(Arc::new(ToolTable::new(all)));
    }

    /// Whether any entry aggregates.
    pub fn aggregates(&self) -> bool {
        !self.sources.is_empty()
    }

    /// Refreshes forever at the shortest configured interval (run it on a background task).
    pub async fn refresh_forever(self: Arc<Self>, mut previous: Vec<Vec<(Tool, Listing)>>) {
        let Some(every) = self.sources.iter().map(|s| s.refresh).min() else {
            return;
        };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            self.refresh(&mut previous).await;
        }
    }
}
