//! Request dispatch: method and headers, era, session, then the JSON-RPC method.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{HeaderMap, HeaderName, Method};
use rmcp::model::{
    DiscoverResult, Implementation, InitializeResult, ProtocolVersion, ServerCapabilities, ToolsCapability,
};
use serde_json::value::RawValue;

use super::audit::AuditConfig;
use super::backend::{Backends, LegacySessions};
use super::client_address::ClientAddresses;
use super::config::McpRouterConfig;
use super::correlation::{Correlation, CorrelationConfig};
use super::hosts::AllowedHosts;
use super::limits::{Admission, Refused};
use super::protocol::{self, Answer, Era, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID, Refusal};
use super::replies::{answer, error_reply};
use super::sessions::{Full, Holder, Session, Sessions};
use super::tools::ToolTable;
use super::wire::{self, CallParams, CommonParams, Incoming, ParseError};
use super::{McpError, Reply};
use crate::auth::access::AccessPolicy;
use crate::auth::principal::Principal;

// tools/call and tools/list: a child module, so it reads the router's fields as they are.
#[path = "tools_call.rs"]
mod tools_call;
use tools_call::Owner;

/// A request as the router sees it (no Pingora types, so it tests without a server).
pub struct HttpRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The whole body (already within `maxRequestBodyBytes`).
    pub body: &'a [u8],
    /// The peer's address (per-client limits of anonymous callers count against it, or
    /// against the client a trusted proxy names).
    pub client: IpAddr,
    /// The `Host` header, or HTTP/2's `:authority`.
    pub authority: Option<&'a str>,
    /// The authenticated caller, when the chain has an auth handler.
    pub principal: Option<Arc<Principal>>,
    /// The per-tool access policy, when access control is on. It comes with the request (from
    /// the auth handlers that admitted it) so a reload of either side never mixes the two.
    pub policy: Option<&'a AccessPolicy>,
    /// Its correlation ids: the router fills them in ([`Router::handle`]), the caller leaves the
    /// default.
    pub correlation: Correlation,
}

impl HttpRequest<'_> {
    /// Who the request's sessions count against and belong to.
    fn holder(&self, clients: &ClientAddresses) -> Holder {
        match &self.principal {
            Some(p) => Holder::Principal(p.binding.clone()),
            None => Holder::Address(clients.of(self.client, self.headers)),
        }
    }
}

/// The router could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// A config rule is broken.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// `backendTls` names a file that cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// The MCP router.
pub struct Router {
    config: McpRouterConfig,
    /// The current tools (swapped whole when aggregated lists refresh).
    pub(crate) tools: ArcSwap<ToolTable>,
    /// Legacy frontend sessions (kept by a reload).
    sessions: Arc<Sessions>,
    /// Backend clients and the bridge's sessions (kept by a reload that does not change them).
    pub(crate) backends: Arc<Backends>,
    forward: Vec<HeaderName>,
    server_info: Implementation,
    /// Stands in for session tables where a backend keeps no session (never written).
    no_sessions: LegacySessions,
    /// Stateless requests in flight, in all and per caller.
    admission: Admission<Holder>,
    /// `allowedHosts`.
    hosts: AllowedHosts,
    /// `trustedProxies`: whose address a client's limits count against.
    clients: ClientAddresses,
    /// `correlation.yml`.
    correlation: Arc<CorrelationConfig>,
    /// `mcp-audit.yml`.
    audit: Arc<AuditConfig>,
}

/// rmcp's version type from a configured (validated) version string.
fn version_of(version: &str) -> ProtocolVersion {
    serde_json::from_value(serde_json::Value::String(version.to_string())).unwrap_or_default()
}

fn capabilities() -> ServerCapabilities {
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(false);
    let mut caps = ServerCapabilities::default();
    caps.tools = Some(tools);
    caps
}

