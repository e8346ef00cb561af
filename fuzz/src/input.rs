//! How the targets cut one input into the several pieces some of them need. Kept as plain text
//! conventions so seed files stay readable and editable by hand.

use http::{HeaderMap, HeaderName, HeaderValue};

/// The line between the parts of a multi-part input.
pub const SEPARATOR: &[u8] = b"\n--8<--\n";

/// `data` cut at [`SEPARATOR`] into at most `max` parts (the last keeps any further separators).
pub fn parts(data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < max {
        match find(rest, SEPARATOR) {
            Some(at) => {
                out.push(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// The first line (without its `\n`) and what follows it.
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// HTTP-style header lines (`name: value`) up to the first empty line, and the rest (the body).
/// Lines that cannot be a header are dropped, as an HTTP server would refuse them before the
/// gateway saw them.
pub fn head_and_body(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let mut rest = data;
    loop {
        if rest.is_empty() {
            return (headers, rest);
        }
        let (line, after) = first_line(rest);
        rest = after;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return (headers, rest);
        }
        if let Some((name, value)) = header(line) {
            headers.append(name, value);
        }
    }
}

fn header(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = HeaderName::from_bytes(&line[..colon]).ok()?;
    let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
    Some((name, value))
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `data` with every `marker` replaced by `with`.
pub fn replace(data: &[u8], marker: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = find(rest, marker) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + marker.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_further_separators_in_the_last() {
        let data = b"a\n--8<--\nb\n--8<--\nc";
        assert_eq!(parts(data, 2), vec![&b"a"[..], &b"b\n--8<--\nc"[..]]);
        assert_eq!(parts(data, 5), vec![&b"a"[..], &b"b"[..], &b"c"[..]]);
        assert_eq!(parts(b"", 3), vec![&b""[..]]);
    }

    #[test]
    fn head_stops_at_the_empty_line_and_drops_bad_lines() {
        let (headers, body) = head_and_body(b"Accept: a/b\r\nno colon\nbad name: x\nX-A:  v \n\n{\"x\":1}\n");
        assert_eq!(headers.len(), 2);
        assert_eq!(headers["x-a"], "v");
        assert_eq!(body, b"{\"x\":1}\n");
    }

    #[test]
    fn replace_replaces_every_marker() {
        assert_eq!(replace(b"@ID@,@ID@!", b"@ID@", b"42"), b"42,42!");
        assert_eq!(replace(b"none", b"@ID@", b"42"), b"none");
    }
}
