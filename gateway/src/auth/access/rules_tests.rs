use rstest::rstest;
use serde_json::json;

use super::*;

fn compile(value: Value) -> Result<Compiled, String> {
    let file: RuleFile = serde_json::from_value(value).map_err(|e| e.to_string())?;
    file.compile("rule.yml").map_err(|e| e.to_string())
}

fn role_rule() -> Value {
    json!({"ruleId": "allow-role", "ruleType": "req-acc", "common": "Y", "ruleName": "r",
           "conditionLanguage": "cel", "expression": "true",
           "actions": [{"actionClassName": "com.networknt.rule.RoleBasedAccessControlAction"}]})
}

#[test]
fn upstreams_documented_rules_compile() {
    let (rules, endpoints) = compile(json!({
        "ruleBodies": {"allow-role": role_rule(),
            "reader": {"ruleId": "reader", "ruleType": "req-acc", "conditionSecurityProfile": "strict",
                       "expression": "auditInfo.subject_claims.ClaimsMap.role in [\"teller\", \"manager\"]"}},
        "endpointRules": {"echo@call": {"req-acc": ["allow-role", {"ruleId": "reader"}], "permission": {"roles": "teller manager"}}}
    }))
    .unwrap();
    assert!(rules["allow-role"].role_action);
    assert!(rules["reader"].condition.is_some());
    assert_eq!(endpoints["echo@call"].request, ["allow-role", "reader"]);
    assert_eq!(endpoints["echo@call"].permission["roles"], "teller manager");
}

#[test]
fn rules_written_as_json_strings_compile() {
    let bodies = serde_json::to_string(&json!({"allow-role": role_rule()})).unwrap();
    let endpoints = serde_json::to_string(&json!({"echo@call": {"req-acc": "allow-role"}})).unwrap();
    let (_, endpoints) = compile(json!({"ruleBodies": bodies, "endpointRules": endpoints})).unwrap();
    assert_eq!(endpoints["echo@call"].request, ["allow-role"]);
}

#[rstest]
#[case::unknown_rule(json!({"endpointRules": {"e@call": {"req-acc": ["nope"]}}}), "rule 'nope' is not in ruleBodies")]
#[case::response_filter(json!({"ruleBodies": {"allow-role": role_rule()}, "endpointRules": {"e@call": {"req-acc": ["allow-role"], "res-fil": ["f"]}}}), "res-fil")]
#[case::other_action(json!({"ruleBodies": {"x": {"ruleType": "req-acc", "actions": [{"actionRef": "com.networknt.rule.GenericAction"}]}}}), "GenericAction")]
#[case::native_language(json!({"ruleBodies": {"x": {"ruleType": "req-acc", "conditionLanguage": "native"}}}), "native")]
#[case::admin_profile(json!({"ruleBodies": {"x": {"ruleType": "req-acc", "expression": "true", "conditionSecurityProfile": "internal-admin"}}}), "internal-admin")]
#[case::bad_cel(json!({"ruleBodies": {"x": {"ruleType": "req-acc", "expression": "a in in b"}}}), "CEL does not compile")]
#[case::structured_conditions(json!({"ruleBodies": {"x": {"ruleType": "req-acc", "conditions": [{"a": 1}]}}}), "conditions")]
#[case::unknown_endpoint_key(json!({"endpointRules": {"e@call": {"req_acc": []}}}), "req_acc")]
fn what_cannot_run_faithfully_is_refused_by_name(#[case] value: Value, #[case] needle: &str) {
    let err = compile(value).err().unwrap();
    assert!(err.contains(needle), "{err}");
}

#[rstest]
#[case::claim_in_list("auditInfo.subject_claims.ClaimsMap.role in ['teller', 'manager']", true)]
#[case::claim_not_in_list("auditInfo.subject_claims.ClaimsMap.role in ['admin']", false)]
#[case::argument("toolArguments.amount < 100", true)]
#[case::permission_root("roles == 'teller'", true)]
#[case::contains_ignore_case("toolName.containsIgnoreCase('ECHO')", true)]
#[case::not_a_bool("toolName", false)]
#[case::missing_field("toolArguments.nope == 1", false)]
fn conditions_see_upstreams_context_and_anything_but_true_denies(#[case] expression: &str, #[case] expected: bool) {
    let program = cel::Program::compile(expression).unwrap();
    let context = json!({
        "auditInfo": {"subject_claims": {"ClaimsMap": {"role": "teller"}}},
        "toolName": "echo", "toolArguments": {"amount": 5}, "roles": "teller", "permission": {"roles": "teller"}
    });
    assert_eq!(
        evaluate(&program, context.as_object().unwrap(), Profile::Strict),
        expected
    );
}

#[test]
fn only_the_standard_profile_sees_the_whole_context() {
    let program = cel::Program::compile("context.toolName == 'echo'").unwrap();
    let context = json!({"toolName": "echo"});
    assert!(!evaluate(&program, context.as_object().unwrap(), Profile::Strict));
    assert!(evaluate(&program, context.as_object().unwrap(), Profile::Standard));
}
