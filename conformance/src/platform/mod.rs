//! Where a deployment runs. Checks reach it only through [`Target`]: the endpoints of the gateway
//! and the fixtures, logs, restarts with overrides, and what only some targets can do
//! (Kubernetes objects, a Service, a container to exec into), each advertised as a
//! [`Feature`] so the runner skips what a target cannot serve.
//!
//! - [`local`]: processes on 127.0.0.1, the bootstrap config written from the rendered chart.
//! - [`docker`]: the gateway image run the way the rendered pod spec says, fixtures as
//!   containers named after their in-cluster DNS names.
//! - [`kube`]: kind or the current kube context: the chart applied, fixtures as Deployments.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::deployment::Deployment;
use crate::feature::Feature;
use crate::outcome::Failure;

pub mod docker;
pub(crate) mod fixture_hosts;
mod gateway_config;
pub mod kube;
pub mod local;
mod processes;

pub use gateway_config::GatewayConfig;

/// Why a target could not do something.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target cannot exist on this machine (no Docker, no kind, no image): every check is
    /// reported skipped with this reason.
    #[error("{0}")]
    Unavailable(String),
    /// The target has no such operation (the runner's feature skips normally prevent this).
    #[error("the {target} target cannot {operation}")]
    Unsupported {
        /// The target's name.
        target: &'static str,
        /// What was asked.
        operation: &'static str,
    },
    /// The scenario could not be rendered or read.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// Starting or driving a process, container or object failed.
    #[error("{what}: {reason}")]
    Operation {
        /// What was being done.
        what: String,
        /// Why it failed, with what was seen.
        reason: String,
    },
}

impl TargetError {
    /// An [`TargetError::Operation`] error.
    pub fn operation(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Operation {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Where the suite reaches the deployment from the machine it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The gateway's first listener (`http://127.0.0.1:<port>` or through a port-forward).
    pub gateway: url::Url,
    /// The gateway's Service, when the target has one.
    pub service: Option<url::Url>,
    /// The MCP path (`tests.mcpPath` in the chart values).
    pub mcp_path: String,
    /// The mock config-server's admin API.
    pub config_server_admin: url::Url,
    /// The mock controller's admin API.
    pub controller_admin: url::Url,
    /// The mock key service's admin API (keys, tokens).
    pub key_service_admin: url::Url,
    /// Each MCP backend's instance name and admin API.
    pub backends: Vec<(String, url::Url)>,
    /// The gateway's Prometheus scrape URL (port and path), when the deployment serves one.
    pub metrics: Option<url::Url>,
}

impl Endpoints {
    /// The gateway's MCP endpoint.
    pub fn mcp(&self) -> url::Url {
        let mut url = self.gateway.clone();
        url.set_path(&self.mcp_path);
        url
    }
}

/// What the gateway's config cache holds when it starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// What a replaced pod finds: empty for an emptyDir cache, kept for a PVC.
    AsDeployed,
    /// Kept, as across a container restart in the same pod.
    Keep,
    /// Emptied.
    Empty,
}

/// How to start the gateway again.
#[derive(Debug, Clone, PartialEq)]
pub struct Restart {
    /// Bootstrap `values.yml` keys set over the deployment's (`server.startOnRegistryFailure`).
    pub values: BTreeMap<String, Value>,
    /// Environment variables set over the deployment's (`LIGHT_PORTAL_AUTHORIZATION`).
    pub env: Vec<(String, String)>,
    /// The cache.
    pub cache: Cache,
    /// Return the fixtures to normal first (outages off, every backend up).
    pub reset_fixtures: bool,
}

impl Restart {
    /// As deployed: no overrides, the cache as a replaced pod finds it.
    pub fn as_deployed() -> Self {
        Self {
            values: BTreeMap::new(),
            env: Vec::new(),
            cache: Cache::AsDeployed,
            reset_fixtures: false,
        }
    }

    /// As deployed, with the fixtures back to normal: how a disruptive check leaves things.
    pub fn reset() -> Self {
        Self {
            reset_fixtures: true,
            ..Self::as_deployed()
        }
    }
}

/// How a (re)started gateway ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// It admits traffic.
    Ready,
    /// It exited before becoming ready, with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// Still running and not ready when the wait ended; why.
    NotReady(String),
}

/// A deployment of the chart with its fixtures, as the checks see it.
#[async_trait]
pub trait Target: Send + Sync {
    /// `local`, `docker`, `kind`, `cluster`.
    fn name(&self) -> &'static str;

    /// What it offers beyond the gateway and its peers.
    fn features(&self) -> &[Feature];

    /// Where things are.
    fn endpoints(&self) -> Endpoints;

    /// The current gateway's logs (stdout and stderr).
    async fn gateway_logs(&self) -> Result<String, TargetError>;

    /// The logs of the gateway before the last restart.
    async fn previous_gateway_logs(&self) -> Result<String, TargetError>;

    /// Stops the gateway and starts it again as `restart` says, waiting until it is ready, has
    /// exited, or the wait ends.
    async fn restart(&self, restart: &Restart) -> Result<Started, TargetError>;

