//! Access control per MCP tool (`access-control.yml` + `rule.yml`), upstream's model:
//!
//! - A tool's endpoint key is its `endpoint`, else `<name>@call`.
//! - `tools/call` runs the endpoint's `req-acc` rules before the backend is called
//!   (`accessRuleLogic` any/all); an endpoint without rules is denied when `defaultDeny`.
//!   `skipPathPrefixes` (matched against the tool name or the endpoint key) bypass it.
//! - `tools/list` shows only what the caller may call (`toolsListAccessControl.mode`):
//!   `permission` (default here) decides from the endpoint's `visibility` or `permission` and
//!   the rule kinds without running CEL; `cel` runs the rules with empty arguments; `none` lists
//!   everything. tools/call stays the enforcement point in every mode.
//!
//! The rule context is upstream's: `auditInfo.subject_claims.ClaimsMap` (the token's claims),
//! `headers` (lower-case, credentials removed), `endpoint`, `toolName`, `toolArguments`,
//! `permission` and each permission key at the top level.

pub mod rules;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use self::rules::{EndpointRules, Rule};
use super::config::string_list;
use super::principal::{Principal, claim_tokens};
use crate::config::ConfigError;

/// Headers a rule never sees.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];
/// Context keys a permission key may not overwrite.
const RESERVED: &[&str] = &[
    "auditInfo",
    "headers",
    "endpoint",
    "toolName",
    "toolArguments",
    "correlationId",
    "permission",
    "responseBody",
    "responseBodyJson",
    "statusCode",
    "accessControl",
];

/// `access-control.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessControlConfig {
    /// Whether tool calls are authorised at all.
    #[serde(default)]
    pub enabled: bool,
    /// `any` rule passing allows, or `all` must.
    #[serde(default)]
    pub access_rule_logic: Logic,
    /// An endpoint without `req-acc` rules is denied.
    #[serde(default = "yes")]
    pub default_deny: bool,
    /// Row filters' fallback (`res-fil`, refused by this gateway): accepted for the template.
    #[serde(default)]
    pub default_include: bool,
    /// Tool names or endpoint keys that bypass access control.
    #[serde(default, deserialize_with = "string_list")]
    pub skip_path_prefixes: Vec<String>,
    /// Logs every rule context. Refused: it would log claims.
    #[serde(default)]
    pub log_full_cel_context: bool,
    /// Claim names per permission dimension (`roles: [custom_roles]`).
    #[serde(default)]
    pub claim_mappings: BTreeMap<String, Mappings>,
    /// How tools/list is filtered.
    #[serde(default)]
    pub tools_list_access_control: ToolsListConfig,
}

fn yes() -> bool {
    true
}

/// Claim names of one dimension: a list or a comma string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Mappings(#[serde(deserialize_with = "string_list")] pub Vec<String>);

/// How rules combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Logic {
    /// One passing rule allows.
    #[default]
    #[serde(alias = "ANY", alias = "Any")]
    #[serde(rename = "any")]
    Any,
    /// Every rule must pass.
    #[serde(alias = "ALL", alias = "All")]
    #[serde(rename = "all")]
    All,
}

/// `toolsListAccessControl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolsListConfig {
    /// `none`, `permission` or `cel`.
    #[serde(default)]
    pub mode: ListMode,
    /// A rule whose kind `permission` mode cannot tell: hidden or visible.
    #[serde(default)]
    pub unknown_rule_fallback: Fallback,
    /// `cel` mode evaluates at most this many tools per listing; the rest are hidden.
    #[serde(default = "default_max_cel")]
    pub max_cel_evaluations: usize,
    /// Upstream's listing cache size. Listings are computed per request here (no cache to
    /// size); accepted so upstream's file loads.
    #[serde(default)]
    pub max_cache_entries: Option<usize>,
    /// Older place for `claimMappings`; the top-level one wins per dimension.
    #[serde(default)]
    pub claim_mappings: BTreeMap<String, Mappings>,
}

impl Default for ToolsListConfig {
    fn default() -> Self {
        Self {
            mode: ListMode::default(),
            unknown_rule_fallback: Fallback::default(),
            max_cel_evaluations: default_max_cel(),
            max_cache_entries: None,
            claim_mappings: BTreeMap::new(),
        }
    }
}

fn default_max_cel() -> usize {
    100
}

/// tools/list filtering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListMode {
    /// Every tool is listed.
    None,
    /// Decided from `visibility`/`permission` and the rule kinds.
    #[default]
    Permission,
    /// The `req-acc` rules run with empty arguments.
    Cel,
}

/// What `permission` mode does with a rule it cannot classify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    /// Hide the tool.
    #[default]
    Hidden,
    /// Show it (tools/call still decides).
    Visible,
}

/// A tool as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct ToolRef<'a> {
    /// The name clients use.
    pub name: &'a str,
    /// The endpoint key of its rules.
    pub endpoint: &'a str,
}

/// Who asks, and what else a rule may read.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    /// The verified principal, if any.
    pub principal: Option<&'a Principal>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
}

/// A denied call: the message names the tool, never the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access denied: the caller may not call tool '{0}'")]
pub struct Denied(pub String);

