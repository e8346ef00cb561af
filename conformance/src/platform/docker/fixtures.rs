//! The fixtures as containers of the fixtures image, each named after the in-cluster DNS name
//! the gateway dials (network alias too), listening on the port it dials, with its admin API
//! published on a fixed 127.0.0.1 port so the mapping survives a stop and start.

use std::time::Duration;

use super::cli;
use crate::deployment::Deployment;
use crate::platform::TargetError;
use crate::platform::fixture_hosts::{ADMIN_PORT, BACKEND_PORT, BACKENDS, KEY_SERVICE, Peers, mock_command};
use crate::platform::processes::tail;

/// Where config-server finds its data dir inside its container.
pub(super) const DATA_DIR: &str = "/data";

/// One fixture container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fixture {
    /// `config-server`, `controller`, `key-service`, `backend-a`, `backend-b` (logs and
    /// `set_backend` use it).
    pub(super) name: String,
    /// The container name: the DNS name the gateway uses.
    pub(super) container: String,
    /// The program in the image's `/app`.
    pub(super) program: &'static str,
    /// The port it serves on (the one the gateway dials).
    pub(super) port: u16,
    /// Flags after `--listen` and `--admin-listen`.
    pub(super) extra: Vec<String>,
    /// Whether config-server's data dir is mounted at [`DATA_DIR`].
    pub(super) data_dir: bool,
    /// The 127.0.0.1 port its admin API is published on.
    pub(super) admin_port: u16,
    /// Whether it is an MCP backend (the only fixtures `set_backend` switches).
    pub(super) backend: bool,
}

/// The five fixtures for `deployment`, admin ports from `free_port`.
///
/// # Errors
/// A peer dialled over HTTPS (the fixtures serve plain HTTP here), two fixtures under one name,
/// or no free port.
pub(super) fn plan(
    deployment: &Deployment,
    mut free_port: impl FnMut() -> Result<u16, TargetError>,
) -> Result<Vec<Fixture>, TargetError> {
    let peers = Peers::of(deployment)?;
    peers.require_plain_http("docker target")?;
    let mut fixtures = vec![
        Fixture {
            name: "config-server".into(),
            container: peers.config_server.host.clone(),
            program: "mock-config-server",
            port: peers.config_server.port,
            extra: vec!["--data-dir".into(), DATA_DIR.into()],
            data_dir: true,
            admin_port: free_port()?,
            backend: false,
        },
        Fixture {
            name: "controller".into(),
            container: peers.controller.host.clone(),
            program: "mock-controller",
            port: peers.controller.port,
            extra: Vec::new(),
            data_dir: false,
            admin_port: free_port()?,
            backend: false,
        },
    ];
    fixtures.push(Fixture {
        name: "key-service".into(),
        container: KEY_SERVICE.host(),
        program: "mock-key-service",
        port: KEY_SERVICE.port,
        extra: Vec::new(),
        data_dir: false,
        admin_port: free_port()?,
        backend: false,
    });
    for backend in BACKENDS {
        fixtures.push(Fixture {
            name: backend.instance.into(),
            container: backend.host(),
            program: "mock-mcp-server",
            port: BACKEND_PORT,
            extra: backend.args(),
            data_dir: false,
            admin_port: free_port()?,
            backend: true,
        });
    }
    for (i, a) in fixtures.iter().enumerate() {
        if let Some(b) = fixtures[i + 1..].iter().find(|b| b.container == a.container) {
            return Err(TargetError::operation(
                "placing the fixtures",
                format!("{} and {} would both be {}", a.name, b.name, a.container),
            ));
        }
    }
    Ok(fixtures)
}

impl Fixture {
    /// The `docker run` arguments (after `run`).
    pub(super) fn run_args(&self, image: &str, network: &str, labels: &[String], data_dir: &str) -> Vec<String> {
        let mut args = vec![
            "--detach".to_string(),
            "--pull=never".into(),
            format!("--name={}", self.container),
            format!("--network={network}"),
            format!("--network-alias={}", self.container),
            format!("--publish=127.0.0.1:{}:{ADMIN_PORT}", self.admin_port),
            "--env=RUST_LOG=info".into(),
        ];
        args.extend(labels.iter().map(|l| format!("--label={l}")));
        if self.data_dir {
            args.push(format!(
                "--mount=type=bind,source={data_dir},target={DATA_DIR},readonly"
            ));
        }
        args.push(image.into());
        args.extend(mock_command(self.program, self.port, &self.extra));
        args
    }

    /// Its admin API as the suite reaches it.
    ///
    /// # Errors
    /// Never in practice (a fixed scheme, host and port).
    pub(super) fn admin_url(&self) -> Result<url::Url, TargetError> {
        url::Url::parse(&format!("http://127.0.0.1:{}", self.admin_port))
            .map_err(|e| TargetError::operation(format!("forming the admin URL of {}", self.name), e))
    }
}

