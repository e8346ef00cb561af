//! The deployment guide's rules that the chart enforces, one test each.

use k8s_openapi::api::core::v1::{Secret, Volume};
use rstest::rstest;
use serde_json::json;

use crate::common::{self, FULLNAME, NAMESPACE};

#[test]
fn advertised_address_defaults_to_service_dot_namespace() {
    let rendered = common::render(&json!({}));
    let service: k8s_openapi::api::core::v1::Service = rendered.get("Service", FULLNAME).unwrap();
    let expected = format!("{}.{NAMESPACE}", service.metadata.name.unwrap());
    assert_eq!(
        common::values_yml(&rendered)["server.advertisedAddress"],
        json!(expected)
    );

    let external = json!({"bootstrap": {"values": {"server.advertisedAddress": "mcp.example.com"}}});
    let rendered = common::render(&external);
    assert_eq!(
        common::values_yml(&rendered)["server.advertisedAddress"],
        "mcp.example.com"
    );
}

#[test]
fn token_lives_only_in_the_secret() {
    let token = "Bearer tok-only-in-secret-123";
    let rendered = common::render(&json!({"secret": {"portalAuthorization": token, "configPassword": "pw-456"}}));
    let secret: Secret = rendered.get("Secret", FULLNAME).unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data["LIGHT_PORTAL_AUTHORIZATION"].0, token.as_bytes());
    assert_eq!(data["light_4j_config_password"].0, b"pw-456");
    for doc in rendered
        .documents()
        .iter()
        .filter(|d| !d.template.ends_with("/secret.yaml"))
    {
        assert!(!doc.text.contains("tok-only-in-secret"), "token in {}", doc.template);
        assert!(!doc.text.contains("pw-456"), "password in {}", doc.template);
    }
    let env = common::container(&rendered).env.unwrap();
    for name in ["LIGHT_PORTAL_AUTHORIZATION", "light_4j_config_password"] {
        let var = env
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("env {name}"));
        let key_ref = var
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .expect(name);
        assert_eq!((key_ref.name.as_str(), key_ref.key.as_str()), (FULLNAME, name));
        assert!(var.value.is_none());
    }
}

#[test]
fn existing_secret_replaces_the_chart_secret() {
    let rendered = common::render_scenario("existing-secret");
    assert!(!rendered.kinds().unwrap().contains(&"Secret".to_string()));
    let env = common::container(&rendered).env.unwrap();
    let var = env.iter().find(|e| e.name == "LIGHT_PORTAL_AUTHORIZATION").unwrap();
    let key_ref = var.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
    assert_eq!(key_ref.name, "customer-light-gateway-secret");
}

#[test]
fn config_is_read_only_and_only_cache_and_tmp_are_writable() {
    let rendered = common::render_scenario("https-only");
    let container = common::container(&rendered);
    let security = container.security_context.unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    let volumes = common::pod(&rendered).spec.unwrap().volumes.unwrap();
    let volume = |name: &str| -> Volume { volumes.iter().find(|v| v.name == name).cloned().unwrap() };
    for mount in container.volume_mounts.unwrap() {
        let read_only = mount.read_only.unwrap_or(false);
        match mount.mount_path.as_str() {
            "/config" => {
                assert!(read_only, "/config must be read-only");
                assert!(
                    volume(&mount.name).config_map.is_some(),
                    "/config comes from the ConfigMap"
                );
            }
            "/app/config-cache" | "/tmp" => {
                assert!(!read_only, "{} must be writable", mount.mount_path);
                assert!(
                    volume(&mount.name).empty_dir.is_some(),
                    "{} is an emptyDir",
                    mount.mount_path
                );
            }
            other => assert!(read_only, "{other} must be read-only"),
        }
    }
}