/// The compiled policy.
pub struct AccessPolicy {
    config: AccessControlConfig,
    mappings: BTreeMap<String, Vec<String>>,
    rules: BTreeMap<String, Rule>,
    endpoints: BTreeMap<String, EndpointRules>,
}

/// A dimension's default claim names (upstream's table).
fn default_claims(dimension: &str) -> &'static [&'static str] {
    match dimension {
        "roles" => &["role", "roles"],
        "groups" => &["scp", "grp", "group", "groups"],
        "positions" => &["pos", "position", "positions"],
        "attributes" => &["att", "attribute", "attributes"],
        "users" => &["uid", "user_id", "sub"],
        _ => &[],
    }
}

impl AccessPolicy {
    /// Compiles `config` and `rules`.
    ///
    /// # Errors
    /// Settings or rules this gateway cannot honour, naming file and key.
    pub fn new(
        config: AccessControlConfig,
        config_file: &str,
        rules: &rules::RuleFile,
        rules_file: &str,
    ) -> Result<Self, ConfigError> {
        if config.log_full_cel_context {
            return Err(ConfigError::invalid(
                config_file,
                "logFullCelContext",
                "rule contexts (claims, arguments) are never logged by this gateway; set it to false",
            ));
        }
        let (rules, endpoints) = rules.compile(rules_file)?;
        let mut mappings: BTreeMap<String, Vec<String>> = config
            .tools_list_access_control
            .claim_mappings
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        mappings.extend(config.claim_mappings.iter().map(|(k, v)| (k.clone(), v.0.clone())));
        Ok(Self {
            config,
            mappings,
            rules,
            endpoints,
        })
    }

    /// Whether tool calls are authorised.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The endpoint keys with rules (for `validate-config` to compare with the tools).
    pub fn endpoint_keys(&self) -> impl Iterator<Item = &String> {
        self.endpoints.keys()
    }

    fn skipped(&self, tool: ToolRef<'_>) -> bool {
        self.config
            .skip_path_prefixes
            .iter()
            .any(|p| tool.name.starts_with(p.as_str()) || tool.endpoint.starts_with(p.as_str()))
    }

    /// The caller's tokens in one dimension (`roles`, `groups`, ...).
    fn caller_tokens(&self, claims: &Map<String, Value>, dimension: &str) -> Vec<String> {
        let names: Vec<&str> = match self.mappings.get(dimension) {
            Some(mapped) => mapped.iter().map(String::as_str).collect(),
            None => default_claims(dimension).to_vec(),
        };
        let names = if names.is_empty() { vec![dimension] } else { names };
        names
            .into_iter()
            .filter_map(|n| claims.get(n))
            .flat_map(claim_tokens)
            .collect()
    }

    fn intersects(&self, claims: &Map<String, Value>, dimension: &str, wanted: Option<&Value>) -> Option<bool> {
        let wanted = claim_tokens(wanted?);
        if wanted.is_empty() {
            return None;
        }
        let have = self.caller_tokens(claims, dimension);
        Some(wanted.iter().any(|w| have.contains(w)))
    }

    /// Authorises a tools/call.
    ///
    /// # Errors
    /// [`Denied`].
    pub fn authorize(
        &self,
        tool: ToolRef<'_>,
        caller: Caller<'_>,
        arguments: &serde_json::value::RawValue,
    ) -> Result<(), Denied> {
        if !self.config.enabled || self.skipped(tool) {
            return Ok(());
        }
        let denied = || Denied(tool.name.to_string());
        let Some(entry) = self.endpoints.get(tool.endpoint).filter(|e| !e.request.is_empty()) else {
            return if self.config.default_deny {
                Err(denied())
            } else {
                Ok(())
            };
        };
        let arguments: Value = serde_json::from_str(arguments.get()).unwrap_or(Value::Null);
        if self.run(entry, tool, caller, arguments) {
            Ok(())
        } else {
            Err(denied())
        }
    }

    /// Runs the endpoint's authorising rules. Rules marked `telemetry`/`none` (or of another
    /// rule type) never grant access: an endpoint with only such rules falls back to
    /// `defaultDeny`, where upstream would let a `true` telemetry rule allow under `any`.
    fn run(&self, entry: &EndpointRules, tool: ToolRef<'_>, caller: Caller<'_>, arguments: Value) -> bool {
        let rules: Vec<Option<&Rule>> = entry
            .request
            .iter()
            .map(|id| self.rules.get(id))
            .filter(|rule| rule.is_none_or(|r| r.authorises))
            .collect();
        if rules.is_empty() {
            return !self.config.default_deny;
        }
        let context = self.context(entry, tool, caller, arguments);
        let claims = caller.principal.map(|p| &p.claims);
        let mut outcomes = rules.into_iter().map(|rule| match rule {
            Some(rule) => self.passes(rule, entry, &context, claims),
            None => false,
        });
        match self.config.access_rule_logic {
            Logic::Any => outcomes.any(|ok| ok),
            Logic::All => outcomes.all(|ok| ok),
        }
    }