/// How many `LISTENING` lines the fixture has printed over all its runs.
async fn listening_lines(container: &str) -> Result<usize, TargetError> {
    Ok(cli::stdout_logs(container)
        .await?
        .lines()
        .filter(|l| l.starts_with("LISTENING "))
        .count())
}

/// The number of `LISTENING` lines so far, for [`wait_listening`] after a `docker start`.
pub(super) async fn listening_count(container: &str) -> usize {
    listening_lines(container).await.unwrap_or(0)
}

/// Waits until `container` has printed more than `before` `LISTENING` lines (it listens), has
/// exited, or `within` passes; the latter two are errors carrying its log tail.
///
/// # Errors
/// It exited or stayed silent.
pub(super) async fn wait_listening(
    name: &str,
    container: &str,
    before: usize,
    within: Duration,
) -> Result<(), TargetError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if listening_lines(container).await? > before {
            return Ok(());
        }
        let exited = cli::exit_state(container).await?;
        if exited.is_some() || tokio::time::Instant::now() >= deadline {
            let logs = cli::logs(container).await.unwrap_or_default();
            let why = match exited {
                Some(code) => format!("its container exited with {code:?}"),
                None => format!("no LISTENING line within {within:?}"),
            };
            return Err(TargetError::operation(
                format!("starting fixture {name} (container {container})"),
                format!("{why}; its log ends:\n{}", tail(&logs, 20)),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::render::{Release, Rendered};

    fn deployment(config_server: &str) -> Deployment {
        let manifests = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: gw}}\ndata:\n  values.yml: |\n    \
             light-config-server-uri: {config_server}\n    \
             portalRegistry.portalUrl: http://controller.lightapi.svc.cluster.local:8438\n"
        );
        let rendered = Rendered::new(BTreeMap::from([("all.yaml".to_string(), manifests)]), None);
        Deployment::new(Release::new("gw", "ns"), json!({}), rendered).unwrap()
    }

    fn ports() -> impl FnMut() -> Result<u16, TargetError> {
        let mut next = 40000;
        move || {
            next += 1;
            Ok(next)
        }
    }

    #[test]
    fn fixtures_take_the_in_cluster_names_and_ports() {
        let plan = plan(
            &deployment("http://config-server.lightapi.svc.cluster.local:8435"),
            ports(),
        )
        .unwrap();
        let names: Vec<(&str, &str, u16)> = plan
            .iter()
            .map(|f| (f.name.as_str(), f.container.as_str(), f.port))
            .collect();
        assert_eq!(
            names,
            vec![
                ("config-server", "config-server.lightapi.svc.cluster.local", 8435),
                ("controller", "controller.lightapi.svc.cluster.local", 8438),
                ("key-service", "key-service.lightapi.svc.cluster.local", 8436),
                ("backend-a", "mcp-backend-a.tools.svc.cluster.local", 8080),
                ("backend-b", "mcp-backend-b.tools.svc.cluster.local", 8080),
            ]
        );
        let args = plan[0].run_args("fx:1", "lgc-1", &["a=b".into()], "/w/data");
        let image = args.iter().position(|a| a == "fx:1").unwrap();
        assert_eq!(
            &args[image..],
            [
                "fx:1",
                "/app/mock-config-server",
                "--listen",
                "0.0.0.0:8435",
                "--admin-listen",
                "0.0.0.0:9000",
                "--data-dir",
                "/data"
            ]
        );
        for expected in [
            "--name=config-server.lightapi.svc.cluster.local",
            "--network-alias=config-server.lightapi.svc.cluster.local",
            "--publish=127.0.0.1:40001:9000",
            "--mount=type=bind,source=/w/data,target=/data,readonly",
            "--pull=never",
            "--label=a=b",
        ] {
            assert!(args.contains(&expected.to_string()), "{expected} missing from {args:?}");
        }
        let backend = plan[4].run_args("fx:1", "lgc-1", &[], "/w/data");
        assert!(backend.ends_with(&[
            "--instance".into(),
            "backend-b".into(),
            "--session-mode".into(),
            "stateless".into(),
            "--any-host".into()
        ]));
        assert!(!backend.iter().any(|a| a.contains("/data")));
        assert!(plan[3].backend && !plan[2].backend && !plan[1].backend);
        assert_eq!(plan[1].admin_url().unwrap().as_str(), "http://127.0.0.1:40002/");
    }

    #[test]
    fn https_peers_and_clashing_names_are_refused_with_the_reason() {
        let err = plan(
            &deployment("https://config-server.lightapi.svc.cluster.local:8435"),
            ports(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("light-config-server-uri is https://"), "{err}");
        let err = plan(&deployment("http://controller.lightapi.svc.cluster.local:1"), ports())
            .unwrap_err()
            .to_string();
        assert!(err.contains("would both be controller.lightapi"), "{err}");
    }
}
