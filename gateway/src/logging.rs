//! Structured logs: `RUST_LOG` filters, `LOG_FORMAT=json` switches to JSON lines. Every
//! milestone has one stable message and an `event` field, so people and the conformance suite
//! can find it (README, "Milestone log lines").

use tracing_subscriber::EnvFilter;

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

/// The filter: `RUST_LOG`, default `info` (pingora's own lines at warn), with the caps above.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info,pingora_core=warn,pingora_proxy=warn,pingora=warn"));
    for target in CAPPED_AT_DEBUG {
        if let Ok(directive) = format!("{target}=debug").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber on stderr.
pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let invalid = rust_log.as_deref().and_then(|spec| EnvFilter::try_new(spec).err());
    let filter = filter(rust_log.as_deref());
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).with_current_span(false).init();
    } else {
        builder.with_ansi(false).init();
    }
    if let Some(error) = invalid {
        tracing::warn!(rust_log = rust_log.as_deref().unwrap_or_default(), reason = %error, "RUST_LOG is invalid; logging at info");
    }
}
