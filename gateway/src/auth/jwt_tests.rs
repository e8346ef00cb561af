//! Every rejection reason of the verifier, against the mock key service in-process.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use light_gateway_fixtures::key_service::{KeyAlg, KeyOutageMode, KeyRequest, MockKeyService, TokenRequest};
use rstest::rstest;
use serde_json::json;

use super::*;
use crate::auth::config::KeyProvider;
use crate::auth::keys::Timing;

fn tls() -> rustls::ClientConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

fn timing() -> Timing {
    Timing {
        unknown_kid_interval: Duration::from_millis(300),
        ..Timing::default()
    }
}

struct Setup {
    keys: MockKeyService,
    store: Arc<KeyStore>,
    verifier: JwtVerifier,
}

async fn setup(config: serde_json::Value, alg: KeyAlg, audience: Option<&str>) -> Setup {
    setup_with(config, alg, audience, timing()).await
}

async fn setup_with(config: serde_json::Value, alg: KeyAlg, audience: Option<&str>, timing: Timing) -> Setup {
    let keys = MockKeyService::builder().initial_alg(alg).start().await.unwrap();
    let provider = KeyProvider {
        name: "default".into(),
        url: url::Url::parse(&keys.jwks_url()).unwrap(),
        basic: None,
        audience: audience.map(str::to_string),
    };
    let store = Arc::new(KeyStore::new(provider, tls(), timing).unwrap());
    let config: SecurityConfig = serde_json::from_value(config).unwrap();
    let verifier = JwtVerifier::new(Arc::new(config), Some(store.clone()), BTreeMap::new());
    Setup { keys, store, verifier }
}

async fn default_setup() -> Setup {
    setup(json!({}), KeyAlg::RS256, None).await
}

async fn mint(keys: &MockKeyService, request: TokenRequest) -> String {
    keys.mint(request).await.unwrap().token
}

