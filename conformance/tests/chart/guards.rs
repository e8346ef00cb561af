//! Bad input fails the render: guard rails of templates/validate.yaml with their exact
//! message, and values.schema.json refusals.

use light_gateway_conformance::render::RenderError;
use rstest::rstest;
use serde_json::{Value, json};

use crate::common;

fn https_without_tls() -> Value {
    json!({"bootstrap": {"values": {"server.enableHttps": true}}})
}

#[rstest]
#[case::mutable_image_tag(
    json!({"image": {"tag": "latest"}}),
    "ERROR: image.tag \"latest\" is mutable: pin a version (or image.digest), or set image.allowMutableTag: true"
)]
#[case::key_service_secret_in_the_config_map(
    json!({"bootstrap": {"values": {"client.tokenKeyClientSecret": "s3cret"}}}),
    "ERROR: bootstrap.values.client.tokenKeyClientSecret is a secret: pass it from a Secret as the environment variable CLIENT_TOKENKEYCLIENTSECRET (extraEnv with valueFrom.secretKeyRef), never the ConfigMap"
)]
#[case::pdb_with_one_replica(
    json!({"replicas": 1, "podDisruptionBudget": {"enabled": true}}),
    "ERROR: podDisruptionBudget.enabled with replicas 1 and no autoscaling would block every node drain: set replicas >= 2 or enable autoscaling"
)]
#[case::pdb_with_neither_bound(
    json!({"podDisruptionBudget": {"enabled": true, "minAvailable": null, "maxUnavailable": null}}),
    "ERROR: podDisruptionBudget.enabled needs minAvailable or maxUnavailable (both are null)"
)]
#[case::pdb_max_unavailable_zero(
    json!({"podDisruptionBudget": {"enabled": true, "maxUnavailable": 0}}),
    "ERROR: podDisruptionBudget.maxUnavailable 0 lets no pod be evicted: node drains would never finish"
)]
#[case::pdb_max_unavailable_zero_percent(
    json!({"podDisruptionBudget": {"enabled": true, "maxUnavailable": "0%"}}),
    "ERROR: podDisruptionBudget.maxUnavailable 0% lets no pod be evicted: node drains would never finish"
)]
#[case::pdb_min_available_all_replicas(
    json!({"replicas": 2, "podDisruptionBudget": {"enabled": true, "minAvailable": 2}}),
    "ERROR: podDisruptionBudget.minAvailable 2 with as few as 2 pods (replicas) lets no pod be evicted: node drains would never finish; lower minAvailable or raise the pod count"
)]
#[case::pdb_min_available_hpa_floor(
    json!({"podDisruptionBudget": {"enabled": true, "minAvailable": 1}, "autoscaling": {"enabled": true, "minReplicas": 1}}),
    "ERROR: podDisruptionBudget.minAvailable 1 with as few as 1 pods (autoscaling.minReplicas) lets no pod be evicted: node drains would never finish; lower minAvailable or raise the pod count"
)]
#[case::pdb_min_available_hundred_percent(
    json!({"podDisruptionBudget": {"enabled": true, "minAvailable": "100%"}}),
    "ERROR: podDisruptionBudget.minAvailable 100% with as few as 2 pods (replicas) lets no pod be evicted: node drains would never finish; lower minAvailable or raise the pod count"
)]
#[case::pvc_read_write_once_with_two_replicas(
    json!({"cache": {"type": "pvc"}}),
    "ERROR: cache.pvc.accessModes [ReadWriteOnce] attach the claim to one node, but there can be 2 pods: pods scheduled on another node fail with Multi-Attach. Use ReadWriteMany or one replica, or set cache.pvc.acknowledgeSingleNode: true when every pod runs on one node"
)]
#[case::pvc_read_write_once_with_autoscaling(
    json!({"replicas": 1, "cache": {"type": "pvc"}, "autoscaling": {"enabled": true, "maxReplicas": 4}}),
    "ERROR: cache.pvc.accessModes [ReadWriteOnce] attach the claim to one node, but there can be 4 pods: pods scheduled on another node fail with Multi-Attach. Use ReadWriteMany or one replica, or set cache.pvc.acknowledgeSingleNode: true when every pod runs on one node"
)]
#[case::pvc_read_write_once_pod_with_two_replicas(
    json!({"cache": {"type": "pvc", "pvc": {"accessModes": ["ReadWriteOncePod"], "acknowledgeSingleNode": true}}}),
    "ERROR: cache.pvc.accessModes [ReadWriteOncePod] admit one pod, but there can be 2: use ReadWriteMany or one replica"
)]
#[case::bootstrap_value_split_at_its_dots(
    json!({"bootstrap": {"values": {"server": {"httpPort": 9090}}}}),
    "ERROR: bootstrap.values.server is a map (did --set split the key 'server.httpPort' at its dots?): the gateway reads values by dotted keys and would refuse it; keep the dots in the key: --set 'bootstrap.values.server\\.httpPort=...' or \"server.httpPort: ...\" in a values file"
)]
#[case::tls_secret_without_https(
    json!({"tls": {"existingSecret": "gw-tls"}}),
    "ERROR: tls.existingSecret gw-tls is set but server.enableHttps is false: the certificate would be mounted and never served; set bootstrap.values server.enableHttps: true, or drop tls.existingSecret"
)]
#[case::rust_log_in_extra_env(
    json!({"extraEnv": [{"name": "RUST_LOG", "value": "debug"}]}),
    "ERROR: extraEnv sets RUST_LOG, which the chart sets (RUST_LOG from logLevel, LOG_FORMAT from logFormat, the others from secret or existingSecret): use those values instead"
)]
#[case::extra_volume_named_like_the_cache(
    json!({"extraVolumes": [{"name": "config-cache", "emptyDir": {}}]}),
    "ERROR: extraVolumes has a volume named config-cache, which the chart defines: give it another name"
)]
#[case::discovery_token_in_the_config_map(
    json!({"bootstrap": {"values": {"portalRegistry.controllerDiscoveryToken": "abc123"}}}),
    "ERROR: bootstrap.values.portalRegistry.controllerDiscoveryToken is a token: pass it from a Secret as the environment variable PORTALREGISTRY_CONTROLLERDISCOVERYTOKEN (extraEnv with valueFrom.secretKeyRef), never the ConfigMap"
)]
#[case::common_label_the_chart_sets(
    json!({"commonLabels": {"app.kubernetes.io/version": "9"}}),
    "ERROR: commonLabels sets app.kubernetes.io/version, a label the chart sets itself (its selector and recommended labels): choose another key"
)]
#[case::pod_label_the_chart_sets(
    json!({"podLabels": {"app.kubernetes.io/name": "other"}}),
    "ERROR: podLabels sets app.kubernetes.io/name, a label the chart sets itself (its selector and recommended labels): choose another key"
)]
#[case::pod_template_label_the_chart_sets(
    json!({"podTemplate": {"metadata": {"labels": {"app.kubernetes.io/component": "edge"}}}}),
    "ERROR: podTemplate.metadata.labels sets app.kubernetes.io/component, a label the chart sets itself (its selector and recommended labels): choose another key"
)]
#[case::service_label_the_chart_sets(
    json!({"serviceTemplate": {"metadata": {"labels": {"app.kubernetes.io/instance": "x"}}}}),
    "ERROR: serviceTemplate.metadata.labels sets app.kubernetes.io/instance, a label the chart sets itself (its selector and recommended labels): choose another key"
)]
#[case::pod_annotation_the_chart_sets(
    json!({"podAnnotations": {"checksum/config": "pinned"}}),
    "ERROR: podAnnotations sets checksum/config, an annotation the chart sets itself (config checksums roll the pods; prometheus.io/* come from metrics.scrapeAnnotations): choose another key"
)]
#[case::node_port_outside_the_default_range(
    json!({"serviceType": "NodePort", "service": {"nodePorts": {"http": 8080}}}),
    "ERROR: service.nodePorts.http 8080 is outside the node-port range 30000-32767: pick a port inside it, or set service.nodePortRange to your cluster's --service-node-port-range"
)]
#[case::node_port_range_backwards(
    json!({"service": {"nodePortRange": "32767-30000"}}),
    "ERROR: service.nodePortRange 32767-30000 is not min-max"
)]
#[case::https_without_tls_source(
    https_without_tls(),
    "ERROR: server.enableHttps is true but there is no TLS source: set tls.existingSecret, or server.tlsCertPath and server.tlsKeyPath in bootstrap.values"
)]
#[case::verify_hostname_off(
    json!({"bootstrap": {"values": {"client.verifyHostname": false}}}),
    "ERROR: client.verifyHostname is false: fix the peers' certificate names instead, or set bootstrap.acknowledgeVerifyHostnameOff: true to accept the risk"
)]
#[case::http_probe_without_http(
    json!({"probes": {"type": "http"}, "tls": {"existingSecret": "t"},
           "bootstrap": {"values": {"server.enableHttp": false, "server.enableHttps": true}}}),
    "ERROR: probes.type is http but server.enableHttp is false: use probes.type auto, https or tcp"
)]
#[case::https_probe_without_https(
    json!({"probes": {"type": "https"}}),
    "ERROR: probes.type is https but server.enableHttps is false: use probes.type auto, http or tcp"
)]
#[case::no_listener(
    json!({"bootstrap": {"values": {"server.enableHttp": false}}}),
    "ERROR: server.enableHttp and server.enableHttps are both false: no listener would serve"
)]
#[case::same_port(
    json!({"tls": {"existingSecret": "t"}, "bootstrap": {"values": {"server.enableHttps": true, "server.httpsPort": 8080}}}),
    "ERROR: server.httpPort and server.httpsPort are the same port"
)]
#[case::token_key_in_bootstrap_values(
    json!({"bootstrap": {"values": {"LIGHT_PORTAL_AUTHORIZATION": "x"}}}),
    "ERROR: bootstrap.values.LIGHT_PORTAL_AUTHORIZATION is a secret: set secret.portalAuthorization / secret.configPassword or existingSecret instead, never the ConfigMap"
)]
#[case::bearer_value_in_bootstrap_values(
    json!({"bootstrap": {"values": {"portalRegistry.portalToken": "Bearer abc"}}}),
    "ERROR: bootstrap.values.portalRegistry.portalToken looks like a bearer token: put tokens in secret.portalAuthorization or existingSecret, never the ConfigMap"
)]
#[case::bearer_token_in_a_file(
    json!({"bootstrap": {"files": {"startup.yml": "authorization: Bearer eyJabc\n"}}}),
    "ERROR: bootstrap.files.startup.yml holds a bearer token: reference ${light_portal_authorization:} and put the token in secret.portalAuthorization or existingSecret"
)]
#[case::existing_secret_and_token(
    json!({"existingSecret": "s", "secret": {"portalAuthorization": "Bearer x"}}),
    "ERROR: existingSecret and secret.* are both set: the chart would ignore secret.*; keep one"
)]
#[case::grace_period_too_short(
    json!({"terminationGracePeriodSeconds": 7}),
    "ERROR: terminationGracePeriodSeconds (7) must exceed lifecycle.preStopSleepSeconds (5 s) plus server.shutdownGracefulPeriod (2000 ms), or pods are killed mid-drain"
)]
#[case::autoscaling_min_over_max(
    json!({"autoscaling": {"enabled": true, "minReplicas": 4, "maxReplicas": 3}}),
    "ERROR: autoscaling.minReplicas exceeds autoscaling.maxReplicas"
)]
#[case::autoscaling_without_target(
    json!({"autoscaling": {"enabled": true, "targetCPUUtilizationPercentage": null}}),
    "ERROR: autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage"
)]
#[case::metrics_port_is_a_listener_port(
    json!({"bootstrap": {"values": {"metrics.prometheusPort": 8080}}}),
    "ERROR: bootstrap.values metrics.prometheusPort 8080 is also a gateway listener port: give the scrape listener its own port"
)]
#[case::monitor_without_metrics(
    json!({"bootstrap": {"values": {"metrics.enabled": false}}, "metrics": {"podMonitor": {"enabled": true}}}),
    "ERROR: metrics.serviceMonitor / metrics.podMonitor is enabled but the gateway serves no metrics: set bootstrap.values metrics.prometheusPort (and metrics.enabled: true)"
)]
#[case::service_monitor_without_its_service(
    json!({"metrics": {"service": {"enabled": false}, "serviceMonitor": {"enabled": true}}}),
    "ERROR: metrics.serviceMonitor selects the metrics Service, but metrics.service.enabled is false: enable it, or use metrics.podMonitor"
)]
fn guard_rail_fails_the_render_with_its_message(#[case] values: Value, #[case] message: &str) {
    let error = common::render_err(&values);
    assert_eq!(error.fail_message(), Some(message), "{error}");
}

