//! Hot reload (README, "Reloading config"): the controller's `reload_modules` runtime tool
//! fetches config-server again into the cache, loads the runtime config anew and swaps the
//! modules that can change under traffic: the MCP router and the auth handlers. Requests read
//! the modules in service once, when they start ([`Live`]), so one in flight finishes on the
//! config it began with; a reload whose new config fails to build swaps nothing.
//!
//! The answer has upstream's shape (light-fabric `crates/light-runtime/src/module_registry.rs`,
//! `ReloadModulesResult`): `{modules, reloaded, skipped: [{moduleId, reason}], failed:
//! [{moduleId, message}]}`, `modules` repeating `reloaded` for older readers.

mod live;
mod reloader;

use async_trait::async_trait;
use serde::Serialize;

pub use live::Live;
pub use reloader::Reloader;

use crate::handler::Activation;
use crate::registry::config_snapshot::ConfigSnapshot;

/// The one-word id upstream takes for "every module".
pub const ALL_MODULES: &str = "ALL";

/// `skipped` reason of a module that only a restart can change (listeners, TLS, registration).
pub const REQUIRES_RESTART: &str = "requiresRestart";
/// `skipped` reason of a module with no reload of its own.
pub const RELOAD_NOT_IMPLEMENTED: &str = "reloadNotImplemented";

/// A module skipped, and why (one of the reason words above).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The module.
    pub module_id: String,
    /// Why.
    pub reason: String,
}

/// A module that failed to reload, and the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// The module.
    pub module_id: String,
    /// What went wrong.
    pub message: String,
}

/// What a reload did, as the controller reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// The modules reloaded (upstream's older name for `reloaded`).
    pub modules: Vec<String>,
    /// The modules reloaded.
    pub reloaded: Vec<String>,
    /// The modules left as they were, and why.
    pub skipped: Vec<Skipped>,
    /// The modules that failed; what they serve is unchanged.
    pub failed: Vec<Failed>,
}

impl ReloadReport {
    /// Every requested module failed for one reason (the config could not be had at all); a
    /// request for every module is reported as [`ALL_MODULES`], as upstream does.
    pub fn all_failed(requested: &[String], message: &str) -> Self {
        let ids = if asks_for_all(requested) {
            vec![ALL_MODULES.to_string()]
        } else {
            requested.to_vec()
        };
        Self {
            failed: ids
                .into_iter()
                .map(|module_id| Failed {
                    module_id,
                    message: message.to_string(),
                })
                .collect(),
            ..Self::default()
        }
    }
}

/// Whether a `modules` argument means every module: none named, or only `ALL` (any case).
pub fn asks_for_all(requested: &[String]) -> bool {
    match requested {
        [] => true,
        [only] => only.eq_ignore_ascii_case(ALL_MODULES),
        _ => false,
    }
}

/// The config a reload installed, for the runtime tools to describe from now on.
pub struct Installed {
    /// The masked config as it now is.
    pub snapshot: ConfigSnapshot,
    /// The handler activation in service.
    pub activation: Activation,
}

/// What a reload returns.
pub struct Reloaded {
    /// The answer for the controller.
    pub report: ReloadReport,
    /// The new config, when anything was reloaded.
    pub installed: Option<Installed>,
}

/// What the runtime tools call to reload (a trait so they test without a gateway).
#[async_trait]
pub trait ModuleReload: Send + Sync {
    /// The module ids a reload can swap.
    fn reloadable(&self) -> &'static [&'static str];

    /// Reloads `requested` (every module when [`asks_for_all`]).
    async fn reload(&self, requested: &[String]) -> Reloaded;
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(&[], true)]
    #[case(&["ALL"], true)]
    #[case(&["all"], true)]
    #[case(&["ALL", "light-pingora/mcp-router"], false)]
    #[case(&["light-pingora/mcp-router"], false)]
    fn all_is_none_named_or_the_all_word(#[case] requested: &[&str], #[case] all: bool) {
        let requested: Vec<String> = requested.iter().map(|s| s.to_string()).collect();
        assert_eq!(asks_for_all(&requested), all);
    }

    #[test]
    fn a_failure_for_all_is_reported_once_as_all() {
        let report = ReloadReport::all_failed(&[], "config-server down");
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].module_id, ALL_MODULES);
        let named = ReloadReport::all_failed(&["a".into(), "b".into()], "down");
        let ids: Vec<&str> = named.failed.iter().map(|f| f.module_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(named.reloaded.is_empty() && named.modules.is_empty());
    }

    #[test]
    fn the_report_has_upstreams_field_names() {
        let report = ReloadReport {
            modules: vec!["m".into()],
            reloaded: vec!["m".into()],
            skipped: vec![Skipped {
                module_id: "s".into(),
                reason: REQUIRES_RESTART.into(),
            }],
            failed: vec![Failed {
                module_id: "f".into(),
                message: "bad".into(),
            }],
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "modules": ["m"], "reloaded": ["m"],
                "skipped": [{"moduleId": "s", "reason": "requiresRestart"}],
                "failed": [{"moduleId": "f", "message": "bad"}],
            })
        );
    }
}