#[test]
fn pods_run_as_uid_gid_999_non_root_with_all_capabilities_dropped() {
    let rendered = common::render(&json!({}));
    let pod = common::pod(&rendered).spec.unwrap();
    let pod_ctx = pod.security_context.unwrap();
    assert_eq!(pod_ctx.run_as_non_root, Some(true));
    assert_eq!(
        (pod_ctx.run_as_user, pod_ctx.run_as_group, pod_ctx.fs_group),
        (Some(999), Some(999), Some(999))
    );
    assert_eq!(pod_ctx.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let ctx = common::container(&rendered).security_context.unwrap();
    assert_eq!(ctx.run_as_non_root, Some(true));
    assert_eq!((ctx.run_as_user, ctx.run_as_group), (Some(999), Some(999)));
    assert_eq!(ctx.allow_privilege_escalation, Some(false));
    assert_eq!(ctx.privileged, Some(false));
    assert_eq!(ctx.read_only_root_filesystem, Some(true));
    assert_eq!(ctx.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
    assert_eq!(ctx.seccomp_profile.unwrap().type_, "RuntimeDefault");
    assert_eq!(pod.automount_service_account_token, Some(false));
}

#[rstest]
#[case::http_by_default(json!({}), "http", "HTTP")]
#[case::https_when_http_is_off(json!({"bootstrap": {"values": {"server.enableHttp": false, "server.enableHttps": true}}, "tls": {"existingSecret": "t"}}), "https", "HTTPS")]
#[case::tcp_on_request(json!({"probes": {"type": "tcp"}, "bootstrap": {"values": {"server.enableHttp": false, "server.enableHttps": true}}, "tls": {"existingSecret": "t"}}), "https", "TCP")]
fn probes_follow_the_listeners(#[case] values: serde_json::Value, #[case] port: &str, #[case] scheme: &str) {
    let container = common::container(&common::render(&values));
    let probes = [
        ("startup", container.startup_probe.unwrap()),
        ("readiness", container.readiness_probe.unwrap()),
        ("liveness", container.liveness_probe.unwrap()),
    ];
    for (which, probe) in &probes {
        let (probe_port, probe_scheme) = match (&probe.http_get, &probe.tcp_socket) {
            (Some(get), None) => {
                assert_eq!(get.path.as_deref(), Some("/health"), "{which}");
                (get.port.clone(), get.scheme.clone().unwrap())
            }
            (None, Some(tcp)) => (tcp.port.clone(), "TCP".to_string()),
            other => panic!("{which} probe: {other:?}"),
        };
        assert_eq!(
            probe_port,
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(port.into())
        );
        assert_eq!(probe_scheme, scheme, "{which}");
    }
    let timing = |p: &k8s_openapi::api::core::v1::Probe| (p.initial_delay_seconds, p.period_seconds);
    assert_eq!(timing(&probes[1].1), (Some(5), Some(10)), "readiness 5 s / 10 s");
    assert_eq!(timing(&probes[2].1), (Some(30), Some(30)), "liveness 30 s / 30 s");
}

#[rstest]
#[case::empty_dir_by_default(json!({}), None)]
#[case::pvc_the_chart_creates(json!({"cache": {"type": "pvc", "pvc": {"accessModes": ["ReadWriteMany"]}}}), Some("gw-light-gateway-config-cache"))]
#[case::existing_claim(json!({"cache": {"type": "pvc", "pvc": {"existingClaim": "kept"}}}), Some("kept"))]
fn config_cache_is_empty_dir_or_pvc(#[case] values: serde_json::Value, #[case] claim: Option<&str>) {
    let rendered = common::render(&values);
    let volumes = common::pod(&rendered).spec.unwrap().volumes.unwrap();
    let cache = volumes.iter().find(|v| v.name == "config-cache").unwrap();
    let pvcs = rendered
        .kinds()
        .unwrap()
        .iter()
        .filter(|k| *k == "PersistentVolumeClaim")
        .count();
    match claim {
        None => {
            assert!(cache.empty_dir.is_some() && cache.persistent_volume_claim.is_none());
            assert_eq!(pvcs, 0);
        }
        Some(name) => {
            assert_eq!(cache.persistent_volume_claim.as_ref().unwrap().claim_name, name);
            assert!(cache.empty_dir.is_none());
            assert_eq!(
                pvcs,
                usize::from(name != "kept"),
                "a PVC object only when the chart creates it"
            );
        }
    }
}

#[test]
fn defaults_follow_the_deployment_guide() {
    let rendered = common::render(&json!({}));
    let deployment = common::deployment(&rendered);
    assert_eq!(deployment.spec.replicas, Some(2));
    let resources = common::container(&rendered).resources.unwrap();
    let quantity = |m: &Option<std::collections::BTreeMap<String, _>>, k: &str| {
        let q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity = &m.as_ref().unwrap()[k];
        q.0.clone()
    };
    assert_eq!(quantity(&resources.requests, "cpu"), "100m");
    assert_eq!(quantity(&resources.requests, "memory"), "128Mi");
    assert_eq!(quantity(&resources.limits, "cpu"), "1");
    assert_eq!(quantity(&resources.limits, "memory"), "512Mi");
    assert_eq!(
        common::container(&rendered).image.as_deref(),
        Some("light-gateway:0.1.0"),
        "tag = appVersion"
    );
    let grace = common::pod(&rendered)
        .spec
        .unwrap()
        .termination_grace_period_seconds
        .unwrap();
    assert!(
        grace * 1000 > 2000,
        "grace {grace}s must exceed shutdownGracefulPeriod 2000 ms"
    );
}

#[rstest]
#[case::token(json!({"secret": {"portalAuthorization": "Bearer other"}}), "checksum/secret")]
#[case::bootstrap_value(json!({"bootstrap": {"values": {"startup.host": "other.example.com"}}}), "checksum/config")]
fn a_config_or_secret_change_rolls_the_pods(#[case] change: serde_json::Value, #[case] annotation: &str) {
    let checksum = |values: &serde_json::Value| {
        let annotations = common::pod(&common::render(values))
            .metadata
            .unwrap()
            .annotations
            .unwrap();
        annotations[annotation].clone()
    };
    let base = json!({"secret": {"portalAuthorization": "Bearer one"}});
    let mut changed = base.clone();
    common::merge(&mut changed, &change);
    assert_eq!(checksum(&base), checksum(&base), "renders are deterministic");
    assert_ne!(checksum(&base), checksum(&changed), "{annotation} must change");
}

#[test]
fn no_scenario_renders_a_namespace() {
    for scenario in common::scenarios() {
        let kinds = common::render_scenario(&scenario).kinds().unwrap();
        assert!(
            !kinds.contains(&"Namespace".to_string()),
            "{scenario} renders a Namespace"
        );
    }
}

#[test]
fn helm_test_pod_checks_health_and_tools_list_through_the_service() {
    let rendered = common::render(&json!({}));
    let pod: k8s_openapi::api::core::v1::Pod = rendered.get("Pod", &format!("{FULLNAME}-test")).unwrap();
    let annotations = pod.metadata.annotations.unwrap();
    assert_eq!(annotations["helm.sh/hook"], "test");
    let spec = pod.spec.unwrap();
    let check = &spec.containers[0];
    let env = check.env.as_ref().unwrap();
    let url = env.iter().find(|e| e.name == "GATEWAY_URL").unwrap().value.clone();
    assert_eq!(url.as_deref(), Some("http://gw-light-gateway:8080"));
    let script = check.command.as_ref().unwrap().join("\n");
    assert!(
        script.contains("$GATEWAY_URL/health") && script.contains("tools/list"),
        "{script}"
    );
    assert_eq!(spec.security_context.unwrap().run_as_non_root, Some(true));
}

/// An empty size limit still renders a volume source: `emptyDir: null` is a pod the API server
/// refuses (the volume would have none).
#[rstest]
#[case::no_limits(json!({"cache": {"sizeLimit": ""}, "tmpSizeLimit": ""}), None, None)]
#[case::limits(json!({"cache": {"sizeLimit": "64Mi"}, "tmpSizeLimit": "16Mi"}), Some("64Mi"), Some("16Mi"))]
fn empty_dirs_render_a_source_with_or_without_a_size_limit(
    #[case] values: serde_json::Value,
    #[case] cache_limit: Option<&str>,
    #[case] tmp_limit: Option<&str>,
) {
    let rendered = common::render(&values);
    let volumes = common::pod(&rendered).spec.unwrap().volumes.unwrap();
    for (name, limit) in [("config-cache", cache_limit), ("tmp", tmp_limit)] {
        let volume = volumes.iter().find(|v| v.name == name).unwrap();
        let empty_dir = volume
            .empty_dir
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no emptyDir source: {volume:?}"));
        assert_eq!(empty_dir.size_limit.as_ref().map(|q| q.0.as_str()), limit, "{name}");
    }
}

/// Copies the chart into `dir/charts/light-gateway` under an umbrella chart of its own.
fn umbrella(dir: &std::path::Path) -> std::path::PathBuf {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let root = dir.join("umbrella");
    copy(&common::chart(), &root.join("charts/light-gateway"));
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: light-gateway\n    version: \">=0.0.0-0\"\n",
    )
    .unwrap();
    root
}

/// As a subchart: the parent's `global` reaches this chart (refused before as an unknown
/// key), its imageRegistry goes in front of the repositories and its pull secrets join the
/// chart's, each name once; keys of `global` that belong to other subcharts are accepted.
#[test]
fn an_umbrella_chart_shares_its_global_registry_and_pull_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let chart = umbrella(dir.path());
    let values = json!({
        "global": {"imageRegistry": "registry.internal.example/", "imagePullSecrets": [{"name": "shared"}, {"name": "own"}], "otherChartKey": true},
        "light-gateway": {"imagePullSecrets": [{"name": "own"}]}
    });
    let rendered = common::helm()
        .render(&chart, &values, &common::release())
        .unwrap_or_else(|e| panic!("the umbrella renders: {e}"));
    let pod = common::pod(&rendered).spec.unwrap();
    let image = pod.containers[0].image.clone().unwrap();
    assert!(image.starts_with("registry.internal.example/light-gateway:"), "{image}");
    let secrets: Vec<String> = pod.image_pull_secrets.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(secrets, ["shared", "own"]);
    let test_pod = rendered
        .documents()
        .into_iter()
        .find(|doc| doc.template.contains("test-health-mcp"))
        .map(|doc| doc.text.to_string())
        .expect("the helm test pod");
    assert!(
        test_pod.contains("image: \"registry.internal.example/curlimages/curl:"),
        "{test_pod}"
    );

    // Standalone, with no global set, nothing changes.
    let plain = common::pod(&common::render(&json!({}))).spec.unwrap();
    assert!(
        plain.containers[0]
            .image
            .as_deref()
            .unwrap()
            .starts_with("light-gateway:")
    );
    assert!(plain.image_pull_secrets.is_none());
}

