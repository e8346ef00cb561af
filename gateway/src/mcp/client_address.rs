//! The address a client's limits count against (`maxSessionsPerClient`, and the per-caller
//! stateless limit of anonymous callers).
//!
//! - Behind a load balancer every client shares the balancer's address, so `X-Forwarded-For`
//!   is read, but only from peers in `trustedProxies`: from anyone else it is a header the
//!   client wrote itself. The client is the rightmost entry that is not a trusted proxy.
//! - An IPv6 client gets a /64 (a host's usual share), so it cannot open a session from each
//!   of its 2^64 addresses; an IPv4-mapped IPv6 address counts as the IPv4 address.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;
use ipnet::IpNet;

use crate::config::ConfigError;

/// `trustedProxies`, parsed.
#[derive(Debug, Clone, Default)]
pub struct ClientAddresses {
    trusted: Vec<IpNet>,
}

impl ClientAddresses {
    /// Parses `trustedProxies` (addresses or CIDR ranges) of `file`.
    ///
    /// # Errors
    /// An entry that is neither, named with its index.
    pub fn parse(file: &str, entries: &[String]) -> Result<Self, ConfigError> {
        let trusted = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let text = entry.trim();
                IpNet::from_str(text)
                    .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
                    .map_err(|_| {
                        ConfigError::invalid(
                            file,
                            &format!("trustedProxies[{i}]"),
                            format!("'{entry}' is neither an IP address nor a CIDR range (10.0.0.0/8, fd00::/8)"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { trusted })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&address))
    }

    /// The address `peer`'s request counts against.
    pub fn of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return group(peer);
        }
        // Hops appended by proxies are on the right; walk left past trusted ones. An entry that
        // does not parse ends the walk: what lies left of it cannot be trusted either.
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(address) = IpAddr::from_str(hop.trim()) else {
                break;
            };
            client = canonical(address);
            if !self.trusts(client) {
                break;
            }
        }
        group(client)
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// An IPv6 address as its /64.
fn group(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn addresses(trusted: &[&str]) -> ClientAddresses {
        let entries: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
        ClientAddresses::parse("mcp-router.yml", &entries).unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[rstest]
    #[case::untrusted_peer_header_ignored(&[], "203.0.113.9", &["198.51.100.1"], "203.0.113.9")]
    #[case::trusted_peer_header_read(&["10.0.0.0/8"], "10.1.2.3", &["198.51.100.1"], "198.51.100.1")]
    #[case::rightmost_untrusted_wins(&["10.0.0.0/8"], "10.1.2.3", &["1.1.1.1, 198.51.100.1, 10.9.9.9"], "198.51.100.1")]
    #[case::several_headers_in_order(&["10.0.0.0/8"], "10.1.2.3", &["1.1.1.1", "198.51.100.1"], "198.51.100.1")]
    #[case::a_bare_address_is_trusted(&["10.1.2.3"], "10.1.2.3", &["198.51.100.7"], "198.51.100.7")]
    #[case::no_header_is_the_peer(&["10.0.0.0/8"], "10.1.2.3", &[], "10.1.2.3")]
    #[case::garbage_stops_the_walk(&["10.0.0.0/8"], "10.1.2.3", &["198.51.100.1, junk"], "10.1.2.3")]
    #[case::all_trusted_is_the_leftmost(&["10.0.0.0/8"], "10.1.2.3", &["10.4.4.4, 10.5.5.5"], "10.4.4.4")]
    #[case::ipv6_grouped_per_64(&[], "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &[], "2001:db8:1:2::")]
    #[case::forwarded_ipv6_grouped(&["fd00::/8"], "fd00::1", &["2001:db8:9:9::42"], "2001:db8:9:9::")]
    #[case::mapped_ipv4_is_ipv4(&["10.0.0.0/8"], "::ffff:10.1.2.3", &["198.51.100.1"], "198.51.100.1")]
    fn the_client_address(
        #[case] trusted: &[&str],
        #[case] peer: &str,
        #[case] header: &[&str],
        #[case] expected: &str,
    ) {
        let got = addresses(trusted).of(peer.parse().unwrap(), &forwarded(header));
        assert_eq!(got, expected.parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = ClientAddresses::parse("mcp-router.yml", &["10.0.0.0/8".into(), "ten".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("trustedProxies[1]") && err.contains("'ten'"), "{err}");
    }
}
