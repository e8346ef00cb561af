//! The SSRF guard for host names: resolve, then refuse loopback and private addresses (IP
//! literals are checked when the config loads).

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::mcp::config::is_private;

/// Resolves with the system resolver and keeps only public addresses.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() && !found.is_empty() {
                let reason = format!(
                    "{host} resolves only to loopback or private addresses; set toolMetadata.runtime.allowPrivateTargetHost: true for approved internal targets"
                );
                return Err(reason.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}
