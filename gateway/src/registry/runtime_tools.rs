//! The runtime tools the controller calls over the registry session (docs/protocols.md,
//! "Controller"): `tools/list` and `tools/call`, wire-compatible with upstream's runtime handler
//! (light-fabric `crates/light-runtime/src/module_registry.rs`, `RuntimeMcpHandler`).
//!
//! Every answer is a JSON-RPC `result`, failures included, as upstream answers: a tool that
//! fails says `{status: "error", message}`; an unknown tool or method says
//! `{supported: false, status: "unsupported", error: {code: "unsupported_method", message}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use tracing::info;
use uuid::Uuid;

use super::config_snapshot::{ConfigFileKind, ConfigSnapshot};
use super::protocol::{self, RegisterParams};
use crate::auth::{APIKEY_IDS, BASIC_IDS, JWT_IDS, UNIFIED_IDS};
use crate::config::{BootstrapConfig, ConfigDirs, Env, RuntimeConfig};
use crate::handler::{Activation, MCP};
use crate::logging::FilterControl;
use crate::reload::{ModuleReload, ReloadReport, Reloaded};

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
/// Tool names.
pub const RELOAD_MODULES: &str = "reload_modules";
/// Tool names.
pub const GET_LOGGING_FILTER: &str = "get_logging_filter";
/// Tool names.
pub const SET_LOGGING_FILTER: &str = "set_logging_filter";

/// Why `reload_modules` fails where no reloader was given (a process that serves no traffic).
pub const NO_HOT_RELOAD: &str =
    "reload_modules is not available in this process: it serves no modules that could reload";

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

/// An answer to a controller request: most are ready at once; a reload takes a download and
/// is answered when done, without holding up the session meanwhile.
pub enum Answer {
    /// The result.
    Now(Value),
    /// The result, once the future completes.
    Later(BoxFuture<'static, Value>),
}

/// How the last reload of a module went (upstream's `lastReload`).
#[derive(Debug, Clone)]
struct LastReload {
    status: &'static str,
    message: Option<String>,
    completed_at: String,
}

/// The config described and what each module went through; replaced by reloads.
struct Described {
    config: ConfigSnapshot,
    modules: Vec<Module>,
    /// When each module's config was last loaded (startup, or its last reload).
    loaded_at: HashMap<&'static str, String>,
    last_reload: HashMap<String, LastReload>,
}

/// What the runtime tools answer from.
pub struct RuntimeTools {
    described: Mutex<Described>,
    hostname: String,
    logging: Option<Arc<FilterControl>>,
    reloader: Option<Arc<dyn ModuleReload>>,
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
        reloader: Option<Arc<dyn ModuleReload>>,
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
            reloader,
        )
    }

    /// From parts: the masked config, the handler activation, the host name, the filter and
    /// what reloads (`None`: `reload_modules` answers an error).
    pub fn new(
        config: ConfigSnapshot,
        activation: &Activation,
        hostname: String,
        logging: Option<Arc<FilterControl>>,
        reloader: Option<Arc<dyn ModuleReload>>,
    ) -> Self {
        let modules = modules(&config, activation, logging.is_some());
        let now = rfc3339(SystemTime::now());
        Self {
            described: Mutex::new(Described {
                loaded_at: modules.iter().map(|m| (m.module_id, now.clone())).collect(),
                config,
                modules,
                last_reload: HashMap::new(),
            }),
            hostname,
            logging,
            reloader,
        }
    }

    fn described(&self) -> std::sync::MutexGuard<'_, Described> {
        self.described.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The result for a controller request.
    pub fn answer(self: &Arc<Self>, who: &SessionIdentity<'_>, method: &str, params: &Value) -> Answer {
        if method == "tools/call" && params.get("name").and_then(Value::as_str) == Some(RELOAD_MODULES) {
            let Some(reloader) = self.reloader.clone() else {
                return Answer::Now(error(NO_HOT_RELOAD));
            };
            let requested = match reload_arguments(params.get("arguments")) {
                Ok(requested) => requested,
                Err(message) => return Answer::Now(error(&message)),
            };
            let tools = self.clone();
            return Answer::Later(Box::pin(async move {
                let reloaded = reloader.reload(&requested).await;
                tools.record(reloaded)
            }));
        }
        Answer::Now(self.answer_now(who, method, params))
    }

    /// Takes in what a reload did and says it as upstream does.
    fn record(&self, reloaded: Reloaded) -> Value {
        let Reloaded { report, installed } = reloaded;
        let now = rfc3339(SystemTime::now());
        let mut described = self.described();
        if let Some(installed) = installed {
            described.modules = modules(&installed.snapshot, &installed.activation, self.logging.is_some());
            described.config = installed.snapshot;
        }
        let ReloadReport {
            reloaded,
            skipped,
            failed,
            ..
        } = &report;
        for id in reloaded {
            if let Some(m) = described.modules.iter().find(|m| m.module_id == id.as_str()) {
                let module_id = m.module_id;
                described.loaded_at.insert(module_id, now.clone());
            }
            described.last_reload.insert(
                id.clone(),
                LastReload {
                    status: "success",
                    message: None,
                    completed_at: now.clone(),
                },
            );
        }
        for s in skipped {
            described.last_reload.insert(
                s.module_id.clone(),
                LastReload {
                    status: "skipped",
                    message: Some(s.reason.clone()),
                    completed_at: now.clone(),
                },
            );
        }
        for f in failed {
            described.last_reload.insert(
                f.module_id.clone(),
                LastReload {
                    status: "failed",
                    message: Some(f.message.clone()),
                    completed_at: now.clone(),
                },
            );
        }
        serde_json::to_value(&report).unwrap_or_else(|e| error(&e.to_string()))
    }
}

