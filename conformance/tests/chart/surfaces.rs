//! Exposure (ClusterIP, NodePort, LoadBalancer, Ingress, HTTPRoute), the MeshGatewayInstance
//! surface of Kong Mesh's MeshGatewayInstance and which surface wins, NetworkPolicy peers and ports, HPA and PDB.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use rstest::rstest;
use serde_json::json;

use crate::common::{self, FULLNAME};
use crate::gateway_api::HttpRoute;

fn service(values: &serde_json::Value) -> (Service, Option<String>) {
    let rendered = common::render(values);
    (rendered.get("Service", FULLNAME).unwrap(), rendered.notes)
}

#[rstest]
#[case::cluster_ip(json!({}), "ClusterIP", "port-forward svc/gw-light-gateway 8080:8080")]
#[case::node_port(json!({"serviceType": "NodePort", "service": {"nodePorts": {"http": 30080}}}), "NodePort", "NODE_PORT=")]
#[case::load_balancer(json!({"serviceType": "LoadBalancer"}), "LoadBalancer", "status.loadBalancer.ingress")]
fn service_type_and_validation_commands(#[case] values: serde_json::Value, #[case] kind: &str, #[case] command: &str) {
    let (service, notes) = service(&values);
    let spec = service.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some(kind));
    let ports = spec.ports.unwrap();
    assert_eq!(ports.len(), 1, "only the enabled listener is exposed");
    assert_eq!((ports[0].name.as_deref(), ports[0].port), (Some("http"), 8080));
    assert_eq!(ports[0].target_port, Some(IntOrString::String("http".into())));
    if kind == "NodePort" {
        assert_eq!(ports[0].node_port, Some(30080));
    }
    assert!(notes.unwrap().contains(command), "NOTES for {kind} lack {command}");
}

#[test]
fn external_load_balancer_scenario_sets_ip_ranges_and_external_name() {
    let rendered = common::render_scenario("external-loadbalancer");
    let spec = rendered.get::<Service>("Service", FULLNAME).unwrap().spec.unwrap();
    assert_eq!(spec.load_balancer_ip.as_deref(), Some("203.0.113.10"));
    assert_eq!(
        spec.load_balancer_source_ranges,
        Some(vec!["198.51.100.0/24".to_string()])
    );
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
    assert_eq!(
        common::values_yml(&rendered)["server.advertisedAddress"],
        "mcp-gateway.customer.example.com"
    );
}

#[test]
fn ingress_routes_its_hosts_to_the_service_http_port() {
    let rendered = common::render_scenario("ingress");
    let ingress: Ingress = rendered.get("Ingress", FULLNAME).unwrap();
    let spec = ingress.spec.unwrap();
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    let rule = &spec.rules.unwrap()[0];
    assert_eq!(rule.host.as_deref(), Some("mcp-gateway.customer.example.com"));
    let paths = &rule.http.as_ref().unwrap().paths;
    assert_eq!(paths.len(), 2);
    for path in paths {
        let backend = path.backend.service.as_ref().unwrap();
        assert_eq!(backend.name, FULLNAME);
        assert_eq!(backend.port.as_ref().unwrap().name.as_deref(), Some("http"));
    }
    assert_eq!(spec.tls.unwrap()[0].secret_name.as_deref(), Some("mcp-gateway-tls"));
}

#[test]
fn httproute_attaches_to_its_gateway_and_targets_the_service() {
    let rendered = common::render_scenario("httproute");
    let route: HttpRoute = rendered.get("HTTPRoute", FULLNAME).unwrap();
    let parent = &route.spec.parent_refs[0];
    assert_eq!(
        (parent.name.as_str(), parent.namespace.as_deref()),
        ("shared-gateway", Some("gateway-system"))
    );
    assert_eq!(route.spec.hostnames, ["mcp-gateway.customer.example.com"]);
    let backend = &route.spec.rules[0].backend_refs[0];
    assert_eq!((backend.name.as_str(), backend.port), (FULLNAME, 8080));
    let https_only = json!({"httpRoute": {"enabled": true}, "tls": {"existingSecret": "t"},
        "bootstrap": {"values": {"server.enableHttp": false, "server.enableHttps": true}}});
    let route: HttpRoute = common::render(&https_only).get("HTTPRoute", FULLNAME).unwrap();
    assert_eq!(route.spec.rules[0].backend_refs[0].port, 8443);
}

