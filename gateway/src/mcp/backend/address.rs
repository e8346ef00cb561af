//! Which addresses the SSRF guard refuses: every address that is not globally reachable, and
//! every IPv6 form that carries an IPv4 address the guard would refuse (mapped, compatible,
//! NAT64, 6to4), so a private IPv4 target cannot be reached by writing it another way.
//!
//! Ranges from the IANA special-purpose address registries (IPv4 and IPv6).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is refused for tools that do not allow private targets.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

/// `(network, prefix length)` of every IPv4 range that is not globally reachable.
const PRIVATE_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (cloud metadata lives here)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, broadcast included
];

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    PRIVATE_V4.iter().any(|&(network, length)| {
        let mask = u32::MAX << (32 - u32::from(length));
        bits & mask == u32::from(Ipv4Addr::from(network))
    })
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let bits = u128::from(ip);
    let embedded = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    // ::/96 holds ::, ::1 and the deprecated IPv4-compatible form, none of them a public target.
    if bits >> 32 == 0 {
        return true;
    }
    // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
    if bits >> 32 == 0xffff || (s[0], s[1], s[2], s[3], s[4], s[5]) == (0x64, 0xff9b, 0, 0, 0, 0) {
        return is_private_v4(embedded(0));
    }
    // 2002:AABB:CCDD::/48 (6to4) reaches AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return is_private_v4(embedded(80));
    }
    (s[0], s[1]) == (0x64, 0xff9b)   // 64:ff9b:1::/48 local-use NAT64 (any other 64:ff9b::/32)
        || s[0] & 0xfe00 == 0xfc00   // unique local fc00::/7
        || s[0] & 0xffc0 == 0xfe80   // link-local fe80::/10
        || s[0] & 0xffc0 == 0xfec0   // site-local fec0::/10 (deprecated)
        || s[0] & 0xff00 == 0xff00   // multicast ff00::/8
        || (s[0], s[1]) == (0x2001, 0x0db8) // documentation 2001:db8::/32
        || s[0] == 0x2001 && s[1] < 0x0200 // IETF protocol assignments 2001::/23 (Teredo included)
        || (s[0], s[1], s[2], s[3]) == (0x0100, 0, 0, 0) // discard-only 100::/64
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    // IPv4 ranges that are not globally reachable.
    #[case("0.0.0.0", true)]
    #[case("0.1.2.3", true)]
    #[case("10.0.0.1", true)]
    #[case("100.64.0.1", true)]
    #[case("100.127.255.255", true)]
    #[case("127.0.0.1", true)]
    #[case("127.255.255.254", true)]
    #[case("169.254.169.254", true)]
    #[case("172.16.0.1", true)]
    #[case("172.31.255.255", true)]
    #[case("192.0.0.8", true)]
    #[case("192.0.2.1", true)]
    #[case("192.88.99.1", true)]
    #[case("192.168.1.1", true)]
    #[case("198.18.0.1", true)]
    #[case("198.19.255.255", true)]
    #[case("198.51.100.7", true)]
    #[case("203.0.113.9", true)]
    #[case("224.0.0.1", true)]
    #[case("239.255.255.250", true)]
    #[case("240.0.0.1", true)]
    #[case("255.255.255.255", true)]
    // IPv4 neighbours of those ranges that are public.
    #[case("1.1.1.1", false)]
    #[case("8.8.8.8", false)]
    #[case("100.63.255.255", false)]
    #[case("100.128.0.0", false)]
    #[case("172.15.255.255", false)]
    #[case("172.32.0.0", false)]
    #[case("198.17.255.255", false)]
    #[case("198.20.0.0", false)]
    #[case("223.255.255.255", false)]
    // IPv6 ranges that are not globally reachable.
    #[case("::", true)]
    #[case("::1", true)]
    #[case("::7f00:1", true)] // IPv4-compatible 127.0.0.1
    #[case("::808:808", true)] // IPv4-compatible, deprecated whatever it holds
    #[case("fc00::1", true)]
    #[case("fd12:3456::1", true)]
    #[case("fe80::1", true)]
    #[case("fec0::1", true)]
    #[case("ff02::1", true)]
    #[case("2001:db8::1", true)]
    #[case("2001::1", true)] // Teredo
    #[case("100::1", true)]
    #[case("64:ff9b:1::1", true)]
    // IPv6 forms of an IPv4 address: it decides.
    #[case("::ffff:127.0.0.1", true)]
    #[case("::ffff:169.254.169.254", true)]
    #[case("::ffff:8.8.8.8", false)]
    #[case("64:ff9b::a9fe:a9fe", true)] // NAT64 169.254.169.254
    #[case("64:ff9b::808:808", false)] // NAT64 8.8.8.8
    #[case("2002:7f00:1::1", true)] // 6to4 127.0.0.1
    #[case("2002:a00:1::", true)] // 6to4 10.0.0.1
    #[case("2002:808:808::1", false)] // 6to4 8.8.8.8
    // Public IPv6.
    #[case("2606:4700:4700::1111", false)]
    #[case("2001:4860:4860::8888", false)]
    fn the_guard_refuses_every_address_that_is_not_public(#[case] ip: &str, #[case] private: bool) {
        assert_eq!(is_private(ip.parse().unwrap()), private, "{ip}");
    }
}
