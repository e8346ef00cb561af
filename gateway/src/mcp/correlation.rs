//! Correlation (`correlation.yml`, upstream's keys): every MCP request carries an
//! `X-Correlation-Id`, the client's when it sent a usable one, else one minted here (as upstream
//! mints them: a UUIDv7, base64url without padding). The id goes to the backend, back to the
//! client (header, and `error.data.correlationId` of the gateway's own JSON-RPC errors) and into
//! the audit line. `X-Traceability-Id` is echoed as upstream does. The W3C `traceparent` is
//! passed to the backend as the client sent it, or a new one is started when it sent none (or
//! an unusable one): this gateway records no spans, so it never claims a parent of its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

/// The correlation id header.
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
/// The traceability id header (echoed).
pub const TRACEABILITY_ID: HeaderName = HeaderName::from_static("x-traceability-id");
/// The W3C trace context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The longest id taken from a client: longer ones are replaced, so a client cannot make every
/// log and audit line carry kilobytes.
const MAX_ID_LEN: usize = 128;

/// `correlation.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorrelationConfig {
    /// Whether correlation ids are taken, minted and passed on at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether a request without a usable id gets one minted.
    #[serde(default = "yes")]
    pub autogen_correlation_id: bool,
    /// The audit line's key for the correlation id (upstream's log field name).
    #[serde(default = "default_correlation_field")]
    pub correlation_mdc_field: String,
    /// The audit line's key for the traceability id.
    #[serde(default = "default_traceability_field")]
    pub traceability_mdc_field: String,
}

fn yes() -> bool {
    true
}

fn default_correlation_field() -> String {
    "cId".into()
}

fn default_traceability_field() -> String {
    "tId".into()
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            autogen_correlation_id: true,
            correlation_mdc_field: default_correlation_field(),
            traceability_mdc_field: default_traceability_field(),
        }
    }
}

/// One request's ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correlation {
    /// `X-Correlation-Id`: the client's or minted; `None` when correlation is off (or minting
    /// is off and the client sent none).
    pub id: Option<String>,
    /// `X-Traceability-Id` as the client sent it.
    pub traceability: Option<String>,
    /// The `traceparent` the backend gets.
    pub traceparent: String,
}

impl Correlation {
    /// The ids of a request with `headers`.
    pub fn of(config: &CorrelationConfig, headers: &HeaderMap) -> Self {
        let traceparent = single(headers, &TRACEPARENT)
            .filter(|v| valid_traceparent(v))
            .map_or_else(new_traceparent, str::to_string);
        if !config.enabled {
            return Self {
                traceparent,
                ..Self::default()
            };
        }
        let id = match single(headers, &CORRELATION_ID).filter(|v| valid_id(v)) {
            Some(sent) => Some(sent.to_string()),
            None if config.autogen_correlation_id => Some(new_id()),
            None => None,
        };
        Self {
            id,
            traceability: single(headers, &TRACEABILITY_ID)
                .filter(|v| valid_id(v))
                .map(str::to_string),
            traceparent,
        }
    }

    /// What the backend gets besides the forwarded headers.
    pub fn backend_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::with_capacity(2);
        if let Some(id) = self.id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            out.push((CORRELATION_ID, id));
        }
        if let Ok(value) = HeaderValue::from_str(&self.traceparent) {
            out.push((TRACEPARENT, value));
        }
        out
    }

    /// What the client gets back.
    pub fn reply_headers(&self) -> impl Iterator<Item = (HeaderName, String)> + '_ {
        let id = self.id.iter().map(|v| (CORRELATION_ID, v.clone()));
        let traceability = self.traceability.iter().map(|v| (TRACEABILITY_ID, v.clone()));
        id.chain(traceability)
    }
}

/// The header's value when it is there exactly once and is text.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// 1 to 128 visible ASCII characters: no spaces or control characters, so the id cannot
/// forge or split a log line.
fn valid_id(value: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// W3C trace context level 1: `00-<32 hex>-<16 hex>-<2 hex>`, lower case, ids not all zero.
fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [version, trace, parent, flags]
        if *version == "00" && hex(trace, 32) && nonzero(trace) && hex(parent, 16) && nonzero(parent) && hex(flags, 2))
}

