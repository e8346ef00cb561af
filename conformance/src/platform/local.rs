//! The local target: the fixtures and the gateway as processes on 127.0.0.1. The chart is
//! rendered with the fixtures' addresses in the bootstrap values, and the gateway runs in a
//! working directory holding the bootstrap ConfigMap's files as `config/`, with the env the pod
//! would get, exactly as the upstream binary is started. Fastest loop; nothing Kubernetes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::fixture_hosts::BACKENDS;
use super::processes::{Fixture, Process, free_port, tail};
use super::{Endpoints, GatewayConfig, Restart, Started, Target, TargetError};
use crate::deployment::Deployment;
use crate::feature::Feature;
use crate::render::ChartRenderer;
use crate::scenario::{self, RuntimePeers, Scenario};
use crate::timeouts::Timeouts;

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The gateway to judge (ours or any build with the same config contract).
    pub gateway: PathBuf,
    /// Directory holding `mock-config-server`, `mock-controller` and `mock-mcp-server`.
    pub fixtures: PathBuf,
}

/// How long the gateway may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// The local target.
pub struct LocalTarget {
    work: tempfile::TempDir,
    binaries: Binaries,
    deployment: Deployment,
    endpoints: Endpoints,
    http: reqwest::Client,
    startup: Duration,
    state: Mutex<State>,
}

struct State {
    config_server: Fixture,
    controller: Fixture,
    /// Held so it lives as long as the target.
    _key_service: Fixture,
    backends: BTreeMap<String, Backend>,
    gateway: Option<Process>,
    /// Gateway starts so far (each logs to `gateway-<n>.log`).
    starts: u32,
}

struct Backend {
    session_mode: &'static str,
    listen: String,
    admin_listen: String,
    fixture: Option<Fixture>,
}

impl LocalTarget {
    /// Starts the fixtures, renders `scenario` against them and starts the gateway, ready.
    ///
    /// # Errors
    /// A missing binary ([`TargetError::Unavailable`]), a fixture or gateway that does not start,
    /// or a scenario that does not render.
    pub async fn provision(
        scenario: &Scenario,
        renderer: &dyn ChartRenderer,
        binaries: Binaries,
    ) -> Result<(Self, Deployment), TargetError> {
        for program in [
            binaries.gateway.clone(),
            binaries.fixtures.join("mock-config-server"),
            binaries.fixtures.join("mock-controller"),
            binaries.fixtures.join("mock-mcp-server"),
        ] {
            if !program.is_file() {
                return Err(TargetError::Unavailable(format!(
                    "{} is missing (run `make build`, or pass --gateway-bin / --fixtures-bin-dir)",
                    program.display()
                )));
            }
        }
        let timeouts = Timeouts::default();
        let work = tempfile::Builder::new()
            .prefix("light-gateway-conformance-")
            .tempdir()
            .map_err(|e| TargetError::operation("creating the work dir", e))?;
        let data_dir = work.path().join("config-server-data");
        let mut backends = BTreeMap::new();
        for spec in BACKENDS {
            let instance = spec.instance;
            let mut backend = Backend {
                session_mode: spec.session_mode,
                listen: "127.0.0.1:0".into(),
                admin_listen: "127.0.0.1:0".into(),
                fixture: None,
            };
            let fixture = start_backend(&binaries, work.path(), instance, &backend, timeouts.startup).await?;
            backend.listen = authority(&fixture.main);
            backend.admin_listen = authority(&fixture.admin);
            backend.fixture = Some(fixture);
            backends.insert(instance.to_string(), backend);
        }
        let mut command = fixture_command(&binaries, "mock-config-server");
        command.arg("--data-dir").arg(&data_dir);
        let config_server = Fixture::start(
            "config-server",
            command,
            &work.path().join("config-server.log"),
            timeouts.startup,
        )
        .await?;
        let controller = Fixture::start(
            "controller",
            fixture_command(&binaries, "mock-controller"),
            &work.path().join("controller.log"),
            timeouts.startup,
        )
        .await?;

        let key_service = Fixture::start(
            "key-service",
            fixture_command(&binaries, "mock-key-service"),
            &work.path().join("key-service.log"),
            timeouts.startup,
        )
        .await?;

        let port = free_port()?;
        let mut overlay = overlay(&scenario.values, &config_server.main, &controller.main, port);
        // The chart's default scrape port is fixed; gateways of parallel runs need their own.
        overlay.insert("metrics.prometheusPort".into(), json!(free_port()?));
        let deployment = scenario.deploy(renderer, &scenario::bootstrap_overlay(overlay))?;
        let main = |name: &str| {
            backends[name]
                .fixture
                .as_ref()
                .map(|f| f.main.to_string())
                .unwrap_or_default()
        };
        write_runtime_config(
            &data_dir,
            &deployment,
            &scenario.runtime_config_for(&RuntimePeers {
                backend_a: &main("backend-a"),
                backend_b: &main("backend-b"),
                key_service: key_service.main.as_str(),
            }),
        )?;

        let endpoints = Endpoints {
            gateway: gateway_url(&deployment)?,
            service: None,
            mcp_path: super::mcp_path(&deployment),
            config_server_admin: config_server.admin.clone(),
            controller_admin: controller.admin.clone(),
            key_service_admin: key_service.admin.clone(),
            backends: backends
                .iter()
                .filter_map(|(name, b)| Some((name.clone(), b.fixture.as_ref()?.admin.clone())))
                .collect(),
            metrics: super::metrics_listener(&deployment)
                .map(|(port, path)| super::metrics_url(port, &path))
                .transpose()?,
        };
        let target = Self {
            work,
            binaries,
            deployment: deployment.clone(),
            endpoints,
            http: crate::peers::http_client(timeouts.request),
            startup: timeouts.startup,
            state: Mutex::new(State {
                config_server,
                controller,
                _key_service: key_service,
                backends,
                gateway: None,
                starts: 0,
            }),
        };
        match target.start_gateway(&Restart::as_deployed()).await? {
            Started::Ready => Ok((target, deployment)),
            other => {
                let logs = target.gateway_logs().await.unwrap_or_default();
                Err(TargetError::operation(
                    "starting the gateway",
                    format!("{other:?}; its log ends:\n{}", tail(&logs, 30)),
                ))
            }
        }
    }

