//! The gateway's one Pingora service: admission and `/health`, then the auth handlers of the
//! request's chain, then the MCP router on its path. The work is in `auth` and `mcp` (no
//! Pingora types there).
//!
//! The gateway answers every request itself and never proxies, so it is a plain
//! `HttpServerApp` over Pingora's server sessions, not a `ProxyHttp`: the proxy's per-request
//! machinery (its future alone took a 13k-instruction copy into a box per request, 12% of a
//! stateless tools/call in the callgrind profile) would only be carried along.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession as Session;
use pingora::server::ShutdownWatch;
use pingora::{ErrorType, Result};
use tokio::sync::Notify;

use super::admission::{Admission, Decision, InFlight};
use crate::auth::principal::Principal;
use crate::auth::{Auth, challenge};
use crate::mcp::{Body, HttpRequest, McpError, Reply, Router};
use crate::metrics::{self, Route};
use crate::reload::Live;

/// How long a client may take (server.yml): Pingora's own limits are per read (60 s) and
/// none for writes or idle keep-alive connections, so a client sending or reading a byte a
/// minute could hold a connection and its task for good.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// The next request head, whole (idle keep-alive time included).
    pub head: Duration,
    /// A request body, whole.
    pub body: Duration,
    /// One write of the answer.
    pub write: Duration,
}

/// The Pingora service.
pub struct Gateway {
    deadlines: Deadlines,
    admission: Arc<Admission>,
    /// The router and auth handlers in service (a reload swaps them).
    live: Arc<Live>,
    /// Set when Pingora stops the service: idle keep-alive connections stop waiting.
    stopping: AtomicBool,
    stopped: Notify,
}

impl Gateway {
    /// A service over shared admission state and the modules in service.
    pub fn new(deadlines: Deadlines, admission: Arc<Admission>, live: Arc<Live>) -> Self {
        Self {
            deadlines,
            admission,
            live,
            stopping: AtomicBool::new(false),
            stopped: Notify::new(),
        }
    }
}

/// The modules one request is served by, read once when it is admitted: a reload during the
/// request does not change them under it.
struct InService {
    router: Option<Arc<Router>>,
    auth: Arc<Auth>,
}

impl InService {
    fn mcp_path(&self) -> Option<&str> {
        self.router.as_ref().map(|r| r.config().path.as_str())
    }

    /// The protected resource the request addressed (for challenges and the metadata document).
    fn resource(&self, session: &Session) -> Option<String> {
        let security = self.auth.security()?;
        let host = session
            .req_header()
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok());
        let tls = session.digest().is_some_and(|d| d.ssl_digest.is_some());
        Some(challenge::resource(security, host, tls, self.mcp_path().unwrap_or("/")))
    }

    /// Runs the chain's auth handlers: the principal, or `Err` after the refusal was written.
    async fn authenticate(&self, session: &mut Session) -> Result<std::result::Result<Option<Arc<Principal>>, ()>> {
        if !self.auth.authenticates() {
            return Ok(Ok(None));
        }
        let head = session.req_header();
        let checked = self
            .auth
            .check(head.method.as_str(), head.uri.path(), self.mcp_path(), &head.headers)
            .await;
        match checked {
            Ok(principal) => {
                if let Some(m) = metrics::get() {
                    m.auth("allowed");
                }
                Ok(Ok(principal))
            }
            Err(refusal) => {
                let url = self.resource(session).map(|r| challenge::metadata_url(&r));
                let answer = challenge::respond(&refusal, url.as_deref());
                if let Some(m) = metrics::get() {
                    m.auth(metrics::refusal_label(answer.status));
                }
                let mut header = ResponseHeader::build(answer.status, Some(answer.headers.len() + 3))?;
                header.insert_header("content-type", "text/plain")?;
                header.insert_header("content-length", answer.body.len().to_string())?;
                for (name, value) in answer.headers {
                    header.insert_header(name, value)?;
                }
                // The body was not read: the connection cannot carry another request.
                header.insert_header("connection", "close")?;
                session.set_keepalive(None);
                session.write_response_header(Box::new(header)).await?;
                session.write_response_body(Bytes::from(answer.body), true).await?;
                Ok(Err(()))
            }
        }
    }

    /// The RFC 9728 metadata document, when `path` names it.
    async fn serve_metadata(&self, session: &mut Session) -> Result<Option<bool>> {
        let (Some(security), Some(mcp_path)) = (self.auth.security(), self.mcp_path()) else {
            return Ok(None);
        };
        if !challenge::is_metadata_path(session.req_header().uri.path(), mcp_path) {
            return Ok(None);
        }
        let Some(resource) = self.resource(session) else {
            return Ok(None);
        };
        let body = challenge::metadata(security, &resource);
        while session.read_request_body().await?.is_some() {}
        let mut header = ResponseHeader::build(200, Some(3))?;
        header.insert_header("content-type", "application/json")?;
        header.insert_header("content-length", body.len().to_string())?;
        header.insert_header("cache-control", "max-age=300")?;
        session.write_response_header(Box::new(header)).await?;
        session.write_response_body(Bytes::from(body), true).await?;
        Ok(Some(true))
    }
}