#[rstest]
#[case::mutable_tag_allowed(json!({"image": {"tag": "latest", "allowMutableTag": true}}))]
#[case::pdb_with_autoscaling(json!({"replicas": 1, "podDisruptionBudget": {"enabled": true}, "autoscaling": {"enabled": true}}))]
#[case::pdb_with_a_percentage_left_to_evict(json!({"podDisruptionBudget": {"enabled": true, "minAvailable": "50%"}}))]
#[case::pvc_read_write_once_on_one_node(json!({"cache": {"type": "pvc", "pvc": {"acknowledgeSingleNode": true}}}))]
#[case::pvc_read_write_once_with_one_replica(json!({"replicas": 1, "cache": {"type": "pvc"}}))]
#[case::pvc_existing_claim(json!({"cache": {"type": "pvc", "pvc": {"existingClaim": "kept"}}}))]
#[case::node_port_inside_a_wider_range(json!({"serviceType": "NodePort", "service": {"nodePorts": {"http": 8080}, "nodePortRange": "1-65535"}}))]
#[case::node_port_inside_the_default_range(json!({"serviceType": "NodePort", "service": {"nodePorts": {"https": 30443}}}))]
#[case::pdb_max_unavailable_one(json!({"podDisruptionBudget": {"enabled": true, "maxUnavailable": 1}}))]
#[case::https_with_cache_paths(json!({"bootstrap": {"values": {"server.enableHttps": true,
    "server.tlsCertPath": "config-cache/tls.crt", "server.tlsKeyPath": "config-cache/tls.key"}}}))]