    fn app_dir(&self) -> PathBuf {
        self.work.path().join("app")
    }

    fn log_of(&self, start: u32) -> PathBuf {
        self.work.path().join(format!("gateway-{start}.log"))
    }

    /// Writes `config/` and starts the gateway in the app dir, then waits for it.
    async fn start_gateway(&self, restart: &Restart) -> Result<Started, TargetError> {
        let config = GatewayConfig::of(&self.deployment, restart)?;
        let app = self.app_dir();
        config.write_files(&app.join("config"))?;
        if super::empties_cache(restart.cache, &self.deployment) {
            let cache = app.join("config-cache");
            if cache.exists() {
                std::fs::remove_dir_all(&cache)
                    .map_err(|e| TargetError::operation(format!("emptying {}", cache.display()), e))?;
            }
        }
        let mut command = tokio::process::Command::new(&self.binaries.gateway);
        command.current_dir(&app).env_clear();
        for name in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(value) = std::env::var(name) {
                command.env(name, value);
            }
        }
        command.envs(config.env.iter().map(|(k, v)| (k, v)));
        let mut state = self.state.lock().await;
        state.starts += 1;
        let log = self.log_of(state.starts);
        state.gateway = Some(Process::spawn("the gateway", command, &log)?);
        let gateway = state.gateway.as_mut().expect("just set");
        Ok(
            super::wait_ready(&self.http, &self.endpoints.gateway, self.startup, || {
                std::future::ready(gateway.exit_status())
            })
            .await,
        )
    }
}

/// Starts one MCP backend (on the addresses `backend` names).
async fn start_backend(
    binaries: &Binaries,
    work: &Path,
    instance: &str,
    backend: &Backend,
    within: Duration,
) -> Result<Fixture, TargetError> {
    let mut command = fixture_command(binaries, "mock-mcp-server");
    command
        .args(["--instance", instance, "--session-mode", backend.session_mode])
        .args(["--listen", &backend.listen, "--admin-listen", &backend.admin_listen]);
    Fixture::start(instance, command, &work.join(format!("{instance}.log")), within).await
}

fn fixture_command(binaries: &Binaries, program: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binaries.fixtures.join(program));
    command.env("RUST_LOG", "info");
    command
}

/// `127.0.0.1:<port>` of a URL.
fn authority(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Bootstrap values pointing the gateway at the local fixtures and a free port. The scenario's
/// HTTPS settings are left alone: the local fixtures are plain HTTP.
fn overlay(values: &Value, config_server: &url::Url, controller: &url::Url, port: u16) -> Map<String, Value> {
    let https = values
        .pointer("/bootstrap/values/server.enableHttps")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let port_key = if https { "server.httpsPort" } else { "server.httpPort" };
    let mut map = Map::new();
    for (key, value) in [
        (
            "light-config-server-uri",
            json!(config_server.as_str().trim_end_matches('/')),
        ),
        (
            "portalRegistry.portalUrl",
            json!(controller.as_str().trim_end_matches('/')),
        ),
        ("server.ip", json!("127.0.0.1")),
        ("server.advertisedAddress", json!("127.0.0.1")),
        (port_key, json!(port)),
    ] {
        map.insert(key.to_string(), value);
    }
    map
}

/// The config-server data dir: `<host>/<serviceId>/<envTag>/values.yml`.
fn write_runtime_config(data_dir: &Path, deployment: &Deployment, text: &str) -> Result<(), TargetError> {
    let id = &deployment.identity;
    let dir = data_dir.join(&id.host).join(&id.service_id).join(&id.env_tag);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("values.yml"), text))
        .map_err(|e| TargetError::operation(format!("writing the runtime config in {}", dir.display()), e))
}

