//! Keep-alive HTTP/1.1 connections to backends, a few per origin, driven through hyper's
//! connection API.
//!
//! Why not reqwest here: on the stateless tools/call path its layers (redirects, retries,
//! proxy lookup, `Url` to `Uri`, pool keys hashed per request) cost about a third of the
//! gateway's instructions. A backend call needs none of them: no redirects (a redirect is an
//! answer, and following one would step around the SSRF guard), no proxies (same), one origin
//! per tool. So a request here is: find the origin (one map lookup by the URL's origin text,
//! no allocation), take its most recently used idle connection, send.
//!
//! A connection goes back to its origin only after its answer was read to the end; one whose
//! answer was dropped half-read is closed. A request that failed on a reused connection before
//! hyper wrote any of it (the backend closed the idle connection meanwhile) is sent again once
//! on a fresh connection; a request that may have reached the backend is never repeated.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::connector::{ConnectError, Connector};

/// Idle connections unused this long are closed (at the next release to their origin, or
/// by [`Pool::expire_idle`]), never reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per origin; more are closed when released.
const MAX_IDLE_PER_ORIGIN: usize = 256;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The URL has no host or an unusable path.
    #[error("unusable URL: {0}")]
    Url(String),
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The HTTP/1.1 handshake failed.
    #[error("HTTP handshake failed: {0}")]
    Handshake(#[source] hyper::Error),
    /// The request failed on the connection.
    #[error("request failed: {0}")]
    Request(#[source] hyper::Error),
}

/// The idle connections of one origin, and what every request to it carries.
struct Origin {
    host: String,
    port: u16,
    https: bool,
    host_header: HeaderValue,
    /// Oldest first: a connection is pushed when released and the most recent one is taken,
    /// so connections opened for a burst sink to the front and age there.
    idle: Mutex<Vec<(SendRequest<Full<Bytes>>, Instant)>>,
    idle_timeout: Duration,
}

/// Drops the connections at the front of `idle` unused for `timeout` (and closed ones there).
fn expire(idle: &mut Vec<(SendRequest<Full<Bytes>>, Instant)>, timeout: Duration) {
    let stale = idle
        .iter()
        .take_while(|(sender, since)| sender.is_closed() || since.elapsed() > timeout)
        .count();
    if stale > 0 {
        idle.drain(..stale);
    }
}

/// A connection in use; back to its origin when [`Lease::release`]d.
struct Lease {
    sender: SendRequest<Full<Bytes>>,
    origin: Arc<Origin>,
}

impl Lease {
    fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        let mut idle = self.origin.idle.lock().unwrap_or_else(|e| e.into_inner());
        expire(&mut idle, self.origin.idle_timeout);
        if idle.len() < MAX_IDLE_PER_ORIGIN {
            idle.push((self.sender, Instant::now()));
        }
    }
}

/// Connections by origin, through one [`Connector`].
pub struct Pool {
    connector: Connector,
    origins: RwLock<HashMap<String, Arc<Origin>>>,
    idle_timeout: Duration,
}

impl Pool {
    /// An empty pool.
    pub fn new(connector: Connector) -> Self {
        Self::with_idle_timeout(connector, IDLE_TIMEOUT)
    }

    /// An empty pool closing connections idle for `idle_timeout`.
    pub fn with_idle_timeout(connector: Connector, idle_timeout: Duration) -> Self {
        Self {
            connector,
            origins: RwLock::default(),
            idle_timeout,
        }
    }

    /// Closes every idle connection unused for the idle timeout, of every origin: once the
    /// load stops no release comes to do it, and connections opened for a burst would stay.
    pub fn expire_idle(&self) {
        let origins: Vec<Arc<Origin>> = self
            .origins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for origin in origins {
            let mut idle = origin.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.retain(|(sender, since)| !sender.is_closed() && since.elapsed() <= origin.idle_timeout);
        }
    }