/// Every module, from the config files and the logging control.
fn modules(config: &ConfigSnapshot, activation: &Activation, logging: bool) -> Vec<Module> {
    let mut modules: Vec<Module> = config
        .files
        .iter()
        .map(|file| module(file.kind, file.config.as_ref().ok(), config, activation))
        .collect();
    modules.push(Module {
        module_id: LOGGING_MODULE_ID,
        config_name: "logging",
        kind: "core",
        active: logging,
        enabled: Some(logging),
    });
    modules.sort_by_key(|m| m.module_id);
    modules
}

/// `reload_modules` `arguments.modules`, as upstream reads it: absent or null means every
/// module; otherwise an array of non-empty strings.
fn reload_arguments(arguments: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(modules) = arguments.and_then(|a| a.get("modules")).filter(|m| !m.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(list) = modules.as_array() else {
        return Err("reload_modules arguments.modules must be an array of module ids".into());
    };
    list.iter()
        .map(|id| {
            id.as_str()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    format!("reload_modules arguments.modules holds {id}: each entry must be a non-empty module id")
                })
        })
        .collect()
}

impl RuntimeTools {
    /// The result of a request answered at once.
    fn answer_now(&self, who: &SessionIdentity<'_>, method: &str, params: &Value) -> Value {
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
        if self.reloader.is_some() {
            tools.push(descriptor(
                RELOAD_MODULES,
                "Fetch config-server again and reload the named modules (all when omitted); a module that needs a restart is reported as skipped, and a new config that fails changes nothing.",
                json!({"modules": {"type": "array", "items": {"type": "string"}}}),
                &[],
            ));
        }
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
            GET_MODULES => {
                json!({"modules": self.described().modules.iter().map(|m| m.module_id).collect::<Vec<_>>()})
            }
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
        let described = self.described();
        let active: Vec<&str> = described
            .modules
            .iter()
            .filter(|m| m.active)
            .map(|m| m.module_id)
            .collect();
        let mut component = Map::new();
        let mut files = Map::new();
        let mut errors = Map::new();
        for file in &described.config.files {
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
        let handler = described.config.config("handler").cloned().unwrap_or_default();
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
            "modules": described.modules.iter().map(|m| self.summary(&described, m)).collect::<Vec<_>>(),
            "service": {
                "serviceId": r.service_id,
                "version": r.version,
                "envTag": r.env_tag,
                "protocol": r.protocol,
                "address": r.address,
                "port": r.port,
                "runtimeInstanceId": who.runtime_instance_id,
            },
            "configSources": {"values": described.config.value_sources, "files": files},
        });
        if !errors.is_empty() {
            info["configErrors"] = errors.into();
        }
        info
    }

    /// Upstream's module summary.
    fn summary(&self, described: &Described, m: &Module) -> Value {
        let reloadable = self
            .reloader
            .as_ref()
            .is_some_and(|r| r.reloadable().contains(&m.module_id));
        let mut summary = json!({
            "moduleId": m.module_id,
            "configName": m.config_name,
            "kind": m.kind,
            "active": m.active,
            "reloadable": reloadable,
            "loadedAt": described.loaded_at.get(m.module_id),
        });
        if let Some(enabled) = m.enabled {
            summary["enabled"] = enabled.into();
        }
        if let Some(last) = described.last_reload.get(m.module_id) {
            let mut status = json!({"status": last.status, "completedAt": last.completed_at});
            if let Some(message) = &last.message {
                status["message"] = message.clone().into();
            }
            summary["lastReload"] = status;
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
        "metrics" => flag(doc, "enabled") != Some(false),
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
