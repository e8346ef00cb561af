//! The startup flow (README, "The gateway"): read config -> config-server -> cache ->
//! Pingora -> register -> ready; then, on SIGTERM, drain -> deregister -> stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::auth::keys::Timing;
use crate::auth::{Auth, AuthError};
use crate::bootstrap::{self, BootstrapError};
use crate::cleartext;
use crate::config::files::non_blank;
use crate::config::{BootstrapConfig, ConfigDirs, ConfigError, Env, RuntimeConfig};
use crate::logging::milestone;
use crate::mcp;
use crate::metrics::{self, MetricsConfig, config::Scrape};
use crate::registry::{self, RegistryHandle, protocol};
use crate::reload::{Live, Reloader};
use crate::server::shutdown::Signals;
use crate::server::{self, Admission, Listener, Phase, ServerError};
use crate::tls::{self, TlsError};

/// How long the listeners may take to accept connections after Pingora starts.
const BIND_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound of the wait for a deregistration ack (docs/protocols.md#controller).
const DEREGISTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Exit code when a second signal cuts a drain short.
pub const EXIT_SECOND_SIGNAL: i32 = 130;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A config file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Config-server could not even be tried.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// An outbound TLS setting is unusable.
    #[error("failed to prepare controller TLS: {0}")]
    Tls(#[from] TlsError),
    /// A listener cannot be set up.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The MCP router cannot be built.
    #[error(transparent)]
    Mcp(#[from] mcp::RouterError),
    /// The auth handlers cannot be built.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Registration failed and `startOnRegistryFailure` is false.
    #[error("failed to register with the controller and startOnRegistryFailure is false: {0}")]
    Registration(String),
}

/// Everything the services need, resolved.
pub struct Prepared {
    /// The runtime config.
    pub runtime: RuntimeConfig,
    /// Registry session settings, when `enableRegistry` is true.
    pub registry: Option<registry::Settings>,
    /// The listeners.
    pub listeners: Vec<Listener>,
    /// The MCP router (when `handler.yml` runs `mcp` on its path) and the auth handlers, as
    /// the controller's `reload_modules` replaces them.
    pub live: Arc<Live>,
    /// The Prometheus scrape listener (`metrics.yml`), if any.
    pub scrape: Option<Scrape>,
}

/// Loads config, bootstraps from config-server (unless `offline`) and checks what can be
/// checked before listening.
///
/// # Errors
/// The first config, TLS or bind problem.
pub async fn prepare(
    dirs: &ConfigDirs,
    env: Arc<dyn Env + Send + Sync>,
    offline: bool,
) -> Result<Prepared, StartupError> {
    let boot = BootstrapConfig::load(dirs, &*env)?;
    if let (Some(uri), Some(_)) = (boot.config_server_uri.as_deref(), non_blank(&boot.authorization)) {
        let to = cleartext::Destination {
            url: uri,
            carries: "the portal token (config-server)",
            file: "startup.yml",
            key: "configServerUri",
        };
        cleartext::check(&to, boot.client.require_tls)?;
    }
    let downloaded = if offline {
        None
    } else {
        bootstrap::run(&boot, dirs).await?
    };
    let runtime = RuntimeConfig::load(dirs, &*env, downloaded.as_ref())?;
    let scrape = metrics_setup(&runtime, &*env)?;
    if let (Some(m), false, Some(_)) = (metrics::get(), offline, boot.config_server_uri.as_deref()) {
        m.config_load("bootstrap", if downloaded.is_some() { "ok" } else { "failed" });
    }
    // One outbound TLS setting (runtime client.yml, bootstrap CA as fallback) for the
    // controller and the key service; backends have their own (mcp-router.yml backendTls).
    let fallback_ca = non_blank(&boot.startup.bootstrap_ca_cert_path);
    let outbound_tls = tls::client_config(&bootstrap::tls_settings(&runtime.client.tls, fallback_ca, dirs))?;
    let listeners = server::listeners(&runtime.server);
    let activation = crate::handler::load(&runtime, &*env)?;
    let auth = Arc::new(Auth::build(
        &runtime,
        &*env,
        activation.clone(),
        &outbound_tls,
        Timing::default(),
    )?);
    let mcp = mcp::setup::build(&runtime, &*env, dirs, &activation, None)?.map(Arc::new);
    let live = Live::new(mcp, auth);
    if let Some(m) = metrics::get() {
        let sampled = Arc::downgrade(&live);
        m.set_sampler(Box::new(move || {
            sampled.upgrade().map(|l| l.sample()).unwrap_or_default()
        }));
    }
    let reloader = Reloader::new(
        boot.clone(),
        dirs.clone(),
        env.clone(),
        outbound_tls.clone(),
        live.clone(),
    );
    let registry = registry_settings(&runtime, &boot, dirs, &*env, outbound_tls, Arc::new(reloader));
    if let Some(settings) = registry.as_ref().filter(|s| !s.register.jwt.is_empty()) {
        let to = cleartext::Destination {
            url: &settings.ws_url,
            carries: "the controller JWT",
            file: "portal-registry.yml",
            key: "portalUrl",
        };
        cleartext::check(&to, runtime.client.require_tls)?;
    }
    if offline {
        // The config-server CA must be readable too, even though nothing is fetched.
        tls::client_config(&bootstrap::tls_settings(&boot.client.tls, fallback_ca, dirs))?;
        check_https_identity(&runtime, dirs)?;
    } else {
        info!(
            event = milestone::CONFIG_LOADED,
            values = ?runtime.value_sources,
            server = %runtime.server_file,
            "config loaded"
        );
        server::check_bindable(&listeners)?;
        if let Some(scrape) = &scrape {
            server::check_bindable(&[Listener {
                scheme: "http",
                addr: scrape.addr,
            }])?;
        }
    }
    Ok(Prepared {
        runtime,
        registry,
        listeners,
        live,
        scrape,
    })
}

/// Reads `metrics.yml`: turns recording on when enabled and returns the scrape listener, if
/// any, saying which in one line either way.
fn metrics_setup(rt: &RuntimeConfig, env: &dyn Env) -> Result<Option<Scrape>, StartupError> {
    let (config, file): (MetricsConfig, _) = rt.file(env, "metrics.yml")?;
    let scrape = config.scrape(&file, &rt.server)?;
    let push = config.push_keys_set();
    if !push.is_empty() {
        warn!(
            file,
            keys = ?push,
            "metrics.yml push settings are not used: this gateway does not push metrics, Prometheus scrapes prometheusPort"
        );
    }
    if !config.enabled {
        info!(file, "metrics off (metrics.enabled: false)");
        return Ok(None);
    }
    metrics::install();
    match &scrape {
        Some(s) => {
            info!(file, addr = %s.addr, path = s.path, "metrics recorded; Prometheus scrape listener configured")
        }
        None => info!(
            file,
            "metrics recorded, no scrape listener (metrics.prometheusPort is 0)"
        ),
    }
    Ok(scrape)
}

/// Checks the HTTPS certificate and key offline; files that will be downloaded into the
/// cache are not there yet and are left to startup.
fn check_https_identity(rt: &RuntimeConfig, dirs: &ConfigDirs) -> Result<(), StartupError> {
    let server = &rt.server;
    let (Some(cert), Some(key)) = (non_blank(&server.tls_cert_path), non_blank(&server.tls_key_path)) else {
        return Ok(());
    };
    let (cert, key) = (dirs.resolve(cert), dirs.resolve(key));
    let from_cache = |p: &std::path::Path| p.starts_with(&dirs.cache) && !p.exists();
    if !server.enable_https || from_cache(&cert) || from_cache(&key) {
        return Ok(());
    }
    tls::check_server_identity(&cert, &key).map_err(|e| ServerError::Tls(e.to_string()).into())
}

fn registry_settings(
    rt: &RuntimeConfig,
    boot: &BootstrapConfig,
    dirs: &ConfigDirs,
    env: &dyn Env,
    tls: rustls::ClientConfig,
    reloader: Arc<Reloader>,
) -> Option<registry::Settings> {
    let portal_url = rt.portal_url.as_ref().filter(|_| rt.server.enable_registry)?;
    let (scheme, port) = rt.server.registered_endpoint();
    let token = non_blank(&rt.registry.portal_token)
        .or(boot.authorization.as_deref())
        .unwrap_or("");
    Some(registry::Settings {
        ws_url: registry::ws_url(portal_url),
        tls: Arc::new(tls),
        register: protocol::RegisterParams {
            service_id: rt.server.service_id.clone(),
            version: protocol::service_version(&rt.server.service_id),
            protocol: scheme.to_string(),
            address: rt.server.advertised_address.trim().to_string(),
            port,
            env_tag: rt.server.environment.clone(),
            jwt: protocol::bare_token(token),
        },
        timing: registry::Timing::default(),
        runtime_tools: Arc::new(registry::RuntimeTools::gather(
            rt,
            boot,
            dirs,
            env,
            crate::logging::filter_control(),
            Some(reloader),
        )),
    })
}

/// Runs from "Pingora started" to "tell Pingora to stop"; returns the exit code.
pub async fn lifecycle(
    prepared: Prepared,
    admission: Arc<Admission>,
    mut signals: Signals,
    stop: watch::Sender<bool>,
) -> i32 {
    if let Some(m) = metrics::get() {
        let counted = Arc::downgrade(&admission);
        m.set_in_flight_source(Box::new(move || {
            counted
                .upgrade()
                .map_or(0, |a| i64::try_from(a.in_flight()).unwrap_or(i64::MAX))
        }));
    }
    let started = tokio::select! {
        result = start(&prepared, &admission) => result,
        signal = signals.next() => {
            info!(signal, "signal during startup: stopping");
            let _ = stop.send(true);
            return 0;
        }
    };
    let registry = match started {
        Ok(registry) => registry,
        Err(e) => {
            error!(reason = %e, "startup failed");
            let _ = stop.send(true);
            return 1;
        }
    };
    let signal = signals.next().await;
    let grace = Duration::from_millis(prepared.runtime.server.shutdown_graceful_period);
    let code = drain(signal, grace, registry, &admission, signals).await;
    let _ = stop.send(true);
    code
}

async fn start(prepared: &Prepared, admission: &Arc<Admission>) -> Result<Option<RegistryHandle>, StartupError> {
    let mut listeners = prepared.listeners.clone();
    // Logged as `metrics://addr`: plain HTTP, but not the MCP listener.
    listeners.extend(prepared.scrape.iter().map(|s| Listener {
        scheme: "metrics",
        addr: s.addr,
    }));
    server::wait_bound(&listeners, BIND_TIMEOUT).await?;
    let bound: Vec<String> = listeners.iter().map(|l| format!("{}://{}", l.scheme, l.addr)).collect();
    info!(event = milestone::LISTENERS_BOUND, listeners = ?bound, "listeners bound");
    let registry = match prepared.registry.clone() {
        None => {
            info!("controller registration off (server.enableRegistry: false)");
            None
        }
        Some(settings) => {
            let mut handle = RegistryHandle::spawn(settings);
            match handle.first_outcome().await {
                Ok(_) => {}
                Err(reason) if prepared.runtime.server.start_on_registry_failure => {
                    warn!(
                        reason,
                        "starting without registration (startOnRegistryFailure: true); retrying in the background"
                    );
                }
                Err(reason) => return Err(StartupError::Registration(reason)),
            }
            Some(handle)
        }
    };
    // Keys before ready, so the first tokens verify; a key service that does not answer is
    // logged and retried in the background, and such tokens are refused (503) meanwhile.
    // Aggregated tool lists too, so the first tools/list is whole.
    prepared.live.start().await;
    admission.set(Phase::Ready);
    info!(event = milestone::READY, "ready");
    Ok(registry)
}

async fn drain(
    signal: &str,
    grace: Duration,
    registry: Option<RegistryHandle>,
    admission: &Arc<Admission>,
    mut signals: Signals,
) -> i32 {
    let deadline = Instant::now() + grace;
    admission.set(Phase::Draining);
    info!(
        event = milestone::DRAINING,
        signal,
        in_flight = admission.in_flight(),
        grace_ms = grace.as_millis() as u64,
        "draining"
    );
    let second = async move {
        let again = signals.next().await;
        warn!(signal = again, "second signal: exiting now");
        EXIT_SECOND_SIGNAL
    };
    let orderly = async {
        let deregister = async {
            if let Some(handle) = registry {
                let within = deadline
                    .saturating_duration_since(Instant::now())
                    .min(DEREGISTER_TIMEOUT);
                if let Err(e) = handle.deregister("shutdown", within).await {
                    warn!(reason = %e, "deregistration not acknowledged");
                }
            }
        };
        let ((), left) = tokio::join!(deregister, admission.drained(deadline));
        if left > 0 {
            warn!(
                in_flight = left,
                "grace period over with requests in flight; closing them"
            );
        }
        0
    };
    tokio::select! {
        code = second => code,
        code = orderly => code,
    }
}
