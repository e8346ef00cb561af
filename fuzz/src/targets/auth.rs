//! Bearer tokens: the `Authorization` header read, the JWT header parsed, the key picked and the
//! token verified against one Ed25519 key; and the key service's JWKS answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use light_gateway::auth::config::{KeyProvider, SecurityConfig};
use light_gateway::auth::jwt::{self, JwtVerifier};
use light_gateway::auth::keys::{self, KeyStore, Timing};
use serde_json::json;

use crate::input;
use crate::loopback::{Canned, Loopback, block_on};

/// The key service's answer: one Ed25519 public key. Its private key signed the seed tokens in
/// `corpus/jwt_header/` (issuer `fuzz`, audience `light-gateway`, expiry in 2100) and is not
/// kept: the fuzzer is to forge nothing, only to reach every refusal.
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"oiZuftwMpp3OUIHCyuX2xgQ_o6JValiQM3Vve__JzbI","kid":"fuzz-ed25519","alg":"EdDSA","use":"sig"}]}"#;

/// The scope the verifier requires.
const SCOPE: &str = "tools.call";

/// A verifier of one thread with the key loaded; the key service is asked once, at the start.
struct Verifier {
    verifier: JwtVerifier,
    _keys: Loopback,
}

impl Verifier {
    fn new() -> Self {
        let keys = Loopback::start(|_| Canned::ok(b"application/json", JWKS.as_bytes().to_vec()));
        let provider = KeyProvider {
            name: "default".into(),
            url: url::Url::parse(&keys.url("/oauth2/keys")).expect("a loopback URL parses"),
            basic: None,
            audience: None,
        };
        // No second fetch for an unknown kid within a run: the answer would be the same, and a
        // run must not depend on how long ago the last fetch was.
        let timing = Timing {
            unknown_kid_interval: Duration::from_secs(86_400),
            ..Timing::default()
        };
        let store = Arc::new(KeyStore::new(provider, super::tls(), timing).expect("the key store builds"));
        block_on(store.refresh()).expect("the fuzz JWKS loads");
        // No cache: a token verified in one run must be verified again in the next.
        let config: SecurityConfig = serde_json::from_value(json!({
            "enableJwtCache": false,
            "enableVerifyScope": true,
            "requiredScopes": [SCOPE],
            "issuer": "fuzz",
            "audience": ["light-gateway"],
        }))
        .expect("the fuzz security.yml is valid");
        Self {
            verifier: JwtVerifier::new(Arc::new(config), Some(store), BTreeMap::new()),
            _keys: keys,
        }
    }
}

thread_local! {
    static VERIFIER: Verifier = Verifier::new();
}

/// Input: the `Authorization` header's value; optionally the separator line and a JWKS answer
/// for `auth::keys::parse_jwks`.
pub fn jwt_header(data: &[u8]) {
    let parts = input::parts(data, 2);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(parts[0]) {
        headers.insert(http::header::AUTHORIZATION, value);
    }
    if let Ok(token) = jwt::bearer(&headers, false) {
        assert!(!token.is_empty() && token == token.trim(), "bearer token {token:?}");
        let verdict = VERIFIER.with(|v| block_on(v.verifier.verify(token, &[], true)));
        if let Ok(principal) = verdict {
            assert!(principal.has_scopes(&[SCOPE.to_string()]), "verified without {SCOPE}");
            assert_eq!(
                principal.issuer.as_deref(),
                Some("fuzz"),
                "verified from another issuer"
            );
            assert!(principal.expires_at.is_some(), "verified without exp");
        }
    }
    if let Some(jwks) = parts.get(1)
        && let Ok(found) = keys::parse_jwks(jwks)
    {
        assert!(!found.is_empty(), "a JWKS without usable keys is an error");
        assert!(found.keys().all(|kid| !kid.trim().is_empty()), "a key without a kid");
    }
}
