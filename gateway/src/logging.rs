//! Structured logs: `RUST_LOG` filters, `LOG_FORMAT=json` switches to JSON lines. Every
//! milestone has one stable message and an `event` field, so people and the conformance suite
//! can find it (README, "Milestone log lines"). The filter can be replaced at run time
//! ([`FilterControl`], the controller's `set_logging_filter`).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// The `event` field values of the milestone lines.
pub mod milestone {
    /// Config files loaded (fields: values sources, files).
    pub const CONFIG_LOADED: &str = "config_loaded";
    /// Config-server answered; values (and certs/files) cached.
    pub const BOOTSTRAP_OK: &str = "bootstrap_ok";
    /// Config-server failed; the fallback is named.
    pub const BOOTSTRAP_FAILED: &str = "bootstrap_failed";
    /// No config-server configured.
    pub const BOOTSTRAP_SKIPPED: &str = "bootstrap_skipped";
    /// Listeners accept connections.
    pub const LISTENERS_BOUND: &str = "listeners_bound";
    /// The controller acknowledged registration (field: runtimeInstanceId).
    pub const REGISTERED: &str = "registered";
    /// Registration failed (field: reason).
    pub const REGISTRATION_FAILED: &str = "registration_failed";
    /// The gateway admits traffic.
    pub const READY: &str = "ready";
    /// SIGTERM received: new requests get 503, in-flight ones finish.
    pub const DRAINING: &str = "draining";
    /// The controller acknowledged deregistration.
    pub const DEREGISTERED: &str = "deregistered";
    /// The process is about to exit.
    pub const STOPPED: &str = "stopped";
}

/// Libraries whose trace output prints whole frames or headers, tokens included: capped at
/// debug whatever `RUST_LOG` says, so a token never reaches the logs.
const CAPPED_AT_DEBUG: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
];

/// The filter when `RUST_LOG` is unset or invalid: `info`, pingora's own lines at warn.
pub const DEFAULT_FILTER: &str = "info,pingora_core=warn,pingora_proxy=warn,pingora=warn";

/// The filter: `RUST_LOG`, default [`DEFAULT_FILTER`].
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    rust_log
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER))
}

/// The directive [`filter`] runs with and where it came from (`env:RUST_LOG` or `default`).
pub fn initial_setting(rust_log: Option<&str>) -> FilterSetting {
    match rust_log.filter(|spec| EnvFilter::try_new(spec).is_ok()) {
        Some(spec) => FilterSetting {
            directive: spec.to_string(),
            source: "env:RUST_LOG".to_string(),
        },
        None => FilterSetting {
            directive: DEFAULT_FILTER.to_string(),
            source: "default".to_string(),
        },
    }
}

/// A filter directive in force and who set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSetting {
    /// The `RUST_LOG`-syntax directive (`info,light_gateway::registry=debug`).
    pub directive: String,
    /// `env:RUST_LOG`, `default`, or the tool that replaced it.
    pub source: String,
}

/// Why a filter was not replaced; the filter in force is unchanged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// The directive does not parse (or is blank).
    #[error("invalid logging filter `{directive}`: {reason}")]
    Invalid {
        /// The directive as given.
        directive: String,
        /// The parser's reason.
        reason: String,
    },
    /// The subscriber it belongs to is gone.
    #[error("failed to apply logging filter `{directive}`: {reason}")]
    Reload {
        /// The directive as given.
        directive: String,
        /// The reload error.
        reason: String,
    },
}

/// The live global filter, replaceable while the gateway runs.
pub struct FilterControl {
    handle: reload::Handle<EnvFilter, Registry>,
    /// Held across a replacement so the directive shown always matches the one in force.
    current: Mutex<FilterSetting>,
}

impl FilterControl {
    /// Controls the filter behind `handle`, which runs `current`.
    pub fn new(handle: reload::Handle<EnvFilter, Registry>, current: FilterSetting) -> Self {
        Self {
            handle,
            current: Mutex::new(current),
        }
    }

