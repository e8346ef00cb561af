//! `reload_modules`: fetch, load, build every requested module, then swap them all or none.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{error, info};

use super::{
    Failed, Installed, Live, ModuleReload, RELOAD_NOT_IMPLEMENTED, REQUIRES_RESTART, ReloadReport, Reloaded, Skipped,
    asks_for_all,
};
use crate::auth::Auth;
use crate::auth::keys::Timing;
use crate::config::{BootstrapConfig, ConfigDirs, Env, RuntimeConfig};
use crate::handler::Activation;
use crate::mcp;
use crate::registry::config_snapshot::{ConfigSnapshot, FILES};
use crate::registry::runtime_tools::LOGGING_MODULE_ID;

/// The MCP router's module.
pub const MCP_ROUTER: &str = "light-pingora/mcp-router";
/// `handler.yml`: which handlers run on which path, for both the router and the auth handlers.
pub const HANDLER: &str = "light-pingora/handler";
/// Every module a reload swaps: `handler.yml`, the router, then the auth modules.
const RELOADABLE: &[&str] = &[
    HANDLER,
    MCP_ROUTER,
    "light-pingora/security",
    "light-pingora/unified-security",
    "light-pingora/apikey",
    "light-pingora/basic-auth",
    "light-pingora/access-control",
    "light-pingora/rule",
];
/// The modules of the auth handlers and the access policy.
pub const AUTH_MODULES: &[&str] = RELOADABLE.split_at(2).1;

/// What the reload of the requested modules rebuilds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Modules to reload, in request order.
    reload: Vec<String>,
    router: bool,
    auth: bool,
    /// `handler.yml` itself is reloaded: the new activation applies.
    activation: bool,
    skipped: Vec<Skipped>,
    failed: Vec<Failed>,
}

impl Plan {
    fn of(requested: &[String]) -> Self {
        let all: Vec<String>;
        let ids = if asks_for_all(requested) {
            all = FILES
                .iter()
                .map(|f| f.module_id.to_string())
                .chain([LOGGING_MODULE_ID.to_string()])
                .collect();
            &all
        } else {
            requested
        };
        let mut plan = Self::default();
        for id in ids {
            let id = id.trim();
            let skip = |reason: &str| Skipped {
                module_id: id.to_string(),
                reason: reason.to_string(),
            };
            if plan.reload.iter().any(|m| m == id) {
                continue;
            }
            if id == HANDLER {
                (plan.router, plan.auth, plan.activation) = (true, true, true);
            } else if id == MCP_ROUTER {
                plan.router = true;
            } else if AUTH_MODULES.contains(&id) {
                plan.auth = true;
            } else if id == LOGGING_MODULE_ID {
                // Its filter comes from the environment at startup and from set_logging_filter.
                plan.skipped.push(skip(RELOAD_NOT_IMPLEMENTED));
                continue;
            } else if FILES.iter().any(|f| f.module_id == id) {
                plan.skipped.push(skip(REQUIRES_RESTART));
                continue;
            } else {
                plan.failed.push(Failed {
                    module_id: id.to_string(),
                    message: "module not found".into(),
                });
                continue;
            }
            plan.reload.push(id.to_string());
        }
        plan
    }
}

/// The modules a failure of the whole reload names: `ALL` when all were asked for (upstream's
/// way), else each one that was to reload.
fn failing<'a>(requested: &'a [String], plan: &'a Plan) -> &'a [String] {
    if asks_for_all(requested) {
        requested
    } else {
        &plan.reload
    }
}