    fn passes(
        &self,
        rule: &Rule,
        entry: &EndpointRules,
        context: &Map<String, Value>,
        claims: Option<&Map<String, Value>>,
    ) -> bool {
        if let Some(program) = &rule.condition
            && !rules::evaluate(program, context, rule.profile)
        {
            return false;
        }
        if rule.role_action {
            let empty = Map::new();
            let claims = claims.unwrap_or(&empty);
            return self
                .intersects(claims, "roles", entry.permission.get("roles"))
                .unwrap_or(false);
        }
        true
    }

    /// The rule context (upstream's shape).
    fn context(
        &self,
        entry: &EndpointRules,
        tool: ToolRef<'_>,
        caller: Caller<'_>,
        arguments: Value,
    ) -> Map<String, Value> {
        let mut claims = caller.principal.map(|p| p.claims.clone()).unwrap_or_default();
        if let Some(p) = caller.principal {
            for (name, value) in [("uid", &p.user_id), ("client_id", &p.client_id)] {
                if let Some(value) = value
                    && !claims.contains_key(name)
                {
                    claims.insert(name.into(), Value::String(value.clone()));
                }
            }
        }
        let headers: Map<String, Value> = caller
            .headers
            .iter()
            .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_string(),
                    Value::String(value.to_str().ok()?.to_string()),
                ))
            })
            .collect();
        let mut context = Map::new();
        for (key, value) in &entry.permission {
            if !RESERVED.contains(&key.as_str()) {
                context.insert(key.clone(), value.clone());
            }
        }
        context.insert(
            "auditInfo".into(),
            serde_json::json!({"subject_claims": {"ClaimsMap": claims}, "correlationId": Value::Null}),
        );
        context.insert("headers".into(), Value::Object(headers));
        context.insert("endpoint".into(), Value::String(tool.endpoint.to_string()));
        context.insert("toolName".into(), Value::String(tool.name.to_string()));
        context.insert("toolArguments".into(), arguments);
        context.insert("permission".into(), Value::Object(entry.permission.clone()));
        context
    }

    /// Whether `tool` is listed for `caller`.
    pub fn visible(&self, tool: ToolRef<'_>, caller: Caller<'_>) -> bool {
        if !self.config.enabled || self.skipped(tool) {
            return true;
        }
        let mode = self.config.tools_list_access_control.mode;
        if mode == ListMode::None {
            return true;
        }
        let Some(entry) = self.endpoints.get(tool.endpoint) else {
            return !self.config.default_deny;
        };
        let empty = Map::new();
        let claims = caller.principal.map_or(&empty, |p| &p.claims);
        if let Some(visibility) = &entry.visibility {
            return self.visibility_matches(claims, visibility);
        }
        if entry.request.is_empty() {
            return !self.config.default_deny;
        }
        match mode {
            ListMode::Cel => self.run(entry, tool, caller, Value::Object(Map::new())),
            _ => self.permission_visible(entry, claims),
        }
    }

    /// Every dimension of a `visibility` block must match; a block naming none hides.
    fn visibility_matches(&self, claims: &Map<String, Value>, visibility: &Map<String, Value>) -> bool {
        let outcomes: Vec<bool> = ["roles", "groups", "positions", "attributes", "users"]
            .into_iter()
            .filter_map(|d| self.intersects(claims, d, visibility.get(d)))
            .collect();
        !outcomes.is_empty() && outcomes.into_iter().all(|ok| ok)
    }

    /// `permission` mode: role rules match `permission.roles`, group rules `permission.groups`;
    /// other authorising rules take `unknownRuleFallback`.
    fn permission_visible(&self, entry: &EndpointRules, claims: &Map<String, Value>) -> bool {
        let fallback = self.config.tools_list_access_control.unknown_rule_fallback == Fallback::Visible;
        let outcomes: Vec<bool> = entry
            .request
            .iter()
            .filter_map(|id| {
                let Some(rule) = self.rules.get(id) else {
                    return Some(fallback);
                };
                if !rule.authorises {
                    return None;
                }
                let lower = rule.id.to_ascii_lowercase();
                if rule.role_action || lower.contains("role") || rule.expression.contains("permission.roles") {
                    return Some(
                        self.intersects(claims, "roles", entry.permission.get("roles"))
                            .unwrap_or(false),
                    );
                }
                if lower.contains("group") || lower.contains("scp") || rule.expression.contains("permission.groups") {
                    return Some(
                        self.intersects(claims, "groups", entry.permission.get("groups"))
                            .unwrap_or(false),
                    );
                }
                Some(fallback)
            })
            .collect();
        if outcomes.is_empty() {
            return !self.config.default_deny;
        }
        match self.config.access_rule_logic {
            Logic::Any => outcomes.into_iter().any(|ok| ok),
            Logic::All => outcomes.into_iter().all(|ok| ok),
        }
    }

    /// The most tools `cel` mode evaluates per listing.
    pub fn max_cel_evaluations(&self) -> Option<usize> {
        (self.config.tools_list_access_control.mode == ListMode::Cel)
            .then_some(self.config.tools_list_access_control.max_cel_evaluations)
    }
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
