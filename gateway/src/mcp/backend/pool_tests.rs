//! The pool against a raw HTTP/1.1 server that counts its connections (a mock server library
//! would hide exactly what these tests look at: connections, closes, half-read answers).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// How the test server behaves.
#[derive(Clone, Copy)]
enum Server {
    /// Answers every request with `body`, keeping the connection open.
    KeepAlive(&'static str),
    /// Answers, then closes the connection without saying so (as an idle timeout would).
    CloseAfterAnswer,
    /// Answers a redirect to a private address.
    Redirect,
    /// Streams one endless SSE line (no length: the body ends when the connection does).
    EndlessLine,
    /// Answers with one SSE event holding a reply to id 7, keeping the connection open.
    SseReply,
}

struct Backend {
    url: url::Url,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn backend(server: Server) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/mcp?x=1", listener.local_addr().unwrap())).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let r = r.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    buffer.drain(..end + 4 + length);
                    r.fetch_add(1, Ordering::SeqCst);
                    let answer = match server {
                        Server::KeepAlive(body) => {
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        }
                        Server::CloseAfterAnswer => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_string(),
                        Server::EndlessLine => {
                            let line = "x".repeat(64 * 1024);
                            format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: {line}")
                        }
                        Server::SseReply => {
                            let event = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n";
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n0\r\n\r\n",
                                event.len()
                            )
                        }
                        Server::Redirect => {
                            "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest\r\ncontent-length: 0\r\n\r\n"
                                .to_string()
                        }
                    };
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if matches!(server, Server::CloseAfterAnswer | Server::EndlessLine) {
                        return;
                    }
                }
            });
        }
    });
    Backend {
        url,
        connections,
        requests,
    }
}

fn pool() -> Pool {
    Pool::new(Connector::new(crate::mcp::backend::tls_for_tests(), false))
}

fn post(body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(Bytes::from_static(body.as_bytes())));
    *request.method_mut() = http::Method::POST;
    request
}

