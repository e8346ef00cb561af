//! The runtime tools the controller calls over the registry session (docs/protocols.md,
//! "Controller"): `tools/list` and `tools/call`, wire-compatible with upstream's runtime handler
//! (light-fabric `crates/light-runtime/src/module_registry.rs`, `RuntimeMcpHandler`).
//!
//! Every answer is a JSON-RPC `result`, failures included, as upstream answers: a tool that
//! fails says `{status: "error", message}`; an unknown tool or method says
//! `{supported: false, status: "unsupported", error: {code: "unsupported_method", message}}`.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use tracing::info;
use uuid::Uuid;

use super::config_snapshot::{ConfigFileKind, ConfigSnapshot};
use super::protocol::{self, RegisterParams};
use crate::auth::{APIKEY_IDS, BASIC_IDS, JWT_IDS, UNIFIED_IDS};
use crate::config::{BootstrapConfig, ConfigDirs, Env, RuntimeConfig};
use crate::handler::{Activation, MCP};
use crate::logging::FilterControl;

/// `tools/list` `capabilityVersion`: the version of upstream's runtime tool contract.
pub const CAPABILITY_VERSION: &str = "light-runtime-mcp-capabilities-v1";
/// The logging module's id, as upstream names it.
pub const LOGGING_MODULE_ID: &str = "runtime/logging";
/// The `source` a filter set through `set_logging_filter` reports (upstream's value).
pub const FILTER_SOURCE: &str = "mcp:set_logging_filter";

/// Tool names.
pub const GET_SERVICE_INFO: &str = "get_service_info";
/// Tool names.
pub const GET_MODULES: &str = "get_modules";
/// Tool names (answered with an error: no hot reload yet).
pub const RELOAD_MODULES: &str = "reload_modules";
/// Tool names.
pub const GET_LOGGING_FILTER: &str = "get_logging_filter";
/// Tool names.
pub const SET_LOGGING_FILTER: &str = "set_logging_filter";

/// Why `reload_modules` fails: said plainly rather than reporting every module skipped.
pub const NO_HOT_RELOAD: &str =
    "reload_modules is not available: this gateway version has no hot reload; restart it to apply new config";

/// Who is asking about: the registered identity of this session.
#[derive(Debug, Clone, Copy)]
pub struct SessionIdentity<'a> {
    /// What was registered (the token inside is never shown).
    pub register: &'a RegisterParams,
    /// The controller's id for this registration, once acknowledged.
    pub runtime_instance_id: Option<Uuid>,
}

/// One module as `get_service_info` lists it.
#[derive(Debug, Clone, PartialEq)]
struct Module {
    module_id: &'static str,
    config_name: &'static str,
    kind: &'static str,
    active: bool,
    enabled: Option<bool>,
}

/// What the runtime tools answer from, fixed at startup (logging control excepted).
pub struct RuntimeTools {
    config: ConfigSnapshot,
    modules: Vec<Module>,
    loaded_at: String,
    hostname: String,
    logging: Option<Arc<FilterControl>>,
}