#[case::metrics_on_its_own_port(json!({"bootstrap": {"values": {"metrics.prometheusPort": 9100}}}))]
#[case::pod_monitor_without_the_metrics_service(json!({"metrics": {"service": {"enabled": false}, "podMonitor": {"enabled": true}}}))]
fn the_way_out_named_by_a_guard_rail_works(#[case] values: Value) {
    common::render(&values);
}

#[test]
fn verify_hostname_off_is_allowed_with_the_acknowledgement_and_warned_about() {
    let values =
        json!({"bootstrap": {"values": {"client.verifyHostname": false}, "acknowledgeVerifyHostnameOff": true}});
    let rendered = common::render(&values);
    assert_eq!(common::values_yml(&rendered)["client.verifyHostname"], json!(false));
    let notes = rendered.notes.unwrap();
    assert!(notes.contains("WARNING: client.verifyHostname is false"), "{notes}");
    let default_notes = common::render(&json!({})).notes.unwrap();
    assert!(!default_notes.contains("verifyHostname"), "{default_notes}");
}

#[rstest]
#[case::zero_replicas(json!({"replicas": 0}), "/replicas")]
#[case::unknown_service_type(json!({"serviceType": "Foo"}), "/serviceType")]
#[case::unknown_key(json!({"replicaCount": 3}), "replicaCount")]
#[case::unknown_nested_key(json!({"podTemplate": {"spec": {"hostNetwork": true}}}), "hostNetwork")]
#[case::port_out_of_range(json!({"bootstrap": {"values": {"server.httpPort": 70000}}}), "server.httpPort")]
#[case::root_user(json!({"securityContext": {"runAsNonRoot": false}}), "/securityContext/runAsNonRoot")]
#[case::capabilities_kept(json!({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}), "/securityContext/capabilities/drop")]
#[case::values_yml_as_a_file(json!({"bootstrap": {"files": {"values.yml": "a: 1"}}}), "invalid propertyName 'values.yml'")]
fn schema_refuses(#[case] values: Value, #[case] pointer: &str) {
    let schema_error = common::helm().validate_schema(&common::chart(), &values).unwrap_err();
    let render_error = common::render_err(&values);
    for error in [schema_error, render_error] {
        match &error {
            RenderError::Schema { detail } => assert!(detail.contains(pointer), "{pointer} not in {detail}"),
            other => panic!("expected a schema error naming {pointer}, got {other}"),
        }
    }
}