/// A topology spread entry with a labelSelector of its own keeps it as written; one without
/// gets the pods' selector labels.
#[test]
fn topology_spread_fills_in_only_a_missing_label_selector() {
    let own = json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge"]}]});
    let values = json!({"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": own},
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ]});
    let spec = common::pod(&common::render(&values)).spec.unwrap();
    let constraints = spec.topology_spread_constraints.unwrap();
    let first = serde_json::to_value(constraints[0].label_selector.as_ref().unwrap()).unwrap();
    assert_eq!(first, own, "the user's selector is kept as written");
    let second = constraints[1]
        .label_selector
        .as_ref()
        .unwrap()
        .match_labels
        .as_ref()
        .unwrap();
    assert_eq!(
        second.get("app.kubernetes.io/name").map(String::as_str),
        Some("light-gateway")
    );
}

/// Each Service port says what it speaks, so a Gateway API implementation or an ingress
/// controller that reads `appProtocol` talks TLS to the HTTPS-only gateway's 8443.
#[rstest]
#[case::http(json!({}), "http", "http")]
#[case::https_only(json!({"tls": {"existingSecret": "gw-tls"},
    "bootstrap": {"values": {"server.enableHttp": false, "server.enableHttps": true}}}), "https", "https")]
fn service_ports_name_their_app_protocol(
    #[case] values: serde_json::Value,
    #[case] port: &str,
    #[case] protocol: &str,
) {
    let rendered = common::render(&values);
    let service: k8s_openapi::api::core::v1::Service = rendered.get("Service", FULLNAME).unwrap();
    let ports = service.spec.unwrap().ports.unwrap();
    let named = ports.iter().find(|p| p.name.as_deref() == Some(port)).unwrap();
    assert_eq!(named.app_protocol.as_deref(), Some(protocol), "{ports:?}");
}