/// Writes a small complete response; `close` ends the connection after it.
async fn respond(
    session: &mut Session,
    status: u16,
    content_type: &str,
    body: &'static [u8],
    close: bool,
) -> Result<bool> {
    let mut header = ResponseHeader::build(status, Some(4))?;
    header.insert_header("content-type", content_type)?;
    header.insert_header("content-length", body.len().to_string())?;
    if close {
        header.insert_header("connection", "close")?;
        header.insert_header("retry-after", "0")?;
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(header)).await?;
    session.write_response_body(Bytes::from_static(body), true).await?;
    Ok(true)
}

/// How much of a body sent to a path without a route is read (and dropped) to keep the
/// connection; a client sending more gets its 404 at once and the connection closed.
const UNROUTED_BODY_DRAIN_BYTES: usize = 64 * 1024;

/// Room reserved for a body before any of it arrived: a declared length is only a promise, and
/// reserving it whole would let idle connections claim `maxRequestBodyBytes` each.
const BODY_RESERVE_BYTES: usize = 16 * 1024;

/// A request body, or why there is none.
enum ReadBody {
    Whole(Vec<u8>),
    /// Past `limit` (the rest is not read).
    TooLarge,
    /// Not whole within the deadline.
    TooSlow,
}

/// Reads the whole body within `within`, at most `limit` bytes.
async fn read_body(session: &mut Session, limit: usize, within: Duration) -> Result<ReadBody> {
    let declared = session
        .req_header()
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Ok(ReadBody::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(BODY_RESERVE_BYTES));
    let whole = async {
        while let Some(chunk) = session.read_request_body().await? {
            if body.len() + chunk.len() > limit {
                return Ok(false);
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, Box<pingora::Error>>(true)
    };
    match tokio::time::timeout(within, whole).await {
        Ok(Ok(true)) => Ok(ReadBody::Whole(body)),
        Ok(Ok(false)) => Ok(ReadBody::TooLarge),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(ReadBody::TooSlow),
    }
}

/// Writes a router reply; SSE events are written as they arrive, never buffered whole.
async fn write_reply(session: &mut Session, reply: Reply) -> Result<bool> {
    let mut header = ResponseHeader::build(reply.status, Some(reply.headers.len() + 1))?;
    for (name, value) in reply.headers {
        header.insert_header(name, value)?;
    }
    match reply.body {
        Body::Empty => {
            header.insert_header("content-length", "0")?;
            session.write_response_header(Box::new(header)).await?;
        }
        Body::Full(bytes) => {
            header.insert_header("content-length", bytes.len().to_string())?;
            session.write_response_header(Box::new(header)).await?;
            session.write_response_body(bytes, true).await?;
        }
        Body::Events(mut events) => {
            session.write_response_header(Box::new(header)).await?;
            loop {
                // Between events the connection is watched: a client that leaves ends the
                // stream here, which drops `events` and so stops the call behind it.
                let next = tokio::select! {
                    event = events.recv() => Ok(event),
                    gone = session.read_body_or_idle(true) => Err(gone),
                };
                match next {
                    Ok(Some(event)) => session.write_response_body(event, false).await?,
                    Ok(None) => break,
                    Err(Err(e)) => return Err(e),
                    Err(Ok(_)) => {
                        return pingora::Error::e_explain(ErrorType::ConnectionClosed, "client sent data mid-stream");
                    }
                }
            }
            session.finish_body().await?;
        }
    }
    Ok(true)
}

impl Gateway {
    async fn serve_mcp(
        &self,
        session: &mut Session,
        modules: &InService,
        router: &Arc<Router>,
        principal: Option<Arc<Principal>>,
    ) -> Result<bool> {
        let limit = router.config().max_request_body_bytes;
        let (status, reason) = match read_body(session, limit, self.deadlines.body).await? {
            ReadBody::Whole(body) => return dispatch(session, modules, router, principal, &body).await,
            ReadBody::TooLarge => (413, format!("the body exceeds maxRequestBodyBytes ({limit})")),
            ReadBody::TooSlow => (
                408,
                format!(
                    "the body did not arrive within requestReadTimeout ({} ms)",
                    self.deadlines.body.as_millis()
                ),
            ),
        };
        let error = McpError::InvalidRequest(reason);
        let frame = crate::mcp::wire::error_frame(None, &error.to_error_data());
        let reply = Reply {
            status,
            headers: vec![(http::header::CONTENT_TYPE, "application/json".into())],
            body: Body::Full(frame),
        };
        // The rest of the body was not read: the connection cannot carry another request.
        session.set_keepalive(None);
        write_reply(session, reply).await
    }
}

/// Hands a whole request to the router and writes its answer.
async fn dispatch(
    session: &mut Session,
    modules: &InService,
    router: &Arc<Router>,
    principal: Option<Arc<Principal>>,
    body: &[u8],
) -> Result<bool> {
    let client = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let head = session.req_header();
    let authority = head
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| head.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()));
    let request = HttpRequest {
        method: &head.method,
        headers: &head.headers,
        body,
        client,
        authority,
        principal,
        policy: Some(&*modules.auth.policy).filter(|p| p.enabled()),
        correlation: crate::mcp::correlation::Correlation::default(),
    };
    let reply = router.handle(request).await;
    write_reply(session, reply).await
}