impl Router {
    /// A router over a validated config (from `file`), its initial tools, backend clients and
    /// session table (see [`Router::new_sessions`]).
    ///
    /// # Errors
    /// `allowedHosts` or `trustedProxies` entries that do not parse.
    pub fn new(
        config: McpRouterConfig,
        file: &str,
        tools: ToolTable,
        backends: Arc<Backends>,
        sessions: Arc<Sessions>,
    ) -> Result<Self, RouterError> {
        let hosts = AllowedHosts::parse(file, &config.allowed_hosts)?;
        let clients = ClientAddresses::parse(file, &config.trusted_proxies)?;
        let forward = config
            .forward_client_headers
            .iter()
            .filter_map(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok())
            .collect();
        let admission = Admission::new(
            config.protocols.stateless.max_concurrent_requests,
            config.protocols.stateless.max_concurrent_requests_per_principal,
        );
        Ok(Self {
            config,
            tools: ArcSwap::from_pointee(tools),
            sessions,
            backends,
            forward,
            server_info: Implementation::new("light-gateway", env!("CARGO_PKG_VERSION")),
            no_sessions: LegacySessions::default(),
            admission,
            hosts,
            clients,
            correlation: Arc::default(),
            // No audit lines until a config asks for them: a router built without one (tests,
            // fuzzing) must not write to standard output.
            audit: Arc::new(AuditConfig {
                enabled: false,
                ..AuditConfig::default()
            }),
        })
    }

    /// The router with `correlation.yml` and `mcp-audit.yml` (until then: correlation's
    /// defaults and no audit lines).
    #[must_use]
    pub fn with_observability(mut self, correlation: CorrelationConfig, audit: AuditConfig) -> Self {
        self.correlation = Arc::new(correlation);
        self.audit = Arc::new(audit);
        self
    }

    /// The config.
    pub fn config(&self) -> &McpRouterConfig {
        &self.config
    }

    /// A session table with `config`'s limits; with `previous`, that router's table under the
    /// new limits, so a reload keeps the open sessions.
    pub fn new_sessions(config: &McpRouterConfig, previous: Option<&Router>) -> Arc<Sessions> {
        let idle = Duration::from_millis(config.session_idle_timeout_ms);
        match previous {
            Some(previous) => {
                let sessions = previous.sessions.clone();
                sessions.set_limits(config.max_sessions, config.max_sessions_per_client, idle);
                sessions
            }
            None => Arc::new(Sessions::new(config.max_sessions, config.max_sessions_per_client, idle)),
        }
    }

    /// Its gauges for a metrics scrape.
    pub fn sample(&self) -> crate::metrics::Sampled {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        crate::metrics::Sampled {
            sessions: count(self.sessions.len()),
            bridge_callers: count(self.backends.bridge.callers()),
            idle_backend_connections: count(self.backends.idle_connections()),
        }
    }

