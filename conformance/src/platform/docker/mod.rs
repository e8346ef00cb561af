//! The docker target: no Kubernetes. The chart is rendered and the gateway container is run
//! the way the rendered pod spec says (image, user and groups, env from the Secret, `/config`
//! read-only from the ConfigMap, the cache and `/tmp` volumes, read-only root filesystem,
//! dropped capabilities), the fixtures as containers of the fixtures image on one user-defined
//! network whose container names are the in-cluster DNS names the chart's values point at, so
//! the scenario is deployed without any overlay. Checks needing Kubernetes objects or a Service
//! are skipped by the runner; [`Feature::Containers`] checks exec into the gateway container.
//!
//! Docker is driven through its CLI (testcontainers 0.28 cannot talk to engines older than
//! Docker 25; see `cli.rs`). Everything a run makes carries the label
//! `io.lightapi.conformance=docker` and one naming the run, which is how teardown finds it and
//! how the next run clears what a crashed one left. Runs on one host take turns (`lock.rs`):
//! container names, being DNS names, are host-global.

mod cleanup;
pub(crate) mod cli;
mod files;
mod fixtures;
mod gateway;
mod lock;
mod pod;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tokio::sync::Mutex;

use self::fixtures::Fixture;
use self::lock::RunLock;
use self::pod::GatewaySpec;
use super::fixture_hosts::{BACKENDS, KEY_SERVICE};
use super::processes::tail;
use super::{Endpoints, Restart, Started, Target, TargetError};
use crate::deployment::Deployment;
use crate::feature::Feature;
use crate::render::ChartRenderer;
use crate::scenario::{RuntimePeers, Scenario};
use crate::timeouts::Timeouts;

/// The label on every container, volume and network the docker target makes.
const LABEL: &str = "io.lightapi.conformance=docker";
/// The label naming the run (its network's name) on everything the run makes.
const RUN_LABEL: &str = "io.lightapi.conformance.run";
/// Seconds `docker stop` waits after SIGTERM before SIGKILL: well above the gateway's shutdown
/// grace (`server.shutdownGracefulPeriod`, 2 s by default; the pod allows 12 s).
const STOP_GRACE_SECS: &str = "30";

/// The images the docker target runs besides the gateway's (which the chart names).
#[derive(Debug, Clone)]
pub struct Images {
    /// The fixtures image (`mock-config-server`, `mock-controller`, `mock-mcp-server` in `/app`).
    pub fixtures: String,
}

/// Why the docker target cannot run here: no Docker engine answers, or one of `images` is not
/// in the local image store (nothing is ever pulled). `None` when it can run.
pub fn unavailable(images: &[&str]) -> Option<String> {
    match cli::blocking(&["version", "--format", "{{.Server.Version}}"]) {
        Err(e) => return Some(format!("no Docker engine answers: the docker CLI cannot run ({e})")),
        Ok(out) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Some(format!(
                "no Docker engine answers: `docker version` failed: {}",
                stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message")
            ));
        }
        Ok(_) => {}
    }
    let missing: Vec<&str> = images
        .iter()
        .copied()
        .filter(|image| {
            !cli::blocking(&["image", "inspect", "--format", "{{.Id}}", image]).is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "image {} not found in the local Docker image store (`make image` builds it; the docker \
         target never pulls)",
        missing.join(", ")
    ))
}

/// [`unavailable`] off the runtime's threads, as a provisioning error.
async fn require(images: Vec<String>) -> Result<(), TargetError> {
    let why = tokio::task::spawn_blocking(move || {
        let images: Vec<&str> = images.iter().map(String::as_str).collect();
        unavailable(&images)
    })
    .await
    .map_err(|e| TargetError::operation("looking for Docker", e))?;
    why.map_or(Ok(()), |why| Err(TargetError::Unavailable(why)))
}

/// The docker target.
pub struct DockerTarget {
    /// `lgc-<8 hex>`: the network's name, the prefix of volume names, the run label's value.
    run: String,
    /// Host dirs: config-server's data, projected ConfigMaps and Secrets.
    work: tempfile::TempDir,
    deployment: Deployment,
    spec: GatewaySpec,
    /// `--user` for the gateway container.
    user: Option<String>,
    /// The gateway container's name: the advertised address, so the controller's probe of the
    /// registered address reaches it.
    gateway: String,
    /// The 127.0.0.1 port the gateway's port is published on.
    gateway_port: u16,
    /// (127.0.0.1 port, container port) of the metrics listener, when there is one.
    metrics_port: Option<(u16, u16)>,
    fixtures_image: String,
    fixtures: Vec<Fixture>,
    endpoints: Endpoints,
    http: reqwest::Client,
    startup: Duration,
    state: Mutex<State>,
    /// Serializes backend stops and starts.
    backends: Mutex<()>,
    /// Leave everything in place on drop (`--keep`).
    keep: AtomicBool,
    /// Teardown ran: nothing left for drop to do.
    torn_down: AtomicBool,
    _lock: RunLock,
}

