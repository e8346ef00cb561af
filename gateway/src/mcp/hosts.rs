//! `allowedHosts`: the names the router answers to. A DNS-rebinding page reaches the gateway
//! under the attacker's host name; when names are configured, any other `Host` (or HTTP/2
//! `:authority`) is refused before the request is read further.

use http::uri::Authority;

use crate::config::ConfigError;

/// One allowed name, with the port it must come with (any port when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    host: String,
    port: Option<u16>,
}

/// `allowedHosts`, parsed; empty allows every host.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<Allowed>);

/// A host as compared: lower case, no trailing dot, IPv6 without brackets.
fn normal(host: &str) -> String {
    host.trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

impl AllowedHosts {
    /// Parses `allowedHosts` (`name` or `name:port`) of `file`.
    ///
    /// # Errors
    /// An entry that is no host, named with its index.
    pub fn parse(file: &str, entries: &[String]) -> Result<Self, ConfigError> {
        let parsed = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let authority =
                    entry.trim().parse::<Authority>().ok().filter(|a| {
                        !a.as_str().contains('@') && !a.host().is_empty() && !a.host().contains(['/', '*'])
                    });
                let authority = authority.ok_or_else(|| {
                    ConfigError::invalid(
                        file,
                        &format!("allowedHosts[{i}]"),
                        format!("'{entry}' is not a host name or host:port (mcp.example.com, mcp.example.com:8443)"),
                    )
                })?;
                Ok(Allowed {
                    host: normal(authority.host()),
                    port: authority.port_u16(),
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self(parsed))
    }

    /// Whether a request naming `authority` (its Host header or `:authority`) is answered.
    pub fn allow(&self, authority: Option<&str>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let Some(authority) = authority.and_then(|a| a.trim().parse::<Authority>().ok()) else {
            return false;
        };
        let host = normal(authority.host());
        // `http` reads a port that is no number as no port: such a Host names nothing here.
        let text = authority.as_str();
        let after_host = &text[text.rfind(']').map_or(0, |i| i + 1)..];
        let port = match after_host.rsplit_once(':') {
            Some((_, port)) => match port.parse::<u16>() {
                Ok(number) => Some(number),
                Err(_) => return false,
            },
            None => None,
        };
        self.0
            .iter()
            .any(|allowed| allowed.host == host && allowed.port.is_none_or(|p| Some(p) == port))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse("mcp-router.yml", &entries).unwrap()
    }

    #[rstest]
    #[case::none_configured(&[], Some("evil.example"), true)]
    #[case::none_configured_no_host(&[], None, true)]
    #[case::listed(&["mcp.example.com"], Some("mcp.example.com"), true)]
    #[case::any_port_when_none_given(&["mcp.example.com"], Some("mcp.example.com:8443"), true)]
    #[case::case_and_trailing_dot(&["mcp.example.com"], Some("MCP.Example.COM."), true)]
    #[case::rebound_name(&["mcp.example.com"], Some("attacker.example"), false)]
    #[case::suffix_is_not_enough(&["example.com"], Some("mcp.example.com"), false)]
    #[case::missing_host(&["mcp.example.com"], None, false)]
    #[case::port_must_match(&["mcp.example.com:8443"], Some("mcp.example.com:9443"), false)]
    #[case::port_given_matches(&["mcp.example.com:8443"], Some("mcp.example.com:8443"), true)]
    #[case::port_required(&["mcp.example.com:8443"], Some("mcp.example.com"), false)]
    #[case::ipv6(&["[fd00::1]"], Some("[fd00::1]:8080"), true)]
    #[case::junk(&["mcp.example.com"], Some("mcp.example.com:port"), false)]
    fn hosts_answered(#[case] allowed: &[&str], #[case] host: Option<&str>, #[case] answered: bool) {
        assert_eq!(hosts(allowed).allow(host), answered);
    }

    #[rstest]
    #[case::url("https://mcp.example.com")]
    #[case::userinfo("user@mcp.example.com")]
    #[case::wildcard("*.example.com")]
    #[case::empty("")]
    fn bad_entries_are_named(#[case] entry: &str) {
        let err = AllowedHosts::parse("mcp-router.yml", &["ok.example".into(), entry.into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowedHosts[1]"), "{err}");
    }
}
