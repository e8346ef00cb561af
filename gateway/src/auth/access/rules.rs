//! `rule.yml`: rule bodies and the endpoint rules that name them, compiled once at startup.
//!
//! A `req-acc` rule passes when its condition (a CEL `expression`, evaluated with the `cel`
//! crate) is true and every action passes, as upstream runs them. The one built-in action is
//! `RoleBasedAccessControlAction` (the endpoint's `permission.roles` against the caller's role
//! claims). Anything this gateway cannot run faithfully (another action, `native` conditions,
//! the `internal-admin` profile, `res-fil` response filters) is refused when the config loads,
//! naming the rule, never skipped. An evaluation error denies.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::super::config::split_list;
use crate::config::ConfigError;

/// The role-based action, bare and with upstream's Java package.
const ROLE_ACTION: &str = "RoleBasedAccessControlAction";

/// `rule.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleFile {
    /// Rule bodies by id (a map, or a JSON string of one).
    #[serde(default)]
    pub rule_bodies: Option<Value>,
    /// Endpoint rules by endpoint key (a map, or a JSON string of one).
    #[serde(default)]
    pub endpoint_rules: Option<Value>,
}

/// One rule body as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleBody {
    /// Its id.
    #[serde(default)]
    pub rule_id: String,
    /// `req-acc`, `res-fil`, ...
    #[serde(default)]
    pub rule_type: String,
    /// `cel` (or absent with an expression).
    #[serde(default)]
    pub condition_language: Option<String>,
    /// `strict` (default) or `standard`.
    #[serde(default)]
    pub condition_security_profile: Option<String>,
    /// `telemetry` or `none` mark rules that do not authorise.
    #[serde(default)]
    pub access_control_effect: Option<String>,
    /// The CEL condition.
    #[serde(default)]
    pub expression: Option<String>,
    /// Upstream's structured conditions: refused (not implemented).
    #[serde(default)]
    pub conditions: Option<Value>,
    /// Actions run after a true condition.
    #[serde(default)]
    pub actions: Vec<ActionRef>,
    /// Everything else (names, descriptions, `common`, ...) is metadata.
    #[serde(flatten)]
    pub metadata: BTreeMap<String, Value>,
}

/// An action of a rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRef {
    /// `actionRef` (or upstream's older `actionClassName`).
    #[serde(default, alias = "actionClassName")]
    pub action_ref: String,
    /// Action arguments.
    #[serde(default)]
    pub action_values: Option<Value>,
}

/// How a rule's condition may read its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Only the documented roots.
    Strict,
    /// Also `context`, the whole rule context.
    Standard,
}

/// A rule ready to run.
pub struct Rule {
    /// Its id.
    pub id: String,
    /// Whether it authorises (false for `telemetry`/`none` rules and other rule types).
    pub authorises: bool,
    /// The compiled condition, if any.
    pub condition: Option<cel::Program>,
    /// The source of the condition (for visibility heuristics).
    pub expression: String,
    /// Its profile.
    pub profile: Profile,
    /// Whether it runs the role-based action.
    pub role_action: bool,
}

/// One endpoint's rules.
#[derive(Debug, Clone, Default)]
pub struct EndpointRules {
    /// `req-acc` rule ids.
    pub request: Vec<String>,
    /// `permission` (roles, groups, ...).
    pub permission: serde_json::Map<String, Value>,
    /// `visibility`: who sees the tool in tools/list.
    pub visibility: Option<serde_json::Map<String, Value>>,
}

/// Compiled rules by id and endpoint rules by endpoint key.
pub type Compiled = (BTreeMap<String, Rule>, BTreeMap<String, EndpointRules>);

/// A map written as a map or as a JSON string.
fn map_of(file: &str, key: &str, value: &Option<Value>) -> Result<serde_json::Map<String, Value>, ConfigError> {
    match value {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(serde_json::Map::new()),
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|e| ConfigError::invalid(file, key, format!("not a JSON map: {e}")))
        }
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(ConfigError::invalid(
            file,
            key,
            format!("expected a map, found {other}"),
        )),
    }
}

/// Rule ids as upstream writes them: a list of ids or `{ruleId}` objects, a string list, or
/// one `{ruleId}`.
fn rule_ids(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(text) => split_list(text),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(id) => Ok(id.trim().to_string()),
                Value::Object(o) => o
                    .get("ruleId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{item} has no ruleId")),
                other => Err(format!("{other} is not a rule id")),
            })
            .collect(),
        Value::Object(o) => rule_ids(&Value::Array(vec![Value::Object(o.clone())])),
        other => Err(format!("{other} is not a list of rule ids")),
    }
}

fn is_role_action(name: &str) -> bool {
    name.rsplit('.').next() == Some(ROLE_ACTION)
}

