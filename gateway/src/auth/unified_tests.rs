use rstest::rstest;
use serde_json::json;

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap()))
        .collect()
}

fn api_keys(value: serde_json::Value) -> ApiKeys {
    ApiKeys::new(&serde_json::from_value(value).unwrap())
}

#[test]
fn the_longest_prefix_wins_and_the_later_entry_on_a_tie() {
    let items = [("/", 1), ("/mcp", 2), ("/mcp", 3), ("/mcp/admin", 4)];
    assert_eq!(longest(&items, "/mcp", |i| i.0).unwrap().1, 3);
    assert_eq!(longest(&items, "/mcp/admin/x", |i| i.0).unwrap().1, 4);
    assert_eq!(longest(&items, "/other", |i| i.0).unwrap().1, 1);
    assert!(longest(&items[1..], "/other", |i| i.0).is_none());
}

#[test]
fn api_keys_are_checked_per_prefix() {
    let keys =
        api_keys(json!({"pathPrefixAuths": [{"pathPrefix": "/mcp", "headerName": "x-api-key", "apiKey": "k1"}]}));
    assert!(keys.check("/mcp", &headers(&[("x-api-key", "k1")]), false).is_ok());
    assert!(matches!(
        keys.check("/mcp", &headers(&[("x-api-key", "k2")]), false),
        Err(Refusal::ApiKey(_))
    ));
    assert!(matches!(
        keys.check("/mcp", &headers(&[]), false),
        Err(Refusal::ApiKey(_))
    ));
    assert!(
        keys.check("/other", &headers(&[]), false).is_ok(),
        "standalone: no rule, no check"
    );
    assert!(
        keys.check("/other", &headers(&[]), true).is_err(),
        "under unified-security a rule is needed"
    );
}

#[test]
fn hashed_api_keys_use_light_4js_pbkdf2_format() {
    let mut hash = [0u8; 20];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(b"secret-key", b"salt", 1000, &mut hash);
    let stored = format!("1000:{}:{}", hex::encode(b"salt"), hex::encode(hash));
    let keys = api_keys(
        json!({"hashEnabled": true, "pathPrefixAuths": [{"pathPrefix": "/", "headerName": "k", "apiKey": stored}]}),
    );
    assert!(keys.check("/mcp", &headers(&[("k", "secret-key")]), true).is_ok());
    assert!(keys.check("/mcp", &headers(&[("k", "secret-kex")]), true).is_err());
    assert!(parse_hash("1000:zz:00").is_none());
    assert!(parse_hash("0:00:00").is_none());
}

fn basic(value: serde_json::Value) -> BasicUsers {
    BasicUsers::new(&serde_json::from_value(value).unwrap(), "basic-auth.yml").unwrap()
}

fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[rstest]
#[case::right(basic_header("alice", "pw"), "/mcp", Ok(true))]
#[case::wrong_password(basic_header("alice", "nope"), "/mcp", Err("basic"))]
#[case::unknown_user(basic_header("bob", "pw"), "/mcp", Err("basic"))]
#[case::path_not_allowed(basic_header("alice", "pw"), "/admin", Err("forbidden"))]
#[case::not_base64("Basic %%%".to_string(), "/mcp", Err("basic"))]
#[case::other_scheme("Digest x".to_string(), "/mcp", Err("basic"))]
#[case::bearer_not_allowed("Bearer t".to_string(), "/mcp", Err("basic"))]
fn basic_credentials(#[case] authorization: String, #[case] path: &str, #[case] expected: Result<bool, &str>) {
    let users = basic(json!({"enabled": true, "users": [{"username": "alice", "password": "pw", "paths": ["/mcp"]}]}));
    let result = users.check(path, &headers(&[("authorization", &authorization)]));
    match (result, expected) {
        (Ok(principal), Ok(_)) => assert_eq!(principal.unwrap().user_id.as_deref(), Some("alice")),
        (Err(Refusal::Basic(_)), Err("basic")) | (Err(Refusal::Forbidden(_)), Err("forbidden")) => {}
        (other, expected) => panic!("{other:?} vs {expected:?}"),
    }
}