impl RuntimeTools {
    /// Takes the config snapshot the way the gateway loads it; `logging` is the live filter
    /// (`None` where logging was not initialised: the logging tools are then not offered).
    pub fn gather(
        rt: &RuntimeConfig,
        boot: &BootstrapConfig,
        dirs: &ConfigDirs,
        env: &dyn Env,
        logging: Option<Arc<FilterControl>>,
    ) -> Self {
        // A broken handler.yml stops startup right after this (app::prepare); meanwhile it only
        // means "no handler active" here.
        let activation = crate::handler::load(rt, env).unwrap_or_default();
        let hostname = env
            .var("HOSTNAME")
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "unknown".into());
        Self::new(
            ConfigSnapshot::gather(rt, boot, dirs, env),
            &activation,
            hostname,
            logging,
        )
    }

    /// From parts: the masked config, the handler activation, the host name and the filter.
    pub fn new(
        config: ConfigSnapshot,
        activation: &Activation,
        hostname: String,
        logging: Option<Arc<FilterControl>>,
    ) -> Self {
        let mut modules: Vec<Module> = config
            .files
            .iter()
            .map(|file| module(file.kind, file.config.as_ref().ok(), &config, activation))
            .collect();
        modules.push(Module {
            module_id: LOGGING_MODULE_ID,
            config_name: "logging",
            kind: "core",
            active: logging.is_some(),
            enabled: Some(logging.is_some()),
        });
        modules.sort_by_key(|m| m.module_id);
        Self {
            config,
            modules,
            loaded_at: rfc3339(SystemTime::now()),
            hostname,
            logging,
        }
    }

    /// The result for a controller request.
    pub fn answer(&self, who: &SessionIdentity<'_>, method: &str, params: &Value) -> Value {
        match method {
            "tools/list" => self.list(),
            "tools/call" => self.call(who, params),
            other => protocol::unsupported(other),
        }
    }

    fn list(&self) -> Value {
        let mut tools = vec![
            descriptor(
                GET_SERVICE_INFO,
                "Runtime metadata of this gateway instance and its config, secrets masked.",
                json!({}),
                &[],
            ),
            descriptor(GET_MODULES, "Ids of the gateway's runtime modules.", json!({}), &[]),
        ];
        if self.logging.is_some() {
            tools.push(descriptor(
                GET_LOGGING_FILTER,
                "The tracing filter directive in force.",
                json!({}),
                &[],
            ));
            tools.push(descriptor(
                SET_LOGGING_FILTER,
                "Replace the tracing filter directive at run time; an invalid one changes nothing.",
                json!({"filter": {"type": "string", "description": "RUST_LOG syntax, e.g. info,light_gateway::registry=debug"}}),
                &["filter"],
            ));
        }
        json!({
            "capabilityVersion": CAPABILITY_VERSION,
            // No log streaming in this gateway.
            "features": {"logStreamLeaseV1": false},
            "tools": tools,
        })
    }

    fn call(&self, who: &SessionIdentity<'_>, params: &Value) -> Value {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return error("tools/call needs params.name, the tool to run");
        };
        let arguments = params.get("arguments");
        match name {
            GET_SERVICE_INFO => self.service_info(who),
            GET_MODULES => json!({"modules": self.modules.iter().map(|m| m.module_id).collect::<Vec<_>>()}),
            RELOAD_MODULES => error(NO_HOT_RELOAD),
            GET_LOGGING_FILTER => self.get_logging_filter(),
            SET_LOGGING_FILTER => self.set_logging_filter(arguments),
            other => protocol::unsupported_tool(other),
        }
    }

    /// Upstream's server-info shape (`deployment`, `environment`, `component`, `capabilities`,
    /// `modules`), plus `service` (the registered endpoint) and `configSources`.
    fn service_info(&self, who: &SessionIdentity<'_>) -> Value {
        let r = who.register;
        let active: Vec<&str> = self.modules.iter().filter(|m| m.active).map(|m| m.module_id).collect();
        let mut component = Map::new();
        let mut files = Map::new();
        let mut errors = Map::new();
        for file in &self.config.files {
            let name = file.kind.config_name.to_string();
            if let Some(source) = &file.source {
                files.insert(name.clone(), source.clone().into());
            }
            match &file.config {
                Ok(doc) if active.contains(&file.kind.module_id) => {
                    component.insert(name, doc.clone());
                }
                Ok(_) => {}
                Err(e) => {
                    errors.insert(name, e.clone().into());
                }
            }
        }
        let handler = self.config.config("handler").cloned().unwrap_or_default();
        let chains: Vec<&String> = handler
            .get("chains")
            .and_then(Value::as_object)
            .map(|c| c.keys().collect())
            .unwrap_or_default();
        let mut info = json!({
            "deployment": {"apiVersion": r.version, "frameworkVersion": env!("CARGO_PKG_VERSION")},
            "environment": {
                "host": {"ip": r.address, "hostname": self.hostname},
                "runtime": {"availableProcessors": std::thread::available_parallelism().map_or(1, |n| n.get())},
                "system": {"osName": std::env::consts::OS, "osArch": std::env::consts::ARCH},
            },
            "security": {},
            "component": component,
            "capabilities": {
                "activeModules": active,
                "handlers": {
                    "active": handler.get("handlers").cloned().unwrap_or_else(|| json!([])),
                    "chains": chains,
                    "paths": handler.get("paths").cloned().unwrap_or_else(|| json!([])),
                    "defaultHandlers": handler.get("defaultHandlers").cloned().unwrap_or_else(|| json!([])),
                },
            },
            "plugin": {},
            "plugins": [],
            "modules": self.modules.iter().map(|m| self.summary(m)).collect::<Vec<_>>(),
            "service": {
                "serviceId": r.service_id,
                "version": r.version,
                "envTag": r.env_tag,
                "protocol": r.protocol,
                "address": r.address,
                "port": r.port,
                "runtimeInstanceId": who.runtime_instance_id,
            },
            "configSources": {"values": self.config.value_sources, "files": files},
        });
        if !errors.is_empty() {
            info["configErrors"] = errors.into();
        }
        info
    }

    /// Upstream's module summary; nothing is reloadable until hot reload exists.
    fn summary(&self, m: &Module) -> Value {
        let mut summary = json!({
            "moduleId": m.module_id,
            "configName": m.config_name,
            "kind": m.kind,
            "active": m.active,
            "reloadable": false,
            "loadedAt": self.loaded_at,
        });
        if let Some(enabled) = m.enabled {
            summary["enabled"] = enabled.into();
        }
        summary
    }

    fn get_logging_filter(&self) -> Value {
        let Some(control) = &self.logging else {
            return no_logging_control();
        };
        let current = control.current();
        json!({
            "status": "success",
            "filter": current.directive,
            "source": current.source,
            "dynamic": true,
            "moduleId": LOGGING_MODULE_ID,
        })
    }

    fn set_logging_filter(&self, arguments: Option<&Value>) -> Value {
        let Some(control) = &self.logging else {
            return no_logging_control();
        };
        let Some(directive) = arguments
            .and_then(|a| a.get("filter"))
            .and_then(Value::as_str)
            .filter(|f| !f.trim().is_empty())
        else {
            return error("set_logging_filter needs arguments.filter, a non-empty string");
        };
        match control.replace(directive, FILTER_SOURCE) {
            Ok(setting) => {
                info!(filter = %setting.directive, "logging filter replaced by the controller");
                json!({"status": "success", "filter": setting.directive, "source": setting.source})
            }
            Err(e) => error(&e.to_string()),
        }
    }
}