#[derive(Default)]
struct State {
    /// A gateway container exists (running or exited).
    gateway: bool,
    /// The logs of the gateway container before the current one.
    previous_logs: String,
    /// The named volume backing each emptyDir and claim, by the pod's volume name.
    volumes: BTreeMap<String, String>,
    /// Volumes made so far (their names count up).
    made: u32,
}

impl DockerTarget {
    /// Starts the fixtures as containers under their in-cluster names, renders `scenario`
    /// as it is (its values already name those hosts) and starts the gateway container as the
    /// rendered pod spec says, ready.
    ///
    /// # Errors
    /// [`TargetError::Unavailable`] when no Docker engine answers or an image is missing;
    /// otherwise a scenario that does not render, a pod spec Docker cannot stand in for, or a
    /// container that does not start (with its log tail).
    pub async fn provision(
        scenario: &Scenario,
        renderer: &dyn ChartRenderer,
        images: Images,
    ) -> Result<(Self, Deployment), TargetError> {
        let deployment = scenario.deploy(renderer, &json!({}))?;
        let pod = deployment
            .pod_spec()
            .map_err(|e| TargetError::operation("reading the gateway's pod spec", e))?;
        let spec = GatewaySpec::of(&pod)
            .map_err(|e| TargetError::operation("running the gateway's pod spec as a container", e))?;
        require(vec![spec.image.clone(), images.fixtures.clone()]).await?;
        let mut ports = PortPicker::default();
        let fixtures = fixtures::plan(&deployment, || ports.next())?;
        let runtime_config_path = files::runtime_config_path(&deployment.identity)?;

        let lock = RunLock::acquire().await?;
        cleanup::clear_leftovers().await?;
        let user = match (spec.uid, spec.gid) {
            (None, Some(_)) => spec.docker_user(
                cli::run(["image", "inspect", "--format", "{{.Config.User}}", &spec.image])
                    .await?
                    .trim(),
            ),
            _ => spec.docker_user(""),
        };
        let run = format!("lgc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let id = &deployment.identity;
        let gateway_port = ports.next()?;
        let metrics = super::metrics_listener(&deployment);
        let metrics_port = match &metrics {
            Some((container, _)) => Some((ports.next()?, *container)),
            None => None,
        };
        // Released just before the containers publish them.
        drop(ports);
        let gateway_url = url::Url::parse(&format!("{}://127.0.0.1:{gateway_port}", id.protocol))
            .map_err(|e| TargetError::operation("forming the gateway URL", e))?;
        let endpoints = Endpoints {
            gateway: gateway_url,
            service: None,
            mcp_path: super::mcp_path(&deployment),
            config_server_admin: fixtures[0].admin_url()?,
            controller_admin: fixtures[1].admin_url()?,
            key_service_admin: fixtures[2].admin_url()?,
            backends: fixtures
                .iter()
                .filter(|f| f.backend)
                .map(|f| Ok((f.name.clone(), f.admin_url()?)))
                .collect::<Result<_, TargetError>>()?,
            metrics: match (&metrics, metrics_port) {
                (Some((_, path)), Some((host, _))) => Some(super::metrics_url(host, path)?),
                _ => None,
            },
        };
        let timeouts = Timeouts::default();
        let target = Self {
            gateway: gateway_name(&id.advertised_address, &run),
            run,
            work: tempfile::Builder::new()
                .prefix("light-gateway-conformance-docker-")
                .tempdir()
                .map_err(|e| TargetError::operation("creating the work dir", e))?,
            deployment: deployment.clone(),
            spec,
            user,
            gateway_port,
            metrics_port,
            fixtures_image: images.fixtures,
            fixtures,
            endpoints,
            http: crate::peers::http_client(timeouts.request),
            startup: timeouts.startup,
            state: Mutex::new(State::default()),
            backends: Mutex::new(()),
            keep: AtomicBool::new(false),
            torn_down: AtomicBool::new(false),
            _lock: lock,
        };
        // From here on, an error drops `target`, which removes what was made.
        let runtime_config = scenario.runtime_config_for(&RuntimePeers {
            backend_a: &BACKENDS[0].url(),
            backend_b: &BACKENDS[1].url(),
            key_service: &KEY_SERVICE.url(),
        });
        files::write_dir(
            &target.data_dir(),
            &[(runtime_config_path, runtime_config.into_bytes())],
        )?;
        cli::run([
            "network",
            "create",
            "--label",
            LABEL,
            "--label",
            &target.run_label(),
            &target.run,
        ])
        .await?;
        // All five run to their end even when one fails: a `docker run` cut short can still
        // leave a container behind after drop has listed what to remove.
        let starts = futures_util::future::join_all(target.fixtures.iter().map(|f| target.start_fixture(f))).await;
        starts.into_iter().collect::<Result<Vec<()>, TargetError>>()?;
        let started = {
            let mut state = target.state.lock().await;
            target.start_gateway(&mut state, &Restart::as_deployed()).await?
        };
        match started {
            Started::Ready => Ok((target, deployment)),
            other => {
                let logs = target.gateway_logs().await.unwrap_or_default();
                Err(TargetError::operation(
                    format!("starting the gateway container {}", target.gateway),
                    format!("{other:?}; its log ends:\n{}", tail(&logs, 30)),
                ))
            }
        }
    }

    /// Leaves the containers, volumes and network in place when the target is dropped without
    /// [`Target::teardown`] (what `--keep` asks for); the next run removes them.
    pub fn keep_on_drop(&self) {
        self.keep.store(true, Ordering::SeqCst);
    }

    fn run_label(&self) -> String {
        format!("{RUN_LABEL}={}", self.run)
    }

    fn labels(&self) -> Vec<String> {
        vec![LABEL.to_string(), self.run_label()]
    }

    fn data_dir(&self) -> PathBuf {
        self.work.path().join("config-server-data")
    }

    async fn start_fixture(&self, fixture: &Fixture) -> Result<(), TargetError> {
        let data_dir = self.data_dir().display().to_string();
        let args = fixture.run_args(&self.fixtures_image, &self.run, &self.labels(), &data_dir);
        cli::run(std::iter::once("run".to_string()).chain(args))
            .await
            .map_err(|e| TargetError::operation(format!("starting fixture {}", fixture.name), e))?;
        fixtures::wait_listening(&fixture.name, &fixture.container, 0, self.startup).await
    }

    /// Stops or starts backend `instance`'s container (same name, network and published port).
    async fn switch_backend(&self, instance: &str, up: bool) -> Result<(), TargetError> {
        let fixture = self
            .fixtures
            .iter()
            .find(|f| f.backend && f.name == instance)
            .ok_or_else(|| TargetError::operation(format!("switching backend {instance}"), "no such backend"))?;
        let _one_at_a_time = self.backends.lock().await;
        let running = cli::exit_state(&fixture.container).await?.is_none();
        match (up, running) {
            (false, true) => {
                cli::run(["stop", "-t", STOP_GRACE_SECS, &fixture.container]).await?;
            }
            (true, false) => {
                let before = fixtures::listening_count(&fixture.container).await;
                cli::run(["start", &fixture.container]).await?;
                fixtures::wait_listening(&fixture.name, &fixture.container, before, self.startup).await?;
            }
            // Already as asked.
            _ => {}
        }
        Ok(())
    }
}

/// Free 127.0.0.1 ports, each held until the picker drops so no two picks are the same port.
/// Chosen here rather than by Docker so a published port stays the same across a container's
/// stop and start (a backend switched off and on again keeps its admin URL).
#[derive(Default)]
struct PortPicker {
    held: Vec<std::net::TcpListener>,
}

impl PortPicker {
    fn next(&mut self) -> Result<u16, TargetError> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| TargetError::operation("finding a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| TargetError::operation("finding a free port", e))?
            .port();
        self.held.push(listener);
        Ok(port)
    }
}

/// The gateway container's name: the advertised address when Docker accepts it as a name (it
/// is then also the DNS name the controller dials), else one of the run's own.
fn gateway_name(advertised: &str, run: &str) -> String {
    let valid = advertised.len() > 1
        && advertised.starts_with(|c: char| c.is_ascii_alphanumeric())
        && advertised
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        advertised.to_string()
    } else {
        format!("{run}-gateway")
    }
}

