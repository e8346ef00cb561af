//! The Pingora server: listeners, `/health` and admission, shutdown.

pub mod admission;
mod connections;
mod service;
pub mod shutdown;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pingora::listeners::tls::TlsSettings;
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;
use tokio::sync::watch;

pub use admission::{Admission, Phase};
use connections::Capped;
pub use service::{Deadlines, Gateway};

use crate::config::ServerConfig;
use crate::config::files::non_blank;
use crate::metrics::config::Scrape;

/// A listener that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address is taken or not ours.
    #[error("failed to bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTPS certificate or key is unusable.
    #[error("failed to load the HTTPS identity: {0}")]
    Tls(String),
    /// The listeners did not accept connections in time.
    #[error("failed to see the listeners accept connections: {0}")]
    NotBound(String),
}

/// One listener: protocol and socket address.
#[derive(Debug, Clone, Copy)]
pub struct Listener {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Where it binds.
    pub addr: SocketAddr,
}

/// The listeners `server.yml` asks for (already validated).
pub fn listeners(server: &ServerConfig) -> Vec<Listener> {
    let ip = server.ip;
    let mut out = Vec::new();
    if server.enable_http {
        out.push(Listener {
            scheme: "http",
            addr: SocketAddr::new(ip, server.http_port),
        });
    }
    if server.enable_https {
        out.push(Listener {
            scheme: "https",
            addr: SocketAddr::new(ip, server.https_port),
        });
    }
    out
}

/// Fails early, with the address, when a port is taken (Pingora would panic in a worker).
///
/// # Errors
/// [`ServerError::Bind`].
pub fn check_bindable(listeners: &[Listener]) -> Result<(), ServerError> {
    for l in listeners {
        std::net::TcpListener::bind(l.addr).map_err(|source| ServerError::Bind { addr: l.addr, source })?;
    }
    Ok(())
}

/// Waits until every listener accepts a TCP connection (Pingora binds in its own runtime and
/// tells nobody), polling every 20 ms up to `within`.
///
/// # Errors
/// [`ServerError::NotBound`] naming the first listener that did not answer.
pub async fn wait_bound(listeners: &[Listener], within: Duration) -> Result<(), ServerError> {
    let deadline = tokio::time::Instant::now() + within;
    for l in listeners {
        let target = match l.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), l.addr.port()),
            IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), l.addr.port()),
            _ => l.addr,
        };
        while tokio::net::TcpStream::connect(target).await.is_err() {
            if tokio::time::Instant::now() >= deadline {
                return Err(ServerError::NotBound(format!(
                    "{} {} within {within:?}",
                    l.scheme, l.addr
                )));
            }
            // Binding takes a millisecond or two; a short poll keeps it off start-to-ready.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(())
}

/// Builds the Pingora server with the gateway service on the configured listeners.
///
/// # Errors
/// An unusable HTTPS identity.
pub fn build(
    server: &ServerConfig,
    resolve: impl Fn(&str) -> std::path::PathBuf,
    admission: Arc<Admission>,
    live: Arc<crate::reload::Live>,
    scrape: Option<Scrape>,
) -> Result<Server, ServerError> {
    let conf = ServerConf {
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        // The gateway drains before it tells Pingora to stop, so Pingora must not wait again.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut pingora = Server::new_with_opt_and_conf(None, conf);
    let deadlines = Deadlines {
        head: Duration::from_millis(server.keep_alive_timeout),
        body: Duration::from_millis(server.request_read_timeout),
        write: Duration::from_millis(server.write_timeout),
    };
    let gateway = Arc::new(Gateway::new(deadlines, admission, live));
    let app = Capped::new(gateway, server.max_connections);
    let mut service = Service::new("light-gateway".to_string(), app);
    for l in listeners(server) {
        if l.scheme == "http" {
            service.add_tcp(&l.addr.to_string());
            continue;
        }
        let cert = resolve(non_blank(&server.tls_cert_path).unwrap_or_default());
        let key = resolve(non_blank(&server.tls_key_path).unwrap_or_default());
        crate::tls::check_server_identity(&cert, &key).map_err(|e| ServerError::Tls(e.to_string()))?;
        let mut tls = TlsSettings::intermediate(&cert.to_string_lossy(), &key.to_string_lossy())
            .map_err(|e| ServerError::Tls(e.to_string()))?;
        tls.enable_h2();
        service.add_tls_with_settings(&l.addr.to_string(), None, tls);
    }
    pingora.add_service(service);
    if let (Some(scrape), Some(metrics)) = (scrape, crate::metrics::get()) {
        let endpoint = crate::metrics::endpoint::Endpoint::new(scrape.path, metrics);
        let mut service = Service::new("metrics".to_string(), endpoint);
        service.add_tcp(&scrape.addr.to_string());
        pingora.add_service(service);
    }
    Ok(pingora)
}

/// A stop switch for [`shutdown::StopWatch`].
pub fn stop_switch() -> (watch::Sender<bool>, shutdown::StopWatch) {
    let (tx, rx) = watch::channel(false);
    (tx, shutdown::StopWatch(rx))
}
