//! The fixtures as typed Kubernetes objects: config-server and the controller where the
//! scenario's bootstrap values point (`Peers::of`), the MCP backends in namespace `tools`, each a
//! Deployment of the fixtures image behind a Service with its main port and the admin port. The
//! runtime config is a ConfigMap mounted as config-server's data dir.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    HTTPGetAction, KeyToPath, Namespace, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile,
    SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::deployment::Identity;
use crate::platform::TargetError;
use crate::platform::fixture_hosts::{
    ADMIN_PORT, BACKEND_NAMESPACE, BACKEND_PORT, BACKENDS, KEY_SERVICE, Peer, Peers, mock_command,
};

/// Where config-server's data dir (the runtime config ConfigMap) is mounted.
pub(super) const DATA_DIR: &str = "/data";
/// The label every object the suite makes carries, so they can be told from the chart's.
pub(super) const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "light-gateway-conformance");
/// The label the chart's NetworkPolicy selects namespaces by.
pub(super) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The uid/gid the fixtures image runs as (its `fixtures` user).
const FIXTURES_UID: i64 = 999;

/// One fixture as the target drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fixture {
    /// Its name in logs and reports: `config-server`, `controller`, `backend-a`, `backend-b`.
    pub(super) name: String,
    /// Its namespace.
    pub(super) namespace: String,
    /// Its Deployment's and Service's name (the first label of its DNS name).
    pub(super) service: String,
    /// The port the gateway reaches it on.
    pub(super) port: u16,
    /// The program in the fixtures image and its arguments.
    pub(super) command: Vec<String>,
}

impl Fixture {
    /// The labels of its pods.
    pub(super) fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), self.service.clone()),
            (PART_OF.0.to_string(), PART_OF.1.to_string()),
        ])
    }

    /// Its pods' label selector, as the API takes it.
    pub(super) fn selector(&self) -> String {
        selector_string(&self.labels())
    }
}

