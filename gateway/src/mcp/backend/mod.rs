//! Backends: the gateway as an MCP client (legacy sessions or stateless) and as a JSON HTTP
//! client. One connection pool per SSRF policy serves every tool.

pub mod address;
mod connector;
pub mod http_tool;
pub mod mcp_client;
pub mod pool;
mod response;
pub mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::value::RawValue;
use tokio::sync::{OnceCell, mpsc};

use self::connector::Connector;
use self::pool::Pool;
use super::limits::InFlight;

use super::tools::{Target, Tool};

/// How long closing a backend session may take: the DELETE is best effort, and a backend that
/// never answers must not hold a task and a connection for good.
pub const SESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call produced no result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The backend could not be reached, timed out or answered unusably (-32000). A client is
    /// told only the kind; the detail (URL redacted, the backend's own words) is for the log.
    #[error("{detail}")]
    Backend {
        /// What a client is told.
        failure: Failure,
        /// What the log keeps.
        detail: String,
    },
    /// The backend answered with a JSON-RPC error: passed through as it is (the MCP server's
    /// own answer to the call).
    #[error("backend JSON-RPC error")]
    JsonRpc(Box<RawValue>),
}

impl CallError {
    /// A failure of `failure`'s kind with `detail` for the log.
    pub fn backend(failure: Failure, detail: impl Into<String>) -> Self {
        Self::Backend {
            failure,
            detail: detail.into(),
        }
    }
}

/// The kinds of backend failure a client may learn of: none names a host, a URL or what the
/// backend said, since backends are often internal and their errors can carry secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection, or the request could not be sent.
    Unreachable,
    /// No answer within the tool's timeout.
    TimedOut,
    /// The answer exceeds `maxResponseBodyBytes`.
    TooLarge,
    /// A refusal (non-2xx), a broken stream or an answer that is not the call's.
    Unusable,
    /// `maxConcurrentBackendCallsPerTarget` calls already in flight.
    Busy,
    /// `maxConcurrentBackendCalls` calls in flight, to all backends together.
    GatewayBusy,
}

impl Failure {
    /// What a client is told.
    pub fn client_text(self) -> &'static str {
        match self {
            Self::Unreachable => "the backend could not be reached",
            Self::TimedOut => "the backend did not answer within the tool's timeout",
            Self::TooLarge => "the backend answered more than maxResponseBodyBytes",
            Self::Unusable => "the backend did not answer usably",
            Self::Busy => {
                "the backend has its maximum of calls in flight (maxConcurrentBackendCallsPerTarget, a gateway resource limit); retry later"
            }
            Self::GatewayBusy => {
                "the gateway has its maximum of backend calls in flight (maxConcurrentBackendCalls, a gateway resource limit); retry later"
            }
        }
    }
}

/// A backend URL as logs show it: no user, password, query or fragment, which may hold
/// credentials (`https://user:key@host/…?token=…`).
pub struct Redacted<'a>(pub &'a url::Url);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.0;
        write!(f, "{}://", url.scheme())?;
        if !url.username().is_empty() || url.password().is_some() {
            f.write_str("***@")?;
        }
        if let Some(host) = url.host_str() {
            f.write_str(host)?;
        }
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(url.path())?;
        if url.query().is_some() || url.fragment().is_some() {
            f.write_str("?***")?;
        }
        Ok(())
    }
}

/// A legacy backend session kept by the gateway.
#[derive(Debug, Clone)]
pub struct BackendSession {
    /// `Mcp-Session-Id` the backend assigned (a backend may assign none).
    pub id: Option<String>,
    /// The negotiated version, sent as `MCP-Protocol-Version`.
    pub version: String,
    /// Whether it was opened through the pool that allows private addresses: it is closed
    /// through the same one, so a DELETE never steps around the SSRF guard.
    pub allow_private: bool,
}