#[test]
fn schema_accepts_every_scenario() {
    for scenario in common::scenarios() {
        common::helm()
            .validate_schema(&common::chart(), &common::scenario_values(&scenario))
            .unwrap_or_else(|e| panic!("{scenario}: {e}"));
    }
}

/// The config-file names the chart refuses as maps in bootstrap.values are the gateway's own
/// (the files it embeds in `gateway/config-defaults/`), so the two cannot drift apart.
#[test]
fn the_refused_map_keys_are_the_gateways_config_files() {
    let validate = std::fs::read_to_string(common::chart().join("templates/validate.yaml")).unwrap();
    let list = validate
        .split("(has $key (list ")
        .nth(1)
        .and_then(|rest| rest.split("))").next())
        .expect("the list of config-file keys in validate.yaml");
    let chart: std::collections::BTreeSet<String> = list
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_string())
        .collect();
    let gateway: std::collections::BTreeSet<String> =
        std::fs::read_dir(common::workspace().join("gateway/config-defaults"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".yml").map(str::to_string))
            .filter(|name| name != "values")
            .collect();
    assert_eq!(chart, gateway);
}

/// With the key's dots kept, the port reaches both the gateway and the chart's own objects.
#[test]
fn a_dotted_bootstrap_key_moves_the_listener_and_the_service() {
    let rendered = common::render(&json!({"bootstrap": {"values": {"server.httpPort": 9090}}}));
    assert_eq!(common::values_yml(&rendered)["server.httpPort"], json!(9090));
    let port = common::container(&rendered).ports.unwrap()[0].container_port;
    assert_eq!(port, 9090);
}