/// `<protocol>://127.0.0.1:<port>` from the rendered identity.
fn gateway_url(deployment: &Deployment) -> Result<url::Url, TargetError> {
    let id = &deployment.identity;
    url::Url::parse(&format!("{}://127.0.0.1:{}", id.protocol, id.port))
        .map_err(|e| TargetError::operation("forming the gateway URL", e))
}

fn read_log(path: &Path) -> Result<String, TargetError> {
    std::fs::read_to_string(path).map_err(|e| TargetError::operation(format!("reading {}", path.display()), e))
}

#[async_trait]
impl Target for LocalTarget {
    fn name(&self) -> &'static str {
        "local"
    }

    fn features(&self) -> &[Feature] {
        &[]
    }

    fn endpoints(&self) -> Endpoints {
        self.endpoints.clone()
    }

    async fn gateway_logs(&self) -> Result<String, TargetError> {
        let starts = self.state.lock().await.starts;
        read_log(&self.log_of(starts))
    }

    async fn previous_gateway_logs(&self) -> Result<String, TargetError> {
        let starts = self.state.lock().await.starts;
        if starts < 2 {
            return Ok(String::new());
        }
        read_log(&self.log_of(starts - 1))
    }

    async fn restart(&self, restart: &Restart) -> Result<Started, TargetError> {
        {
            let mut state = self.state.lock().await;
            if let Some(mut gateway) = state.gateway.take() {
                gateway.terminate(STOP_GRACE).await;
            }
        }
        if restart.reset_fixtures {
            super::end_outages(&self.http, &self.endpoints).await?;
            for backend in BACKENDS {
                self.set_backend(backend.instance, true).await?;
            }
        }
        self.start_gateway(restart).await
    }

    async fn terminate(&self) -> Result<Option<i32>, TargetError> {
        let mut state = self.state.lock().await;
        let gateway = state
            .gateway
            .as_mut()
            .ok_or_else(|| TargetError::operation("terminating the gateway", "it is not running"))?;
        Ok(gateway.terminate(STOP_GRACE).await)
    }

    async fn set_backend(&self, instance: &str, up: bool) -> Result<(), TargetError> {
        let mut state = self.state.lock().await;
        let backend = state
            .backends
            .get_mut(instance)
            .ok_or_else(|| TargetError::operation(format!("switching backend {instance}"), "no such backend"))?;
        match (up, backend.fixture.as_mut()) {
            (false, Some(fixture)) => {
                fixture.process.terminate(STOP_GRACE).await;
                backend.fixture = None;
            }
            (true, None) => {
                let fixture = start_backend(&self.binaries, self.work.path(), instance, backend, self.startup).await?;
                backend.fixture = Some(fixture);
            }
            // Already as asked.
            _ => {}
        }
        Ok(())
    }

    async fn fixture_logs(&self) -> Vec<(String, String)> {
        let state = self.state.lock().await;
        let mut logs = vec![
            (
                "config-server".to_string(),
                state.config_server.process.log().to_path_buf(),
            ),
            ("controller".to_string(), state.controller.process.log().to_path_buf()),
        ];
        for instance in state.backends.keys() {
            logs.push((instance.clone(), self.work.path().join(format!("{instance}.log"))));
        }
        logs.into_iter()
            .map(|(name, path)| (name, std::fs::read_to_string(path).unwrap_or_default()))
            .collect()
    }

    async fn teardown(&self) -> Result<(), TargetError> {
        let mut state = self.state.lock().await;
        if let Some(mut gateway) = state.gateway.take() {
            gateway.terminate(STOP_GRACE).await;
        }
        for backend in state.backends.values_mut() {
            if let Some(mut fixture) = backend.fixture.take() {
                fixture.process.terminate(STOP_GRACE).await;
            }
        }
        state.config_server.process.terminate(STOP_GRACE).await;
        state.controller.process.terminate(STOP_GRACE).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_points_at_the_fixtures_and_the_chosen_port() {
        let cs = url::Url::parse("http://127.0.0.1:7001/").unwrap();
        let ctl = url::Url::parse("http://127.0.0.1:7002/").unwrap();
        let plain = overlay(&json!({}), &cs, &ctl, 9000);
        assert_eq!(plain["light-config-server-uri"], "http://127.0.0.1:7001");
        assert_eq!(plain["portalRegistry.portalUrl"], "http://127.0.0.1:7002");
        assert_eq!(plain["server.httpPort"], 9000);
        let https = overlay(
            &json!({"bootstrap": {"values": {"server.enableHttps": true}}}),
            &cs,
            &ctl,
            9001,
        );
        assert_eq!(https["server.httpsPort"], 9001);
        assert!(!https.contains_key("server.httpPort"));
    }
}