/// Legacy backend sessions by endpoint URL, initialised lazily and at most once at a time.
#[derive(Debug, Default)]
pub struct LegacySessions(Mutex<HashMap<String, Arc<OnceCell<BackendSession>>>>);

impl LegacySessions {
    /// The slot for `url` (the lock is held only to find or insert it).
    pub fn slot(&self, url: &str) -> Arc<OnceCell<BackendSession>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(url.to_string()).or_default().clone()
    }

    /// Drops `stale` for `url` so the next call initialises again.
    pub fn reset(&self, url: &str, stale: &Arc<OnceCell<BackendSession>>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(url).is_some_and(|slot| Arc::ptr_eq(slot, stale)) {
            map.remove(url);
        }
    }

    /// Every initialised session, removed from the table.
    pub fn drain(&self) -> Vec<(String, BackendSession)> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.drain()
            .filter_map(|(url, slot)| slot.get().cloned().map(|s| (url, s)))
            .collect()
    }
}

/// The bridge's backend sessions (stateless clients reaching legacy backends), one set per
/// caller: anonymous callers share one set, each principal has its own, never shared. Sets
/// unused for the idle time are dropped (and their backend sessions closed by the caller).
pub struct BridgeSessions {
    sets: Mutex<BridgeTable>,
    idle: Duration,
    epoch: std::time::Instant,
}

#[derive(Default)]
struct BridgeTable {
    by_caller: HashMap<String, (Arc<LegacySessions>, u64)>,
    last_sweep_ms: u64,
}

impl BridgeSessions {
    /// Sets idle longer than `idle` are dropped.
    pub fn new(idle: Duration) -> Self {
        Self {
            sets: Mutex::default(),
            idle,
            epoch: std::time::Instant::now(),
        }
    }

    /// The set of `caller` (`""` for anonymous callers), and sessions of sets that went idle
    /// meanwhile (to be closed).
    pub fn for_caller(&self, caller: &str) -> (Arc<LegacySessions>, Vec<(String, BackendSession)>) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let mut table = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        let mut expired = Vec::new();
        if now.saturating_sub(table.last_sweep_ms) >= 1000 {
            table.last_sweep_ms = now;
            let idle = self.idle.as_millis() as u64;
            let stale: Vec<String> = table
                .by_caller
                .iter()
                .filter(|(key, (_, used))| !key.is_empty() && now.saturating_sub(*used) > idle)
                .map(|(key, _)| key.clone())
                .collect();
            for key in stale {
                if let Some((set, _)) = table.by_caller.remove(&key) {
                    expired.extend(set.drain());
                }
            }
        }
        let entry = table
            .by_caller
            .entry(caller.to_string())
            .or_insert_with(|| (Arc::new(LegacySessions::default()), now));
        entry.1 = now;
        (entry.0.clone(), expired)
    }

    /// How many callers hold a set.
    pub fn callers(&self) -> usize {
        self.sets.lock().unwrap_or_else(|e| e.into_inner()).by_caller.len()
    }
}

/// Per-call inputs besides the tool.
pub struct Call<'a> {
    /// Raw arguments (an object).
    pub arguments: &'a RawValue,
    /// Client headers to forward.
    pub forward: &'a [(HeaderName, HeaderValue)],
    /// Where legacy backend sessions live: the frontend session's, or the gateway's bridge.
    pub sessions: &'a LegacySessions,
    /// Progress and other notifications from the backend, when the client reads SSE.
    pub notifications: Option<&'a mpsc::Sender<Bytes>>,
    /// Whether the call counts against `maxConcurrentBackendCallsPerTarget` (a stateless
    /// caller, or a stateless backend).
    pub limited: bool,
}

/// The shared connection pools.
pub struct Backends {
    /// Both shared with the background tasks that close sessions.
    guarded: Arc<Pool>,
    open: Arc<Pool>,
    max_response: usize,
    /// Limited calls in flight per target URL.
    per_target: Arc<InFlight<Arc<str>>>,
    /// Every call in flight, of either era: legacy sessions have no per-target limit, and
    /// each call holds a task, a connection and a buffered answer.
    all_calls: tokio::sync::Semaphore,
    max_calls: usize,
    /// Backend sessions for stateless clients reaching legacy backends (the bridge).
    pub bridge: BridgeSessions,
}

