use rstest::rstest;
use serde_json::json;
use serde_json::value::RawValue;

use super::*;

/// Tools: `echo` for tellers (role rule), `report` for the `reports` group, `free` without
/// rules, `argument` allowed for small amounts (CEL on arguments), `custom` with a rule whose
/// kind tools/list cannot tell, `shown` with a visibility block.
fn policy(config: Value) -> AccessPolicy {
    let config: AccessControlConfig = serde_json::from_value(config).unwrap();
    let rules: rules::RuleFile = serde_json::from_value(json!({
        "ruleBodies": {
            "allow-role-based-access-control": {"ruleType": "req-acc",
                "actions": [{"actionRef": "RoleBasedAccessControlAction"}]},
            "allow-scp-claim-group-access-control": {"ruleType": "req-acc",
                "expression": "permission.groups in auditInfo.subject_claims.ClaimsMap.scp"},
            "small-amounts": {"ruleType": "req-acc", "expression": "toolArguments.amount < 100"},
            "custom": {"ruleType": "req-acc", "expression": "headers['x-team'] == 'blue'"},
            "telemetry": {"ruleType": "req-acc", "accessControlEffect": "telemetry", "expression": "true"}
        },
        "endpointRules": {
            "echo@call": {"req-acc": ["allow-role-based-access-control"], "permission": {"roles": "teller manager"}},
            "report@call": {"req-acc": ["allow-scp-claim-group-access-control"], "permission": {"groups": "reports"}},
            "argument@call": {"req-acc": ["small-amounts"]},
            "custom@call": {"req-acc": ["custom", "telemetry"]},
            "shown@call": {"req-acc": ["custom"], "visibility": {"roles": ["teller"]}},
            "empty@call": {"permission": {"roles": "teller"}}
        }
    }))
    .unwrap();
    AccessPolicy::new(config, "access-control.yml", &rules, "rule.yml").unwrap()
}

fn on() -> Value {
    json!({"enabled": true})
}

fn principal(claims: Value) -> Principal {
    Principal::from_claims(claims.as_object().unwrap().clone())
}

fn tool(name: &str) -> (String, String) {
    (name.to_string(), format!("{name}@call"))
}

fn call(policy: &AccessPolicy, name: &str, who: Option<&Principal>, args: &str, headers: &http::HeaderMap) -> bool {
    let (name, endpoint) = tool(name);
    let arguments = RawValue::from_string(args.to_string()).unwrap();
    policy
        .authorize(
            ToolRef {
                name: &name,
                endpoint: &endpoint,
            },
            Caller {
                principal: who,
                headers,
            },
            &arguments,
        )
        .is_ok()
}

fn listed(policy: &AccessPolicy, name: &str, who: Option<&Principal>) -> bool {
    let (name, endpoint) = tool(name);
    let headers = http::HeaderMap::new();
    policy.visible(
        ToolRef {
            name: &name,
            endpoint: &endpoint,
        },
        Caller {
            principal: who,
            headers: &headers,
        },
    )
}

#[rstest]
#[case::teller_calls_echo("echo", json!({"role": "teller"}), true)]
#[case::manager_from_a_list_claim("echo", json!({"roles": ["clerk", "manager"]}), true)]
#[case::clerk_is_refused("echo", json!({"role": "clerk"}), false)]
#[case::no_role_claim("echo", json!({"sub": "x"}), false)]
#[case::group_in_scp("report", json!({"scp": ["reports", "x"]}), true)]
#[case::group_missing("report", json!({"scp": ["x"]}), false)]
#[case::no_rules_default_deny("free", json!({"role": "teller"}), false)]
#[case::entry_without_req_acc("empty", json!({"role": "teller"}), false)]
fn calls_follow_the_endpoint_rules(#[case] name: &str, #[case] claims: Value, #[case] allowed: bool) {
    let p = policy(on());
    let headers = http::HeaderMap::new();
    assert_eq!(call(&p, name, Some(&principal(claims)), "{}", &headers), allowed);
}