/// `k=v,k2=v2` of a label map.
pub(super) fn selector_string(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Everything the fixtures need, in the order to apply it.
#[derive(Debug, Clone)]
pub(super) struct FixtureObjects {
    /// The namespaces the fixtures live in.
    pub(super) namespaces: Vec<String>,
    /// config-server's runtime config.
    pub(super) config_map: ConfigMap,
    /// One Deployment per fixture.
    pub(super) deployments: Vec<Deployment>,
    /// One Service per fixture.
    pub(super) services: Vec<Service>,
    /// The fixtures, in the same order as the Deployments.
    pub(super) fixtures: Vec<Fixture>,
}

/// The fixtures for a deployment whose peers are `peers` and whose identity is `identity`,
/// config-server serving `runtime_config`, every one from `image`.
///
/// # Errors
/// A peer the gateway reaches over HTTPS (the fixtures serve plain HTTP here; a scenario with
/// HTTPS peers would need their certificate in the chart's `bootstrap.caPem`), two peers under
/// one name, or an identity that cannot be a data dir path.
pub(super) fn fixture_objects(
    peers: &Peers,
    identity: &Identity,
    image: &str,
    runtime_config: &str,
) -> Result<FixtureObjects, TargetError> {
    peers.require_plain_http("kube target")?;
    if peers.config_server.namespace == peers.controller.namespace
        && peers.config_server.service == peers.controller.service
    {
        return Err(TargetError::operation(
            "placing the fixtures",
            format!(
                "config-server and the controller are both {}.{}",
                peers.config_server.service, peers.config_server.namespace
            ),
        ));
    }
    let data_path = data_path(identity)?;
    let config_server = Fixture {
        name: "config-server".into(),
        command: mock_command(
            "mock-config-server",
            peers.config_server.port,
            &["--data-dir".into(), DATA_DIR.into()],
        ),
        ..peer_fixture(&peers.config_server)
    };
    let controller = Fixture {
        name: "controller".into(),
        command: mock_command("mock-controller", peers.controller.port, &[]),
        ..peer_fixture(&peers.controller)
    };
    let key_service = Peer {
        host: KEY_SERVICE.host(),
        service: KEY_SERVICE.service.into(),
        namespace: KEY_SERVICE.namespace.into(),
        port: KEY_SERVICE.port,
        https: false,
    };
    let key_service = Fixture {
        name: "key-service".into(),
        command: mock_command("mock-key-service", key_service.port, &[]),
        ..peer_fixture(&key_service)
    };
    let mut fixtures = vec![config_server.clone(), controller, key_service];
    for backend in BACKENDS {
        let peer = Peer {
            host: backend.host(),
            service: backend.service.into(),
            namespace: BACKEND_NAMESPACE.into(),
            port: BACKEND_PORT,
            https: false,
        };
        fixtures.push(Fixture {
            name: backend.instance.into(),
            command: mock_command("mock-mcp-server", peer.port, &backend.args()),
            ..peer_fixture(&peer)
        });
    }
    let config_map = ConfigMap {
        metadata: meta(
            &data_config_map(&config_server),
            &config_server.namespace,
            &config_server.labels(),
        ),
        data: Some(BTreeMap::from([("values.yml".to_string(), runtime_config.to_string())])),
        ..ConfigMap::default()
    };
    let mut namespaces: Vec<String> = Vec::new();
    for fixture in &fixtures {
        if !namespaces.contains(&fixture.namespace) {
            namespaces.push(fixture.namespace.clone());
        }
    }
    Ok(FixtureObjects {
        namespaces,
        config_map,
        deployments: fixtures
            .iter()
            .map(|f| deployment(f, image, (f.name == "config-server").then_some(data_path.as_str())))
            .collect(),
        services: fixtures.iter().map(service).collect(),
        fixtures,
    })
}

/// A namespace with the label the chart's NetworkPolicy selects namespaces by (the API server
/// adds it too since Kubernetes 1.21; saying it keeps older clusters right).
pub(super) fn namespace(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([
                (NAMESPACE_NAME_LABEL.to_string(), name.to_string()),
                (PART_OF.0.to_string(), PART_OF.1.to_string()),
            ])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// The runtime config's path in the data dir: `<host>/<serviceId>/<envTag>/values.yml`.
fn data_path(identity: &Identity) -> Result<String, TargetError> {
    for (what, part) in [
        ("startup.host", &identity.host),
        ("server.serviceId", &identity.service_id),
        ("server.environment", &identity.env_tag),
    ] {
        // A ConfigMap item path may not climb out of the volume or hold empty elements.
        if part.is_empty() || part.contains('/') || part == ".." || part == "." {
            return Err(TargetError::operation(
                "placing the runtime config",
                format!("{what} {part:?} cannot be a directory name in config-server's data dir"),
            ));
        }
    }
    Ok(format!(
        "{}/{}/{}/values.yml",
        identity.host, identity.service_id, identity.env_tag
    ))
}

fn data_config_map(config_server: &Fixture) -> String {
    format!("{}-data", config_server.service)
}

fn peer_fixture(peer: &Peer) -> Fixture {
    Fixture {
        name: peer.service.clone(),
        namespace: peer.namespace.clone(),
        service: peer.service.clone(),
        port: peer.port,
        command: Vec::new(),
    }
}

fn meta(name: &str, namespace: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    }
}

fn deployment(fixture: &Fixture, image: &str, data_path: Option<&str>) -> Deployment {
    let labels = fixture.labels();
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }];
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    if let Some(path) = data_path {
        mounts.push(VolumeMount {
            name: "data".into(),
            mount_path: DATA_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
        volumes.push(Volume {
            name: "data".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: data_config_map(fixture),
                // ConfigMap keys cannot hold '/': the item path builds the data dir's tree.
                items: Some(vec![KeyToPath {
                    key: "values.yml".into(),
                    path: path.into(),
                    ..KeyToPath::default()
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let container = Container {
        name: "mock".into(),
        image: Some(image.into()),
        // kind has the image loaded, and a cluster target pulls it once.
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(fixture.command.clone()),
        env: Some(vec![EnvVar {
            name: "RUST_LOG".into(),
            value: Some("info".into()),
            ..EnvVar::default()
        }]),
        ports: Some(vec![
            ContainerPort {
                name: Some("main".into()),
                container_port: i32::from(fixture.port),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some("admin".into()),
                container_port: i32::from(ADMIN_PORT),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
        ]),
        // The admin /health answers whatever outage the suite sets on the main port, so an
        // outage never takes the pod out of its Service: the mock itself refuses or fails.
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/health".into()),
                port: IntOrString::String("admin".into()),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(FIXTURES_UID),
            run_as_group: Some(FIXTURES_UID),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    Deployment {
        metadata: meta(&fixture.service, &fixture.namespace, &labels),
        spec: DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            // Never two copies of a mock: a stopped backend must be gone, and records must
            // not be split between an old and a new pod.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..DeploymentStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    termination_grace_period_seconds: Some(5),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn service(fixture: &Fixture) -> Service {
    let labels = fixture.labels();
    Service {
        metadata: meta(&fixture.service, &fixture.namespace, &labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels),
            ports: Some(vec![
                ServicePort {
                    name: Some("main".into()),
                    port: i32::from(fixture.port),
                    target_port: Some(IntOrString::String("main".into())),
                    protocol: Some("TCP".into()),
                    ..ServicePort::default()
                },
                ServicePort {
                    name: Some("admin".into()),
                    port: i32::from(ADMIN_PORT),
                    target_port: Some(IntOrString::String("admin".into())),
                    protocol: Some("TCP".into()),
                    ..ServicePort::default()
                },
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[cfg(test)]
#[path = "fixtures_tests.rs"]
mod tests;