impl Backends {
    /// Pools with `tls` trust, answers capped at `max_response` bytes, at most `limits.0`
    /// calls in flight in all and `limits.1` limited calls to one target; bridge sessions of a
    /// caller idle for `bridge_idle` are dropped.
    pub fn new(tls: rustls::ClientConfig, max_response: usize, limits: (usize, usize), bridge_idle: Duration) -> Self {
        let (max_calls, per_target) = limits;
        let guarded = Arc::new(Pool::new(Connector::new(tls.clone(), true)));
        let open = Arc::new(Pool::new(Connector::new(tls, false)));
        sweep_idle_connections(&[&guarded, &open]);
        Self {
            guarded,
            open,
            max_response,
            per_target: InFlight::new(per_target),
            all_calls: tokio::sync::Semaphore::new(max_calls),
            max_calls,
            bridge: BridgeSessions::new(bridge_idle),
        }
    }

    fn pool(&self, tool: &Tool) -> &Pool {
        self.pool_for(tool.allow_private)
    }

    /// Calls `tool`; the result is the backend's raw `result` (MCP) or one the gateway built (HTTP).
    ///
    /// # Errors
    /// [`CallError`].
    pub async fn call(&self, tool: &Tool, call: Call<'_>) -> Result<String, CallError> {
        let url = match &tool.target {
            Target::Mcp { url, .. } | Target::Http { url, .. } => url,
        };
        let _place = self.all_calls.try_acquire().map_err(|_| {
            CallError::backend(
                Failure::GatewayBusy,
                format!("{} backend calls in flight", self.max_calls),
            )
        })?;
        let _ticket = match call.limited {
            true => Some(self.per_target.try_enter(url.as_str()).ok_or_else(|| {
                CallError::backend(
                    Failure::Busy,
                    format!(
                        "backend {} has its maximum of {} calls in flight",
                        Redacted(url),
                        self.per_target.max()
                    ),
                )
            })?),
            false => None,
        };
        let client = self.pool(tool);
        let work = async {
            match &tool.target {
                Target::Mcp { url, protocol } => {
                    mcp_client::call(client, self.max_response, url, *protocol, tool, &call).await
                }
                // Boxed, as the legacy path is: only HTTP tools pay for their state machine.
                Target::Http { url, method } => {
                    Box::pin(http_tool::call(client, self.max_response, url, *method, &call)).await
                }
            }
        };
        match tokio::time::timeout(tool.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(CallError::backend(
                Failure::TimedOut,
                format!(
                    "backend {} gave no answer within {} ms",
                    Redacted(url),
                    tool.timeout.as_millis()
                ),
            )),
        }
    }

    /// Ends legacy backend sessions (DELETE, best effort, each within [`SESSION_CLOSE_TIMEOUT`])
    /// in the background, each through the pool it was opened with.
    pub fn close_sessions(&self, sessions: Vec<(String, BackendSession)>) {
        for (url, session) in sessions {
            let pool = if session.allow_private {
                &self.open
            } else {
                &self.guarded
            }
            .clone();
            tokio::spawn(async move { mcp_client::delete_session(&pool, &url, &session, SESSION_CLOSE_TIMEOUT).await });
        }
    }

    /// The pool for a target that may (or may not) be private.
    pub fn pool_for(&self, allow_private: bool) -> &Pool {
        if allow_private { &self.open } else { &self.guarded }
    }

    /// Idle keep-alive connections in both pools.
    pub fn idle_connections(&self) -> usize {
        self.guarded.idle_connections() + self.open.idle_connections()
    }

    /// The answer size cap.
    pub fn max_response(&self) -> usize {
        self.max_response
    }
}

