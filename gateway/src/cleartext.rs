//! Credentials sent without TLS: the portal token to an `http://` config-server and the JWT over
//! a `ws://` controller connection. Upstream allows both, so this gateway does too by default,
//! but says so at startup naming the URL; `client.requireTls: true` refuses them instead.

use crate::config::ConfigError;

/// Where a credential goes, for the check and its messages.
pub struct Destination<'a> {
    /// The URL the credential is sent to.
    pub url: &'a str,
    /// What is sent ("the portal token").
    pub carries: &'a str,
    /// The file and key that set the URL.
    pub file: &'a str,
    /// The key.
    pub key: &'a str,
}

/// Whether `url` is plain HTTP or a plain WebSocket.
fn is_cleartext(url: &str) -> bool {
    let url = url.trim_start();
    ["http://", "ws://"]
        .iter()
        .any(|scheme| url.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme)))
}

/// Refuses a cleartext destination when `require_tls`, else logs a warning naming it. Says
/// whether the destination is cleartext.
///
/// # Errors
/// A cleartext URL while `client.requireTls` is true, naming the file and key that set it.
pub fn check(to: &Destination<'_>, require_tls: bool) -> Result<bool, ConfigError> {
    if !is_cleartext(to.url) {
        return Ok(false);
    }
    if require_tls {
        return Err(ConfigError::invalid(
            to.file,
            to.key,
            format!(
                "{} would carry {} without TLS and client.requireTls is true: use https",
                to.url, to.carries
            ),
        ));
    }
    tracing::warn!(
        url = to.url,
        file = to.file,
        key = to.key,
        "{} is sent without TLS; use https (client.requireTls: true refuses this)",
        to.carries
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn to(url: &str) -> Destination<'_> {
        Destination {
            url,
            carries: "the portal token",
            file: "startup.yml",
            key: "configServerUri",
        }
    }

    #[rstest]
    #[case("https://config.example:8443", false)]
    #[case("wss://controller.example/ws/microservice", false)]
    #[case("http://config.example", true)]
    #[case("HTTP://config.example", true)]
    #[case("ws://controller.example/ws/microservice", true)]
    fn cleartext_urls_are_allowed_with_a_warning_unless_tls_is_required(#[case] url: &str, #[case] cleartext: bool) {
        assert_eq!(check(&to(url), false).unwrap(), cleartext);
        let required = check(&to(url), true);
        if cleartext {
            let error = required.unwrap_err().to_string();
            assert!(
                error.contains("startup.yml") && error.contains("configServerUri"),
                "{error}"
            );
            assert!(error.contains("client.requireTls"), "{error}");
        } else {
            assert!(!required.unwrap());
        }
    }
}
