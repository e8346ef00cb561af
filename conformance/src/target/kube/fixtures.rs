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
use crate::target::TargetError;
use crate::target::in_cluster::{ADMIN_PORT, BACKEND_NAMESPACE, BACKEND_PORT, BACKENDS, Peer, Peers};

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
    for (what, peer) in [
        ("light-config-server-uri", &peers.config_server),
        ("portalRegistry.portalUrl", &peers.controller),
    ] {
        if peer.https {
            return Err(TargetError::operation(
                "placing the fixtures",
                format!(
                    "{what} is https://{}:{}; the kube targets serve the fixtures over plain HTTP",
                    peer.host, peer.port
                ),
            ));
        }
    }
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
        command: command(
            "mock-config-server",
            &peers.config_server,
            &["--data-dir".into(), DATA_DIR.into()],
        ),
        ..peer_fixture(&peers.config_server)
    };
    let controller = Fixture {
        name: "controller".into(),
        command: command("mock-controller", &peers.controller, &[]),
        ..peer_fixture(&peers.controller)
    };
    let mut fixtures = vec![config_server.clone(), controller];
    for backend in BACKENDS {
        let peer = Peer {
            host: backend.host(),
            service: backend.service.into(),
            namespace: BACKEND_NAMESPACE.into(),
            port: BACKEND_PORT,
            https: false,
        };
        let extra = [
            "--instance",
            backend.instance,
            "--session-mode",
            backend.session_mode,
            // The gateway calls it by its Service name, which rmcp's DNS-rebinding check refuses
            // unless told otherwise.
            "--any-host",
        ]
        .map(String::from);
        fixtures.push(Fixture {
            name: backend.instance.into(),
            command: command("mock-mcp-server", &peer, &extra),
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

/// `/app/<program> --listen 0.0.0.0:<port> --admin-listen 0.0.0.0:9000 <extra>`.
fn command(program: &str, peer: &Peer, extra: &[String]) -> Vec<String> {
    let mut command = vec![
        format!("/app/{program}"),
        "--listen".into(),
        format!("0.0.0.0:{}", peer.port),
        "--admin-listen".into(),
        format!("0.0.0.0:{ADMIN_PORT}"),
    ];
    command.extend(extra.iter().cloned());
    command
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
mod tests {
    use super::*;

    fn peer(host: &str, port: u16) -> Peer {
        let mut labels = host.split('.');
        Peer {
            host: host.into(),
            service: labels.next().unwrap().into(),
            namespace: labels.next().unwrap_or("default").into(),
            port,
            https: false,
        }
    }

    fn peers() -> Peers {
        Peers {
            config_server: peer("config-server.lightapi.svc.cluster.local", 8435),
            controller: peer("controller.lightapi.svc.cluster.local", 8438),
        }
    }

    fn identity() -> Identity {
        Identity {
            service_id: "com.example.mcp-gateway-1.0.0".into(),
            env_tag: "test".into(),
            host: "local.test".into(),
            advertised_address: "gw-light-gateway.light-gateway".into(),
            protocol: "http".into(),
            port: 8080,
        }
    }

    fn objects() -> FixtureObjects {
        fixture_objects(
            &peers(),
            &identity(),
            "light-gateway-fixtures:0.1.0",
            "handler.handlers: [mcp]\n",
        )
        .unwrap()
    }

    #[test]
    fn fixtures_live_where_the_bootstrap_values_point() {
        let objects = objects();
        assert_eq!(objects.namespaces, ["lightapi", "tools"]);
        let placed: Vec<(&str, &str, &str, u16)> = objects
            .fixtures
            .iter()
            .map(|f| (f.name.as_str(), f.namespace.as_str(), f.service.as_str(), f.port))
            .collect();
        assert_eq!(
            placed,
            [
                ("config-server", "lightapi", "config-server", 8435),
                ("controller", "lightapi", "controller", 8438),
                ("backend-a", "tools", "mcp-backend-a", 8080),
                ("backend-b", "tools", "mcp-backend-b", 8080),
            ]
        );
        for (service, fixture) in objects.services.iter().zip(&objects.fixtures) {
            assert_eq!(service.metadata.name.as_deref(), Some(fixture.service.as_str()));
            assert_eq!(service.metadata.namespace.as_deref(), Some(fixture.namespace.as_str()));
            let ports: Vec<(String, i32)> = service
                .spec
                .as_ref()
                .unwrap()
                .ports
                .iter()
                .flatten()
                .map(|p| (p.name.clone().unwrap(), p.port))
                .collect();
            assert_eq!(
                ports,
                [
                    ("main".to_string(), i32::from(fixture.port)),
                    ("admin".to_string(), 9000)
                ]
            );
            assert_eq!(
                service.spec.as_ref().unwrap().selector.as_ref(),
                Some(&fixture.labels())
            );
        }
    }

    #[test]
    fn commands_listen_on_every_interface_with_the_admin_port_and_their_flags() {
        let objects = objects();
        let commands: Vec<Vec<String>> = objects
            .deployments
            .iter()
            .map(|d| {
                d.spec.template.spec.as_ref().unwrap().containers[0]
                    .command
                    .clone()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            commands[0],
            [
                "/app/mock-config-server",
                "--listen",
                "0.0.0.0:8435",
                "--admin-listen",
                "0.0.0.0:9000",
                "--data-dir",
                "/data"
            ]
        );
        assert_eq!(commands[1][0], "/app/mock-controller");
        assert_eq!(commands[1][2], "0.0.0.0:8438");
        assert_eq!(
            commands[3],
            [
                "/app/mock-mcp-server",
                "--listen",
                "0.0.0.0:8080",
                "--admin-listen",
                "0.0.0.0:9000",
                "--instance",
                "backend-b",
                "--session-mode",
                "stateless",
                "--any-host"
            ]
        );
    }

    #[test]
    fn the_runtime_config_is_mounted_as_the_data_dir_tree() {
        let objects = objects();
        assert_eq!(objects.config_map.metadata.name.as_deref(), Some("config-server-data"));
        assert_eq!(objects.config_map.metadata.namespace.as_deref(), Some("lightapi"));
        assert_eq!(
            objects.config_map.data.as_ref().unwrap()["values.yml"],
            "handler.handlers: [mcp]\n"
        );
        let pod = objects.deployments[0].spec.template.spec.clone().unwrap();
        let volume = pod.volumes.unwrap().into_iter().find(|v| v.name == "data").unwrap();
        let source = volume.config_map.unwrap();
        assert_eq!(source.name, "config-server-data");
        assert_eq!(
            source.items.unwrap()[0].path,
            "local.test/com.example.mcp-gateway-1.0.0/test/values.yml"
        );
        let mount = pod.containers[0]
            .volume_mounts
            .clone()
            .unwrap()
            .into_iter()
            .find(|m| m.name == "data")
            .unwrap();
        assert_eq!((mount.mount_path.as_str(), mount.read_only), ("/data", Some(true)));
        // Only config-server gets the data dir.
        let controller = objects.deployments[1].spec.template.spec.clone().unwrap();
        assert!(controller.volumes.unwrap().iter().all(|v| v.name != "data"));
    }

    #[test]
    fn pods_run_unprivileged_with_the_admin_health_as_readiness() {
        for d in objects().deployments {
            let spec = d.spec;
            assert_eq!(spec.replicas, Some(1));
            assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
            assert_eq!(spec.selector.match_labels, spec.template.metadata.unwrap().labels);
            let container = &spec.template.spec.as_ref().unwrap().containers[0];
            assert_eq!(container.image.as_deref(), Some("light-gateway-fixtures:0.1.0"));
            let probe = container.readiness_probe.clone().unwrap().http_get.unwrap();
            assert_eq!(
                (probe.path.as_deref(), probe.port),
                (Some("/health"), IntOrString::String("admin".into()))
            );
            let security = container.security_context.clone().unwrap();
            assert_eq!(security.run_as_user, Some(999));
            assert_eq!(security.read_only_root_filesystem, Some(true));
        }
    }

    #[test]
    fn namespaces_carry_the_label_network_policies_select() {
        let ns = namespace("tools");
        assert_eq!(ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"], "tools");
    }

    #[test]
    fn https_peers_and_clashing_names_are_refused_with_the_reason() {
        let mut https = peers();
        https.controller.https = true;
        let err = fixture_objects(&https, &identity(), "i", "").unwrap_err().to_string();
        assert!(err.contains("portalRegistry.portalUrl is https://controller"), "{err}");
        let mut clash = peers();
        clash.controller = clash.config_server.clone();
        let err = fixture_objects(&clash, &identity(), "i", "").unwrap_err().to_string();
        assert!(err.contains("both config-server.lightapi"), "{err}");
        let mut bad = identity();
        bad.host = "a/b".into();
        let err = fixture_objects(&peers(), &bad, "i", "").unwrap_err().to_string();
        assert!(err.contains("startup.host \"a/b\""), "{err}");
    }

    #[test]
    fn selectors_join_labels() {
        assert_eq!(
            objects().fixtures[2].selector(),
            "app.kubernetes.io/name=mcp-backend-a,app.kubernetes.io/part-of=light-gateway-conformance"
        );
    }
}