    /// Answers one HTTP request on the MCP path, with its correlation ids. Not an `async fn`:
    /// the request moves into [`Router::answer`]'s future before the wrapper's is made, so the
    /// wrapper adds only the reply headers to the per-request future (which Pingora copies into
    /// a box for every request).
    pub fn handle<'a>(
        self: &'a Arc<Self>,
        mut request: HttpRequest<'a>,
    ) -> impl std::future::Future<Output = Reply> + Send + 'a {
        request.correlation = Correlation::of(&self.correlation, request.headers);
        let headers: Vec<_> = request.correlation.reply_headers().collect();
        // `map`, not an `async move` block: a block would hold the inner future twice (as its
        // capture and as its awaited state).
        futures_util::FutureExt::map(self.answer(request), move |mut reply| {
            reply.headers.extend(headers);
            reply
        })
    }

    async fn answer(self: &Arc<Self>, request: HttpRequest<'_>) -> Reply {
        if !self.hosts.allow(request.authority) {
            return error_reply(
                403,
                None,
                &McpError::InvalidRequest("Host is not in allowedHosts".into()),
                Answer::Json,
                request.correlation.id.as_deref(),
            );
        }
        if !protocol::origin_allowed(&self.config, request.headers) {
            return error_reply(
                403,
                None,
                &McpError::InvalidRequest("Origin is not in originAllowlist".into()),
                Answer::Json,
                request.correlation.id.as_deref(),
            );
        }
        match *request.method {
            Method::POST => self.post(request).await,
            Method::DELETE => self.delete(
                request.headers,
                &request.holder(&self.clients),
                request.correlation.id.as_deref(),
            ),
            _ => {
                let mut reply = Reply::empty(405);
                reply.headers.push((http::header::ALLOW, "POST, DELETE".into()));
                reply
            }
        }
    }

    fn delete(&self, headers: &HeaderMap, holder: &Holder, correlation: Option<&str>) -> Reply {
        let Some(id) = headers.get(HEADER_SESSION_ID).and_then(|v| v.to_str().ok()) else {
            return error_reply(400, None, &McpError::MissingSession, Answer::Json, correlation);
        };
        if let Err(e) = self.session(headers, holder) {
            let (status, _) = e.status_and_code();
            return error_reply(status, None, &e, Answer::Json, correlation);
        }
        match self.sessions.remove(id) {
            Some(session) => {
                self.end(vec![session]);
                Reply::empty(204)
            }
            None => error_reply(
                404,
                None,
                &McpError::UnknownSession(id.to_string()),
                Answer::Json,
                correlation,
            ),
        }
    }

    fn end(&self, sessions: Vec<Arc<Session>>) {
        for session in sessions {
            self.backends.close_sessions(session.backends.drain());
        }
    }

    async fn post(self: &Arc<Self>, request: HttpRequest<'_>) -> Reply {
        let Some(mode) = protocol::answer_mode(request.headers) else {
            let mut reply = Reply::empty(406);
            reply
                .headers
                .push((http::header::ACCEPT, "application/json, text/event-stream".into()));
            return reply;
        };
        if wire::nests_deeper_than(request.body, self.config.max_json_depth) {
            let e = McpError::InvalidRequest(format!(
                "the body nests deeper than maxJsonDepth ({})",
                self.config.max_json_depth
            ));
            return error_reply(400, None, &e, mode, request.correlation.id.as_deref());
        }
        if !protocol::declares_json(request.headers) {
            let e = McpError::InvalidRequest("Content-Type must be application/json".into());
            return error_reply(415, None, &e, mode, request.correlation.id.as_deref());
        }
        let message = match wire::parse(request.body) {
            Ok(m) => m,
            Err(ParseError::Json(e)) => {
                return error_reply(400, None, &McpError::Parse(e), mode, request.correlation.id.as_deref());
            }
            Err(ParseError::Batch) => {
                return error_reply(
                    400,
                    None,
                    &McpError::InvalidRequest("batch requests are not supported".into()),
                    mode,
                    request.correlation.id.as_deref(),
                );
            }
            Err(ParseError::NotJsonRpc(e)) => {
                return error_reply(
                    400,
                    None,
                    &McpError::InvalidRequest(e.into()),
                    mode,
                    request.correlation.id.as_deref(),
                );
            }
        };
        let Some(method) = message.method.as_deref() else {
            return Reply::empty(202); // a response to a server request: nothing to answer
        };
        match self.dispatch(&request, &message, method, mode).await {
            Ok(reply) => reply,
            Err(e) => {
                let (status, _) = e.status_and_code();
                error_reply(status, message.id, &e, mode, request.correlation.id.as_deref())
            }
        }
    }

    async fn dispatch(
        self: &Arc<Self>,
        request: &HttpRequest<'_>,
        message: &Incoming<'_>,
        method: &str,
        mode: Answer,
    ) -> Result<Reply, McpError> {
        let raw_params = message.params.map_or("{}", RawValue::get);
        let call: Option<CallParams> = if method == "tools/call" {
            Some(
                serde_json::from_str(raw_params)
                    .map_err(|e| McpError::InvalidParams(format!("tools/call params: {e}")))?,
            )
        } else {
            None
        };
        let common: CommonParams = if call.is_some() {
            CommonParams::default()
        } else {
            serde_json::from_str(raw_params).unwrap_or_default()
        };
        let meta_version = match &call {
            Some(c) => c.meta.as_ref().and_then(|m| m.protocol_version.as_deref()),
            None => common.meta.as_ref().and_then(|m| m.protocol_version.as_deref()),
        };
        let era = protocol::era(&self.config, request.headers, method, meta_version).map_err(|r| self.refusal(r))?;
        let Some(id) = message.id else {
            return Ok(Reply::empty(202)); // notifications need no answer
        };
        match era {
            Era::Stateless(version) => {
                protocol::check_stateless_headers(request.headers, method, call.as_ref().map(|c| c.name.as_ref()))
                    .map_err(|r| self.refusal(r))?;
                self.stateless(id, method, &version, call, request, mode).await
            }
            Era::Legacy if method == "initialize" => self.initialize(
                id,
                common.protocol_version.as_deref(),
                request.holder(&self.clients),
                mode,
            ),
            Era::Legacy => {
                let session = self.session(request.headers, &request.holder(&self.clients))?;
                self.legacy(id, method, session, call, request, mode).await
            }
        }
    }

    fn refusal(&self, refusal: Refusal) -> McpError {
        match refusal {
            Refusal::UnsupportedVersion(text) => McpError::UnsupportedVersion(text, protocol::supported(&self.config)),
            Refusal::HeaderMismatch(text) => McpError::HeaderMismatch(text),
        }
    }

    fn session(&self, headers: &HeaderMap, holder: &Holder) -> Result<Arc<Session>, McpError> {
        let id = headers
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .ok_or(McpError::MissingSession)?;
        let session = self.sessions.get(id).map_err(|expired| {
            if let Some(session) = expired {
                self.end(vec![session]);
            }
            McpError::UnknownSession(id.to_string())
        })?;
        if !session.holder.may_use(holder) {
            return Err(McpError::NotYourSession);
        }
        Ok(session)
    }

    fn initialize(&self, id: &RawValue, asked: Option<&str>, holder: Holder, mode: Answer) -> Result<Reply, McpError> {
        let versions = &self.config.protocols.legacy.versions;
        // Agree on the client's version when served, else offer our preferred one (spec).
        let version = asked
            .filter(|v| versions.iter().any(|s| s == v))
            .unwrap_or(&versions[0])
            .to_string();
        let (created, expired) = self.sessions.create(holder, &version);
        self.end(expired);
        let session = created.map_err(|full| match full {
            Full::Gateway(n) => McpError::GatewayFull(n),
            Full::Client(n) => McpError::ClientFull(n),
        })?;
        let result = InitializeResult::new(capabilities())
            .with_server_info(self.server_info.clone())
            .with_protocol_version(version_of(&version));
        let result = serde_json::to_string(&result).unwrap_or_default();
        let mut reply = answer(&wire::result_frame(id, &result), mode);
        reply
            .headers
            .push((HeaderName::from_static(HEADER_SESSION_ID), session.id.clone()));
        reply
            .headers
            .push((HeaderName::from_static(HEADER_PROTOCOL_VERSION), version));
        Ok(reply)
    }

    async fn legacy(
        self: &Arc<Self>,
        id: &RawValue,
        method: &str,
        session: Arc<Session>,
        call: Option<CallParams<'_>>,
        request: &HttpRequest<'_>,
        mode: Answer,
    ) -> Result<Reply, McpError> {
        match method {
            "tools/list" => Ok(answer(&self.list(id, false, request), mode)),
            "ping" => Ok(answer(&wire::result_frame(id, "{}"), mode)),
            "tools/call" => self.tools_call(id, call, Owner::Frontend(session), request, mode).await,
            other => Err(McpError::MethodNotFound(other.to_string())),
        }
    }

    async fn stateless(
        self: &Arc<Self>,
        id: &RawValue,
        method: &str,
        version: &str,
        call: Option<CallParams<'_>>,
        request: &HttpRequest<'_>,
        mode: Answer,
    ) -> Result<Reply, McpError> {
        // Held to the end of this request; a tools/call hands it to the call (its SSE answer).
        let admitted = self
            .admission
            .admit(&request.holder(&self.clients))
            .map_err(|refused| match refused {
                Refused::Gateway(n) => McpError::GatewayBusy(n),
                Refused::Caller(n) => McpError::CallerBusy(n),
            })?;
        match method {
            "server/discover" => {
                let versions = protocol::supported(&self.config)
                    .iter()
                    .map(|v| version_of(v))
                    .collect();
                let mut result = DiscoverResult::new(versions, capabilities());
                result.set_server_info(self.server_info.clone());
                Ok(answer(
                    &wire::result_frame(id, &serde_json::to_string(&result).unwrap_or_default()),
                    mode,
                ))
            }
            "tools/list" => Ok(answer(&self.list(id, true, request), mode)),
            "ping" => Ok(answer(&wire::result_frame(id, r#"{"resultType":"complete"}"#), mode)),
            "tools/call" => {
                let owner = Owner::Bridge(request.principal.clone(), admitted);
                self.tools_call(id, call, owner, request, mode).await
            }
            "initialize" => Err(McpError::UnsupportedVersion(
                format!("initialize is not part of {version}"),
                protocol::supported(&self.config),
            )),
            other => Err(McpError::MethodNotFound(other.to_string())),
        }
    }
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