/// Reloads the gateway's modules from config-server and the config dirs.
pub struct Reloader {
    boot: BootstrapConfig,
    dirs: ConfigDirs,
    env: Arc<dyn Env + Send + Sync>,
    /// The outbound trust of the key service (from startup's client.yml: changing it takes a
    /// restart, as for the controller).
    outbound_tls: rustls::ClientConfig,
    live: Arc<Live>,
    /// One reload at a time: a second waits for the first and then loads what is current.
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of `live`'s modules, loading config as startup did.
    pub fn new(
        boot: BootstrapConfig,
        dirs: ConfigDirs,
        env: Arc<dyn Env + Send + Sync>,
        outbound_tls: rustls::ClientConfig,
        live: Arc<Live>,
    ) -> Self {
        Self {
            boot,
            dirs,
            env,
            outbound_tls,
            live,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// The new runtime config: config-server again (into the cache), then the files.
    async fn context(&self) -> Result<RuntimeConfig, String> {
        let downloaded = crate::bootstrap::refetch(&self.boot, &self.dirs).await?;
        RuntimeConfig::load(&self.dirs, &*self.env, downloaded.as_ref()).map_err(|e| e.to_string())
    }

    /// Builds what `plan` needs from `runtime`: the auth handlers, the router, the activation.
    fn build(&self, plan: &Plan, runtime: &RuntimeConfig) -> Result<Built, String> {
        let env = &*self.env;
        let activation = if plan.activation {
            crate::handler::load(runtime, env).map_err(|e| e.to_string())?
        } else {
            self.live.auth().activation().clone()
        };
        let auth = if plan.auth {
            let auth = Auth::build(runtime, env, activation.clone(), &self.outbound_tls, Timing::default());
            Some(Arc::new(auth.map_err(|e| e.to_string())?))
        } else {
            None
        };
        let router = if plan.router {
            let previous = self.live.router();
            let built = mcp::setup::build(runtime, env, &self.dirs, &activation, previous.as_deref());
            Some(built.map_err(|e| e.to_string())?.map(Arc::new))
        } else {
            None
        };
        Ok(Built {
            activation,
            auth,
            router,
        })
    }
}

/// The modules built, not yet in service.
struct Built {
    activation: Activation,
    auth: Option<Arc<Auth>>,
    /// `Some(None)`: the new config turns the router off.
    router: Option<Option<Arc<mcp::setup::McpService>>>,
}

#[async_trait]
impl ModuleReload for Reloader {
    fn reloadable(&self) -> &'static [&'static str] {
        RELOADABLE
    }

    async fn reload(&self, requested: &[String]) -> Reloaded {
        let _one = self.one_at_a_time.lock().await;
        let plan = Plan::of(requested);
        let mut report = ReloadReport {
            skipped: plan.skipped.clone(),
            failed: plan.failed.clone(),
            ..ReloadReport::default()
        };
        if plan.reload.is_empty() {
            return Reloaded {
                report,
                installed: None,
            };
        }
        let prepared = match self.context().await {
            Ok(runtime) => self
                .build(&plan, &runtime)
                .map(|built| (runtime, built))
                .map_err(|e| (e, "is invalid")),
            Err(e) => Err((e, "could not be loaded")),
        };
        let (runtime, built) = match prepared {
            Ok(prepared) => prepared,
            Err((message, what)) => {
                error!(reason = %message, modules = ?plan.reload, "reload failed: the new config {what}; nothing changed");
                if let Some(m) = crate::metrics::get() {
                    m.config_load("reload", "failed");
                }
                report
                    .failed
                    .extend(ReloadReport::all_failed(failing(requested, &plan), &message).failed);
                return Reloaded {
                    report,
                    installed: None,
                };
            }
        };
        if let Some(auth) = built.auth {
            self.live.install_auth(auth).await;
        }
        if let Some(router) = built.router {
            self.live.install_router(router).await;
        }
        info!(modules = ?plan.reload, values = ?runtime.value_sources, "config reloaded");
        if let Some(m) = crate::metrics::get() {
            m.config_load("reload", "ok");
        }
        report.reloaded.clone_from(&plan.reload);
        report.modules = plan.reload;
        Reloaded {
            report,
            installed: Some(Installed {
                snapshot: ConfigSnapshot::gather(&runtime, &self.boot, &self.dirs, &*self.env),
                activation: built.activation,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn all_reloads_the_router_and_auth_and_skips_the_rest_with_reasons() {
        let plan = Plan::of(&[]);
        assert!(plan.router && plan.auth && plan.activation);
        for id in RELOADABLE {
            assert!(plan.reload.iter().any(|m| m == id), "{id} reloads with ALL");
        }
        let skipped: Vec<(&str, &str)> = plan
            .skipped
            .iter()
            .map(|s| (s.module_id.as_str(), s.reason.as_str()))
            .collect();
        assert!(skipped.contains(&("light-runtime/server", REQUIRES_RESTART)));
        assert!(skipped.contains(&("light-client/client", REQUIRES_RESTART)));
        assert!(
            skipped.contains(&("light-pingora/metrics", REQUIRES_RESTART)),
            "its listener is bound at startup"
        );
        assert!(skipped.contains(&(LOGGING_MODULE_ID, RELOAD_NOT_IMPLEMENTED)));
        assert!(plan.failed.is_empty());
    }

    #[test]
    fn one_module_rebuilds_only_its_side() {
        let router = Plan::of(&ids(&[MCP_ROUTER]));
        assert_eq!((router.router, router.auth, router.activation), (true, false, false));
        let auth = Plan::of(&ids(&["light-pingora/access-control"]));
        assert_eq!((auth.router, auth.auth, auth.activation), (false, true, false));
        let handler = Plan::of(&ids(&[HANDLER]));
        assert_eq!((handler.router, handler.auth, handler.activation), (true, true, true));
    }

    #[test]
    fn an_unknown_module_fails_and_a_repeated_one_counts_once() {
        let plan = Plan::of(&ids(&["light-pingora/nope", MCP_ROUTER, MCP_ROUTER]));
        assert_eq!(plan.reload, ids(&[MCP_ROUTER]));
        assert_eq!(
            plan.failed,
            vec![Failed {
                module_id: "light-pingora/nope".into(),
                message: "module not found".into()
            }]
        );
    }
}