    /// Sends SIGTERM to the gateway and waits for it to exit; its exit code (`None`: killed by a
    /// signal). The gateway stays down until the next [`Target::restart`].
    async fn terminate(&self) -> Result<Option<i32>, TargetError>;

    /// Stops (`up` false) or starts again the MCP backend `instance` (`backend-a`, `backend-b`),
    /// under the same address.
    async fn set_backend(&self, instance: &str, up: bool) -> Result<(), TargetError>;

    /// Each fixture's logs, by fixture name.
    async fn fixture_logs(&self) -> Vec<(String, String)>;

    /// Stops and removes what provisioning made.
    async fn teardown(&self) -> Result<(), TargetError>;

    /// Waits for the gateway Deployment's rollout ([`Feature::Kubernetes`]).
    async fn rollout_status(&self) -> Result<String, TargetError> {
        Err(TargetError::Unsupported {
            target: self.name(),
            operation: "report a rollout",
        })
    }

    /// Requires the gateway pods Ready with unchanged restart counts over `window`
    /// ([`Feature::Kubernetes`]).
    async fn pods_stable(&self, _window: Duration) -> Result<String, TargetError> {
        Err(TargetError::Unsupported {
            target: self.name(),
            operation: "watch pods",
        })
    }

    /// GET `path` through the gateway's Service ([`Feature::Service`]): status and body.
    async fn service_get(&self, _path: &str) -> Result<(u16, String), TargetError> {
        Err(TargetError::Unsupported {
            target: self.name(),
            operation: "reach a Service",
        })
    }

    /// Runs `argv` in the gateway container ([`Feature::Containers`]): exit code and output
    /// (stdout then stderr).
    async fn exec_gateway(&self, _argv: &[&str]) -> Result<(i64, String), TargetError> {
        Err(TargetError::Unsupported {
            target: self.name(),
            operation: "exec in the gateway container",
        })
    }

    /// Extra artifacts for a failed check (events, object YAML), as `(file name, text)`;
    /// `dir` is where they will be written.
    async fn diagnostics(&self, _dir: &Path) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Waits until the gateway at `gateway` admits traffic: any answer but 503 to a request other
/// than `/health` (which answers at all times). `exited` reports a process that ended first.
pub(crate) async fn wait_ready<F, Fut>(
    http: &reqwest::Client,
    gateway: &url::Url,
    within: Duration,
    mut exited: F,
) -> Started
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Option<i32>>>,
{
    let mut probe = gateway.clone();
    probe.set_path("/.conformance/ready");
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(code) = exited().await {
            return Started::Exited(code);
        }
        let last = match http.get(probe.clone()).send().await {
            Ok(response) if response.status() != 503 => return Started::Ready,
            Ok(response) => format!("GET {probe} answered {}", response.status()),
            Err(e) => format!("GET {probe}: {e}"),
        };
        if tokio::time::Instant::now() >= deadline {
            return Started::NotReady(format!("not ready after {within:?}: {last}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The MCP path the chart's values give (`tests.mcpPath`, default `/mcp`).
pub(crate) fn mcp_path(deployment: &Deployment) -> String {
    deployment
        .values
        .pointer("/tests/mcpPath")
        .and_then(Value::as_str)
        .unwrap_or("/mcp")
        .to_string()
}

/// The scrape listener the deployment's bootstrap values ask for: (port, path); `None` when
/// `metrics.enabled` is false or `metrics.prometheusPort` is 0 or absent (the gateway's
/// defaults, README "Metrics").
pub(crate) fn metrics_listener(deployment: &Deployment) -> Option<(u16, String)> {
    let values = &deployment.bootstrap_values;
    if values.get("metrics.enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let port = values
        .get("metrics.prometheusPort")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)?;
    let path = values
        .get("metrics.prometheusPath")
        .and_then(Value::as_str)
        .unwrap_or("/metrics");
    Some((port, path.to_string()))
}

/// `http://127.0.0.1:<port><path>`: the scrape URL on a published or forwarded port.
pub(crate) fn metrics_url(port: u16, path: &str) -> Result<url::Url, TargetError> {
    url::Url::parse(&format!("http://127.0.0.1:{port}{path}"))
        .map_err(|e| TargetError::operation("forming the metrics URL", e))
}

/// Whether the deployment keeps its cache on a PersistentVolumeClaim.
pub(crate) fn pvc_cache(deployment: &Deployment) -> bool {
    deployment.values.pointer("/cache/type").and_then(Value::as_str) == Some("pvc")
}

/// Whether a restart should find the cache emptied.
pub(crate) fn empties_cache(cache: Cache, deployment: &Deployment) -> bool {
    match cache {
        Cache::AsDeployed => !pvc_cache(deployment),
        Cache::Keep => false,
        Cache::Empty => true,
    }
}

/// Sets every fixture back to normal: no outage at config-server or the controller.
pub(crate) async fn end_outages(http: &reqwest::Client, endpoints: &Endpoints) -> Result<(), TargetError> {
    for admin in [&endpoints.config_server_admin, &endpoints.controller_admin] {
        crate::peers::outage(http, admin, "off")
            .await
            .map_err(|Failure(e)| TargetError::operation("ending a fixture outage", e))?;
    }
    Ok(())
}
