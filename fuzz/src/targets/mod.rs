//! The targets, grouped by the part of the gateway they drive.

pub mod auth;
pub mod backend;
pub mod config;
pub mod mcp;
pub mod registry;

/// Outbound TLS as the gateway's clients get it, without roots: every peer here speaks plain
/// HTTP on loopback.
pub(crate) fn tls() -> rustls::ClientConfig {
    light_gateway::tls::install_crypto_provider();
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