#[async_trait]
impl Target for DockerTarget {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn features(&self) -> &[Feature] {
        &[Feature::Containers]
    }

    fn endpoints(&self) -> Endpoints {
        self.endpoints.clone()
    }

    async fn gateway_logs(&self) -> Result<String, TargetError> {
        if !self.state.lock().await.gateway {
            return Ok(String::new());
        }
        cli::logs(&self.gateway).await
    }

    async fn previous_gateway_logs(&self) -> Result<String, TargetError> {
        Ok(self.state.lock().await.previous_logs.clone())
    }

    async fn restart(&self, restart: &Restart) -> Result<Started, TargetError> {
        let mut state = self.state.lock().await;
        self.remove_gateway(&mut state).await?;
        if restart.reset_fixtures {
            super::end_outages(&self.http, &self.endpoints).await?;
            for backend in BACKENDS {
                self.switch_backend(backend.instance, true).await?;
            }
        }
        self.start_gateway(&mut state, restart).await
    }

    async fn terminate(&self) -> Result<Option<i32>, TargetError> {
        let state = self.state.lock().await;
        if !state.gateway {
            return Err(TargetError::operation(
                "terminating the gateway",
                "no gateway container exists",
            ));
        }
        // `docker stop` sends the image's stop signal (SIGTERM) and waits for the exit.
        cli::run(["stop", "-t", STOP_GRACE_SECS, &self.gateway]).await?;
        cli::exit_state(&self.gateway)
            .await?
            .ok_or_else(|| TargetError::operation("terminating the gateway", "it still runs after docker stop"))
    }