    /// The directive in force.
    pub fn current(&self) -> FilterSetting {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the filter with `directive` (set by `source`); a directive that does not parse
    /// changes nothing.
    ///
    /// # Errors
    /// [`FilterError::Invalid`] for a blank or unparsable directive, [`FilterError::Reload`]
    /// when the subscriber is gone.
    pub fn replace(&self, directive: &str, source: &str) -> Result<FilterSetting, FilterError> {
        let directive = directive.trim();
        let invalid = |reason: String| FilterError::Invalid {
            directive: directive.to_string(),
            reason,
        };
        if directive.is_empty() {
            return Err(invalid("the directive is blank".to_string()));
        }
        let parsed = EnvFilter::try_new(directive).map_err(|e| invalid(e.to_string()))?;
        let log_level = log_max_level(&parsed);
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        self.handle.reload(parsed).map_err(|e| FilterError::Reload {
            directive: directive.to_string(),
            reason: e.to_string(),
        })?;
        // Pingora's `log` records are cut before the filter sees them (see `log_max_level`).
        log::set_max_level(log_level);
        *current = FilterSetting {
            directive: directive.to_string(),
            source: source.to_string(),
        };
        Ok(current.clone())
    }
}

/// The control of the global subscriber, set by [`init`].
static FILTER_CONTROL: OnceLock<Arc<FilterControl>> = OnceLock::new();

/// The control of the filter [`init`] installed; `None` before `init` (or in tests).
pub fn filter_control() -> Option<Arc<FilterControl>> {
    FILTER_CONTROL.get().cloned()
}

/// The caps on [`CAPPED_AT_DEBUG`], applied after [`filter`] as a second global filter: a cap
/// only lowers what `RUST_LOG` enables. (Adding `hyper=debug` directives to the EnvFilter
/// instead would raise those targets to debug under the default `info`, formatting two
/// connection-pool lines per proxied request.)
pub fn caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_AT_DEBUG.iter().map(|t| (*t, LevelFilter::DEBUG)))
}

/// The most verbose `log` level `filter` lets through anywhere.
///
/// Pingora logs through the `log` crate, whose macros compare with `log::max_level()` before
/// anything else. The subscriber's own hint is TRACE (the caps pass every other target at
/// trace), so without this every pingora `debug!` on the request path went through the
/// log-to-tracing bridge and the filter (4% of a stateless tools/call in the profile).
pub fn log_max_level(filter: &EnvFilter) -> log::LevelFilter {
    match filter.max_level_hint() {
        Some(LevelFilter::OFF) => log::LevelFilter::Off,
        Some(LevelFilter::ERROR) => log::LevelFilter::Error,
        Some(LevelFilter::WARN) => log::LevelFilter::Warn,
        Some(LevelFilter::INFO) => log::LevelFilter::Info,
        Some(LevelFilter::DEBUG) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// Installs the global subscriber on stderr.
pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let invalid = rust_log.as_deref().and_then(|spec| EnvFilter::try_new(spec).err());
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let env_filter = filter(rust_log.as_deref());
    let log_level = log_max_level(&env_filter);
    let (env_filter, handle) = reload::Layer::new(env_filter);
    let _ = FILTER_CONTROL.set(Arc::new(FilterControl::new(
        handle,
        initial_setting(rust_log.as_deref()),
    )));
    let registry = tracing_subscriber::registry().with(env_filter).with(caps());
    if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .init();
    }
    // After init, which installed the log bridge at the subscriber's (too wide) hint.
    log::set_max_level(log_level);
    if let Some(error) = invalid {
        tracing::warn!(rust_log = rust_log.as_deref().unwrap_or_default(), reason = %error, "RUST_LOG is invalid; logging at info");
    }
}