#[test]
fn anonymous_and_bearer_users_pass_only_when_allowed_and_listed() {
    let open = basic(
        json!({"enabled": true, "allowAnonymous": true, "allowBearerToken": true,
        "users": {"anonymous": {"password": "", "paths": ["/public"]}, "bearer": ""}}),
    );
    assert!(open.check("/public/x", &headers(&[])).unwrap().is_none());
    assert!(open.check("/mcp", &headers(&[])).is_err());
    assert!(
        open.check("/mcp", &headers(&[("authorization", "Bearer anything")]))
            .is_ok()
    );
    let closed = basic(json!({"enabled": true, "users": {"anonymous": ""}}));
    assert!(matches!(closed.check("/x", &headers(&[])), Err(Refusal::Basic(_))));
}

fn unified(value: serde_json::Value) -> Unified {
    let config: UnifiedSecurityConfig = serde_json::from_value(value).unwrap();
    config.validate("unified-security.yml").unwrap();
    Unified::new(config)
}

#[tokio::test]
async fn unified_picks_the_rule_of_the_longest_prefix() {
    let u = unified(json!({
        "anonymousPrefixes": ["/public"],
        "pathPrefixAuths": [{"prefix": "/", "jwt": true}, {"prefix": "/mcp/keys", "apikey": true},
                            {"prefix": "/mcp/basic", "basic": true}, {"prefix": "/mcp/open"}]
    }));
    let keys =
        api_keys(json!({"pathPrefixAuths": [{"pathPrefix": "/mcp/keys", "headerName": "x-api-key", "apiKey": "k"}]}));
    let users = basic(json!({"enabled": true, "users": {"alice": "pw"}}));
    let check = |path: &'static str, h: HeaderMap| {
        let (u, keys, users) = (&u, &keys, &users);
        async move { u.check(path, &h, None, Some(users), Some(keys)).await }
    };
    assert!(check("/public/doc", headers(&[])).await.unwrap().is_none());
    assert!(
        check("/mcp/open", headers(&[])).await.unwrap().is_none(),
        "a rule with no credentials passes"
    );
    assert!(check("/mcp/keys", headers(&[("x-api-key", "k")])).await.is_ok());
    assert!(matches!(
        check("/mcp/keys", headers(&[])).await,
        Err(Refusal::ApiKey(_))
    ));
    let alice = check(
        "/mcp/basic",
        headers(&[("authorization", &basic_header("alice", "pw"))]),
    )
    .await;
    assert_eq!(alice.unwrap().unwrap().user_id.as_deref(), Some("alice"));
    assert!(matches!(check("/mcp", headers(&[])).await, Err(Refusal::Missing(_))));
    assert!(
        matches!(
            check("/mcp", headers(&[("authorization", &basic_header("alice", "pw"))])).await,
            Err(Refusal::Basic(_))
        ),
        "Basic is not accepted where the rule wants a JWT"
    );
    assert!(matches!(
        check("/mcp", headers(&[("authorization", "Negotiate x")])).await,
        Err(Refusal::Invalid(_))
    ));
    let none = unified(json!({"pathPrefixAuths": [{"prefix": "/only", "jwt": true}]}));
    assert!(matches!(
        none.check("/mcp", &headers(&[]), None, None, None).await,
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn a_scope_claim_picks_the_jwt_keys_over_the_sjwt_keys() {
    let token = |claims: serde_json::Value| {
        let part = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", part(json!({"alg": "RS256"})), part(claims))
    };
    assert!(has_scope_claim(&token(json!({"scope": "a b"}))));
    assert!(has_scope_claim(&token(json!({"scp": ["a"]}))));
    assert!(!has_scope_claim(&token(json!({"scope": " "}))));
    assert!(!has_scope_claim(&token(json!({"sub": "x"}))));
    assert!(!has_scope_claim("not-a-token"));
}
