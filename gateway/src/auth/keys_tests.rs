use rstest::rstest;
use serde_json::json;

use super::*;

#[test]
fn a_jwks_keeps_asymmetric_keys_with_a_kid() {
    let body = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256", "use": "sig",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "EC", "crv": "P-256", "alg": "ES256",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-256", "kid": "enc", "alg": "ECDH-ES",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "weird", "kid": "w"}
    ]});
    let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
    let kids: Vec<&String> = keys.keys().collect();
    assert_eq!(
        kids,
        ["ec"],
        "no kid, oct, encryption-only and unknown key types are dropped"
    );
    assert_eq!(keys["ec"].algorithm, Some(Algorithm::ES256));
}

#[rstest]
#[case::not_json(b"<html>".as_slice(), "not JSON")]
#[case::keys_not_a_list(br#"{"keys": 1}"#.as_slice(), "not a list")]
#[case::neither(br#"{"a": 1}"#.as_slice(), "neither")]
#[case::no_usable_key(br#"{"keys": [{"kty": "oct", "kid": "x", "k": "YQ"}]}"#.as_slice(), "no usable")]
fn an_unusable_answer_is_named(#[case] body: &[u8], #[case] needle: &str) {
    let err = parse_jwks(body).err().unwrap();
    assert!(err.contains(needle), "{err}");
}

#[test]
fn one_bare_jwk_is_a_key_set_of_one() {
    let body = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    assert_eq!(parse_jwks(body.to_string().as_bytes()).unwrap().len(), 1);
}
