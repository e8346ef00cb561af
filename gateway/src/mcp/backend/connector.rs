//! Opening a connection to a backend: resolve (with the SSRF guard), TCP, then TLS for https.
//!
//! The guard runs here, at connect time, for every connection: a host name must resolve to at
//! least one public address (private ones are dropped) and an IP literal must be public, unless
//! the tool allows private targets. The pool never follows redirects and never uses a proxy, so
//! this is the only way out.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::address::is_private;

/// How long one connection attempt (resolve, TCP, TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no connection could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The SSRF guard refused every address.
    #[error(
        "{0} resolves only to loopback or private addresses; set toolMetadata.runtime.allowPrivateTargetHost: true for approved internal targets"
    )]
    PrivateOnly(String),
    /// TCP connect failed on every address.
    #[error("connect to {addr} failed: {source}")]
    Tcp {
        /// The last address tried.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The host is no valid TLS server name.
    #[error("{0} is no valid TLS server name")]
    ServerName(String),
    /// The TLS handshake failed.
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        /// The host.
        host: String,
        /// The handshake error.
        source: std::io::Error,
    },
    /// Resolve, TCP and TLS took longer than the connect timeout.
    #[error("no connection within {} s", CONNECT_TIMEOUT.as_secs())]
    Timeout,
}

/// A plain or TLS stream to a backend.
pub enum Stream {
    /// `http`.
    Plain(TcpStream),
    /// `https`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Opens connections, with or without the SSRF guard.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    guarded: bool,
}

impl Connector {
    /// Connections trusting `tls` (its ALPN is set to HTTP/1.1, the only protocol the pool
    /// speaks); `guarded` refuses private addresses.
    pub fn new(mut tls: rustls::ClientConfig, guarded: bool) -> Self {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            tls: TlsConnector::from(Arc::new(tls)),
            guarded,
        }
    }

    /// Whether private addresses are refused.
    pub fn guarded(&self) -> bool {
        self.guarded
    }

    /// A connection to `host:port`, TLS when `https`.
    ///
    /// # Errors
    /// [`ConnectError`].
    pub async fn connect(&self, host: &str, port: u16, https: bool) -> Result<Stream, ConnectError> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.open(host, port, https))
            .await
            .map_err(|_| ConnectError::Timeout)?
    }

    async fn open(&self, host: &str, port: u16, https: bool) -> Result<Stream, ConnectError> {
        let addrs = self.resolve(host, port).await?;
        let mut last = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(source) => last = Some(ConnectError::Tcp { addr, source }),
            }
        }
        let Some(tcp) = tcp else {
            return Err(last.unwrap_or_else(|| ConnectError::PrivateOnly(host.to_string())));
        };
        // Requests are small and answered at once: Nagle would only add latency.
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(Stream::Plain(tcp));
        }
        let name = ServerName::try_from(host.to_string()).map_err(|_| ConnectError::ServerName(host.to_string()))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|source| ConnectError::Tls {
            host: host.to_string(),
            source,
        })?;
        Ok(Stream::Tls(Box::new(tls)))
    }

    /// The addresses to try, the guard applied.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectError> {
        // url keeps brackets around IPv6 literals.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|source| ConnectError::Resolve {
                    host: host.to_string(),
                    source,
                })?
                .collect(),
        };
        if !self.guarded {
            return Ok(found);
        }
        let public: Vec<SocketAddr> = found.into_iter().filter(|a| !is_private(a.ip())).collect();
        if public.is_empty() {
            return Err(ConnectError::PrivateOnly(host.to_string()));
        }
        Ok(public)
    }
}

/// The stream as tokio IO, for hyper.
impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn connector(guarded: bool) -> Connector {
        let roots = rustls::RootCertStore::empty();
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Connector::new(tls, guarded)
    }

    #[rstest]
    #[case::loopback_v4("127.0.0.1")]
    #[case::metadata("169.254.169.254")]
    #[case::loopback_v6("[::1]")]
    #[case::localhost_name("localhost")]
    #[tokio::test]
    async fn the_guard_refuses_private_targets_at_connect_time(#[case] host: &str) {
        let error = connector(true).resolve(host, 80).await.unwrap_err();
        assert!(matches!(error, ConnectError::PrivateOnly(_)), "{host}: {error}");
        assert!(error.to_string().contains("allowPrivateTargetHost"), "{error}");
    }

    #[rstest]
    #[case::loopback_v4("127.0.0.1", "127.0.0.1:80")]
    #[case::loopback_v6("[::1]", "[::1]:80")]
    #[tokio::test]
    async fn an_open_connector_takes_private_targets(#[case] host: &str, #[case] addr: &str) {
        let found = connector(false).resolve(host, 80).await.unwrap();
        assert_eq!(found, vec![addr.parse::<SocketAddr>().unwrap()]);
    }

    #[rstest]
    #[case::public_v4("93.184.216.34")]
    #[case::public_v6("[2606:2800:220:1:248:1893:25c8:1946]")]
    #[tokio::test]
    async fn the_guard_passes_public_literals(#[case] host: &str) {
        let found = connector(true).resolve(host, 443).await.unwrap();
        assert_eq!(found.len(), 1);
    }
}
