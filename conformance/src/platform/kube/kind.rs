//! Reaching a cluster: kind clusters made for the run (the `kind` CLI, whose nodes are Docker
//! containers) and the current kube context. Both end as a `kube::Config`; nothing here shells
//! out to kubectl.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::platform::TargetError;
use crate::render::find_on_path;

/// How long `kind create cluster` waits for the control plane (its `--wait`).
const CREATE_WAIT: &str = "120s";
/// How long `docker info` may take to say whether an engine answers.
const DOCKER_INFO_WITHIN: Duration = Duration::from_secs(20);

/// Why a kind cluster cannot be made here: `kind` not on `PATH`, or no Docker engine answering
/// `docker info` (kind runs its nodes as Docker containers). `None` when both are there.
pub fn kind_missing() -> Option<String> {
    if find_on_path("kind").is_none() {
        return Some("kind is not on PATH (see https://kind.sigs.k8s.io)".into());
    }
    docker_unanswered()
}

/// Why no Docker engine answers, if none does.
fn docker_unanswered() -> Option<String> {
    if find_on_path("docker").is_none() {
        return Some("docker is not on PATH (kind runs its nodes as Docker containers)".into());
    }
    let child = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A failing `docker info` says why in a few lines; the pipe never fills.
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return Some(format!("docker info could not be run: {e}")),
    };
    let deadline = std::time::Instant::now() + DOCKER_INFO_WITHIN;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return None,
            Ok(Some(_)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                let why = stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no reason given");
                return Some(format!("no Docker engine answers (docker info: {})", why.trim()));
            }
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Some(format!(
                    "no Docker engine answers (docker info did not return within {DOCKER_INFO_WITHIN:?})"
                ));
            }
            Err(e) => return Some(format!("docker info could not be waited for: {e}")),
        }
    }
}

/// `kind create cluster` arguments.
pub(super) fn create_args(name: &str, config: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["create", "cluster", "--name", name, "--config"]
        .into_iter()
        .map(OsString::from)
        .collect();
    args.push(config.as_os_str().to_owned());
    args.extend(["--wait", CREATE_WAIT].map(OsString::from));
    args
}

/// Runs `kind` with `args`; its stdout, or an error naming `what` with the end of its stderr.
pub(super) async fn kind(args: Vec<OsString>, what: &str) -> Result<String, TargetError> {
    let output = tokio::process::Command::new("kind")
        .args(&args)
        .stdin(Stdio::null())
        // An interrupted run must not leave kind half-way through on its own.
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| TargetError::operation(what, format!("kind could not be run: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(TargetError::operation(
            what,
            format!(
                "kind {} exited with {}: {}",
                args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
                output.status,
                crate::platform::processes::tail(&stderr, 20)
            ),
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| TargetError::operation(what, format!("kind printed non-UTF-8: {e}")))
}

/// Creates the kind cluster `name` from `config`, waiting for its control plane.
pub(super) async fn create(name: &str, config: &Path) -> Result<(), TargetError> {
    let what = format!("creating kind cluster {name}");
    if !config.is_file() {
        return Err(TargetError::operation(
            what,
            format!("the kind cluster config {} does not exist", config.display()),
        ));
    }
    kind(create_args(name, config), &what).await.map(drop)
}

/// The cluster's kubeconfig (the API server on a 127.0.0.1 port).
pub(super) async fn kubeconfig(name: &str) -> Result<String, TargetError> {
    kind(
        ["get", "kubeconfig", "--name", name].map(OsString::from).to_vec(),
        &format!("reading the kubeconfig of kind cluster {name}"),
    )
    .await
}

/// Copies the nodes' logs (kubelet, containerd, every container) into `dir`.
pub(super) async fn export_logs(name: &str, dir: &Path) -> Result<(), TargetError> {
    let mut args = ["export", "logs"].map(OsString::from).to_vec();
    args.push(dir.as_os_str().to_owned());
    args.extend(["--name", name].map(OsString::from));
    kind(args, &format!("exporting the logs of kind cluster {name}"))
        .await
        .map(drop)
}

/// Deletes the kind cluster.
pub(super) async fn delete(name: &str) -> Result<(), TargetError> {
    kind(
        ["delete", "cluster", "--name", name].map(OsString::from).to_vec(),
        &format!("deleting kind cluster {name}"),
    )
    .await
    .map(drop)
}

/// A client config from kubeconfig text (what `kind get kubeconfig` prints).
pub(super) async fn config_from_yaml(text: &str) -> Result<kube::Config, TargetError> {
    let what = "reading the kind cluster's kubeconfig";
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| TargetError::operation(what, e))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| TargetError::operation(what, e))
}

/// The client config of the current kube context, or of `context`. A machine without a usable
/// kubeconfig cannot run the cluster target at all: that is [`TargetError::Unavailable`].
pub(super) async fn current_config(context: Option<String>) -> Result<kube::Config, TargetError> {
    let named = context.clone();
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    kube::Config::from_kubeconfig(&options).await.map_err(|e| {
        TargetError::Unavailable(match named {
            Some(name) => format!("kube context {name} cannot be used: {e}"),
            None => format!("no usable current kube context (KUBECONFIG or ~/.kube/config): {e}"),
        })
    })
}

/// A client for `config`, and the API server's URL as the suite reaches it.
pub(super) fn client(config: kube::Config) -> Result<(kube::Client, url::Url), TargetError> {
    // kube's rustls connector needs a process-wide crypto provider; the suite's is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let what = "making a Kubernetes client";
    let cluster_url = url::Url::parse(&config.cluster_url.to_string())
        .map_err(|e| TargetError::operation(what, format!("cluster URL {}: {e}", config.cluster_url)))?;
    let client = kube::Client::try_from(config).map_err(|e| TargetError::operation(what, e))?;
    Ok((client, cluster_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn create_waits_for_the_control_plane_with_the_repository_config() {
        let args = create_args("lgc-1234", Path::new("kind/cluster.yaml"));
        assert_eq!(
            strings(&args),
            [
                "create",
                "cluster",
                "--name",
                "lgc-1234",
                "--config",
                "kind/cluster.yaml",
                "--wait",
                "120s"
            ]
        );
    }

    const KIND_KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ""
    server: https://127.0.0.1:43615
  name: kind-lgc-1234
contexts:
- context:
    cluster: kind-lgc-1234
    user: kind-lgc-1234
  name: kind-lgc-1234
current-context: kind-lgc-1234
preferences: {}
users:
- name: kind-lgc-1234
  user:
    token: abc
"#;

    #[tokio::test]
    async fn kind_kubeconfig_gives_the_local_api_server() {
        let config = config_from_yaml(KIND_KUBECONFIG).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://127.0.0.1:43615/");
        let (_, url) = client(config).unwrap();
        assert_eq!(url.as_str(), "https://127.0.0.1:43615/");
    }

    #[tokio::test]
    async fn unreadable_kubeconfig_names_what_failed() {
        let err = config_from_yaml("clusters: [").await.unwrap_err().to_string();
        assert!(err.starts_with("reading the kind cluster's kubeconfig: "), "{err}");
    }

    #[tokio::test]
    async fn a_missing_context_makes_the_cluster_target_unavailable() {
        let err = current_config(Some("no-such-context-lgc".into())).await.unwrap_err();
        match err {
            TargetError::Unavailable(why) => assert!(why.contains("no-such-context-lgc"), "{why}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn kind_missing_names_kind_when_it_is_not_on_path() {
        if find_on_path("kind").is_none() {
            assert!(kind_missing().unwrap().contains("kind is not on PATH"));
        }
    }
}
