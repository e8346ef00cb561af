//! The bench's own HTTP probes: one raw HTTP/1.1 request on a fresh connection and its status
//! code, for readiness polls (start to ready, a deployment coming up) where a client library's
//! own cost and pooling would only blur the timing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::mcp::{Target, Workload, spec};

/// A raw HTTP/1.1 request for `spec` with `Connection: close`.
fn raw_request(method: &str, path: &str, headers: &[(&str, String)], body: Option<&str>) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// The stateless tools/call every workload's gateway target also answers (with `token` as
/// a bearer token when given).
pub fn stateless_call(token: Option<&str>) -> Vec<u8> {
    let workload = if token.is_some() {
        Workload::StatelessJwt
    } else {
        Workload::Stateless
    };
    let s = spec(workload, Target::Gateway, Vec::new(), token.unwrap_or_default());
    raw_request(s.method, s.path, &s.headers, s.body.as_deref())
}

/// GET /health.
pub fn get_health() -> Vec<u8> {
    raw_request("GET", "/health", &[], None)
}

/// Sends `request` to 127.0.0.1:`port` and returns the status code.
pub fn status(port: u16, request: &[u8]) -> Result<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < 12 {
        let n = stream.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    parse_status_line(&head[..got])
}

/// The code of `HTTP/1.1 200 ...`.
pub fn parse_status_line(head: &[u8]) -> Result<u16> {
    let text = std::str::from_utf8(head).unwrap_or_default();
    let code = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "));
    code.and_then(|c| c.get(..3))
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP status line: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(b"HTTP/1.1 200 OK\r\n", 200)]
    #[case(b"HTTP/1.1 503 Service", 503)]
    #[case(b"HTTP/1.0 404", 404)]
    fn status_lines_are_read(#[case] head: &[u8], #[case] code: u16) {
        assert_eq!(parse_status_line(head).unwrap(), code);
    }

    #[test]
    fn a_short_answer_is_an_error() {
        assert!(parse_status_line(b"HTTP/1.1 2").is_err());
        assert!(parse_status_line(b"").is_err());
    }

    #[test]
    fn requests_carry_their_length() {
        let text = String::from_utf8(stateless_call(None)).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(text.contains("Mcp-Name: echo\r\n"));
    }
}
