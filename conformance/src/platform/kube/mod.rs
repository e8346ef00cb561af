//! The kind and cluster targets: the chart applied to a Kubernetes cluster the way `helm
//! install` creates it, the fixtures beside it as typed Deployments and Services, everything
//! reached from the suite's machine through local port-forwards and the API server.
//!
//! - `kind`: creates a cluster from `kind/cluster.yaml`, loads the locally built gateway and
//!   fixtures images into it, runs everything, exports the nodes' logs and deletes the cluster
//!   (unless `--keep`).
//! - `cluster`: the current kube context (or the one named); images must be pullable there.
//!   Teardown deletes the namespaces the run created and the objects it put elsewhere.
//!
//! Modules: `kind` (the kind CLI and kubeconfigs), `fixtures` (the fixtures' objects),
//! `provision` (namespaces, server-side apply, teardown records), `restart` (restart plans and
//! their waits), `ops` (exec, logs, scaling, the Service proxy, diagnostics) and `portforward`.
//! `gateway` reads the rendered gateway, `setup` holds the provisioning steps, `lifecycle`
//! starts, restarts and switches what was deployed. What stays here is `KubeTarget`'s state,
//! provisioning and the `Target` methods; `lifecycle` is a child module, so it shares that
//! private state without widening it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment as K8sDeployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use serde_json::json;

use self::fixtures::{Fixture, selector_string};
use self::gateway::{Gateway, gateway_image, gateway_of};
use self::ops::{LogCapture, ServiceRef};
use self::portforward::{Forward, PodChoice};
use self::provision::{Applier, Made};
use self::restart::{InPlace, Plan, RolloutEnd, Waits};
use self::setup::{cleanup, connect, install, start_forwards};
use super::fixture_hosts::{ADMIN_PORT, BACKENDS, Peers};
use super::{Endpoints, Restart, Started, Target, TargetError};
use crate::deployment::Deployment;
use crate::feature::Feature;
use crate::platform::kube::cluster::{api, gates};
use crate::platform::processes::tail;
use crate::render::ChartRenderer;
use crate::scenario::Scenario;
use crate::timeouts::Timeouts;

#[cfg(test)]
mod canned;
pub mod cluster;
mod fixtures;
mod gateway;
mod kind;
mod kind_images;
mod lifecycle;
mod ops;
mod portforward;
mod provision;
mod restart;
mod setup;

pub use kind::kind_missing;

/// Which cluster.
#[derive(Debug, Clone)]
pub enum Cluster {
    /// A kind cluster made for the run.
    Kind {
        /// Its name.
        name: String,
        /// kind's cluster config.
        config: PathBuf,
    },
    /// The current kube context (or the one named).
    Current {
        /// The context.
        context: Option<String>,
    },
}

/// What the kube targets are given beyond the scenario.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// The cluster.
    pub cluster: Cluster,
    /// The fixtures image (loaded into kind; pulled by a cluster).
    pub fixtures_image: String,
    /// Keep what the run made (the kind cluster, or the namespaces and objects).
    pub keep: bool,
}

/// The container of every fixture pod.
const FIXTURE_CONTAINER: &str = "mock";
/// Lines of a log quoted in an error.
const LOG_TAIL: usize = 30;

/// The logs of "the gateway before the last restart".
enum Previous {
    /// No restart yet.
    None,
    /// The pod a rollout replaced, its log followed to its end.
    Captured(LogCapture),
    /// The same pod: its container's previous run.
    SamePod(String),
}

/// What changes as checks run.
struct State {
    /// The deployment as last applied (the as-deployed one, or a restart's re-render).
    applied: Deployment,
    /// Where the previous gateway's logs are.
    previous: Previous,
}

/// The kind or cluster target.
pub struct KubeTarget {
    name: &'static str,
    client: kube::Client,
    cluster: Cluster,
    keep: bool,
    /// Restarts re-render the chart after provisioning has returned, so the target has an
    /// engine of its own.
    renderer: Box<dyn ChartRenderer>,
    chart: PathBuf,
    deployed: Deployment,
    gateway: Gateway,
    fixtures: Vec<Fixture>,
    applier: Applier,
    made: Made,
    endpoints: Endpoints,
    /// The pod the gateway forward goes to, and logs and exec mean.
    current: Arc<RwLock<String>>,
    forwards: Vec<Forward>,
    http: reqwest::Client,
    timeouts: Timeouts,
    waits: Waits,
    state: tokio::sync::Mutex<State>,
}

