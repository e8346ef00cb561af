use rstest::rstest;
use serde_json::json;

use super::*;

fn security(value: serde_json::Value) -> Result<SecurityConfig, String> {
    let config: SecurityConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
    config.validate("security.yml").map_err(|e| e.to_string())?;
    Ok(config)
}

#[test]
fn upstreams_template_values_load() {
    let config = security(json!({
        "enableVerifyJwt": true, "enableVerifyScope": false, "ignoreJwtExpiry": false,
        "enableRelaxedKeyValidation": false, "issuer": "", "audience": [], "skipPathPrefixes": [],
        "jwt": {"clockSkewInSeconds": 60}, "bootstrapFromKeyService": false, "providerId": ""
    }))
    .unwrap();
    assert!(config.enable_verify_jwt);
    assert_eq!(config.jwt.clock_skew_in_seconds, 60);
    assert!(config.audience.is_empty());
}

#[rstest]
#[case::list(json!(["a", "b"]))]
#[case::comma_string(json!("a, b"))]
#[case::json_string(json!("[\"a\",\"b\"]"))]
fn lists_take_every_upstream_form(#[case] audience: serde_json::Value) {
    let config = security(json!({"audience": audience})).unwrap();
    assert_eq!(config.audience, ["a", "b"]);
}

#[rstest]
#[case::mock(json!({"enableMockJwt": true}), "enableMockJwt")]
#[case::h2c(json!({"enableH2c": true}), "enableH2c")]
#[case::swt(json!({"enableVerifySwt": true}), "enableVerifySwt")]
#[case::spec_scopes(json!({"skipVerifyScopeWithoutSpec": true}), "skipVerifyScopeWithoutSpec")]
#[case::log_tokens(json!({"logJwtToken": true}), "logJwtToken")]
#[case::provider(json!({"providerId": "x"}), "providerId")]
#[case::pass_through(json!({"passThroughClaims": {"sub": "x-user"}}), "passThroughClaims")]
#[case::scope_without_scopes(json!({"enableVerifyScope": true}), "requiredScopes")]
#[case::unknown_key(json!({"enableVerifyJWT": true}), "enableVerifyJWT")]
#[case::hmac_algorithm(json!({"algorithms": ["RS256", "HS256"]}), "HS256")]
#[case::no_algorithm(json!({"algorithms": []}), "algorithms")]
fn settings_that_would_be_ignored_are_refused_by_name(#[case] value: serde_json::Value, #[case] key: &str) {
    let err = security(value).unwrap_err();
    assert!(err.contains(key), "{err}");
}

#[test]
fn unified_rules_refuse_swt_and_relative_prefixes() {
    let parse = |v: serde_json::Value| {
        let c: UnifiedSecurityConfig = serde_json::from_value(v).unwrap();
        c.validate("unified-security.yml").map_err(|e| e.to_string())
    };
    assert!(parse(json!({"pathPrefixAuths": [{"prefix": "/mcp", "jwt": true}]})).is_ok());
    let json_string = json!({"pathPrefixAuths": "[{\"prefix\":\"/mcp\",\"sjwt\":true,\"sjwkServiceIds\":\"a,b\"}]"});
    let c: UnifiedSecurityConfig = serde_json::from_value(json_string).unwrap();
    assert_eq!(c.path_prefix_auths[0].sjwk_service_ids, ["a", "b"]);
    assert!(
        parse(json!({"pathPrefixAuths": [{"prefix": "/mcp", "swt": true}]}))
            .unwrap_err()
            .contains("swt")
    );
    assert!(
        parse(json!({"pathPrefixAuths": [{"prefix": "mcp", "jwt": true}]}))
            .unwrap_err()
            .contains("prefix")
    );
}

#[test]
fn key_providers_resolve_with_fallbacks_and_refuse_discovery() {
    let config: KeyServiceConfig = serde_json::from_value(json!({
        "server_url": "https://keys.example:8443/", "uri": "/oauth2/key", "client_id": "gw", "client_secret": "s",
        "audience": "mcp", "serviceIdAuthServers": {"com.other": {"server_url": "http://other:9000"}}
    }))
    .unwrap();
    let (default, by_service) = config.providers("client.yml").unwrap();
    let default = default.unwrap();
    assert_eq!(default.url.as_str(), "https://keys.example:8443/oauth2/key");
    assert_eq!(default.basic, Some(("gw".into(), "s".into())));
    assert_eq!(default.audience.as_deref(), Some("mcp"));
    let other = &by_service["com.other"];
    assert_eq!(
        other.url.as_str(),
        "http://other:9000/oauth2/key",
        "uri from the default entry"
    );
    assert_eq!(other.basic, default.basic, "credentials fall back to the default entry");
    assert!(
        !format!("{default:?}").contains("\"s\""),
        "Debug never shows the secret"
    );

    let err = |v: serde_json::Value| {
        let c: KeyServiceConfig = serde_json::from_value(v).unwrap();
        c.providers("client.yml").unwrap_err().to_string()
    };
    assert!(err(json!({"serviceId": "com.networknt.oauth2-key"})).contains("serviceId"));
    assert!(err(json!({"server_url": "keys:80"})).contains("server_url"));
    assert!(err(json!({"server_url": "http://k", "client_id": "only"})).contains("client_id"));
    assert!(err(json!({"server_url": "http://k", "proxyHost": "p"})).contains("proxyHost"));
    let none: KeyServiceConfig = serde_json::from_value(json!({})).unwrap();
    assert!(none.providers("client.yml").unwrap().0.is_none());
}

#[test]
fn basic_users_read_every_upstream_shape() {
    let users = |v: serde_json::Value| {
        let c: BasicAuthConfig = serde_json::from_value(json!({"enabled": true, "users": v})).unwrap();
        c.users("basic-auth.yml").map_err(|e| e.to_string())
    };
    let list = users(json!([{"username": "a", "password": "p", "paths": ["/mcp"]}])).unwrap();
    assert_eq!((list[0].username.as_str(), list[0].paths.len()), ("a", 1));
    let map = users(json!({"a": "p", "b": {"password": "q", "paths": "/x,/y"}})).unwrap();
    assert_eq!(map.len(), 2);
    assert_eq!(map[1].paths, ["/x", "/y"]);
    let text = users(json!("- {username: a, password: p}")).unwrap();
    assert_eq!(text[0].password, "p");
    assert!(users(json!(7)).unwrap_err().contains("users"));
    assert!(!format!("{:?}", map[0]).contains("\"p\""));
}

#[test]
fn api_key_rules_are_checked() {
    let check = |v: serde_json::Value| {
        let c: ApiKeyConfig = serde_json::from_value(v).unwrap();
        c.validate("apikey.yml").map_err(|e| e.to_string())
    };
    assert!(
        check(json!({"pathPrefixAuths": [{"pathPrefix": "/mcp", "headerName": "x-api-key", "apiKey": "k"}]})).is_ok()
    );
    assert!(
        check(json!({"pathPrefixAuths": [{"pathPrefix": "/mcp", "headerName": "", "apiKey": "k"}]}))
            .unwrap_err()
            .contains("headerName")
    );
    assert!(
        check(
            json!({"hashEnabled": true, "pathPrefixAuths": [{"pathPrefix": "/", "headerName": "k", "apiKey": "plain"}]})
        )
        .unwrap_err()
        .contains("iterations")
    );
}
