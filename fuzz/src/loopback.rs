//! A current-thread Tokio runtime per thread, and a small HTTP/1.1 server on 127.0.0.1 that plays
//! the gateway's peers (config-server, the key service, MCP backends) with canned answers.
//!
//! Why a real socket: the gateway reads those answers inside its HTTP clients (reqwest, its own
//! hyper pool), and the reading code is private to them; going through the socket fuzzes the
//! code that runs in production without making any of it public. One thread runs both sides,
//! so a run is as repeatable as AFL needs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread Tokio runtime builds");
}

/// Runs `future` to completion on this thread's runtime (tasks it spawned run meanwhile).
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// An answer of the loopback server.
#[derive(Debug, Clone)]
pub struct Canned {
    /// The status (kept within 200-599: hyper refuses to send others as a final answer).
    pub status: u16,
    /// Header lines; one that is not a valid header is left out.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Canned {
    /// A 200 with `content_type` and `body`.
    pub fn ok(content_type: &[u8], body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type", content_type.to_vec())],
            body,
        }
    }
}

/// A request as a handler sees it.
pub struct Seen<'a> {
    /// The body.
    pub body: &'a [u8],
}

/// The answer a target stages before each run, shared with the server's tasks.
pub type Stage = Arc<Mutex<Canned>>;

/// The staged answer, whoever panicked while holding the lock (a finding is reported anyway).
pub fn staged(stage: &Stage) -> Canned {
    stage.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Replaces the staged answer.
pub fn stage(stage: &Stage, canned: Canned) {
    *stage.lock().unwrap_or_else(PoisonError::into_inner) = canned;
}

type Handler = Arc<dyn Fn(Seen<'_>) -> Canned + Send + Sync>;

/// A server on 127.0.0.1, serving until the thread ends.
pub struct Loopback {
    addr: SocketAddr,
}

impl Loopback {
    /// Starts a server on this thread's runtime that answers every request with `handler`.
    ///
    /// # Panics
    /// When no loopback port can be bound (the machine, not the gateway, is broken then).
    pub fn start(handler: impl Fn(Seen<'_>) -> Canned + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port can be bound");
        let addr = listener.local_addr().expect("a bound listener has an address");
        RUNTIME.with(|rt| rt.spawn(accept(listener, handler)));
        Self { addr }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn accept(listener: tokio::net::TcpListener, handler: Handler) {
    while let Ok((stream, _)) = listener.accept().await {
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                async move { respond(request, &handler).await }
            });
            // A connection the client dropped ends here; the next one is accepted as usual.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond(request: Request<Incoming>, handler: &Handler) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = request.into_body().collect().await?.to_bytes();
    let canned = handler(Seen { body: &body });
    let mut response = Response::new(Full::new(Bytes::from(canned.body)));
    *response.status_mut() = StatusCode::from_u16(canned.status.clamp(200, 599)).unwrap_or(StatusCode::OK);
    for (name, value) in canned.headers {
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            response.headers_mut().append(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}