/// What provisioning has to go on.
struct Plans<'a> {
    deployment: &'a Deployment,
    gateway: &'a Gateway,
    objects: &'a fixtures::FixtureObjects,
    timeouts: &'a Timeouts,
}

impl KubeTarget {
    /// Makes or finds the cluster, installs the fixtures and the chart (rendered from `scenario`)
    /// and waits until the gateway admits traffic through its port-forward.
    ///
    /// # Errors
    /// [`TargetError::Unavailable`] when kind (or Docker) is missing, or when the current kube
    /// context cannot be used; otherwise what failed. A kind cluster made for the run is deleted
    /// again on failure, as is what the run put into a cluster, unless `keep`.
    pub async fn provision(
        scenario: &Scenario,
        renderer: &dyn ChartRenderer,
        options: KubeOptions,
    ) -> Result<(KubeTarget, Deployment), TargetError> {
        if let Cluster::Kind { .. } = options.cluster
            && let Some(why) = kind_missing()
        {
            return Err(TargetError::Unavailable(why));
        }
        // The scenario's values already use the fixtures' in-cluster names.
        let deployment = scenario.deploy(renderer, &json!({}))?;
        let peers = Peers::of(&deployment)?;
        let runtime = scenario.runtime_config_for(&crate::scenario::RuntimePeers {
            backend_a: &BACKENDS[0].url(),
            backend_b: &BACKENDS[1].url(),
            key_service: &super::fixture_hosts::KEY_SERVICE.url(),
        });
        let objects = fixtures::fixture_objects(&peers, &deployment.identity, &options.fixtures_image, &runtime)?;
        let gateway = gateway_of(&deployment)?;
        let own_renderer = crate::render::detect()
            .map_err(|e| TargetError::operation("finding a Helm engine for re-rendering on restarts", e))?;
        let timeouts = Timeouts::default();
        let (client, cluster_url) = connect(&options, &deployment).await?;
        let mut made = Made::default();
        let applier = Applier::new(client.clone());
        let plans = Plans {
            deployment: &deployment,
            gateway: &gateway,
            objects: &objects,
            timeouts: &timeouts,
        };
        let installed = async {
            let current = Arc::new(RwLock::new(install(&client, &applier, &plans, &mut made).await?));
            let (forwards, endpoints) = start_forwards(
                &client,
                &gateway,
                &objects.fixtures,
                &current,
                &cluster_url,
                &deployment,
            )
            .await?;
            Ok::<_, TargetError>((current, forwards, endpoints))
        }
        .await;
        let (current, forwards, endpoints) = match installed {
            Ok(installed) => installed,
            Err(e) => {
                if !options.keep {
                    cleanup(&options.cluster, &client, &made).await;
                }
                return Err(e);
            }
        };
        let target = Self {
            name: match options.cluster {
                Cluster::Kind { .. } => "kind",
                Cluster::Current { .. } => "cluster",
            },
            client: client.clone(),
            cluster: options.cluster.clone(),
            keep: options.keep,
            renderer: own_renderer,
            chart: scenario.chart.clone(),
            deployed: deployment.clone(),
            gateway,
            fixtures: objects.fixtures,
            applier,
            made,
            endpoints,
            current,
            forwards,
            http: crate::peers::http_client(timeouts.request),
            timeouts,
            waits: Waits::of(&timeouts),
            state: tokio::sync::Mutex::new(State {
                applied: deployment.clone(),
                previous: Previous::None,
            }),
        };
        let error = match target.first_start().await {
            Ok(Started::Ready) => return Ok((target, deployment)),
            Ok(other) => {
                let logs = target.gateway_logs().await.unwrap_or_else(|e| e.to_string());
                TargetError::operation(
                    "starting the gateway",
                    format!(
                        "{other:?}; the log of {} ends:\n{}",
                        target.current_pod(),
                        tail(&logs, LOG_TAIL)
                    ),
                )
            }
            Err(e) => e,
        };
        target.stop_forwards();
        if !options.keep {
            cleanup(&target.cluster, &target.client, &target.made).await;
        }
        Err(error)
    }
}