#[tokio::test]
async fn sequential_calls_share_one_connection() {
    let backend = backend(Server::KeepAlive(r#"{"ok":true}"#)).await;
    let pool = pool();
    for _ in 0..20 {
        let answer = pool.send(&backend.url, post("{}")).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.read_capped(1024).await.unwrap(),
            Bytes::from_static(br#"{"ok":true}"#)
        );
    }
    assert_eq!(backend.requests.load(Ordering::SeqCst), 20);
    assert_eq!(backend.connections.load(Ordering::SeqCst), 1);
}

/// An SSE answer is read to its end after the reply (in the background), so its connection
/// goes back to the pool instead of being closed with the stream.
#[tokio::test]
async fn sequential_sse_answers_share_one_connection() {
    let backend = backend(Server::SseReply).await;
    let pool = pool();
    for _ in 0..5 {
        let answer = pool.send(&backend.url, post("{}")).await.unwrap();
        let result = crate::mcp::backend::response::read(answer, &backend.url, 1024, 7, None).await;
        assert_eq!(result.unwrap(), "{}");
        // The drain runs on its own task: let it reach the end of the stream.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(backend.requests.load(Ordering::SeqCst), 5);
    assert_eq!(backend.connections.load(Ordering::SeqCst), 1);
}

/// Connections opened for a burst do not stay open once idle for the timeout: a release
/// drops the expired ones at the front, and the sweep drops the rest when no release comes.
#[tokio::test]
async fn connections_idle_past_the_timeout_are_closed() {
    let backend = backend(Server::KeepAlive("{}")).await;
    let pool = Arc::new(Pool::with_idle_timeout(
        Connector::new(crate::mcp::backend::tls_for_tests(), false),
        std::time::Duration::from_millis(200),
    ));
    let burst = (0..6).map(|_| {
        let (pool, url) = (pool.clone(), backend.url.clone());
        tokio::spawn(async move {
            pool.send(&url, post("{}"))
                .await
                .unwrap()
                .read_capped(64)
                .await
                .unwrap()
        })
    });
    futures_util::future::join_all(burst).await;
    let opened = backend.connections.load(Ordering::SeqCst);
    assert!(opened > 1, "the burst opened {opened} connection(s)");
    assert_eq!(pool.idle_connections(), opened);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // One call: it opens a fresh connection (all idle ones expired) and its release drops them.
    pool.send(&backend.url, post("{}"))
        .await
        .unwrap()
        .read_capped(64)
        .await
        .unwrap();
    assert_eq!(pool.idle_connections(), 1, "only the fresh connection stays");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    pool.expire_idle();
    assert_eq!(pool.idle_connections(), 0, "the sweep drops it once it expired");
}

#[tokio::test]
async fn concurrent_calls_open_connections_and_keep_them() {
    let backend = backend(Server::KeepAlive("{}")).await;
    let pool = Arc::new(pool());
    for _ in 0..3 {
        let calls = (0..8).map(|_| {
            let (pool, url) = (pool.clone(), backend.url.clone());
            tokio::spawn(async move {
                pool.send(&url, post("{}"))
                    .await
                    .unwrap()
                    .read_capped(64)
                    .await
                    .unwrap()
            })
        });
        for call in calls {
            call.await.unwrap();
        }
    }
    assert_eq!(backend.requests.load(Ordering::SeqCst), 24);
    assert!(
        backend.connections.load(Ordering::SeqCst) <= 8,
        "{:?}",
        backend.connections
    );
}

#[tokio::test]
async fn an_answer_dropped_half_read_closes_its_connection() {
    let backend = backend(Server::KeepAlive(r#"{"ok":true}"#)).await;
    let pool = pool();
    drop(pool.send(&backend.url, post("{}")).await.unwrap());
    pool.send(&backend.url, post("{}"))
        .await
        .unwrap()
        .read_capped(64)
        .await
        .unwrap();
    assert_eq!(backend.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_backend_closed_is_replaced_without_an_error() {
    let backend = backend(Server::CloseAfterAnswer).await;
    let pool = pool();
    for _ in 0..5 {
        let answer = pool.send(&backend.url, post("{}")).await.unwrap();
        answer.read_capped(64).await.unwrap();
        // Let the connection's task see the close, as time between calls would.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(backend.requests.load(Ordering::SeqCst), 5);
    assert_eq!(backend.connections.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_redirect_is_an_answer_never_followed() {
    let backend = backend(Server::Redirect).await;
    let answer = pool().send(&backend.url, post("{}")).await.unwrap();
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(answer.error_text().await, "HTTP 302");
    assert_eq!(backend.requests.load(Ordering::SeqCst), 1);
}

#[rstest]
#[case::declared_length(r#"{"0123456789":"0123456789"}"#, 10)]
#[tokio::test]
async fn answers_over_the_cap_are_refused(#[case] body: &'static str, #[case] max: usize) {
    let backend = backend(Server::KeepAlive(body)).await;
    let answer = pool().send(&backend.url, post("{}")).await.unwrap();
    assert!(matches!(answer.read_capped(max).await, Err(ReadError::TooLarge(10))));
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error_naming_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = url::Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let error = pool().send(&url, post("{}")).await.err().unwrap();
    assert!(matches!(error, SendError::Connect(ConnectError::Tcp { .. })), "{error}");
    assert!(error.to_string().contains(&url.port().unwrap().to_string()), "{error}");
}

#[tokio::test]
async fn the_request_carries_target_and_host_from_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = url::Url::parse(&format!("http://{addr}/mcp/x?a=1&b=2")).unwrap();
    let seen = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let n = socket.read(&mut buffer).await.unwrap();
        socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        String::from_utf8_lossy(&buffer[..n]).to_string()
    });
    pool().send(&url, post("{}")).await.unwrap();
    let head = seen.await.unwrap();
    assert!(head.starts_with("POST /mcp/x?a=1&b=2 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains(&format!("host: {addr}\r\n")),
        "{head}"
    );
    assert!(head.to_ascii_lowercase().contains("content-length: 2\r\n"), "{head}");
}

#[tokio::test]
async fn a_stream_is_capped_on_raw_bytes_even_without_a_line_end() {
    let backend = backend(Server::EndlessLine).await;
    let answer = pool().send(&backend.url, post("{}")).await.unwrap();
    let mut stream = answer.into_stream(1000);
    let mut failure = None;
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        if let Err(e) = chunk {
            failure = Some(e);
            break;
        }
    }
    assert!(matches!(failure, Some(ReadError::TooLarge(1000))), "{failure:?}");
}