    /// Idle connections kept now, over every origin.
    pub fn idle_connections(&self) -> usize {
        let origins = self.origins.read().unwrap_or_else(|e| e.into_inner());
        origins
            .values()
            .map(|o| o.idle.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// Sends `request` to `url`; the pool sets the request target and `Host` from the URL.
    ///
    /// # Errors
    /// [`SendError`].
    pub async fn send(&self, url: &url::Url, mut request: Request<Full<Bytes>>) -> Result<Answer, SendError> {
        let origin = self.origin(url)?;
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        *request.uri_mut() = Uri::try_from(target).map_err(|e| SendError::Url(format!("{target}: {e}")))?;
        request
            .headers_mut()
            .insert(http::header::HOST, origin.host_header.clone());
        loop {
            let (mut lease, reused) = self.checkout(&origin).await?;
            match lease.sender.try_send_request(request).await {
                Ok(response) => {
                    let (head, body) = response.into_parts();
                    return Ok(Answer {
                        status: head.status,
                        headers: head.headers,
                        body,
                        lease: Some(lease),
                    });
                }
                Err(mut failed) => match failed.take_message() {
                    // Never written: the idle connection was closed by the backend meanwhile.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(SendError::Request(failed.into_error())),
                },
            }
        }
    }

    /// Whether this pool connects to private addresses (no SSRF guard).
    pub fn allows_private(&self) -> bool {
        !self.connector.guarded()
    }

    /// The origin of `url`, created on first use.
    fn origin(&self, url: &url::Url) -> Result<Arc<Origin>, SendError> {
        let key = &url[..url::Position::BeforePath];
        if let Some(origin) = self.origins.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return Ok(origin.clone());
        }
        let host = url
            .host_str()
            .ok_or_else(|| SendError::Url(format!("{url} has no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| SendError::Url(format!("{url} has no port")))?;
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let origin = Arc::new(Origin {
            host: host.to_string(),
            port,
            https: url.scheme() == "https",
            host_header: HeaderValue::try_from(host_header).map_err(|e| SendError::Url(format!("{url}: {e}")))?,
            idle: Mutex::default(),
            idle_timeout: self.idle_timeout,
        });
        let mut origins = self.origins.write().unwrap_or_else(|e| e.into_inner());
        Ok(origins.entry(key.to_string()).or_insert(origin).clone())
    }

    /// An idle connection that is still open (and whether it was reused), else a new one.
    async fn checkout(&self, origin: &Arc<Origin>) -> Result<(Lease, bool), SendError> {
        loop {
            let popped = origin.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut sender, since)) = popped else { break };
            if sender.is_closed() || since.elapsed() > origin.idle_timeout {
                continue;
            }
            // Ready once the connection's task has seen the previous answer end.
            if sender.ready().await.is_ok() {
                let lease = Lease {
                    sender,
                    origin: origin.clone(),
                };
                return Ok((lease, true));
            }
        }
        // Boxed: connecting (TCP, TLS, the HTTP/1.1 handshake) is the largest state of a backend
        // call, and inline it would sit in every request's future, which Pingora moves into a
        // box per request (a memcpy of its whole size, 8 KiB a call in the profile).
        Ok((Box::pin(self.open(origin)).await?, false))
    }

    /// A new connection to `origin`, its driver task spawned.
    async fn open(&self, origin: &Arc<Origin>) -> Result<Lease, SendError> {
        let stream = self.connector.connect(&origin.host, origin.port, origin.https).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Handshake)?;
        let host = origin.host.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(backend = %host, reason = %e, "backend connection ended");
            }
        });
        Ok(Lease {
            sender,
            origin: origin.clone(),
        })
    }
}

/// A backend's answer: status and headers, and a body still to read.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    body: Incoming,
    lease: Option<Lease>,
}

/// Why an answer's body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Longer than the cap.
    #[error("answer exceeds {0} bytes")]
    TooLarge(usize),
    /// The connection failed while reading.
    #[error("reading the answer failed: {0}")]
    Body(#[source] hyper::Error),
}

impl Answer {
    /// The declared `Content-Length`, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.body.size_hint().exact().or_else(|| {
            self.headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        })
    }

    /// The lowercased `Content-Type` (empty when absent).
    pub fn content_type(&self) -> String {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// The whole body, at most `max` bytes; the connection is reused afterwards.
    ///
    /// # Errors
    /// [`ReadError`]; the connection is closed then.
    pub async fn read_capped(mut self, max: usize) -> Result<Bytes, ReadError> {
        if self.content_length().is_some_and(|n| n > max as u64) {
            return Err(ReadError::TooLarge(max));
        }
        // Most answers arrive as one frame: keep it as it is instead of copying.
        let mut whole = Bytes::new();
        let mut joined: Option<Vec<u8>> = None;
        let mut total = 0usize;
        while let Some(frame) = self.body.frame().await {
            let Ok(data) = frame.map_err(ReadError::Body)?.into_data() else {
                continue;
            };
            total += data.len();
            if total > max {
                return Err(ReadError::TooLarge(max));
            }
            match &mut joined {
                Some(buffer) => buffer.extend_from_slice(&data),
                None if whole.is_empty() => whole = data,
                None => joined = Some([whole.as_ref(), data.as_ref()].concat()),
            }
        }
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
        Ok(joined.map_or(whole, Bytes::from))
    }

    /// The body as a stream of chunks, failing once more than `max` bytes came; the connection
    /// is reused if the stream is read to the end.
    pub fn into_stream(self, max: usize) -> BodyStream {
        BodyStream {
            body: self.body,
            lease: self.lease,
            max,
            seen: 0,
        }
    }

    /// `HTTP <status>: <start of the body>` for messages; reads at most 4 KiB and shows 300
    /// characters of it, so a backend cannot make the gateway buffer a large error page.
    pub async fn error_text(self) -> String {
        const READ: usize = 4096;
        let status = self.status.as_u16();
        let mut stream = self.into_stream(usize::MAX);
        let mut body = Vec::new();
        while body.len() < READ {
            match futures_util::StreamExt::next(&mut stream).await {
                Some(Ok(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(READ - body.len())]),
                _ => break,
            }
        }
        let body = String::from_utf8_lossy(&body);
        let body: String = body.trim().chars().take(300).collect();
        format!("HTTP {status}{}{body}", if body.is_empty() { "" } else { ": " })
    }
}

/// An answer's body as chunks of bytes, at most a set number of them.
pub struct BodyStream {
    body: Incoming,
    lease: Option<Lease>,
    max: usize,
    seen: usize,
}

impl Stream for BodyStream {
    type Item = Result<Bytes, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else { continue };
                    // Counted as raw bytes, before any parsing: an unterminated line counts too.
                    self.seen = self.seen.saturating_add(data.len());
                    if self.seen > self.max {
                        self.lease = None;
                        return Poll::Ready(Some(Err(ReadError::TooLarge(self.max))));
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    self.lease = None;
                    return Poll::Ready(Some(Err(ReadError::Body(e))));
                }
                Poll::Ready(None) => {
                    if let Some(lease) = self.lease.take() {
                        lease.release();
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
