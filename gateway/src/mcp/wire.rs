//! The JSON-RPC envelope on the wire. A request body is parsed once into borrowed parts:
//! `params` and `arguments` stay raw JSON that is forwarded as bytes, and answers are
//! assembled around the backend's raw `result`, so nothing is parsed into a tree and written
//! back out on the hot path. Results the gateway makes itself use rmcp's model types.

use std::borrow::Cow;

use bytes::Bytes;
use rmcp::model::ErrorData;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A request, notification or response from the client, with raw `params`.
#[derive(Debug, Deserialize)]
pub struct Incoming<'a> {
    /// Must be `2.0`.
    #[serde(default, borrow)]
    pub jsonrpc: Option<Cow<'a, str>>,
    /// Raw id (string or number); absent for notifications.
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    /// The method; absent for responses.
    #[serde(default, borrow)]
    pub method: Option<Cow<'a, str>>,
    /// Raw params.
    #[serde(default, borrow)]
    pub params: Option<&'a RawValue>,
}

/// `tools/call` params.
#[derive(Debug, Deserialize)]
pub struct CallParams<'a> {
    /// The tool's name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Raw arguments (must be an object when present).
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
    /// Request metadata.
    #[serde(rename = "_meta", default, borrow)]
    pub meta: Option<Meta<'a>>,
}

/// Params of any other method: only `_meta` and `protocolVersion` matter to the router.
#[derive(Debug, Default, Deserialize)]
pub struct CommonParams<'a> {
    /// Request metadata.
    #[serde(rename = "_meta", default, borrow)]
    pub meta: Option<Meta<'a>>,
    /// `initialize`'s requested version.
    #[serde(rename = "protocolVersion", default, borrow)]
    pub protocol_version: Option<Cow<'a, str>>,
}

/// `_meta`: the stateless era's per-request protocol version (SEP-2575).
#[derive(Debug, Default, Deserialize)]
pub struct Meta<'a> {
    /// `io.modelcontextprotocol/protocolVersion`.
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default, borrow)]
    pub protocol_version: Option<Cow<'a, str>>,
}

/// Why a body is not a usable JSON-RPC message.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON (-32700).
    Json(String),
    /// A batch (-32600; batches were removed in 2025-06-18).
    Batch,
    /// JSON but not JSON-RPC 2.0 (-32600).
    NotJsonRpc(&'static str),
}

/// Parses a request body.
///
/// # Errors
/// [`ParseError`].
pub fn parse(body: &[u8]) -> Result<Incoming<'_>, ParseError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => return Err(ParseError::Batch),
        Some(b'{') => {}
        _ => return Err(ParseError::Json("the body is not a JSON object".into())),
    }
    let message: Incoming = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if message.jsonrpc.as_deref() != Some("2.0") {
        return Err(ParseError::NotJsonRpc("jsonrpc must be \"2.0\""));
    }
    if message.method.is_none() && message.id.is_none() {
        return Err(ParseError::NotJsonRpc("neither a method nor an id"));
    }
    Ok(message)
}

/// Whether `body` nests arrays and objects deeper than `max` (brackets inside strings do not
/// count). A scan of the bytes before any parsing, so a deep body costs no recursion.
pub fn nests_deeper_than(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` from raw parts.
pub fn result_frame(id: &RawValue, result: &str) -> Bytes {
    let mut out = String::with_capacity(result.len() + id.get().len() + 32);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    out.push_str(id.get());
    out.push_str(r#","result":"#);
    out.push_str(result);
    out.push('}');
    Bytes::from(out)
}

/// `{"jsonrpc":"2.0","id":<id or null>,"error":{...}}`.
pub fn error_frame(id: Option<&RawValue>, error: &ErrorData) -> Bytes {
    let error = serde_json::to_string(error).unwrap_or_else(|_| r#"{"code":-32603,"message":"internal error"}"#.into());
    let mut out = String::with_capacity(error.len() + 48);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    out.push_str(id.map_or("null", RawValue::get));
    out.push_str(r#","error":"#);
    out.push_str(&error);
    out.push('}');
    Bytes::from(out)
}

/// One SSE event carrying a JSON-RPC message, on one `data:` line.
pub fn sse_event(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 24);
    out.extend_from_slice(b"event: message\ndata: ");
    let start = out.len();
    out.extend_from_slice(message);
    // A line break would end the data line: a backend's pretty-printed result reached the client
    // cut in two (fuzz/corpus/backend_reply/sse_client_*). In JSON a raw CR or LF can only be
    // whitespace between tokens (inside strings they are escaped), so a space means the same.
    for byte in &mut out[start..] {
        if matches!(*byte, b'\n' | b'\r') {
            *byte = b' ';
        }
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use rmcp::model::ErrorCode;
    use serde_json::Value;

    use super::*;

    #[test]
    fn a_request_is_parsed_once_with_raw_params() {
        let body =
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"a":[1,2]}}}"#;
        let m = parse(body).unwrap();
        assert_eq!(m.id.unwrap().get(), "7");
        let p: CallParams = serde_json::from_str(m.params.unwrap().get()).unwrap();
        assert_eq!(p.name, "echo");
        assert_eq!(p.arguments.unwrap().get(), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn batches_bad_json_and_missing_version_are_told_apart() {
        assert_eq!(parse(b" [{}]").unwrap_err(), ParseError::Batch);
        assert!(matches!(parse(b"{nope").unwrap_err(), ParseError::Json(_)));
        assert!(matches!(
            parse(br#"{"id":1,"method":"x"}"#).unwrap_err(),
            ParseError::NotJsonRpc(_)
        ));
    }

    #[test]
    fn an_sse_event_keeps_a_multi_line_message_on_one_data_line() {
        let event = sse_event(b"{\"jsonrpc\":\"2.0\",\r\n \"result\":{\n}}");
        assert_eq!(
            &event[..],
            b"event: message\ndata: {\"jsonrpc\":\"2.0\",   \"result\":{ }}\n\n"
        );
    }

    #[test]
    fn frames_are_valid_json_rpc() {
        let id = RawValue::from_string("\"a\"".into()).unwrap();
        let ok: Value = serde_json::from_slice(&result_frame(&id, r#"{"x":1}"#)).unwrap();
        assert_eq!(ok, serde_json::json!({"jsonrpc":"2.0","id":"a","result":{"x":1}}));
        let err: Value =
            serde_json::from_slice(&error_frame(None, &ErrorData::new(ErrorCode::PARSE_ERROR, "bad", None))).unwrap();
        assert_eq!(err["error"]["code"], -32700);
        assert!(err["id"].is_null());
    }
}

#[cfg(test)]
mod depth_tests {
    use rstest::rstest;

    use super::nests_deeper_than;

    #[rstest]
    #[case(r#"{"a":1}"#, 1, false)]
    #[case(r#"{"a":[1]}"#, 1, true)]
    #[case(r#"{"a":[1],"b":{"c":2}}"#, 2, false)]
    #[case(r#"{"s":"[[[[{{{{"}"#, 1, false)]
    #[case(r#"{"s":"a\"[[[[","t":1}"#, 1, false)]
    #[case(r#"{"s":"a\\","t":[[1]]}"#, 2, true)]
    #[case("[[[[[[[[]]]]]]]]", 8, false)]
    #[case("[[[[[[[[]]]]]]]]", 7, true)]
    fn depth_counts_brackets_outside_strings(#[case] body: &str, #[case] max: usize, #[case] deeper: bool) {
        assert_eq!(nests_deeper_than(body.as_bytes(), max), deeper, "{body}");
    }
}
