use std::collections::HashMap;

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::config::crypt;

fn values(v: Value) -> Values {
    v.as_object().cloned().unwrap()
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn resolve(text: &str, vals: Value, env_pairs: &[(&str, &str)]) -> Result<Value, ConfigError> {
    let vals = values(vals);
    let env = env(env_pairs);
    let doc = json!({ "k": text });
    Resolver::new(&vals, &env)
        .resolve_document("test.yml", doc)
        .map(|d| d["k"].clone())
}

#[rstest]
#[case("light_portal_authorization", "LIGHT_PORTAL_AUTHORIZATION")]
#[case("client.verifyHostname", "CLIENT_VERIFYHOSTNAME")]
#[case("light-config-server-uri", "LIGHT_CONFIG_SERVER_URI")]
fn env_name_upper_cases_and_maps_dots_and_dashes(#[case] key: &str, #[case] expected: &str) {
    assert_eq!(env_name(key), expected);
}

#[test]
fn mapped_env_name_beats_exact_env_name_beats_values() {
    let v = json!({"a.b": "values"});
    assert_eq!(
        resolve("${a.b}", v.clone(), &[("A_B", "mapped"), ("a.b", "exact")]).unwrap(),
        "mapped"
    );
    assert_eq!(resolve("${a.b}", v.clone(), &[("a.b", "exact")]).unwrap(), "exact");
    assert_eq!(resolve("${a.b}", v, &[]).unwrap(), "values");
}

#[test]
fn values_beat_the_default() {
    assert_eq!(resolve("${a:dflt}", json!({"a": "v"}), &[]).unwrap(), "v");
    assert_eq!(resolve("${a:dflt}", json!({}), &[]).unwrap(), "dflt");
}

#[test]
fn empty_default_gives_empty_string() {
    assert_eq!(resolve("${a:}", json!({}), &[]).unwrap(), "");
}

#[test]
fn default_keeps_everything_after_the_first_colon() {
    assert_eq!(
        resolve("${uri:https://h:8443/x}", json!({}), &[]).unwrap(),
        "https://h:8443/x"
    );
}

#[test]
fn unknown_placeholder_without_default_names_file_key_and_placeholder() {
    let err = resolve("${missing.key}", json!({}), &[]).unwrap_err().to_string();
    assert!(
        err.contains("test.yml") && err.contains("'k'") && err.contains("missing.key"),
        "{err}"
    );
}

#[rstest]
#[case("8080", json!(8080))]
#[case("true", json!(true))]
#[case("false", json!(false))]
#[case("null", Value::Null)]
#[case("1.5", json!(1.5))]
#[case("[a, b]", json!(["a", "b"]))]
#[case("{x: 1}", json!({"x": 1}))]
#[case("hello", json!("hello"))]
#[case("[not closed", json!("[not closed"))]
fn whole_scalar_env_text_is_typed(#[case] text: &str, #[case] expected: Value) {
    assert_eq!(resolve("${v}", json!({}), &[("V", text)]).unwrap(), expected);
}

#[test]
fn whole_scalar_values_entry_keeps_its_yaml_type() {
    assert_eq!(resolve("${p}", json!({"p": 9090}), &[]).unwrap(), json!(9090));
    assert_eq!(resolve("${p}", json!({"p": "9090"}), &[]).unwrap(), json!("9090"));
    assert_eq!(
        resolve("${m}", json!({"m": {"a": [1]}}), &[]).unwrap(),
        json!({"a": [1]})
    );
}

#[test]
fn placeholder_inside_a_longer_string_expands_as_text() {
    let out = resolve("http://${h}:${p}/x", json!({"h": "host", "p": 80}), &[]).unwrap();
    assert_eq!(out, "http://host:80/x");
}

#[test]
fn nested_expansion_follows_values_and_defaults() {
    let v = json!({"a": "${b}", "b": "${c:deep}"});
    assert_eq!(resolve("${a}", v, &[]).unwrap(), "deep");
    assert_eq!(resolve("${x:${y:inner}}", json!({}), &[]).unwrap(), "inner");
}

#[test]
fn placeholder_cycle_is_an_error_naming_the_chain() {
    let err = resolve("${a}", json!({"a": "${b}", "b": "${a}"}), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cycle") && err.contains("a -> b -> a"), "{err}");
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error() {
    let mut v = serde_json::Map::new();
    for i in 0..20 {
        v.insert(format!("k{i}"), json!(format!("${{k{}}}", i + 1)));
    }
    v.insert("k20".into(), json!("end"));
    let err = resolve("${k0}", Value::Object(v), &[]).unwrap_err().to_string();
    assert!(err.contains("deeper than 16"), "{err}");
}

#[test]
fn unterminated_placeholder_is_literal_text() {
    assert_eq!(resolve("a${b", json!({}), &[]).unwrap(), "a${b");
}

#[test]
fn crypt_value_is_decrypted_with_the_password_env() {
    let secret = crypt::encrypt("tok", "pw", b"0123456789abcdef");
    let out = resolve("${s}", json!({"s": secret}), &[(crypt::PASSWORD_ENV, "pw")]).unwrap();
    assert_eq!(out, "tok");
}

#[test]
fn crypt_literal_in_a_file_is_decrypted() {
    let secret = crypt::encrypt("tok", "pw", b"0123456789abcdef");
    assert_eq!(
        resolve(&secret, json!({}), &[(crypt::PASSWORD_ENV, "pw")]).unwrap(),
        "tok"
    );
}

#[test]
fn undecryptable_crypt_value_is_an_error_naming_the_key() {
    let secret = crypt::encrypt("tok", "pw", b"0123456789abcdef");
    let err = resolve("${s}", json!({"s": secret}), &[(crypt::PASSWORD_ENV, "wrong")]).unwrap_err();
    assert!(
        matches!(err, ConfigError::Decrypt { ref key, .. } if key == "k"),
        "{err}"
    );
    let err = resolve("${s}", json!({"s": crypt::encrypt("t", "pw", b"salt")}), &[]).unwrap_err();
    assert!(err.to_string().contains(crypt::PASSWORD_ENV), "{err}");
}

#[test]
fn nested_keys_are_named_with_dotted_paths() {
    let vals = Values::new();
    let env = HashMap::new();
    let doc = json!({"tls": {"caCertPath": "${nope}"}});
    let err = Resolver::new(&vals, &env)
        .resolve_document("client.yml", doc)
        .unwrap_err();
    assert!(err.to_string().contains("'tls.caCertPath'"), "{err}");
}

#[test]
fn defaults_may_be_yaml_maps_and_lists() {
    assert_eq!(resolve("${m:{}}", json!({}), &[]).unwrap(), json!({}));
    assert_eq!(resolve("${m:{a: 1}}", json!({}), &[]).unwrap(), json!({"a": 1}));
    assert_eq!(
        resolve("${l:[2025-11-25, 2024-11-05]}", json!({}), &[]).unwrap(),
        json!(["2025-11-25", "2024-11-05"])
    );
}

/// Resolves `{key: text}` as `file`.
fn resolve_at(file: &str, key: &str, text: &str, env_pairs: &[(&str, &str)]) -> Result<Value, ConfigError> {
    let vals = values(json!({}));
    let env = env(env_pairs);
    Resolver::new(&vals, &env)
        .resolve_document(file, json!({ key: text }))
        .map(|d| d[key].clone())
}

#[rstest]
#[case::startup("config/startup.yml", "authorization")]
#[case::embedded_startup("embedded:startup.yml", "authorization")]
#[case::portal_registry("/app/config-defaults/portal-registry.yml", "portalToken")]
fn the_portal_token_is_read_where_it_belongs(#[case] file: &str, #[case] key: &str) {
    let token = [("light_portal_authorization", "Bearer t0k")];
    assert_eq!(
        resolve_at(file, key, "${light_portal_authorization:}", &token).unwrap(),
        "Bearer t0k"
    );
}

#[rstest]
#[case::in_a_tool_description("config/mcp-router.yml", "tools[0].description", "${light_portal_authorization:}")]
#[case::inside_longer_text(
    "config/mcp-router.yml",
    "tools[0].description",
    "token is ${light_portal_authorization}"
)]
#[case::env_spelling("config/handler.yml", "x", "${LIGHT_PORTAL_AUTHORIZATION:}")]
#[case::another_key_of_startup("config/startup.yml", "host", "${light_portal_authorization:}")]
#[case::the_config_password("config/startup.yml", "authorization", "${light_4j_config_password:}")]
#[case::the_config_password_dashed("config/server.yml", "x", "${light-4j-config-password}")]
fn secret_variables_are_refused_elsewhere(#[case] file: &str, #[case] key: &str, #[case] text: &str) {
    let env = [
        ("light_portal_authorization", "Bearer t0k"),
        (crypt::PASSWORD_ENV, "pw"),
    ];
    let err = resolve_at(file, key, text, &env).unwrap_err().to_string();
    assert!(
        err.contains(file) && err.contains(key) && err.contains("reads the secret"),
        "{err}"
    );
    assert!(!err.contains("t0k") && !err.contains("pw\""), "{err}");
}

#[test]
fn a_value_in_values_yml_cannot_launder_a_secret_variable() {
    let vals = values(json!({"innocent": "${light_portal_authorization}"}));
    let env = env(&[("light_portal_authorization", "Bearer t0k")]);
    let err = Resolver::new(&vals, &env)
        .resolve_document("config/mcp-router.yml", json!({"d": "${innocent}"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("reads the secret light_portal_authorization"), "{err}");
}

#[test]
fn decrypted_values_and_tokens_are_withheld_from_messages() {
    let secret = crypt::encrypt("hunter2-plain", "pw", b"0123456789abcdef");
    let vals = values(json!({"s": secret}));
    let env = env(&[
        (crypt::PASSWORD_ENV, "pw"),
        ("light_portal_authorization", "Bearer t0k3n"),
    ]);
    let resolver = Resolver::new(&vals, &env);
    resolver
        .resolve_document(
            "config/startup.yml",
            json!({"authorization": "${light_portal_authorization}", "port": "${s}"}),
        )
        .unwrap();
    assert_eq!(
        resolver.withhold(r#"invalid type: string "hunter2-plain", expected u16; was "Bearer t0k3n""#),
        r#"invalid type: string "***", expected u16; was "***""#
    );
    // Plain values are not secrets: a type error still shows them.
    assert_eq!(resolver.withhold(r#"string "8443x""#), r#"string "8443x""#);
}
