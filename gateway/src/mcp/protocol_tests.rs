use http::{HeaderMap, HeaderValue};
use rstest::rstest;

use super::*;

fn config() -> McpRouterConfig {
    serde_json::from_value(serde_json::json!({})).unwrap()
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[rstest]
#[case(&[], "tools/list", None, Ok(Era::Legacy))]
#[case(&[("mcp-protocol-version", "2025-06-18")], "tools/list", None, Ok(Era::Legacy))]
#[case(&[("mcp-protocol-version", "2026-07-28")], "tools/list", None, Ok(Era::Stateless("2026-07-28".into())))]
#[case(&[], "tools/list", Some("2026-07-28"), Ok(Era::Stateless("2026-07-28".into())))]
#[case(&[], "server/discover", None, Ok(Era::Stateless("2026-07-28".into())))]
#[case(&[], "initialize", None, Ok(Era::Legacy))]
fn era_is_chosen_per_request(
    #[case] h: &[(&'static str, &str)],
    #[case] method: &str,
    #[case] meta: Option<&str>,
    #[case] expected: Result<Era, Refusal>,
) {
    assert_eq!(era(&config(), &headers(h), method, meta), expected);
}

#[test]
fn unknown_versions_are_refused_listing_the_supported_ones() {
    let err = era(
        &config(),
        &headers(&[("mcp-protocol-version", "1999-01-01")]),
        "tools/list",
        None,
    )
    .unwrap_err();
    let Refusal::UnsupportedVersion(text) = err else {
        panic!("{err:?}")
    };
    assert!(text.contains("2026-07-28") && text.contains("2024-11-05"), "{text}");
}

#[test]
fn header_and_meta_versions_must_agree() {
    let h = headers(&[("mcp-protocol-version", "2025-11-25")]);
    assert!(matches!(
        era(&config(), &h, "tools/list", Some("2026-07-28")),
        Err(Refusal::HeaderMismatch(_))
    ));
}

#[rstest]
#[case(&[("mcp-method", "tools/call"), ("mcp-name", "echo")], Ok(()))]
#[case(&[("mcp-method", "tools/call"), ("mcp-name", "=?base64?ZWNobw==?=")], Ok(()))]
#[case(&[("mcp-name", "echo")], Err("missing required Mcp-Method"))]
#[case(&[("mcp-method", "tools/list"), ("mcp-name", "echo")], Err("does not match body method"))]
#[case(&[("mcp-method", "tools/call")], Err("missing required Mcp-Name"))]
#[case(&[("mcp-method", "tools/call"), ("mcp-name", "add")], Err("does not match body name"))]
fn stateless_headers_must_match_the_body(#[case] h: &[(&'static str, &str)], #[case] expected: Result<(), &str>) {
    let got = check_stateless_headers(&headers(h), "tools/call", Some("echo"));
    match (got, expected) {
        (Ok(()), Ok(())) => {}
        (Err(Refusal::HeaderMismatch(text)), Err(needle)) => assert!(text.contains(needle), "{text}"),
        (got, expected) => panic!("{got:?} vs {expected:?}"),
    }
}

#[rstest]
#[case("application/json, text/event-stream", Some(Answer::Json))]
#[case("text/event-stream", Some(Answer::Sse))]
#[case("application/json", Some(Answer::Json))]
#[case("*/*", Some(Answer::Json))]
#[case("text/html", None)]
fn accept_picks_the_answer(#[case] accept: &str, #[case] expected: Option<Answer>) {
    assert_eq!(answer_mode(&headers(&[("accept", accept)])), expected);
}

#[test]
fn origins_pass_only_when_allowlisted_and_an_empty_list_refuses_them_all() {
    let mut c = config();
    let h = headers(&[("origin", "https://evil.example")]);
    assert!(!origin_allowed(&c, &h), "empty allowlist: no browser origin");
    assert!(origin_allowed(&c, &HeaderMap::new()), "no Origin: not a browser");
    c.origin_allowlist = vec!["https://app.example".into()];
    assert!(!origin_allowed(&c, &h));
    assert!(origin_allowed(&c, &headers(&[("origin", "https://app.example/")])));
    c.origin_allowlist = vec!["*".into()];
    assert!(origin_allowed(&c, &h), "* allows every origin, as written");
}

#[rstest]
#[case(Some("application/json"), true)]
#[case(Some("Application/JSON; charset=utf-8"), true)]
#[case(Some("text/plain"), false)]
#[case(Some("application/x-www-form-urlencoded"), false)]
#[case(Some("application/jsonp"), false)]
#[case(None, false)]
fn only_json_bodies_are_taken(#[case] content_type: Option<&str>, #[case] taken: bool) {
    let h = content_type.map_or_else(HeaderMap::new, |v| headers(&[("content-type", v)]));
    assert_eq!(declares_json(&h), taken);
}

#[test]
fn header_values_round_trip() {
    for v in ["echo", "with space", "ünïcode", "=?base64?x?="] {
        assert_eq!(decode_header_value(&encode_header_value(v)).as_deref(), Some(v));
    }
}