/// Closes the pools' expired idle connections every `IDLE_TIMEOUT / 3`, while the pools live.
fn sweep_idle_connections(pools: &[&Arc<Pool>]) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let pools: Vec<std::sync::Weak<Pool>> = pools.iter().map(|p| Arc::downgrade(p)).collect();
    runtime.spawn(async move {
        let mut every = tokio::time::interval(pool::IDLE_TIMEOUT / 3);
        every.tick().await;
        loop {
            every.tick().await;
            let mut alive = false;
            for pool in pools.iter().filter_map(std::sync::Weak::upgrade) {
                pool.expire_idle();
                alive = true;
            }
            if !alive {
                return;
            }
        }
    });
}

/// The request failed before any answer.
pub(crate) fn transport_error(url: &url::Url, error: &pool::SendError) -> CallError {
    let cause = crate::logging::error_chain(error);
    CallError::backend(
        Failure::Unreachable,
        format!("backend {} unreachable: {cause}", Redacted(url)),
    )
}

/// Trust for tests: no roots (they speak plain HTTP), the process's crypto provider installed.
#[cfg(test)]
pub(crate) fn tls_for_tests() -> rustls::ClientConfig {
    crate::tls::install_crypto_provider();
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Backends for tests: 1 MiB answers, 4096 calls in all, 32 limited calls per target.
#[cfg(test)]
pub(crate) fn backends_for_tests() -> Backends {
    Backends::new(tls_for_tests(), 1 << 20, (4096, 32), Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rstest::rstest;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    /// A listener on 127.0.0.1 that counts requests it reads and never answers.
    async fn silent_backend() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut chunk = [0u8; 4096];
                    while let Ok(n) = socket.read(&mut chunk).await {
                        if n == 0 {
                            return;
                        }
                        if chunk[..n].starts_with(b"DELETE ") {
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        (url, seen)
    }

    fn session(allow_private: bool) -> BackendSession {
        BackendSession {
            id: Some("s-1".into()),
            version: "2025-11-25".into(),
            allow_private,
        }
    }

    use super::backends_for_tests as backends;

    #[rstest]
    #[case::plain("http://orders:8080/mcp", "http://orders:8080/mcp")]
    #[case::credentials("https://svc:k3y@api.example/v1", "https://***@api.example/v1")]
    #[case::user_only("https://token@api.example/", "https://***@api.example/")]
    #[case::query("https://api.example/q?apikey=k3y", "https://api.example/q?***")]
    #[case::fragment("https://api.example/q#k3y", "https://api.example/q?***")]
    #[case::ipv6("http://[fd00::1]:9000/mcp", "http://[fd00::1]:9000/mcp")]
    fn logged_urls_lose_credentials_and_queries(#[case] url: &str, #[case] shown: &str) {
        let url = url::Url::parse(url).unwrap();
        assert_eq!(Redacted(&url).to_string(), shown);
    }

    /// A session opened through the guarded pool is closed through it too: a DELETE to a
    /// private address (a name rebound since, say) is refused like any other request.
    #[rstest]
    #[case::opened_guarded(false, 0)]
    #[case::opened_open(true, 1)]
    #[tokio::test]
    async fn sessions_are_closed_through_the_pool_that_opened_them(
        #[case] allow_private: bool,
        #[case] deletes: usize,
    ) {
        let (url, seen) = silent_backend().await;
        backends().close_sessions(vec![(url, session(allow_private))]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(seen.load(Ordering::SeqCst), deletes);
    }

    #[tokio::test]
    async fn a_delete_the_backend_never_answers_ends_at_its_timeout() {
        let (url, seen) = silent_backend().await;
        let backends = backends();
        let open = session(true);
        let started = std::time::Instant::now();
        let delete = mcp_client::delete_session(&backends.open, &url, &open, Duration::from_millis(200));
        tokio::time::timeout(Duration::from_secs(10), delete)
            .await
            .expect("the DELETE ignored its timeout");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }
}