/// The helm test pod is not one of the gateway's pods: no selector of the Service, the
/// NetworkPolicy or the PDB matches its labels (it would be an endpoint serving nothing, and the
/// gateway's egress rules would keep it from the gateway), while the NetworkPolicy's helm-test
/// peer does, so `helm test` reaches the gateway with the policy on.
#[test]
fn the_helm_test_pod_is_selected_only_by_the_policy_peer_made_for_it() {
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use std::collections::BTreeMap;

    let rendered = common::render_scenario("networkpolicy");
    let mut values = common::scenario_values("networkpolicy");
    common::merge(&mut values, &json!({"podDisruptionBudget": {"enabled": true}}));
    let with_pdb = common::render(&values);
    let test_pod = rendered
        .documents()
        .into_iter()
        .find(|doc| doc.template.contains("test-health-mcp"))
        .map(|doc| serde_saphyr::from_str::<k8s_openapi::api::core::v1::Pod>(doc.text).unwrap())
        .expect("the helm test pod");
    let labels = test_pod.metadata.labels.unwrap();
    let selects = |selector: &BTreeMap<String, String>| selector.iter().all(|(k, v)| labels.get(k) == Some(v));

    let service: k8s_openapi::api::core::v1::Service = rendered.get("Service", FULLNAME).unwrap();
    assert!(
        !selects(&service.spec.unwrap().selector.unwrap()),
        "the Service selects the test pod"
    );
    let policy: NetworkPolicy = rendered.get("NetworkPolicy", FULLNAME).unwrap();
    let spec = policy.spec.unwrap();
    assert!(
        !selects(spec.pod_selector.as_ref().unwrap().match_labels.as_ref().unwrap()),
        "the gateway's NetworkPolicy applies to the test pod"
    );
    let pdb: PodDisruptionBudget = with_pdb.get("PodDisruptionBudget", FULLNAME).unwrap();
    assert!(
        !selects(&pdb.spec.unwrap().selector.unwrap().match_labels.unwrap()),
        "the PDB counts the test pod"
    );
    let peers: Vec<BTreeMap<String, String>> = spec.ingress.unwrap()[0]
        .from
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|peer| peer.pod_selector?.match_labels)
        .collect();
    assert!(
        peers.iter().any(selects),
        "no ingress peer admits the test pod: {peers:?}"
    );
}