#[test]
fn rules_read_the_arguments_and_headers_of_the_call() {
    let p = policy(on());
    let mut headers = http::HeaderMap::new();
    assert!(call(&p, "argument", None, r#"{"amount": 5}"#, &headers));
    assert!(!call(&p, "argument", None, r#"{"amount": 500}"#, &headers));
    assert!(
        !call(&p, "argument", None, "{}", &headers),
        "an evaluation error denies"
    );
    assert!(!call(&p, "custom", None, "{}", &headers));
    headers.insert("x-team", "blue".parse().unwrap());
    assert!(call(&p, "custom", None, "{}", &headers));
}

#[test]
fn credentials_never_reach_the_rule_context() {
    let p = policy(on());
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer secret".parse().unwrap());
    headers.insert("x-team", "blue".parse().unwrap());
    let (name, endpoint) = tool("custom");
    let entry = p.endpoints.get("custom@call").unwrap();
    let context = p.context(
        entry,
        ToolRef {
            name: &name,
            endpoint: &endpoint,
        },
        Caller {
            principal: None,
            headers: &headers,
        },
        Value::Null,
    );
    assert!(context["headers"].get("authorization").is_none());
    assert_eq!(context["headers"]["x-team"], "blue");
}

#[test]
fn all_logic_needs_every_rule_and_default_allow_lets_ruleless_tools_through() {
    let all = policy(json!({"enabled": true, "accessRuleLogic": "all"}));
    let headers: http::HeaderMap = [("x-team", "red")]
        .into_iter()
        .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
        .collect();
    assert!(
        !call(&all, "custom", None, "{}", &headers),
        "custom fails, so all fails"
    );
    let open = policy(json!({"enabled": true, "defaultDeny": false}));
    assert!(call(&open, "free", None, "{}", &http::HeaderMap::new()));
    assert!(
        !call(&open, "echo", None, "{}", &http::HeaderMap::new()),
        "configured rules still decide"
    );
}

#[test]
fn disabled_or_skipped_tools_pass() {
    let off = policy(json!({"enabled": false}));
    assert!(call(&off, "echo", None, "{}", &http::HeaderMap::new()));
    let skip = policy(json!({"enabled": true, "skipPathPrefixes": ["ech", "report@"]}));
    assert!(call(&skip, "echo", None, "{}", &http::HeaderMap::new()), "by tool name");
    assert!(
        call(&skip, "report", None, "{}", &http::HeaderMap::new()),
        "by endpoint key"
    );
}

#[test]
fn claim_mappings_replace_the_default_claim_names() {
    let mapped = policy(json!({"enabled": true, "claimMappings": {"roles": ["custom_roles"]}}));
    let headers = http::HeaderMap::new();
    assert!(call(
        &mapped,
        "echo",
        Some(&principal(json!({"custom_roles": "teller"}))),
        "{}",
        &headers
    ));
    assert!(!call(
        &mapped,
        "echo",
        Some(&principal(json!({"role": "teller"}))),
        "{}",
        &headers
    ));
}

#[rstest]
#[case::role_rule_matches("echo", json!({"role": "teller"}), true)]
#[case::role_rule_differs("echo", json!({"role": "clerk"}), false)]
#[case::group_rule("report", json!({"scp": "reports"}), true)]
#[case::no_rules_hidden_under_default_deny("free", json!({"role": "teller"}), false)]
#[case::unknown_rule_kind_hidden("custom", json!({"role": "teller"}), false)]
#[case::visibility_block_decides("shown", json!({"role": "teller"}), true)]
#[case::visibility_block_hides("shown", json!({"role": "clerk"}), false)]
fn permission_mode_lists_what_the_caller_may_call(#[case] name: &str, #[case] claims: Value, #[case] shown: bool) {
    assert_eq!(listed(&policy(on()), name, Some(&principal(claims))), shown);
}

#[test]
fn list_modes_and_fallbacks() {
    let none = policy(json!({"enabled": true, "toolsListAccessControl": {"mode": "none"}}));
    assert!(listed(&none, "echo", None));
    let visible = policy(json!({"enabled": true, "toolsListAccessControl": {"unknownRuleFallback": "visible"}}));
    assert!(listed(&visible, "custom", None));
    let cel = policy(json!({"enabled": true, "toolsListAccessControl": {"mode": "cel", "maxCelEvaluations": 3}}));
    assert!(listed(&cel, "echo", Some(&principal(json!({"role": "teller"})))));
    assert!(
        !listed(&cel, "argument", None),
        "an argument-dependent rule cannot be shown"
    );
    assert_eq!(cel.max_cel_evaluations(), Some(3));
    assert_eq!(policy(on()).max_cel_evaluations(), None);
}

#[test]
fn logging_rule_contexts_is_refused() {
    let config: AccessControlConfig = serde_json::from_value(json!({"logFullCelContext": true})).unwrap();
    let err = AccessPolicy::new(config, "access-control.yml", &rules::RuleFile::default(), "rule.yml")
        .err()
        .unwrap();
    assert!(err.to_string().contains("logFullCelContext"), "{err}");
}