/// A new correlation id: UUIDv7 (time ordered), base64url without padding (22 characters).
fn new_id() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::now_v7().as_bytes())
}

/// A new trace: random ids, not sampled (this gateway records nothing of it).
fn new_traceparent() -> String {
    let trace = rand::random::<u128>().max(1);
    let parent = rand::random::<u64>().max(1);
    format!("00-{trace:032x}-{parent:016x}-00")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    const TOO_LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_clients_ids_are_kept_and_passed_on() {
        let h = headers(&[
            ("x-correlation-id", "abc-123"),
            ("x-traceability-id", "t-9"),
            ("traceparent", PARENT),
        ]);
        let c = Correlation::of(&CorrelationConfig::default(), &h);
        assert_eq!(c.id.as_deref(), Some("abc-123"));
        assert_eq!(c.traceparent, PARENT);
        let backend: Vec<_> = c
            .backend_headers()
            .into_iter()
            .map(|(k, v)| (k, v.to_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            backend,
            [
                (CORRELATION_ID, "abc-123".to_string()),
                (TRACEPARENT, PARENT.to_string())
            ]
        );
        let reply: Vec<_> = c.reply_headers().collect();
        assert_eq!(
            reply,
            [
                (CORRELATION_ID, "abc-123".to_string()),
                (TRACEABILITY_ID, "t-9".to_string())
            ]
        );
    }

    #[rstest]
    #[case::absent(&[])]
    #[case::with_a_space(&[("x-correlation-id", "a b")])]
    #[case::too_long(&[("x-correlation-id", TOO_LONG)])]
    #[case::twice(&[("x-correlation-id", "a"), ("x-correlation-id", "b")])]
    fn a_missing_or_unusable_id_is_minted(#[case] pairs: &[(&str, &str)]) {
        let c = Correlation::of(&CorrelationConfig::default(), &headers(pairs));
        let id = c.id.unwrap();
        assert_eq!(id.len(), 22, "{id}");
        assert!(
            id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
        assert_ne!(
            id,
            Correlation::of(&CorrelationConfig::default(), &headers(pairs))
                .id
                .unwrap()
        );
    }

    #[rstest]
    #[case::absent("")]
    #[case::upper_case("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    #[case::zero_trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    #[case::zero_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    #[case::short("00-4bf92f35-00f067aa0ba902b7-01")]
    #[case::other_version("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    fn an_unusable_traceparent_starts_a_new_trace(#[case] sent: &str) {
        let pairs: Vec<(&str, &str)> = if sent.is_empty() {
            vec![]
        } else {
            vec![("traceparent", sent)]
        };
        let c = Correlation::of(&CorrelationConfig::default(), &headers(&pairs));
        assert!(valid_traceparent(&c.traceparent), "{}", c.traceparent);
        assert_ne!(c.traceparent, sent);
        assert!(c.traceparent.ends_with("-00"), "not sampled: {}", c.traceparent);
    }

    #[test]
    fn off_means_no_ids_but_the_trace_still_passes() {
        let config = CorrelationConfig {
            enabled: false,
            ..CorrelationConfig::default()
        };
        let c = Correlation::of(
            &config,
            &headers(&[("x-correlation-id", "abc"), ("traceparent", PARENT)]),
        );
        assert_eq!((c.id, c.traceability, c.traceparent.as_str()), (None, None, PARENT));
        let no_mint = CorrelationConfig {
            autogen_correlation_id: false,
            ..CorrelationConfig::default()
        };
        assert_eq!(Correlation::of(&no_mint, &headers(&[])).id, None);
    }

    #[test]
    fn upstreams_file_loads_and_a_typo_is_refused() {
        let upstream: CorrelationConfig = serde_json::from_value(serde_json::json!({
            "enabled": true, "autogenCorrelationId": true, "correlationMdcField": "cId", "traceabilityMdcField": "tId"
        }))
        .unwrap();
        assert!(upstream.enabled && upstream.autogen_correlation_id);
        let typo = serde_json::from_value::<CorrelationConfig>(serde_json::json!({"autogenCorelationId": false}));
        assert!(typo.unwrap_err().to_string().contains("autogenCorelationId"));
    }
}
