//! Upstream's handler model (`handler.yml`): which handlers run for a path and method.
//! This gateway implements `mcp` and the auth handlers (`jwt`/`security`, `unified-security`,
//! `apikey`, `basic-auth`, `access-control`); `metrics` and `correlation` run for every request
//! when their own files say so; observability handlers it does not implement are skipped with a
//! warning; security, traffic, header and audit handlers it does not implement
//! are refused, so a config never silently loses authentication, routing, header rules or its
//! audit trail.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::config::ConfigError;

/// The handler id that serves MCP.
pub const MCP: &str = "mcp";

/// Handler ids this gateway runs (`mcp` and the auth handlers with their aliases).
const IMPLEMENTED: &[&str] = &[
    MCP,
    "jwt",
    "security",
    "unified-security",
    "unified",
    "apikey",
    "api-key",
    "basic-auth",
    "basic",
    "access-control",
];

/// Upstream handlers this gateway runs for every request whatever the chains say, each turned
/// on by its own file (README, "Metrics" and "Audit log").
const BY_FILE: &[(&str, &str)] = &[
    ("metrics", "metrics.yml enabled and prometheusPort"),
    ("correlation", "correlation.yml enabled"),
];

/// Handlers upstream knows that only observe: skipped here with a warning.
const SKIPPED: &[&str] = &["exception"];

/// Handlers upstream knows that change security, routing, headers or the audit trail: refused
/// until implemented (`header` rewrites what backends and clients see; `audit` is a record
/// someone relies on).
const REFUSED: &[&str] = &[
    "audit",
    "header",
    "headers",
    "cors",
    "specification",
    "body",
    "sanitizer",
    "validator",
    "limit",
    "rate-limit",
    "request-size-limit",
    "prefix",
    "path-prefix-service",
    "pathPrefixService",
    "token",
    "tokenize",
    "detokenize",
    "router",
    "proxy",
    "proxyServerInfo",
    "virtual",
    "path-resource",
];

/// `handler.yml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandlerFile {
    /// Whether the handler chain runs at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Accepted for upstream compatibility; not used.
    #[serde(default)]
    pub report_handler_duration: bool,
    /// Accepted for upstream compatibility; not used.
    #[serde(default)]
    pub handler_metrics_log_level: Option<String>,
    /// Accepted for upstream compatibility; paths are matched as written.
    #[serde(default)]
    pub base_path: Option<String>,
    /// Handler ids (`id`, or `anything@id`).
    #[serde(default)]
    pub handlers: Vec<String>,
    /// Named chains: a list of ids, or `{exec: [...]}`.
    #[serde(default)]
    pub chains: BTreeMap<String, Value>,
    /// Path rules.
    #[serde(default)]
    pub paths: Vec<PathRule>,
    /// Chains or handlers for requests no path rule matches.
    #[serde(default)]
    pub default_handlers: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One `paths` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PathRule {
    /// Path template: exact, `{param}` segments, or a trailing `/*`.
    pub path: String,
    /// HTTP method (any case); absent matches every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Chains or handler ids, in order.
    pub exec: Vec<String>,
}

/// The resolved model: handler ids per rule, chains expanded.
#[derive(Debug, Clone, Default)]
pub struct Activation {
    rules: Vec<(PathRule, Vec<String>)>,
    defaults: Vec<String>,
}

impl Activation {
    /// Resolves `file` (named `label` in errors).
    ///
    /// # Errors
    /// An unknown or refused handler id, a chain that refers to itself, or an unknown chain.
    pub fn resolve(label: &str, file: &HandlerFile) -> Result<Self, ConfigError> {
        if !file.enabled {
            return Ok(Self::default());
        }
        let declared: HashSet<&str> = file.handlers.iter().map(|h| handler_id(h)).collect();
        for id in &declared {
            check_known(label, "handlers", id)?;
        }
        let chains = parse_chains(label, &file.chains)?;
        let expand = |key: &str, list: &[String]| -> Result<Vec<String>, ConfigError> {
            let mut out = Vec::new();
            for item in list {
                expand_item(label, key, item, &chains, &declared, &mut Vec::new(), &mut out)?;
            }
            Ok(out)
        };
        let mut rules = Vec::new();
        for (i, rule) in file.paths.iter().enumerate() {
            rules.push((rule.clone(), expand(&format!("paths[{i}].exec"), &rule.exec)?));
        }
        let defaults = expand("defaultHandlers", &file.default_handlers)?;
        Ok(Self { rules, defaults })
    }