#[async_trait]
impl Target for KubeTarget {
    fn name(&self) -> &'static str {
        self.name
    }

    fn features(&self) -> &[Feature] {
        &[Feature::Kubernetes, Feature::Service, Feature::Containers]
    }

    fn endpoints(&self) -> Endpoints {
        self.endpoints.clone()
    }

    async fn gateway_logs(&self) -> Result<String, TargetError> {
        let pod = self.current_pod();
        match api::logs(self.client.clone(), &self.gateway.namespace, &pod, false).await {
            Ok(logs) => Ok(logs),
            // A container waiting to be restarted has no current log: its last run's is the one.
            Err(current) => api::logs(self.client.clone(), &self.gateway.namespace, &pod, true)
                .await
                .map_err(|_| TargetError::operation("reading the gateway's logs", current)),
        }
    }

    async fn previous_gateway_logs(&self) -> Result<String, TargetError> {
        let state = self.state.lock().await;
        match &state.previous {
            Previous::None => Ok(String::new()),
            Previous::Captured(capture) => Ok(capture.text()),
            Previous::SamePod(pod) => api::logs(self.client.clone(), &self.gateway.namespace, pod, true)
                .await
                .map_err(|why| TargetError::operation("reading the previous gateway's logs", why)),
        }
    }

    async fn restart(&self, restart: &Restart) -> Result<Started, TargetError> {
        // One restart at a time: each reads and replaces what the last one applied.
        let mut state = self.state.lock().await;
        if restart.reset_fixtures {
            super::end_outages(&self.http, &self.endpoints).await?;
            for backend in BACKENDS {
                self.switch_backend(backend.instance, true).await?;
            }
        }
        match restart::plan(restart, &self.deployed)? {
            Plan::InPlace => self.restart_in_place(&mut state).await,
            Plan::Rollout { values, empty_cache } => self.roll(&mut state, values, empty_cache).await,
        }
    }

    async fn terminate(&self) -> Result<Option<i32>, TargetError> {
        let mut state = self.state.lock().await;
        let pod = self.current_pod();
        let baseline = ops::restart_count(&self.get_pod(&pod).await?, &self.gateway.container);
        self.signal(&pod, "kill -TERM 1").await?;
        state.previous = Previous::SamePod(pod.clone());
        // The kubelet starts the container again by itself (restartPolicy Always); what counts
        // is how this run ended.
        ops::wait_exit(
            &self.client,
            &self.gateway.namespace,
            &pod,
            &self.gateway.container,
            baseline,
            self.waits.startup,
            self.waits.poll_min,
        )
        .await
    }

    async fn set_backend(&self, instance: &str, up: bool) -> Result<(), TargetError> {
        self.switch_backend(instance, up).await
    }

    async fn fixture_logs(&self) -> Vec<(String, String)> {
        let mut logs = Vec::new();
        for fixture in &self.fixtures {
            let text = match ops::list_pods(&self.client, &fixture.namespace, &fixture.selector()).await {
                Ok(pods) if pods.is_empty() => "(no pod: stopped)\n".to_string(),
                Ok(pods) => {
                    let mut text = String::new();
                    for pod in pods.iter().filter_map(|p| p.metadata.name.as_deref()) {
                        if pods.len() > 1 {
                            text.push_str(&format!("==> {pod} <==\n"));
                        }
                        match api::logs(self.client.clone(), &fixture.namespace, pod, false).await {
                            Ok(log) => text.push_str(&log),
                            Err(e) => text.push_str(&format!("{e}\n")),
                        }
                    }
                    text
                }
                Err(e) => e.to_string(),
            };
            logs.push((fixture.name.clone(), text));
        }
        logs
    }

    async fn teardown(&self) -> Result<(), TargetError> {
        self.stop_forwards();
        if let Ok(mut state) = self.state.try_lock() {
            state.previous = Previous::None;
        }
        if self.keep {
            return Ok(());
        }
        match &self.cluster {
            Cluster::Kind { name, .. } => {
                let dir = std::env::temp_dir().join(format!("{name}-logs"));
                match kind::export_logs(name, &dir).await {
                    Ok(()) => eprintln!("conformance: kind cluster logs are in {}", dir.display()),
                    Err(e) => eprintln!("conformance: {e}"),
                }
                kind::delete(name).await
            }
            Cluster::Current { .. } => self.made.remove(&self.client).await,
        }
    }

    async fn rollout_status(&self) -> Result<String, TargetError> {
        api::wait_rollout(
            self.client.clone(),
            &self.gateway.namespace,
            &self.gateway.deployment,
            &self.timeouts,
        )
        .await
        .map_err(|why| TargetError::operation("waiting for the gateway rollout", why))
    }

    async fn pods_stable(&self, window: Duration) -> Result<String, TargetError> {
        let deployments: Api<K8sDeployment> = Api::namespaced(self.client.clone(), &self.gateway.namespace);
        let live = deployments
            .get(&self.gateway.deployment)
            .await
            .map_err(|e| TargetError::operation(format!("reading deployment {}", self.gateway.deployment), e))?;
        // The live spec, not the rendered one: an HPA may have set the count.
        let replicas = usize::try_from(live.spec.replicas.unwrap_or(1)).unwrap_or(0);
        api::pods_stable(
            self.client.clone(),
            &self.gateway.namespace,
            &self.gateway.selector,
            replicas,
            window,
        )
        .await
        .map_err(|why| TargetError::operation("watching the gateway pods", why))
    }

    async fn service_get(&self, path: &str) -> Result<(u16, String), TargetError> {
        let service = self
            .gateway
            .service
            .as_ref()
            .ok_or_else(|| TargetError::operation("reaching the gateway's Service", "the chart rendered none"))?;
        ops::proxy_get(&self.client, &service.proxy_path(path)).await
    }

    async fn exec_gateway(&self, argv: &[&str]) -> Result<(i64, String), TargetError> {
        ops::exec(
            &self.client,
            &self.gateway.namespace,
            &self.current_pod(),
            &self.gateway.container,
            argv,
        )
        .await
    }

    async fn diagnostics(&self, _dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut namespaces = vec![self.gateway.namespace.clone()];
        for fixture in &self.fixtures {
            if !namespaces.contains(&fixture.namespace) {
                namespaces.push(fixture.namespace.clone());
            }
        }
        for ns in &namespaces {
            let text = ops::events(&self.client, ns).await.unwrap_or_else(|e| e.to_string());
            out.push((format!("events-{ns}.txt"), text));
        }
        let deployments: Api<K8sDeployment> = Api::namespaced(self.client.clone(), &self.gateway.namespace);
        let deployment = match deployments.get(&self.gateway.deployment).await {
            Ok(mut d) => {
                d.metadata.managed_fields = None;
                serde_saphyr::to_string(&d).unwrap_or_else(|e| e.to_string())
            }
            Err(e) => format!("reading deployment {}: {e}", self.gateway.deployment),
        };
        out.push(("deployment.yaml".into(), deployment));
        match ops::list_pods(&self.client, &self.gateway.namespace, &self.gateway.selector).await {
            Ok(pods) => {
                out.push(("pods.yaml".into(), ops::pods_yaml(&pods)));
                let current = self.current_pod();
                for pod in &pods {
                    let Some(name) = pod.metadata.name.as_deref() else {
                        continue;
                    };
                    if name != current {
                        let log = api::logs(self.client.clone(), &self.gateway.namespace, name, false)
                            .await
                            .unwrap_or_else(|e| e);
                        out.push((format!("gateway-{name}.log"), log));
                    }
                    if gates::PodState::of(pod).restarts > 0 {
                        let log = api::logs(self.client.clone(), &self.gateway.namespace, name, true)
                            .await
                            .unwrap_or_else(|e| e);
                        out.push((format!("gateway-{name}-previous.log"), log));
                    }
                }
            }
            Err(e) => out.push(("pods.yaml".into(), e.to_string())),
        }
        if let Ok(previous) = self.previous_gateway_logs().await
            && !previous.is_empty()
        {
            out.push(("gateway-before-last-restart.log".into(), previous));
        }
        out
    }
}

#[cfg(test)]
mod tests;
