//! One place that shapes a result for the era the client speaks, whatever era the backend
//! spoke: a 2026-07-28 (stateless) client gets `resultType` on every result (its SDKs refuse a
//! tools/call result without it), a legacy client never sees `"resultType": "complete"`, which
//! its schema does not have. Everything else in the result (`_meta` included) passes through
//! untouched, as raw JSON.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

/// The era the client speaks on this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEra {
    /// 2025-11-25 and older: `initialize` and sessions.
    Legacy,
    /// 2026-07-28: no sessions, `resultType` on every result.
    Stateless,
}

/// The result kind every stateless result carries unless the backend said otherwise.
const COMPLETE: &str = r#""complete""#;

/// Only `resultType` and `isError` of a result's top level; every other member is skipped
/// without allocating.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "resultType", default, borrow)]
    result_type: Option<&'a RawValue>,
    #[serde(rename = "isError", default, borrow)]
    is_error: Option<&'a RawValue>,
}

/// `result` (a raw JSON object) as `era` expects it. A result that is not an object is passed on
/// as it is: the client's own validation names it better than a rewrite would.
pub fn result(era: ClientEra, result: &str) -> Cow<'_, str> {
    shaped(era, result).0
}

/// [`result`], and whether the result says `"isError": true` (read in the same pass).
pub fn shaped(era: ClientEra, result: &str) -> (Cow<'_, str>, bool) {
    let trimmed = result.trim();
    if !trimmed.starts_with('{') {
        return (Cow::Borrowed(result), false);
    }
    let Ok(probe) = serde_json::from_str::<Probe>(trimmed) else {
        return (Cow::Borrowed(result), false);
    };
    let is_error = probe.is_error.is_some_and(|v| v.get() == "true");
    let shaped = match (era, probe.result_type) {
        (ClientEra::Stateless, None) => Cow::Owned(with_complete(trimmed)),
        (ClientEra::Legacy, Some(kind)) if kind.get() == COMPLETE => {
            without_result_type(trimmed).map_or(Cow::Borrowed(result), Cow::Owned)
        }
        _ => Cow::Borrowed(result),
    };
    (shaped, is_error)
}

/// `{"resultType":"complete", ...rest}`.
fn with_complete(object: &str) -> String {
    let rest = object[1..].trim_start();
    let mut out = String::with_capacity(object.len() + 26);
    out.push_str(r#"{"resultType":"complete""#);
    if !rest.starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    out
}

/// The object without its top-level `resultType`, members otherwise in their order.
fn without_result_type(object: &str) -> Option<String> {
    let Members(members) = serde_json::from_str(object).ok()?;
    let mut out = String::with_capacity(object.len());
    out.push('{');
    for (key, value) in members.iter().filter(|(k, _)| k != "resultType") {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    Some(out)
}

/// An object's members in order, values raw.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use super::*;

    fn shaped(era: ClientEra, raw: &str) -> Value {
        serde_json::from_str(&result(era, raw)).unwrap()
    }

    #[rstest]
    #[case::legacy_backend_result(r#"{"content":[{"type":"text","text":"hi"}],"isError":false}"#)]
    #[case::empty(r#"{}"#)]
    #[case::spaces(r#"  { "content" : [] }  "#)]
    fn a_stateless_client_gets_result_type_complete(#[case] raw: &str) {
        let value = shaped(ClientEra::Stateless, raw);
        assert_eq!(value["resultType"], "complete", "{value}");
        let mut without = value.as_object().unwrap().clone();
        without.remove("resultType");
        let original: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(Value::Object(without), original, "nothing else changes");
    }

    #[test]
    fn a_stateless_result_keeps_the_backends_result_type_and_meta() {
        let raw =
            r#"{"resultType":"incomplete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"b"}},"content":[]}"#;
        assert_eq!(result(ClientEra::Stateless, raw), raw);
        let complete = r#"{"content":[],"resultType":"complete","_meta":{"k":1}}"#;
        assert!(matches!(result(ClientEra::Stateless, complete), Cow::Borrowed(_)));
    }

    #[test]
    fn a_legacy_client_never_sees_result_type_complete() {
        let raw =
            r#"{"content":[{"type":"text","text":"a\"b"}],"resultType":"complete","_meta":{"x":[1,2]},"isError":true}"#;
        let value = shaped(ClientEra::Legacy, raw);
        assert_eq!(
            value,
            json!({"content":[{"type":"text","text":"a\"b"}],"_meta":{"x":[1,2]},"isError":true})
        );
        let order: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(order.len(), 3);
        let legacy = r#"{"content":[]}"#;
        assert!(matches!(result(ClientEra::Legacy, legacy), Cow::Borrowed(_)));
    }

    #[rstest]
    #[case::tool_error(r#"{"content":[],"isError":true}"#, true)]
    #[case::spaced(r#"{"isError" : true, "content":[]}"#, true)]
    #[case::not_error(r#"{"content":[],"isError":false}"#, false)]
    #[case::nested_only(r#"{"structuredContent":{"isError":true},"content":[]}"#, false)]
    #[case::in_a_string(r#"{"content":[{"type":"text","text":"\"isError\":true"}]}"#, false)]
    fn is_error_is_read_from_the_top_level_only(#[case] raw: &str, #[case] expected: bool) {
        assert_eq!(super::shaped(ClientEra::Stateless, raw).1, expected);
        assert_eq!(super::shaped(ClientEra::Legacy, raw).1, expected);
    }

    #[rstest]
    #[case::array("[1]")]
    #[case::not_json("{nope")]
    #[case::string(r#""x""#)]
    fn what_is_not_an_object_passes_as_it_is(#[case] raw: &str) {
        assert_eq!(result(ClientEra::Stateless, raw), raw);
        assert_eq!(result(ClientEra::Legacy, raw), raw);
    }
}