/// An error with its causes, one line: the one formatter of error chains in logs and answers
/// (a client library's top message often hides the useful part).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use rstest::rstest;
    use tracing_subscriber::layer::{Context, Layer};

    use super::*;

    /// Records the target and level of every event that gets through the filters.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<(String, tracing::Level)>>>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            if let Ok(mut seen) = self.0.lock() {
                seen.push((meta.target().to_string(), *meta.level()));
            }
        }
    }

    fn emitted(rust_log: Option<&str>) -> Vec<(String, tracing::Level)> {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(filter(rust_log))
            .with(caps())
            .with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "hyper_util::client::legacy::pool", "pooling idle connection");
            tracing::trace!(target: "hyper_util::client::legacy::pool", "frame with headers");
            tracing::info!(target: "light_gateway::app", "ready");
            tracing::trace!(target: "light_gateway::app", "detail");
        });
        seen.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    #[rstest]
    #[case::default_info(None, log::LevelFilter::Info)]
    #[case::warn(Some("warn"), log::LevelFilter::Warn)]
    #[case::one_target_at_debug(Some("info,pingora_core=debug"), log::LevelFilter::Debug)]
    #[case::trace(Some("trace"), log::LevelFilter::Trace)]
    #[case::off(Some("off"), log::LevelFilter::Off)]
    fn log_records_are_cut_at_the_filters_widest_level(
        #[case] rust_log: Option<&str>,
        #[case] expected: log::LevelFilter,
    ) {
        assert_eq!(log_max_level(&filter(rust_log)), expected);
    }

    #[rstest]
    #[case::unset(None, DEFAULT_FILTER, "default")]
    #[case::valid(Some("warn,light_gateway=debug"), "warn,light_gateway=debug", "env:RUST_LOG")]
    #[case::invalid_falls_back(Some("light_gateway=loud"), DEFAULT_FILTER, "default")]
    fn the_initial_setting_names_the_directive_in_force(
        #[case] rust_log: Option<&str>,
        #[case] directive: &str,
        #[case] source: &str,
    ) {
        let setting = initial_setting(rust_log);
        assert_eq!(
            (setting.directive.as_str(), setting.source.as_str()),
            (directive, source)
        );
    }

    #[test]
    fn a_replaced_filter_applies_at_once_and_a_bad_one_changes_nothing() {
        let seen = Seen::default();
        let (layer, handle) = reload::Layer::new(filter(Some("info")));
        let control = FilterControl::new(handle, initial_setting(Some("info")));
        let subscriber = tracing_subscriber::registry()
            .with(layer)
            .with(caps())
            .with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "light_gateway::registry", "before any change");
            let bad = control.replace("info,light_gateway=loud", "test");
            assert!(
                matches!(&bad, Err(FilterError::Invalid { directive, .. }) if directive == "info,light_gateway=loud"),
                "{bad:?}"
            );
            assert!(matches!(
                control.replace("  ", "test"),
                Err(FilterError::Invalid { .. })
            ));
            assert_eq!(control.current(), initial_setting(Some("info")));
            tracing::debug!(target: "light_gateway::registry", "after the refused change");
            let applied = control.replace("info,light_gateway::registry=debug", "test").unwrap();
            assert_eq!(applied.directive, "info,light_gateway::registry=debug");
            assert_eq!(control.current(), applied);
            tracing::debug!(target: "light_gateway::registry", "after the change");
            tracing::debug!(target: "light_gateway::app", "a target the change does not name");
        });
        let debug_lines: Vec<_> = seen
            .0
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, level)| *level == tracing::Level::DEBUG)
            .collect();
        assert_eq!(
            debug_lines,
            vec![("light_gateway::registry".to_string(), tracing::Level::DEBUG)]
        );
    }

    #[rstest]
    #[case::default_info(None, &[("light_gateway::app", tracing::Level::INFO)])]
    #[case::info(Some("info"), &[("light_gateway::app", tracing::Level::INFO)])]
    #[case::trace_everything_but_library_frames(Some("trace"), &[
        ("hyper_util::client::legacy::pool", tracing::Level::DEBUG),
        ("light_gateway::app", tracing::Level::INFO),
        ("light_gateway::app", tracing::Level::TRACE),
    ])]
    fn caps_only_lower_what_rust_log_enables(
        #[case] rust_log: Option<&str>,
        #[case] expected: &[(&str, tracing::Level)],
    ) {
        let expected: Vec<(String, tracing::Level)> = expected.iter().map(|(t, l)| (t.to_string(), *l)).collect();
        assert_eq!(emitted(rust_log), expected);
    }
}