/// Every object carries its namespace (the release's, or namespaceOverride), so a render
/// applied with kubectl lands where helm would put it; nothing else changes place.
#[rstest]
#[case::the_release_namespace(json!({}), NAMESPACE)]
#[case::namespace_override(json!({"namespaceOverride": "edge"}), "edge")]
fn every_object_names_its_namespace(#[case] values: serde_json::Value, #[case] namespace: &str) {
    let mut all = values.clone();
    common::merge(
        &mut all,
        &json!({"networkPolicy": {"enabled": true}, "podDisruptionBudget": {"enabled": true},
                "ingress": {"enabled": true, "hosts": [{"host": "mcp.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}]}}),
    );
    let rendered = common::render(&all);
    let objects = rendered.objects().unwrap();
    assert!(objects.len() >= 8, "{}", objects.len());
    for object in &objects {
        assert_eq!(
            object.value["metadata"]["namespace"].as_str(),
            Some(namespace),
            "{} {}",
            object.kind(),
            object.name()
        );
    }
    let advertised = common::values_yml(&rendered)["server.advertisedAddress"].clone();
    assert_eq!(advertised, json!(format!("{FULLNAME}.{namespace}")));
}

/// The pod-level settings users of other gateway charts expect pass through as given, and the
/// preStop pause counts in the derived grace period.
#[test]
fn pod_and_rollout_settings_pass_through() {
    let values = json!({
        "lifecycle": {"preStopSleepSeconds": 8},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "50%"}},
        "revisionHistoryLimit": 2,
        "initContainers": [{"name": "wait", "image": "busybox:1.37", "command": ["true"]}],
        "extraContainers": [{"name": "sidecar", "image": "busybox:1.37", "command": ["sleep", "infinity"]}],
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["10.0.0.10"]},
        "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["config-server.internal"]}],
        "runtimeClassName": "gvisor",
        "service": {"sessionAffinity": "None"},
        "extraObjects": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-extra"}, "data": {"a": "b"}},
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra-text\n"
        ]
    });
    let rendered = common::render(&values);
    let deployment = common::deployment(&rendered);
    let spec = deployment.spec;
    assert_eq!(spec.revision_history_limit, Some(2));
    let rolling = spec.strategy.unwrap().rolling_update.unwrap();
    assert_eq!(
        serde_json::to_value(rolling).unwrap(),
        json!({"maxUnavailable": 1, "maxSurge": "50%"})
    );
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.init_containers.unwrap()[0].name, "wait");
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["light-gateway", "sidecar"]);
    assert_eq!(pod.dns_policy.as_deref(), Some("None"));
    assert_eq!(pod.dns_config.unwrap().nameservers.unwrap(), ["10.0.0.10"]);
    assert_eq!(pod.host_aliases.unwrap()[0].ip, "10.1.2.3");
    assert_eq!(pod.runtime_class_name.as_deref(), Some("gvisor"));
    let pre_stop = pod.containers[0].lifecycle.clone().unwrap().pre_stop.unwrap();
    assert_eq!(pre_stop.sleep.unwrap().seconds, 8);
    // 8 s pause + 2 s graceful period + 10 s for the deregistration.
    assert_eq!(pod.termination_grace_period_seconds, Some(20));
    let service: k8s_openapi::api::core::v1::Service = rendered.get("Service", FULLNAME).unwrap();
    assert_eq!(service.spec.unwrap().session_affinity.as_deref(), Some("None"));
    let extra: k8s_openapi::api::core::v1::ConfigMap = rendered.get("ConfigMap", "gw-extra").unwrap();
    assert_eq!(extra.data.unwrap()["a"], "b");
    rendered
        .get::<k8s_openapi::api::core::v1::ConfigMap>("ConfigMap", "gw-extra-text")
        .unwrap();

    // Defaults: a 5 s pause, ClientIP affinity for legacy sessions, a rollout that keeps every pod.
    let defaults = common::render(&json!({}));
    let pod = common::pod(&defaults).spec.unwrap();
    assert_eq!(
        pod.containers[0]
            .lifecycle
            .clone()
            .unwrap()
            .pre_stop
            .unwrap()
            .sleep
            .unwrap()
            .seconds,
        5
    );
    let service: k8s_openapi::api::core::v1::Service = defaults.get("Service", FULLNAME).unwrap();
    assert_eq!(service.spec.unwrap().session_affinity.as_deref(), Some("ClientIP"));
    let none = common::pod(&common::render(&json!({"lifecycle": {"preStopSleepSeconds": 0}})))
        .spec
        .unwrap();
    assert!(none.containers[0].lifecycle.is_none());
}