#[test]
fn mgi_fields_land_where_seed_003_says_and_win_over_conventional_keys() {
    let rendered = common::render_scenario("mgi-surface");
    let deployment = common::deployment(&rendered);
    assert_eq!(deployment.spec.replicas, Some(1));
    let pod = common::pod(&rendered);
    let meta = pod.metadata.unwrap();
    assert_eq!(
        meta.labels.as_ref().unwrap()["app-name"],
        "my-app",
        "podTemplate label wins"
    );
    assert_eq!(meta.labels.as_ref().unwrap()["team"], "mcp", "podLabels still apply");
    assert_eq!(
        meta.annotations.as_ref().unwrap()["app-monitor"],
        "false",
        "podTemplate annotation wins"
    );
    let spec = pod.spec.unwrap();
    assert_eq!(
        spec.service_account_name.as_deref(),
        Some("my-sa"),
        "podTemplate SA wins"
    );
    assert_eq!(
        spec.security_context.unwrap().fs_group,
        Some(2000),
        "podTemplate fsGroup wins"
    );
    let container = common::container(&rendered);
    assert_eq!(
        container.security_context.unwrap().read_only_root_filesystem,
        Some(true)
    );
    let resources = container.resources.unwrap();
    assert_eq!(resources.requests.unwrap()["cpu"].0, "250m");
    assert_eq!(resources.limits.unwrap()["memory"].0, "128Mi");
    let service: Service = rendered.get("Service", FULLNAME).unwrap();
    let svc_meta = service.metadata;
    assert_eq!(
        svc_meta.labels.unwrap()["svc-id"],
        "19-001",
        "serviceTemplate label wins"
    );
    assert_eq!(
        svc_meta.annotations.unwrap()["service.beta.kubernetes.io/aws-load-balancer-internal"],
        "true"
    );
    let svc_spec = service.spec.unwrap();
    assert_eq!(svc_spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(
        svc_spec.load_balancer_ip.as_deref(),
        Some("172.17.0.1"),
        "serviceTemplate IP wins"
    );
    assert!(
        rendered.all::<ServiceAccount>("ServiceAccount").unwrap().is_empty(),
        "an existing SA is used"
    );
}

#[test]
fn mgi_read_only_root_filesystem_overrides_the_conventional_key() {
    let values = json!({"securityContext": {"readOnlyRootFilesystem": true},
        "podTemplate": {"spec": {"container": {"securityContext": {"readOnlyRootFilesystem": false}}}}});
    let ctx = common::container(&common::render(&values)).security_context.unwrap();
    assert_eq!(ctx.read_only_root_filesystem, Some(false));
}

#[test]
fn network_policy_admits_only_gateway_ports_and_lets_out_only_named_peers() {
    let rendered = common::render_scenario("networkpolicy");
    let policy: NetworkPolicy = rendered.get("NetworkPolicy", FULLNAME).unwrap();
    let spec = policy.spec.unwrap();
    assert_eq!(
        spec.policy_types,
        Some(vec!["Ingress".to_string(), "Egress".to_string()])
    );
    let ingress = spec.ingress.unwrap();
    assert_eq!(
        ingress.len(),
        2,
        "gateway ports, then the metrics port (tests/chart/metrics.rs)"
    );
    let ports: Vec<_> = ingress[0].ports.iter().flatten().map(|p| p.port.clone()).collect();
    assert_eq!(ports, [Some(IntOrString::Int(8080))]);
    let from = ingress[0].from.as_ref().unwrap();
    assert_eq!(
        from.len(),
        3,
        "the ingress-nginx namespace, the controller's (it dials advertisedAddress) and the helm test pod"
    );
    let egress = spec.egress.unwrap();
    let egress_ports: Vec<Vec<IntOrString>> = egress
        .iter()
        .map(|rule| rule.ports.iter().flatten().filter_map(|p| p.port.clone()).collect())
        .collect();
    let int = |ports: &[i32]| ports.iter().map(|p| IntOrString::Int(*p)).collect::<Vec<_>>();
    assert_eq!(
        egress_ports,
        [
            int(&[53, 53]),
            int(&[8435]),
            int(&[8438]),
            int(&[6882]),
            int(&[8080, 8443])
        ],
        "DNS, config-server, controller, token service, backends"
    );
    assert!(
        egress
            .iter()
            .all(|rule| rule.to.as_ref().is_some_and(|to| !to.is_empty())),
        "no rule open to all"
    );
}

#[test]
fn network_policy_leaves_out_groups_without_peers() {
    let values = json!({"networkPolicy": {"enabled": true, "egress": {"dns": {"to": []}, "configServer": {"to": []},
        "controller": {"to": []}, "backends": {"to": [], "ports": [{"port": 9000}]}}}});
    let policy: NetworkPolicy = common::render(&values).get("NetworkPolicy", FULLNAME).unwrap();
    let spec = policy.spec.unwrap();
    assert_eq!(spec.egress, Some(vec![]), "no peers: no egress at all");
    assert_eq!(
        spec.ingress.unwrap()[0].from,
        None,
        "no peers: any source, gateway ports only"
    );
}

#[test]
fn hpa_replaces_replicas_and_pdb_protects_the_pods() {
    let rendered = common::render_scenario("hpa-pdb");
    assert_eq!(common::deployment(&rendered).spec.replicas, None);
    let hpa: HorizontalPodAutoscaler = rendered.get("HorizontalPodAutoscaler", FULLNAME).unwrap();
    let spec = hpa.spec;
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 6));
    assert_eq!(spec.scale_target_ref.name, FULLNAME);
    assert_eq!(spec.metrics.unwrap().len(), 2);
    let pdb: PodDisruptionBudget = rendered.get("PodDisruptionBudget", FULLNAME).unwrap();
    assert_eq!(pdb.spec.unwrap().max_unavailable, Some(IntOrString::Int(1)));
    let pod = common::pod(&rendered).spec.unwrap();
    assert_eq!(pod.termination_grace_period_seconds, Some(40));
    let spread = &pod.topology_spread_constraints.unwrap()[0];
    let selector = spread.label_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
    assert_eq!(
        selector["app.kubernetes.io/instance"], "gw",
        "the selector is filled in"
    );
}