    /// The handler ids that run for `path` and `method`.
    pub fn handlers_for(&self, path: &str, method: &str) -> &[String] {
        self.rules
            .iter()
            .find(|(rule, _)| {
                rule.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && path_matches(&rule.path, path)
            })
            .map(|(_, ids)| ids.as_slice())
            .unwrap_or(&self.defaults)
    }

    /// Whether any rule or the defaults run one of `ids`.
    pub fn uses_any(&self, ids: &[&str]) -> bool {
        self.rules
            .iter()
            .flat_map(|(_, chain)| chain)
            .chain(&self.defaults)
            .any(|id| ids.contains(&id.as_str()))
    }

    /// Whether `mcp` runs for any method on `path`.
    pub fn mcp_on_path(&self, path: &str) -> bool {
        let on_rule = self
            .rules
            .iter()
            .any(|(rule, ids)| path_matches(&rule.path, path) && ids.iter().any(|id| id == MCP));
        on_rule || self.defaults.iter().any(|id| id == MCP)
    }
}

/// `com.example.Handler@id` -> `id`.
fn handler_id(entry: &str) -> &str {
    entry.rsplit('@').next().unwrap_or(entry).trim()
}

fn check_known(label: &str, key: &str, id: &str) -> Result<(), ConfigError> {
    if IMPLEMENTED.contains(&id) {
        return Ok(());
    }
    if let Some((_, decided_by)) = BY_FILE.iter().find(|(handler, _)| *handler == id) {
        tracing::info!(
            handler = id,
            file = label,
            decided_by,
            "handler needs no chain entry here: its own file turns it on for every MCP request"
        );
        return Ok(());
    }
    if SKIPPED.contains(&id) {
        tracing::warn!(
            handler = id,
            file = label,
            "handler not implemented by this gateway: skipped (observability only)"
        );
        return Ok(());
    }
    let reason = if REFUSED.contains(&id) {
        format!(
            "handler '{id}' is not implemented by this gateway; running without it would change security, routing, headers or the audit trail: remove it from handler.yml"
        )
    } else {
        format!("unknown handler id '{id}'")
    };
    Err(ConfigError::invalid(label, key, reason))
}

fn parse_chains(label: &str, raw: &BTreeMap<String, Value>) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    raw.iter()
        .map(|(name, value)| {
            let list = match value {
                Value::Object(map) => map.get("exec").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            let ids: Vec<String> = serde_json::from_value(list).map_err(|_| {
                ConfigError::invalid(
                    label,
                    &format!("chains.{name}"),
                    "a chain is a list of ids or {exec: [ids]}",
                )
            })?;
            Ok((name.clone(), ids))
        })
        .collect()
}

fn expand_item(
    label: &str,
    key: &str,
    item: &str,
    chains: &BTreeMap<String, Vec<String>>,
    declared: &HashSet<&str>,
    stack: &mut Vec<String>,
    out: &mut Vec<String>,
) -> Result<(), ConfigError> {
    if let Some(chain) = chains.get(item) {
        if stack.iter().any(|s| s == item) {
            stack.push(item.to_string());
            return Err(ConfigError::invalid(
                label,
                key,
                format!("chain '{item}' refers to itself: {}", stack.join(" -> ")),
            ));
        }
        stack.push(item.to_string());
        for inner in chain {
            expand_item(label, &format!("chains.{item}"), inner, chains, declared, stack, out)?;
        }
        stack.pop();
        return Ok(());
    }
    let id = handler_id(item);
    if !declared.contains(id) {
        return Err(ConfigError::invalid(
            label,
            key,
            format!("'{item}' is neither a chain nor a handler listed in handlers"),
        ));
    }
    // Skipped handlers and those their own file runs take no place in the chain.
    if !SKIPPED.contains(&id) && !BY_FILE.iter().any(|(handler, _)| *handler == id) {
        out.push(id.to_string());
    }
    Ok(())
}

/// Matches `/a/{x}/c` segment by segment, `/a/*` as a prefix, otherwise exactly.
fn path_matches(template: &str, path: &str) -> bool {
    if let Some(prefix) = template.strip_suffix("/*") {
        return path == prefix || path.starts_with(&format!("{prefix}/"));
    }
    if !template.contains('{') {
        return template == path;
    }
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') && !ps.is_empty() => {}
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return false,
        }
    }
}

/// Loads and resolves `handler.yml`.
///
/// # Errors
/// As [`Activation::resolve`], or the file cannot be read.
pub fn load(rt: &crate::config::RuntimeConfig, env: &dyn crate::config::Env) -> Result<Activation, ConfigError> {
    let (file, label) = rt.file::<HandlerFile>(env, "handler.yml")?;
    Activation::resolve(&label, &file)
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