impl Gateway {
    /// Answers one request: admission, `/health`, the metadata document, auth, then the route;
    /// `route` learns the request's route class as soon as it is known.
    async fn serve(&self, session: &mut Session, route: &mut Route) -> Result<bool> {
        let (decision, in_flight) = self.admission.admit(session.req_header().uri.path());
        // Held until the answer is written, so a drain waits for it.
        let _in_flight: Option<InFlight> = in_flight;
        match decision {
            Decision::Health => {
                *route = Route::Health;
                respond(session, 200, "text/plain", b"ok", false).await
            }
            Decision::Unavailable => respond(session, 503, "text/plain", b"gateway not ready\n", true).await,
            Decision::Admit => {
                let modules = InService {
                    router: self.live.router(),
                    auth: self.live.auth(),
                };
                if modules.mcp_path() == Some(session.req_header().uri.path()) {
                    *route = Route::Mcp;
                }
                if let Some(done) = modules.serve_metadata(session).await? {
                    *route = Route::Metadata;
                    return Ok(done);
                }
                let Ok(principal) = modules.authenticate(session).await? else {
                    return Ok(true);
                };
                self.route(session, &modules, principal).await
            }
        }
    }

    /// Reads the next request head; `None` when there is none (closed, broken, or stopping).
    async fn read_head(&self, session: &mut Session) -> Option<()> {
        let stopped = self.stopped.notified();
        if self.stopping.load(Ordering::Acquire) {
            return None;
        }
        let read = tokio::select! {
            // Biased: a request already received is served even while stopping.
            biased;
            read = tokio::time::timeout(self.deadlines.head, session.read_request()) => match read {
                Ok(read) => read,
                Err(_) => {
                    tracing::debug!(within = ?self.deadlines.head, "no whole request head in time: connection closed");
                    return None;
                }
            },
            () = stopped => return None,
        };
        match read {
            Ok(true) => Some(()),
            Ok(false) => None,
            Err(e) => {
                if matches!(e.etype, ErrorType::InvalidHTTPHeader) {
                    tracing::debug!(reason = %e, "unreadable request head: 400");
                    let _ = session.respond_error(400).await;
                }
                session.shutdown().await;
                None
            }
        }
    }
}

#[async_trait]
impl HttpServerApp for Gateway {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: Session,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        // Per read (the whole-head and whole-body deadlines are ours) and per write.
        session.set_keepalive(Some(self.deadlines.head.as_secs().max(1)));
        session.set_read_timeout(Some(self.deadlines.body));
        session.set_write_timeout(Some(self.deadlines.write));
        self.read_head(&mut session).await?;
        if *shutdown.borrow() {
            session.set_keepalive(None);
        }
        let started = std::time::Instant::now();
        let mut route = Route::Other;
        if let Err(e) = self.serve(&mut session, &mut route).await {
            // Mostly a client that left mid-answer; an answer not yet begun becomes a 500.
            tracing::debug!(reason = %e, "request ended early");
            if session.response_written().is_none() {
                let _ = session.respond_error(500).await;
            }
            session.set_keepalive(None);
        }
        if let Some(m) = metrics::get() {
            let status = session.response_written().map_or(0, |h| h.status.as_u16());
            m.http(route, status, started.elapsed());
        }
        let settings = HttpPersistentSettings::for_session(&session);
        match session.finish().await {
            Ok(reusable) => reusable.map(|stream| ReusedHttpStream::from_reusable_stream(stream, settings)),
            Err(e) => {
                tracing::debug!(reason = %e, "finishing the answer failed");
                None
            }
        }
    }

    async fn http_cleanup(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stopped.notify_waiters();
    }
}

impl Gateway {
    /// The MCP router on its path, 404 elsewhere.
    async fn route(
        &self,
        session: &mut Session,
        modules: &InService,
        principal: Option<Arc<Principal>>,
    ) -> Result<bool> {
        match &modules.router {
            Some(router) if session.req_header().uri.path() == router.config().path => {
                self.serve_mcp(session, modules, router, principal).await
            }
            _ => {
                // Read (and drop) a short body first: the request stays in flight until the
                // client has sent it, and the connection stays usable for keep-alive. A long
                // one is not waited for: the answer goes out and the connection closes.
                let drain = async {
                    let mut drained = 0usize;
                    while let Some(chunk) = session.read_request_body().await? {
                        drained += chunk.len();
                        if drained > UNROUTED_BODY_DRAIN_BYTES {
                            return Ok(false);
                        }
                    }
                    Ok::<_, Box<pingora::Error>>(true)
                };
                if !tokio::time::timeout(self.deadlines.body, drain)
                    .await
                    .unwrap_or(Ok(false))?
                {
                    session.set_keepalive(None);
                }
                respond(
                    session,
                    404,
                    "application/json",
                    br#"{"error":"no route for this path"}"#,
                    false,
                )
                .await
            }
        }
    }
}