/// commonLabels reach every object and the pods, never a selector.
#[test]
fn common_labels_reach_every_object_but_no_selector() {
    let values = json!({"commonLabels": {"team": "edge", "cost-centre": "42"},
                        "networkPolicy": {"enabled": true}, "podDisruptionBudget": {"enabled": true}});
    let rendered = common::render(&values);
    for object in rendered.objects().unwrap() {
        let labels = &object.value["metadata"]["labels"];
        assert_eq!(labels["team"], "edge", "{} {}", object.kind(), object.name());
        assert_eq!(labels["cost-centre"], "42", "{} {}", object.kind(), object.name());
    }
    let pod = common::pod(&rendered);
    assert_eq!(pod.metadata.unwrap().labels.unwrap()["team"], "edge");
    let deployment = common::deployment(&rendered);
    assert!(!deployment.spec.selector.match_labels.unwrap().contains_key("team"));
    let service: k8s_openapi::api::core::v1::Service = rendered.get("Service", FULLNAME).unwrap();
    assert!(!service.spec.unwrap().selector.unwrap().contains_key("team"));
}

/// More than one pod spreads over nodes and zones by default, never blocking scheduling; one pod,
/// constraints of the user's, or defaultTopologySpread: false leave it out.
#[rstest]
#[case::two_replicas(json!({}), &["kubernetes.io/hostname", "topology.kubernetes.io/zone"])]
#[case::one_replica(json!({"replicas": 1}), &[])]
#[case::turned_off(json!({"defaultTopologySpread": false}), &[])]
#[case::the_users_own(json!({"topologySpreadConstraints": [{"maxSkew": 2, "topologyKey": "rack", "whenUnsatisfiable": "DoNotSchedule"}]}), &["rack"])]
fn replicas_spread_over_nodes_and_zones_by_default(#[case] values: serde_json::Value, #[case] keys: &[&str]) {
    let spec = common::pod(&common::render(&values)).spec.unwrap();
    let constraints = spec.topology_spread_constraints.unwrap_or_default();
    let seen: Vec<&str> = constraints.iter().map(|c| c.topology_key.as_str()).collect();
    assert_eq!(seen, keys);
    if keys.len() == 2 {
        assert!(
            constraints
                .iter()
                .all(|c| c.when_unsatisfiable == "ScheduleAnyway" && c.label_selector.is_some())
        );
    }
}
