//! `mcp-router.yml` (docs/protocols.md#mcp): typed, strict, checked at startup. Keys upstream has that
//! this gateway does not use are accepted and named as unused; keys nobody knows are errors.
//!
//! This module is the schema and its defaults; [`validate`] holds the rules checked at startup
//! (the SSRF policy for literal targets among them) and [`tool`] what a tool's config derives
//! (its backend URL, name and runtime metadata).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

mod tool;
mod validate;

pub use validate::valid_tool_name;

/// The router's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpRouterConfig {
    /// Whether the router serves at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Streamable HTTP endpoint.
    #[serde(default = "default_path")]
    pub path: String,
    /// Most legacy sessions at once (503 beyond).
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
    /// Most legacy sessions per client address (429 beyond).
    #[serde(default = "default_max_sessions_per_client")]
    pub max_sessions_per_client: usize,
    /// A legacy session unused this long ends (its backend sessions too).
    #[serde(default = "default_idle")]
    pub session_idle_timeout_ms: u64,
    /// Largest request body (413 beyond).
    #[serde(default = "default_request_limit")]
    pub max_request_body_bytes: usize,
    /// Largest backend answer passed on (an error beyond).
    #[serde(default = "default_response_limit")]
    pub max_response_body_bytes: usize,
    /// Deepest nesting of arrays and objects in a request (400 beyond); at most 128, the
    /// depth the JSON parser itself stops at.
    #[serde(default = "default_json_depth")]
    pub max_json_depth: usize,
    /// Backend calls in flight, of both eras together (the call fails beyond).
    #[serde(default = "default_max_concurrent_backend_calls")]
    pub max_concurrent_backend_calls: usize,
    /// Default backend timeout per call; `toolMetadata.runtime.timeoutMs` overrides it.
    #[serde(default = "default_backend_timeout")]
    pub backend_timeout_ms: u64,
    /// Browser origins allowed (403 for others, and for every Origin when empty; `*` allows
    /// all). Requests without an Origin header are not from a browser page and pass.
    #[serde(default)]
    pub origin_allowlist: Vec<String>,
    /// Host names (or `host:port`) the router answers to, others 403; empty answers any.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// TLS for HTTPS backends, apart from `client.yml`'s.
    #[serde(default)]
    pub backend_tls: super::backend::tls::BackendTlsConfig,
    /// Client headers forwarded to backends. `Authorization` and `Cookie` are never forwarded
    /// unless listed here.
    #[serde(default)]
    pub forward_client_headers: Vec<String>,
    /// Protocol eras.
    #[serde(default)]
    pub protocols: Protocols,
    /// Accepted for upstream compatibility; not used.
    #[serde(default)]
    pub schema: Option<Value>,
    /// Accepted for upstream compatibility; not used.
    #[serde(default)]
    pub workflow: Option<Value>,
    /// The tools offered.
    #[serde(default)]
    pub tools: Vec<ToolConfig>,
}

/// `protocols`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Protocols {
    /// Sessions and `initialize` (2025-11-25 and older).
    #[serde(default)]
    pub legacy: Era,
    /// 2026-07-28: `server/discover`, no sessions.
    #[serde(default = "Era::stateless")]
    pub stateless: StatelessEra,
}

/// One era's switch and versions.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Era {
    /// Whether the era is served.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Versions served, preferred first.
    #[serde(default = "legacy_versions")]
    pub versions: Vec<String>,
}

impl Default for Era {
    fn default() -> Self {
        Self {
            enabled: true,
            versions: legacy_versions(),
        }
    }
}

impl Era {
    fn stateless() -> StatelessEra {
        StatelessEra::default()
    }
}

/// The stateless era's settings (unknown keys land in `upstream_tuning` and are checked there).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatelessEra {
    /// Whether the era is served.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Versions served.
    #[serde(default = "stateless_versions")]
    pub versions: Vec<String>,
    /// A stateless client reaching a legacy-only backend: `bridge` (the gateway keeps the
    /// backend session) or `reject`.
    #[serde(default)]
    pub stateless_to_legacy_bridge: Bridge,
    /// Stateless requests in flight in the gateway (429 beyond).
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Stateless requests in flight per principal (anonymous callers: per address; 429 beyond).
    #[serde(default = "default_max_concurrent_per_caller")]
    pub max_concurrent_requests_per_principal: usize,
    /// Calls in flight to one backend target from stateless callers or to stateless backends
    /// (the call fails beyond).
    #[serde(default = "default_max_concurrent_per_caller")]
    pub max_concurrent_backend_calls_per_target: usize,
    /// Upstream cache and subscription tuning, accepted and not used.
    #[serde(flatten)]
    pub upstream_tuning: HashMap<String, Value>,
}

impl Default for StatelessEra {
    fn default() -> Self {
        Self {
            enabled: true,
            versions: stateless_versions(),
            stateless_to_legacy_bridge: Bridge::Bridge,
            max_concurrent_requests: default_max_concurrent_requests(),
            max_concurrent_requests_per_principal: default_max_concurrent_per_caller(),
            max_concurrent_backend_calls_per_target: default_max_concurrent_per_caller(),
            upstream_tuning: HashMap::new(),
        }
    }
}