    async fn set_backend(&self, instance: &str, up: bool) -> Result<(), TargetError> {
        self.switch_backend(instance, up).await
    }

    async fn fixture_logs(&self) -> Vec<(String, String)> {
        let mut logs = Vec::new();
        for fixture in &self.fixtures {
            let text = cli::logs(&fixture.container)
                .await
                .unwrap_or_else(|e| format!("(no logs: {e})"));
            logs.push((fixture.name.clone(), text));
        }
        logs
    }

    async fn teardown(&self) -> Result<(), TargetError> {
        let mut state = self.state.lock().await;
        let removed = cleanup::remove_labelled(&self.run_label()).await;
        state.gateway = false;
        self.torn_down.store(true, Ordering::SeqCst);
        let work = self.work.path();
        if work.exists() {
            std::fs::remove_dir_all(work)
                .map_err(|e| TargetError::operation(format!("removing {}", work.display()), e))?;
        }
        removed
    }

    async fn exec_gateway(&self, argv: &[&str]) -> Result<(i64, String), TargetError> {
        let what = || format!("running {argv:?} in the gateway container");
        if cli::exit_state(&self.gateway).await?.is_some() {
            return Err(TargetError::operation(what(), "the container is not running"));
        }
        let args = ["exec", self.gateway.as_str()].into_iter().chain(argv.iter().copied());
        match cli::combined(args).await? {
            (Some(code), output) => Ok((i64::from(code), output)),
            (None, output) => Err(TargetError::operation(
                what(),
                format!("docker exec was killed: {}", output.trim()),
            )),
        }
    }

    async fn diagnostics(&self, _dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let inspect = cli::combined(["inspect", self.gateway.as_str()]).await;
        out.push((
            "docker-inspect-gateway.json".to_string(),
            inspect.map_or_else(|e| e.to_string(), |(_, text)| text),
        ));
        let filter = format!("label={}", self.run_label());
        let format = "table {{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}";
        let ps = cli::combined(["ps", "--all", "--filter", filter.as_str(), "--format", format]).await;
        out.push((
            "docker-containers.txt".to_string(),
            ps.map_or_else(|e| e.to_string(), |(_, text)| text),
        ));
        out
    }
}

impl Drop for DockerTarget {
    /// Removes what the run made unless [`Target::teardown`] did or [`DockerTarget::keep_on_drop`]
    /// was asked.
    fn drop(&mut self) {
        if self.torn_down.load(Ordering::SeqCst) || self.keep.load(Ordering::SeqCst) {
            return;
        }
        cleanup::remove_labelled_blocking(&self.run_label());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_is_named_after_its_advertised_address_when_docker_allows() {
        assert_eq!(
            gateway_name("gw-light-gateway.light-gateway", "lgc-1"),
            "gw-light-gateway.light-gateway"
        );
        assert_eq!(gateway_name("-x", "lgc-1"), "lgc-1-gateway");
        assert_eq!(gateway_name("a b", "lgc-1"), "lgc-1-gateway");
    }

    #[test]
    fn a_missing_image_is_named_with_how_to_build_it() {
        // Meaningful only where an engine answers; elsewhere the reason names the engine.
        let why = unavailable(&["light-gateway-conformance-no-such-image:0"]).unwrap();
        assert!(
            why.contains("light-gateway-conformance-no-such-image:0") && why.contains("make image")
                || why.contains("no Docker engine answers"),
            "{why}"
        );
    }
}