/// Whether a file's module is in use: named by a handler chain, or switched on in its file.
fn module(kind: ConfigFileKind, doc: Option<&Value>, config: &ConfigSnapshot, activation: &Activation) -> Module {
    let flag = |doc: Option<&Value>, key: &str| doc.and_then(|d| d.get(key)).and_then(Value::as_bool);
    // unified-security turns the other schemes on per path prefix.
    let unified_uses = |scheme: &str| {
        activation.uses_any(UNIFIED_IDS)
            && config
                .config("unified-security")
                .and_then(|u| u.get("pathPrefixAuths"))
                .and_then(Value::as_array)
                .is_some_and(|rules| rules.iter().any(|r| flag(Some(r), scheme) == Some(true)))
    };
    let active = match kind.config_name {
        "handler" => flag(doc, "enabled") != Some(false),
        "mcp-router" => activation.uses_any(&[MCP]),
        "security" => activation.uses_any(JWT_IDS) || unified_uses("jwt") || unified_uses("sjwt"),
        "unified-security" => activation.uses_any(UNIFIED_IDS),
        "apikey" => activation.uses_any(APIKEY_IDS) || unified_uses("apikey"),
        "basic-auth" => activation.uses_any(BASIC_IDS) || unified_uses("basic"),
        "access-control" => flag(doc, "enabled") == Some(true),
        "rule" => flag(config.config("access-control"), "enabled") == Some(true),
        _ => true,
    };
    Module {
        module_id: kind.module_id,
        config_name: kind.config_name,
        kind: kind.kind,
        active,
        enabled: flag(doc, "enabled"),
    }
}

fn descriptor(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    json!({"name": name, "description": description, "inputSchema": schema})
}

/// A tool that failed, as upstream says it.
fn error(message: &str) -> Value {
    json!({"status": "error", "message": message})
}

fn no_logging_control() -> Value {
    json!({
        "supported": false,
        "status": "unsupported",
        "message": "runtime logging control is not available in this process",
    })
}

/// `2026-05-07T14:30:00Z` (UTC, whole seconds).
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's days-to-civil).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[path = "runtime_tools_tests.rs"]
mod tests;