/// Era bridging policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bridge {
    /// Keep the backend session in the gateway.
    #[default]
    Bridge,
    /// Refuse with an error naming the tool.
    Reject,
}

/// Upstream's stateless tuning keys; anything else under `stateless` is refused.
const UPSTREAM_STATELESS_KEYS: &[&str] = &[
    "discoverTtlMs",
    "discoverCacheScope",
    "toolsListTtlMs",
    "toolsListCacheScope",
    "maxDiscoverCacheEntries",
    "maxToolsListCacheEntries",
    "maxToolsListItems",
    "maxSubscriptions",
    "maxSubscriptionsPerPrincipal",
    "maxSubscriptionDurationMs",
];

/// Legacy versions this gateway speaks.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// Stateless versions this gateway speaks.
pub const STATELESS_VERSIONS: &[&str] = &["2026-07-28"];

/// One `tools` entry (unknown keys land in `upstream_only` and are checked there).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// The name clients see.
    pub name: String,
    /// The name at the backend (defaults to `name`).
    #[serde(default)]
    pub endpoint_name: Option<String>,
    /// Shown in tools/list.
    #[serde(default)]
    pub description: String,
    /// `mcp` (the gateway is an MCP client of the backend) or `http` (a JSON API).
    #[serde(default)]
    pub api_type: ApiType,
    /// Backend base URL.
    #[serde(default)]
    pub target_host: Option<String>,
    /// Path appended to `targetHost`.
    #[serde(default)]
    pub path: String,
    /// HTTP method for `http` tools.
    #[serde(default)]
    pub method: HttpMethod,
    /// JSON schema of the arguments.
    #[serde(default = "object_schema")]
    pub input_schema: Value,
    /// JSON schema of structured results.
    #[serde(default)]
    pub output_schema: Option<Value>,
    /// Free-form metadata; `runtime.allowPrivateTargetHost` and `runtime.timeoutMs` are read.
    #[serde(default)]
    pub tool_metadata: Value,
    /// The backend's era (default legacy, as upstream).
    #[serde(default)]
    pub backend_mcp_protocol: Option<BackendProtocol>,
    /// Offer the backend's own tools under a prefix instead of this one tool.
    #[serde(default)]
    pub aggregate: Option<Aggregate>,
    /// The key of the tool's access-control rules (default `<name>@call`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Upstream discovery and workflow fields: refused when set (not implemented here).
    #[serde(flatten)]
    pub upstream_only: HashMap<String, Value>,
}

/// Upstream tool keys this gateway does not implement.
const UPSTREAM_TOOL_KEYS: &[&str] = &[
    "protocol",
    "serviceId",
    "envTag",
    "executionPlacement",
    "workflowBinding",
    "sessionIndependent",
    "backendCredentialMode",
    "backendResource",
];

/// The kind of backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiType {
    /// A JSON HTTP API (upstream's default).
    #[default]
    Http,
    /// An MCP server.
    Mcp,
}

/// A backend MCP server's era.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendProtocol {
    /// `initialize` and sessions.
    #[default]
    Legacy,
    /// 2026-07-28, no sessions.
    Stateless,
}

/// HTTP method of an `http` tool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// Arguments as query parameters.
    #[default]
    #[serde(alias = "get")]
    Get,
    /// Arguments as a JSON body.
    #[serde(alias = "post")]
    Post,
    /// Arguments as a JSON body.
    #[serde(alias = "put")]
    Put,
    /// Arguments as a JSON body.
    #[serde(alias = "patch")]
    Patch,
    /// Arguments as query parameters.
    #[serde(alias = "delete")]
    Delete,
}

/// Aggregation: the backend's tools offered as `<prefix>_<tool>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Aggregate {
    /// Prefix of the offered names.
    pub prefix: String,
    /// How often the backend's tools/list is fetched again.
    #[serde(default = "default_refresh")]
    pub refresh_interval_ms: u64,
}

fn yes() -> bool {
    true
}
fn default_path() -> String {
    "/mcp".into()
}
fn default_max_sessions() -> usize {
    10_000
}
fn default_max_sessions_per_client() -> usize {
    100
}
fn default_idle() -> u64 {
    1_800_000
}
fn default_request_limit() -> usize {
    1 << 20
}
fn default_response_limit() -> usize {
    4 << 20
}
fn default_backend_timeout() -> u64 {
    30_000
}
/// Upstream's defaults for the stateless limits and the JSON depth.
fn default_max_concurrent_requests() -> usize {
    1024
}
fn default_max_concurrent_backend_calls() -> usize {
    4096
}
fn default_max_concurrent_per_caller() -> usize {
    32
}
fn default_json_depth() -> usize {
    MAX_JSON_DEPTH
}

/// The depth serde_json stops parsing at: a larger `maxJsonDepth` could not be honoured.
pub const MAX_JSON_DEPTH: usize = 128;

fn default_refresh() -> u64 {
    60_000
}
fn legacy_versions() -> Vec<String> {
    LEGACY_VERSIONS.iter().map(|v| v.to_string()).collect()
}
fn stateless_versions() -> Vec<String> {
    STATELESS_VERSIONS.iter().map(|v| v.to_string()).collect()
}
fn object_schema() -> Value {
    serde_json::json!({"type": "object"})
}
