//! Metrics discovery: the scrape port the gateway opens (bootstrap.values
//! metrics.prometheusPort) on the pod, its own ClusterIP Service, the ServiceMonitor and
//! PodMonitor, scrape annotations, and the NetworkPolicy rule letting the scraper in.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::common::{self, FULLNAME};

fn metrics_service() -> String {
    format!("{FULLNAME}-metrics")
}

/// The rendered object of `kind` (a kind k8s-openapi has no type for), as JSON.
fn object(rendered: &light_gateway_conformance::render::Rendered, kind: &str) -> Option<Value> {
    rendered
        .objects()
        .unwrap()
        .into_iter()
        .find(|o| o.kind() == kind)
        .map(|o| o.value)
}

#[test]
fn the_metrics_port_is_on_the_pod_and_on_its_own_cluster_ip_service_only() {
    let rendered = common::render(&json!({}));
    let ports = common::container(&rendered).ports.unwrap();
    let metrics = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("metrics"))
        .expect("metrics port");
    assert_eq!(metrics.container_port, 9464);
    assert_eq!(common::values_yml(&rendered)["metrics.prometheusPort"], 9464);
    let own: Service = rendered.get("Service", &metrics_service()).unwrap();
    let spec = own.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    let port = &spec.ports.unwrap()[0];
    assert_eq!((port.name.as_deref(), port.port), (Some("metrics"), 9464));
    assert_eq!(port.target_port, Some(IntOrString::String("metrics".into())));
    let gateway: Service = rendered.get("Service", FULLNAME).unwrap();
    assert!(
        gateway
            .spec
            .unwrap()
            .ports
            .unwrap()
            .iter()
            .all(|p| p.name.as_deref() != Some("metrics")),
        "the gateway's Service (maybe a LoadBalancer) never carries the metrics port"
    );
    assert!(object(&rendered, "ServiceMonitor").is_none() && object(&rendered, "PodMonitor").is_none());
    let annotations = common::pod(&rendered).metadata.unwrap().annotations.unwrap_or_default();
    assert!(
        !annotations.contains_key("prometheus.io/scrape"),
        "annotations are opt-in"
    );
}

#[test]
fn metrics_off_opens_no_port_service_or_policy_rule() {
    let values = json!({"bootstrap": {"values": {"metrics.enabled": false}}, "networkPolicy": {"enabled": true}});
    let rendered = common::render(&values);
    let ports = common::container(&rendered).ports.unwrap();
    assert!(ports.iter().all(|p| p.name.as_deref() != Some("metrics")));
    assert!(rendered.get::<Service>("Service", &metrics_service()).is_err());
    let policy: NetworkPolicy = rendered.get("NetworkPolicy", FULLNAME).unwrap();
    assert_eq!(policy.spec.unwrap().ingress.unwrap().len(), 1, "gateway ports only");
}

#[test]
fn monitors_annotations_and_the_policy_follow_the_metrics_scenario() {
    let rendered = common::render_scenario("metrics");
    let monitor = object(&rendered, "ServiceMonitor").expect("ServiceMonitor");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack");
    let own: Service = rendered.get("Service", &metrics_service()).unwrap();
    let service_labels = own.metadata.labels.unwrap();
    let selector = monitor["spec"]["selector"]["matchLabels"].as_object().unwrap();
    for (key, value) in selector {
        assert_eq!(
            service_labels.get(key).map(String::as_str),
            value.as_str(),
            "selects the metrics Service: {key}"
        );
    }
    let namespaces = monitor["spec"]["namespaceSelector"]["matchNames"].as_array().unwrap();
    assert_eq!(namespaces.len(), 1, "the release's namespace only");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(
        (
            endpoint["port"].as_str(),
            endpoint["path"].as_str(),
            endpoint["interval"].as_str(),
            endpoint["scrapeTimeout"].as_str()
        ),
        (Some("metrics"), Some("/prometheus"), Some("30s"), Some("10s"))
    );
    let pods = object(&rendered, "PodMonitor").expect("PodMonitor");
    let endpoint = &pods["spec"]["podMetricsEndpoints"][0];
    assert_eq!(
        (
            endpoint["port"].as_str(),
            endpoint["path"].as_str(),
            endpoint["interval"].as_str()
        ),
        (Some("metrics"), Some("/prometheus"), Some("1m"))
    );
    assert!(endpoint.get("scrapeTimeout").is_none(), "empty leaves Prometheus's");
    let pod_labels = common::pod(&rendered).metadata.unwrap().labels.unwrap();
    for (key, value) in pods["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            pod_labels.get(key).map(String::as_str),
            value.as_str(),
            "selects the gateway pods: {key}"
        );
    }
    let annotations = common::pod(&rendered).metadata.unwrap().annotations.unwrap();
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], "9100");
    assert_eq!(annotations["prometheus.io/path"], "/prometheus");

    let policy: NetworkPolicy = rendered.get("NetworkPolicy", FULLNAME).unwrap();
    let ingress = policy.spec.unwrap().ingress.unwrap();
    assert_eq!(ingress.len(), 2, "gateway ports, then the metrics port");
    let ports: Vec<_> = ingress[1].ports.iter().flatten().map(|p| p.port.clone()).collect();
    assert_eq!(ports, [Some(IntOrString::Int(9100))]);
    let from = ingress[1].from.as_ref().expect("only the monitoring namespace");
    assert_eq!(from.len(), 1);
    let gateway_ports: Vec<_> = ingress[0].ports.iter().flatten().map(|p| p.port.clone()).collect();
    assert_eq!(
        gateway_ports,
        [Some(IntOrString::Int(8080))],
        "the scraper gets no way to MCP"
    );
}