impl RuleFile {
    /// Compiles the rules and endpoint rules, refusing what this gateway cannot run.
    ///
    /// # Errors
    /// An unknown rule id, an action or condition language not implemented, a CEL expression
    /// that does not compile, a `res-fil` rule; each naming the key in `file`.
    pub fn compile(&self, file: &str) -> Result<Compiled, ConfigError> {
        let mut rules = BTreeMap::new();
        for (id, body) in map_of(file, "ruleBodies", &self.rule_bodies)? {
            let key = format!("ruleBodies.{id}");
            let body: RuleBody =
                serde_json::from_value(body).map_err(|e| ConfigError::invalid(file, &key, e.to_string()))?;
            rules.insert(id.clone(), compile_rule(file, &key, &id, body)?);
        }
        let mut endpoints = BTreeMap::new();
        for (endpoint, entry) in map_of(file, "endpointRules", &self.endpoint_rules)? {
            let key = format!("endpointRules.{endpoint}");
            let Value::Object(entry) = entry else {
                return Err(ConfigError::invalid(
                    file,
                    &key,
                    "expected a map with req-acc and permission",
                ));
            };
            let mut rules_of = EndpointRules::default();
            for (name, value) in entry {
                let here = format!("{key}.{name}");
                match name.as_str() {
                    "req-acc" => {
                        rules_of.request = rule_ids(&value).map_err(|e| ConfigError::invalid(file, &here, e))?;
                        if let Some(unknown) = rules_of.request.iter().find(|id| !rules.contains_key(*id)) {
                            return Err(ConfigError::invalid(
                                file,
                                &here,
                                format!("rule '{unknown}' is not in ruleBodies"),
                            ));
                        }
                    }
                    "res-fil" | "res-tra" | "req-tra" => {
                        let ids = rule_ids(&value).map_err(|e| ConfigError::invalid(file, &here, e))?;
                        if !ids.is_empty() {
                            return Err(ConfigError::invalid(
                                file,
                                &here,
                                format!(
                                    "{name} rules (response filters and transforms) are not implemented by this gateway; remove them, or the endpoint would answer unfiltered"
                                ),
                            ));
                        }
                    }
                    "permission" => {
                        rules_of.permission = value
                            .as_object()
                            .cloned()
                            .ok_or_else(|| ConfigError::invalid(file, &here, "expected a map"))?;
                    }
                    "visibility" => {
                        rules_of.visibility = Some(value.as_object().cloned().ok_or_else(|| {
                            ConfigError::invalid(file, &here, "expected a map of roles, groups, ...")
                        })?);
                    }
                    _ => return Err(ConfigError::invalid(file, &here, "unknown key")),
                }
            }
            endpoints.insert(endpoint, rules_of);
        }
        Ok((rules, endpoints))
    }
}

fn compile_rule(file: &str, key: &str, id: &str, body: RuleBody) -> Result<Rule, ConfigError> {
    let bad = |k: &str, reason: String| ConfigError::invalid(file, &format!("{key}.{k}"), reason);
    if body.conditions.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(bad(
            "conditions",
            "structured conditions are not implemented by this gateway; write the condition as a CEL expression".into(),
        ));
    }
    let language = body.condition_language.as_deref().map(str::trim).unwrap_or("");
    if !language.is_empty() && !language.eq_ignore_ascii_case("cel") {
        return Err(bad(
            "conditionLanguage",
            format!("'{language}' is not implemented by this gateway; use cel"),
        ));
    }
    let profile = match body.condition_security_profile.as_deref().map(str::trim) {
        None | Some("") | Some("strict") => Profile::Strict,
        Some("standard") => Profile::Standard,
        Some(other) => {
            return Err(bad(
                "conditionSecurityProfile",
                format!("'{other}' is not allowed for access rules; use strict or standard"),
            ));
        }
    };
    let expression = body.expression.clone().unwrap_or_default();
    let condition = match expression.trim() {
        "" => None,
        text => Some(cel::Program::compile(text).map_err(|e| bad("expression", format!("CEL does not compile: {e}")))?),
    };
    let mut role_action = false;
    for (i, action) in body.actions.iter().enumerate() {
        if is_role_action(&action.action_ref) {
            role_action = true;
        } else {
            return Err(bad(
                &format!("actions[{i}].actionRef"),
                format!(
                    "action '{}' is not implemented by this gateway (it runs {ROLE_ACTION} and CEL conditions)",
                    action.action_ref
                ),
            ));
        }
    }
    let effect = body
        .access_control_effect
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let authorises = body.rule_type.trim() == "req-acc" && effect != "telemetry" && effect != "none";
    Ok(Rule {
        id: if body.rule_id.trim().is_empty() {
            id.to_string()
        } else {
            body.rule_id.clone()
        },
        authorises,
        condition,
        expression,
        profile,
        role_action,
    })
}

/// Runs `program` over `context` (the rule context's roots as variables). Anything but `true`
/// (false, another type, an error) is false.
pub fn evaluate(program: &cel::Program, context: &serde_json::Map<String, Value>, profile: Profile) -> bool {
    // The standard environment is built once; a context per evaluation is cheap.
    static STDLIB: std::sync::LazyLock<std::sync::Arc<cel::Env>> =
        std::sync::LazyLock::new(|| std::sync::Arc::new(cel::Env::stdlib()));
    let mut ctx = cel::Context::with_env(STDLIB.clone());
    for name in ["containsIgnoreCase", "contains_ignore_case"] {
        if ctx.add_function(name, contains_ignore_case).is_err() {
            return false;
        }
    }
    for (name, value) in context {
        if ctx.add_variable(name.as_str(), value).is_err() {
            return false;
        }
    }
    if profile == Profile::Standard && ctx.add_variable("context", context).is_err() {
        return false;
    }
    matches!(program.execute(&ctx), Ok(cel::Value::Bool(true)))
}

fn contains_ignore_case(
    cel::extractors::This(this): cel::extractors::This<std::sync::Arc<String>>,
    needle: std::sync::Arc<String>,
) -> bool {
    this.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