fn claims(value: serde_json::Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn token_for(claims_value: serde_json::Value) -> TokenRequest {
    TokenRequest {
        claims: claims(claims_value),
        ..TokenRequest::default()
    }
}

fn invalid(result: Result<Arc<Principal>, Refusal>) -> String {
    match result {
        Err(Refusal::Invalid(reason)) => reason,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[rstest]
#[case::rs256(KeyAlg::RS256)]
#[case::rs384(KeyAlg::RS384)]
#[case::rs512(KeyAlg::RS512)]
#[case::ps256(KeyAlg::PS256)]
#[case::ps512(KeyAlg::PS512)]
#[case::es256(KeyAlg::ES256)]
#[case::es384(KeyAlg::ES384)]
#[case::eddsa(KeyAlg::EdDSA)]
#[tokio::test]
async fn every_asymmetric_algorithm_verifies(#[case] alg: KeyAlg) {
    let s = setup(json!({}), alg, None).await;
    let token = mint(&s.keys, token_for(json!({"sub": "alice", "role": "teller"}))).await;
    let principal = s.verifier.verify(&token, &[], true).await.unwrap();
    assert_eq!(principal.user_id.as_deref(), Some("alice"));
    assert_eq!(principal.claims["role"], "teller");
}

#[tokio::test]
async fn expiry_and_not_before_honour_the_clock_skew() {
    let s = setup(json!({"jwt": {"clockSkewInSeconds": 60}}), KeyAlg::ES256, None).await;
    let at = |expires_in: i64, not_before_in: Option<i64>| TokenRequest {
        expires_in: Some(expires_in),
        not_before_in,
        ..TokenRequest::default()
    };
    let verifier = &s.verifier;
    let verify = |token: String| async move { verifier.verify(&token, &[], true).await };
    assert!(
        verify(mint(&s.keys, at(-30, None)).await).await.is_ok(),
        "inside the skew"
    );
    assert!(invalid(verify(mint(&s.keys, at(-120, None)).await).await).contains("expired"));
    assert!(
        verify(mint(&s.keys, at(300, Some(30))).await).await.is_ok(),
        "nbf inside the skew"
    );
    assert!(invalid(verify(mint(&s.keys, at(300, Some(600))).await).await).contains("not valid yet"));
}

#[tokio::test]
async fn a_token_without_exp_is_refused_unless_expiry_is_ignored() {
    let s = default_setup().await;
    let no_exp = token_for(json!({"exp": null}));
    let token = mint(&s.keys, no_exp).await;
    assert!(invalid(s.verifier.verify(&token, &[], true).await).contains("exp"));
    let lax = setup(json!({"ignoreJwtExpiry": true}), KeyAlg::ES256, None).await;
    let old = mint(
        &lax.keys,
        TokenRequest {
            expires_in: Some(-10_000),
            ..TokenRequest::default()
        },
    )
    .await;
    assert!(lax.verifier.verify(&old, &[], true).await.is_ok());
}

#[tokio::test]
async fn issuer_and_audience_are_checked() {
    let s = setup(
        json!({"issuer": "https://auth.example", "audience": ["mcp-gateway"]}),
        KeyAlg::ES256,
        None,
    )
    .await;
    let good = mint(
        &s.keys,
        token_for(json!({"iss": "https://auth.example", "aud": ["x", "mcp-gateway"]})),
    )
    .await;
    assert!(s.verifier.verify(&good, &[], true).await.is_ok());
    let other_aud = mint(
        &s.keys,
        token_for(json!({"iss": "https://auth.example", "aud": "another-api"})),
    )
    .await;
    assert!(invalid(s.verifier.verify(&other_aud, &[], true).await).contains("audience"));
    let other_iss = mint(
        &s.keys,
        token_for(json!({"iss": "https://evil.example", "aud": "mcp-gateway"})),
    )
    .await;
    assert!(invalid(s.verifier.verify(&other_iss, &[], true).await).contains("issuer"));
    let provider = setup(json!({}), KeyAlg::ES256, Some("keys-audience")).await;
    let wrong = mint(&provider.keys, token_for(json!({"aud": "mcp-gateway"}))).await;
    assert!(invalid(provider.verifier.verify(&wrong, &[], true).await).contains("keys-audience"));
    let right = mint(&provider.keys, token_for(json!({"aud": ["keys-audience"]}))).await;
    assert!(provider.verifier.verify(&right, &[], true).await.is_ok());
}

fn forged(header: serde_json::Value, payload: serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[tokio::test]
async fn alg_none_and_hmac_with_the_public_key_are_refused() {
    let s = default_setup().await;
    let kid = s.keys.keys()[0].kid.clone();
    let exp = jsonwebtoken::get_current_timestamp() + 300;
    let none = forged(json!({"alg": "none", "kid": kid}), json!({"sub": "x", "exp": exp}), b"");
    assert!(invalid(s.verifier.verify(&none, &[], true).await).contains("cannot be read"));
    // HS256 "signed" with the RSA public key as the secret: the classic key-confusion attack.
    let jwks = serde_json::to_string(&s.keys.jwks()).unwrap();
    let secret = jsonwebtoken::EncodingKey::from_secret(jwks.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    let hs = jsonwebtoken::encode(&header, &json!({"sub": "x", "exp": exp}), &secret).unwrap();
    assert!(invalid(s.verifier.verify(&hs, &[], true).await).contains("not accepted"));
}

#[rstest]
#[case::garbage("not a token", "cannot be read")]
#[case::two_parts("a.b", "cannot be read")]
#[case::bad_base64("%%%.%%%.%%%", "cannot be read")]
#[tokio::test]
async fn malformed_tokens_are_named(#[case] token: &str, #[case] needle: &str) {
    let s = default_setup().await;
    assert!(invalid(s.verifier.verify(token, &[], true).await).contains(needle));
}

#[tokio::test]
async fn truncated_tampered_and_oversized_tokens_are_refused() {
    let s = default_setup().await;
    let token = mint(&s.keys, token_for(json!({"sub": "alice"}))).await;
    let truncated = &token[..token.len() - 10];
    assert!(s.verifier.verify(truncated, &[], true).await.is_err());
    let (head, _) = token.rsplit_once('.').unwrap();
    let (header, _) = head.split_once('.').unwrap();
    let tampered = format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"sub":"root","exp":9999999999}"#),
        token.rsplit('.').next().unwrap()
    );
    assert!(invalid(s.verifier.verify(&tampered, &[], true).await).contains("signature"));
    let huge = "a".repeat(16 * 1024);
    assert!(invalid(s.verifier.verify(&huge, &[], true).await).contains("larger than"));
}

#[tokio::test]
async fn unknown_kids_fetch_the_keys_at_most_once_per_interval() {
    let long = Timing {
        unknown_kid_interval: Duration::from_secs(60),
        ..Timing::default()
    };
    let s = setup_with(json!({}), KeyAlg::ES256, None, long).await;
    for i in 0..50 {
        let token = mint(
            &s.keys,
            TokenRequest {
                header_kid: Some(format!("bogus-{i}")),
                ..TokenRequest::default()
            },
        )
        .await;
        assert!(invalid(s.verifier.verify(&token, &[], true).await).contains("has no key"));
    }
    assert_eq!(s.keys.requests().len(), 1, "a flood of made-up kids costs one fetch");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_without_a_restart_and_a_retired_one_is_not() {
    let s = setup(json!({}), KeyAlg::RS256, None).await;
    let old = mint(&s.keys, token_for(json!({"sub": "alice"}))).await;
    assert!(s.verifier.verify(&old, &[], true).await.is_ok());
    let new = s
        .keys
        .add_key(KeyRequest {
            retire_others: true,
            ..KeyRequest::new(KeyAlg::ES256)
        })
        .await
        .unwrap();
    let fresh = mint(
        &s.keys,
        TokenRequest {
            kid: Some(new.kid.clone()),
            ..token_for(json!({"sub": "bob"}))
        },
    )
    .await;
    // Unknown kids fetch at most once per interval; the first verification just fetched.
    tokio::time::sleep(timing().unknown_kid_interval).await;
    assert_eq!(
        s.verifier.verify(&fresh, &[], true).await.unwrap().user_id.as_deref(),
        Some("bob")
    );
    // The fetch that found the new key dropped the retired one; the cached verdict goes with it.
    assert!(invalid(s.verifier.verify(&old, &[], true).await).contains("has no key"));
}

#[rstest]
#[case::refused(KeyOutageMode::Refuse)]
#[case::error_500(KeyOutageMode::Error)]
#[case::garbage(KeyOutageMode::Garbage)]
#[tokio::test]
async fn a_key_service_outage_fails_closed_and_heals(#[case] mode: KeyOutageMode) {
    let s = default_setup().await;
    let token = mint(&s.keys, token_for(json!({"sub": "alice"}))).await;
    s.keys.set_outage(mode).await.unwrap();
    match s.verifier.verify(&token, &[], true).await {
        Err(Refusal::KeysUnavailable(reason)) => assert!(reason.contains("cannot be looked up"), "{reason}"),
        other => panic!("expected the keys to be unavailable, got {other:?}"),
    }
    s.keys.set_outage(KeyOutageMode::None).await.unwrap();
    tokio::time::sleep(timing().unknown_kid_interval).await;
    assert!(s.verifier.verify(&token, &[], true).await.is_ok());
    // Keys already held keep working through the next outage.
    s.keys.set_outage(mode).await.unwrap();
    let again = mint(&s.keys, token_for(json!({"sub": "bob"}))).await;
    assert!(s.verifier.verify(&again, &[], true).await.is_ok());
}

#[tokio::test]
async fn tokens_without_kid_need_the_one_key_or_relaxed_validation() {
    let s = default_setup().await;
    let no_kid = TokenRequest {
        omit_kid: true,
        ..TokenRequest::default()
    };
    s.store.refresh().await.unwrap();
    let token = mint(&s.keys, no_kid.clone()).await;
    assert!(
        s.verifier.verify(&token, &[], true).await.is_ok(),
        "one key: it is the one"
    );
    s.keys.add_key(KeyRequest::new(KeyAlg::RS256)).await.unwrap();
    s.store.refresh().await.unwrap();
    let first = s.keys.keys()[0].kid.clone();
    let token = mint(
        &s.keys,
        TokenRequest {
            kid: Some(first),
            ..no_kid
        },
    )
    .await;
    assert!(invalid(s.verifier.verify(&token, &[], true).await).contains("no key (kid)"));
    let relaxed = JwtVerifier::new(
        Arc::new(serde_json::from_value(json!({"enableRelaxedKeyValidation": true})).unwrap()),
        Some(s.store.clone()),
        BTreeMap::new(),
    );
    assert!(relaxed.verify(&token, &[], true).await.is_ok());
}

#[tokio::test]
async fn required_scopes_give_insufficient_scope() {
    let s = setup(
        json!({"enableVerifyScope": true, "requiredScopes": ["mcp.call"]}),
        KeyAlg::ES256,
        None,
    )
    .await;
    let with = mint(&s.keys, token_for(json!({"scope": "mcp.read mcp.call"}))).await;
    assert!(s.verifier.verify(&with, &[], true).await.is_ok());
    let without = mint(&s.keys, token_for(json!({"scp": ["mcp.read"]}))).await;
    assert_eq!(
        s.verifier.verify(&without, &[], true).await.unwrap_err(),
        Refusal::InsufficientScope(vec!["mcp.call".into()])
    );
    assert!(
        s.verifier.verify(&without, &[], false).await.is_ok(),
        "a simple JWT is not scope-checked"
    );
}

#[rstest]
#[case::bearer(&[("authorization", "Bearer abc")], false, Ok("abc"))]
#[case::any_case(&[("authorization", "bEaReR  abc ")], false, Ok("abc"))]
#[case::none(&[], false, Err("missing"))]
#[case::basic(&[("authorization", "Basic abc")], false, Err("invalid"))]
#[case::empty(&[("authorization", "Bearer ")], false, Err("invalid"))]
#[case::two_headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")], false, Err("invalid"))]
#[case::scope_token(&[("x-scope-token", "xyz")], true, Ok("xyz"))]
#[case::scope_token_off(&[("x-scope-token", "xyz")], false, Err("missing"))]
fn the_bearer_token_is_found(
    #[case] pairs: &[(&str, &str)],
    #[case] scope: bool,
    #[case] expected: Result<&str, &str>,
) {
    let mut headers = http::HeaderMap::new();
    for (k, v) in pairs {
        headers.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    match (bearer(&headers, scope), expected) {
        (Ok(token), Ok(want)) => assert_eq!(token, want),
        (Err(Refusal::Missing(_)), Err("missing")) | (Err(Refusal::Invalid(_)), Err("invalid")) => {}
        (got, want) => panic!("{got:?} vs {want:?}"),
    }
}

#[tokio::test]
async fn only_the_configured_algorithms_are_accepted() {
    let s = setup(json!({"algorithms": "ES256"}), KeyAlg::RS256, None).await;
    let token = mint(&s.keys, TokenRequest::default()).await;
    assert!(invalid(s.verifier.verify(&token, &[], true).await).contains("RS256"));
}
