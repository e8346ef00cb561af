use rstest::rstest;
use serde_json::json;

use super::*;

fn file(v: serde_json::Value) -> HandlerFile {
    serde_json::from_value(v).unwrap()
}

#[test]
fn upstream_example_activates_mcp_on_its_path() {
    let f = file(json!({
        "handlers": ["mcp"],
        "chains": {"mcp-chain": ["mcp"]},
        "paths": [{"path": "/mcp", "method": "POST", "exec": ["mcp-chain"]}],
        "defaultHandlers": []
    }));
    let a = Activation::resolve("handler.yml", &f).unwrap();
    assert_eq!(a.handlers_for("/mcp", "post"), ["mcp"]);
    assert!(a.handlers_for("/other", "POST").is_empty());
    assert!(a.mcp_on_path("/mcp"));
    assert!(!a.mcp_on_path("/other"));
}

#[test]
fn chains_may_be_exec_maps_and_nest() {
    let f = file(json!({
        "handlers": ["com.networknt.CorrelationHandler@correlation", "mcp"],
        "chains": {"inner": {"exec": ["mcp"]}, "outer": ["correlation", "inner"]},
        "paths": [],
        "defaultHandlers": ["outer"]
    }));
    let a = Activation::resolve("handler.yml", &f).unwrap();
    assert_eq!(
        a.handlers_for("/anything", "GET"),
        ["mcp"],
        "correlation is skipped, mcp stays"
    );
}

#[rstest]
#[case::jwt(&["jwt"])]
#[case::security_alias(&["security"])]
#[case::unified(&["unified-security"])]
#[case::unified_alias(&["unified"])]
#[case::apikey(&["apikey"])]
#[case::basic(&["basic-auth"])]
#[case::access_control(&["access-control"])]
fn auth_handlers_run_and_are_found_in_chains(#[case] ids: &[&str]) {
    let mut chain: Vec<&str> = ids.to_vec();
    chain.push("mcp");
    let f = file(
        json!({"handlers": chain, "chains": {"c": chain}, "paths": [{"path": "/mcp", "method": "POST", "exec": ["c"]}]}),
    );
    let a = Activation::resolve("handler.yml", &f).unwrap();
    assert_eq!(a.handlers_for("/mcp", "POST"), chain.as_slice());
    assert!(a.uses_any(ids));
    assert!(!a.uses_any(&["limit"]));
}

#[test]
fn a_chain_that_refers_to_itself_is_an_error_naming_it() {
    let f = file(json!({"handlers": ["mcp"], "chains": {"a": ["b"], "b": ["a"]}, "defaultHandlers": ["a"]}));
    let err = Activation::resolve("handler.yml", &f).unwrap_err().to_string();
    assert!(err.contains("refers to itself") && err.contains("a -> b -> a"), "{err}");
}

#[rstest]
#[case("nonsense", "unknown handler id 'nonsense'")]
#[case("limit", "not implemented by this gateway")]
#[case("proxy", "not implemented by this gateway")]
fn unknown_or_refused_ids_are_errors_naming_them(#[case] id: &str, #[case] expected: &str) {
    let f = file(json!({"handlers": [id]}));
    let err = Activation::resolve("handler.yml", &f).unwrap_err().to_string();
    assert!(err.contains(expected), "{err}");
}

#[test]
fn exec_naming_an_undeclared_handler_is_an_error() {
    let f = file(json!({"handlers": [], "paths": [{"path": "/mcp", "exec": ["mcp"]}]}));
    let err = Activation::resolve("handler.yml", &f).unwrap_err().to_string();
    assert!(err.contains("paths[0].exec") && err.contains("'mcp'"), "{err}");
}

#[rstest]
#[case("/mcp", "/mcp", true)]
#[case("/mcp", "/mcp/x", false)]
#[case("/api/*", "/api/x/y", true)]
#[case("/api/*", "/apix", false)]
#[case("/v1/pets/{id}", "/v1/pets/7", true)]
#[case("/v1/pets/{id}", "/v1/pets", false)]
fn path_templates_match_as_documented(#[case] template: &str, #[case] path: &str, #[case] expected: bool) {
    assert_eq!(path_matches(template, path), expected);
}
