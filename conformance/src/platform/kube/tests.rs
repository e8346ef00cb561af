//! The kube target over canned chart output and a canned API server: what it reads out of the
//! rendered chart, and restarts, backends, logs and readiness as API calls.

use super::setup::service_url;
use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::platform::Cache;
use crate::render::{LintReport, Release, RenderError, Rendered};

fn golden(name: &str) -> Deployment {
    let path = format!("{}/../chart/tests/golden/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let rendered = Rendered::new(BTreeMap::from([(name.to_string(), text)]), None);
    Deployment::new(Release::new("gw", "light-gateway"), json!({}), rendered).unwrap()
}

#[test]
fn the_gateway_is_read_out_of_the_default_chart() {
    let gateway = gateway_of(&golden("default")).unwrap();
    assert_eq!(
        gateway,
        Gateway {
            namespace: "light-gateway".into(),
            deployment: "gw-light-gateway".into(),
            selector: "app.kubernetes.io/instance=gw,app.kubernetes.io/name=light-gateway".into(),
            container: "light-gateway".into(),
            port: 8080,
            protocol: "http".into(),
            service: Some(ServiceRef {
                namespace: "light-gateway".into(),
                name: "gw-light-gateway".into(),
                port: "http".into(),
                https: false,
            }),
            cache_mount: None,
        }
    );
    assert_eq!(gateway_image(&golden("default")).unwrap(), "light-gateway:0.1.0");
}

#[test]
fn a_pvc_cache_and_an_https_service_are_found() {
    assert_eq!(
        gateway_of(&golden("pvc-cache")).unwrap().cache_mount.as_deref(),
        Some("/app/config-cache")
    );
    let https = gateway_of(&golden("https-only")).unwrap();
    assert_eq!((https.port, https.protocol.as_str()), (8443, "https"));
    let service = https.service.unwrap();
    assert_eq!((service.port.as_str(), service.https), ("https", true));
}

#[test]
fn the_service_url_goes_through_the_api_servers_proxy() {
    let service = ServiceRef {
        namespace: "light-gateway".into(),
        name: "gw-light-gateway".into(),
        port: "http".into(),
        https: false,
    };
    let url = service_url(&url::Url::parse("https://127.0.0.1:43615/").unwrap(), &service);
    assert_eq!(
        url.as_str(),
        "https://127.0.0.1:43615/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/"
    );
    let prefixed = service_url(
        &url::Url::parse("https://rancher.example/k8s/clusters/c-1").unwrap(),
        &service,
    );
    assert_eq!(
        prefixed.path(),
        "/k8s/clusters/c-1/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/"
    );
}

/// A chart engine that renders a small gateway chart from the values, the way the real chart
/// reacts to them: the token in the Secret and its checksum, podAnnotations on the pods.
struct FakeChart {
    renders: Mutex<Vec<Value>>,
}

impl FakeChart {
    fn objects(values: &Value) -> Vec<Value> {
        let token = values
            .pointer("/secret/portalAuthorization")
            .cloned()
            .unwrap_or(json!(""));
        let mut annotations = json!({"checksum/secret": format!("sum-of-{}", token.as_str().unwrap_or_default())});
        if let Some(extra) = values.get("podAnnotations").and_then(Value::as_object) {
            for (k, v) in extra {
                annotations[k] = v.clone();
            }
        }
        let labels = json!({"app.kubernetes.io/name": "light-gateway", "app.kubernetes.io/instance": "gw"});
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gw-light-gateway-bootstrap"},
                   "data": {"values.yml": "server.httpPort: 8080\nserver.serviceId: s\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gw-light-gateway"},
                   "stringData": {"LIGHT_PORTAL_AUTHORIZATION": token}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gw-light-gateway"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels, "annotations": annotations},
                                         "spec": {"containers": [{"name": "light-gateway", "image": "light-gateway:0.1.0",
                                                                  "ports": [{"name": "http", "containerPort": 8080}]}]}}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw-light-gateway"},
                   "spec": {"selector": labels, "ports": [{"name": "http", "port": 8080}]}}),
        ]
    }
}

impl ChartRenderer for FakeChart {
    fn describe(&self) -> String {
        "a fake chart".into()
    }

    fn render(&self, _chart: &Path, values: &Value, _release: &Release) -> Result<Rendered, RenderError> {
        self.renders.lock().unwrap().push(values.clone());
        let text = Self::objects(values)
            .iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n");
        Ok(Rendered::new(
            BTreeMap::from([("light-gateway/templates/all.yaml".to_string(), text)]),
            None,
        ))
    }

    fn lint(&self, _chart: &Path, _values: &Value, _namespace: &str) -> Result<LintReport, RenderError> {
        Ok(LintReport::default())
    }

    fn validate_schema(&self, _chart: &Path, _values: &Value) -> Result<(), RenderError> {
        Ok(())
    }
}

/// A gateway stand-in on 127.0.0.1 that admits every request.
async fn admitting_gateway() -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
            });
        }
    });
    url
}

fn backend(name: &str, service: &str) -> Fixture {
    Fixture {
        name: name.into(),
        namespace: "tools".into(),
        service: service.into(),
        port: 8080,
        command: Vec::new(),
    }
}

/// A target over `client` whose gateway endpoint is `gateway`, deployed with `values`.
fn target(client: kube::Client, gateway: url::Url, values: Value) -> (KubeTarget, Arc<FakeChart>) {
    let chart = Arc::new(FakeChart {
        renders: Mutex::new(Vec::new()),
    });
    let release = Release::new("gw", "light-gateway");
    let deployed = Deployment::new(
        release,
        values.clone(),
        chart
            .render(Path::new("chart"), &values, &Release::new("gw", "light-gateway"))
            .unwrap(),
    )
    .unwrap();
    chart.renders.lock().unwrap().clear();
    struct Shared(Arc<FakeChart>);
    impl ChartRenderer for Shared {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn render(&self, chart: &Path, values: &Value, release: &Release) -> Result<Rendered, RenderError> {
            self.0.render(chart, values, release)
        }
        fn lint(&self, chart: &Path, values: &Value, namespace: &str) -> Result<LintReport, RenderError> {
            self.0.lint(chart, values, namespace)
        }
        fn validate_schema(&self, chart: &Path, values: &Value) -> Result<(), RenderError> {
            self.0.validate_schema(chart, values)
        }
    }
    let timeouts = Timeouts {
        poll_min: Duration::from_millis(1),
        poll_max: Duration::from_millis(2),
        startup: Duration::from_secs(5),
        rollout: Duration::from_secs(5),
        ..Timeouts::default()
    };
    let unused = url::Url::parse("http://127.0.0.1:9").unwrap();
    let target = KubeTarget {
        name: "cluster",
        client: client.clone(),
        cluster: Cluster::Current { context: None },
        keep: true,
        renderer: Box::new(Shared(chart.clone())),
        chart: PathBuf::from("chart"),
        gateway: gateway_of(&deployed).unwrap(),
        fixtures: vec![
            backend("backend-a", "mcp-backend-a"),
            backend("backend-b", "mcp-backend-b"),
        ],
        applier: Applier::new(client),
        made: Made::default(),
        endpoints: Endpoints {
            gateway,
            service: None,
            mcp_path: "/mcp".into(),
            config_server_admin: unused.clone(),
            controller_admin: unused.clone(),
            key_service_admin: unused,
            backends: Vec::new(),
            metrics: None,
        },
        current: Arc::new(RwLock::new("gw-old-1".into())),
        forwards: Vec::new(),
        http: crate::peers::http_client(Duration::from_secs(5)),
        timeouts,
        waits: Waits::of(&timeouts),
        state: tokio::sync::Mutex::new(State {
            applied: deployed.clone(),
            previous: Previous::None,
        }),
        deployed,
    };
    (target, chart)
}

fn resources(group_version: &str, list: &[(&str, &str)]) -> Value {
    let resources: Vec<Value> = list
        .iter()
        .map(|(name, kind)| {
            json!({"name": name, "singularName": "", "namespaced": true, "kind": kind,
                   "verbs": ["get", "list", "patch", "delete"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn pod(name: &str, hash: &str, started: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "creationTimestamp": started,
                        "labels": {"app.kubernetes.io/name": "light-gateway", "app.kubernetes.io/instance": "gw",
                                   "pod-template-hash": hash}},
           "status": {"conditions": [{"type": "Ready", "status": "True"}],
                      "containerStatuses": [{"name": "light-gateway", "ready": true, "restartCount": 0,
                                             "image": "i", "imageID": "",
                                             "state": {"running": {"startedAt": started}}}]}})
}

/// The API server of a cluster where every rollout completes at revision 2 ("new").
fn rolling_cluster(seen: &crate::platform::kube::canned::Seen) -> (u16, Value) {
    let labels = json!({"app.kubernetes.io/name": "light-gateway", "app.kubernetes.io/instance": "gw"});
    match (seen.method.as_str(), seen.path()) {
        ("GET", "/api/v1/namespaces/light-gateway/pods/gw-old-1/log") => {
            (200, Value::String("old run\nstopped\n".into()))
        }
        ("GET", "/api/v1") => (
            200,
            resources(
                "v1",
                &[
                    ("configmaps", "ConfigMap"),
                    ("secrets", "Secret"),
                    ("services", "Service"),
                    ("pods", "Pod"),
                ],
            ),
        ),
        ("GET", "/apis/apps/v1") => (
            200,
            resources(
                "apps/v1",
                &[("deployments", "Deployment"), ("replicasets", "ReplicaSet")],
            ),
        ),
        ("PATCH", _) => (200, serde_json::from_str(&seen.body).unwrap_or(json!({}))),
        ("GET", "/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway") => (
            200,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "gw-light-gateway", "generation": 2, "uid": "d",
                                "annotations": {"deployment.kubernetes.io/revision": "2"}},
                   "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {}},
                   "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}}),
        ),
        ("GET", "/apis/apps/v1/namespaces/light-gateway/replicasets") => (
            200,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {}, "items": [
                {"metadata": {"name": "gw-light-gateway-new", "labels": {"pod-template-hash": "new"},
                              "annotations": {"deployment.kubernetes.io/revision": "2"},
                              "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "gw-light-gateway", "uid": "d"}]},
                 "spec": {"selector": {"matchLabels": labels}}}]}),
        ),
        ("GET", "/api/v1/namespaces/light-gateway/pods") => (
            200,
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
                pod("gw-new-1", "new", "2026-01-01T00:01:00Z"), pod("gw-new-2", "new", "2026-01-01T00:02:00Z")]}),
        ),
        ("GET", path) if path.starts_with("/api/v1/namespaces/light-gateway/pods/gw-new-") => (
            200,
            pod(
                path.rsplit('/').next().unwrap_or_default(),
                "new",
                "2026-01-01T00:02:00Z",
            ),
        ),
        _ => crate::platform::kube::canned::not_found(),
    }
}

fn applied_deployment(seen: &[crate::platform::kube::canned::Seen]) -> Value {
    let patch = seen
        .iter()
        .find(|s| s.method == "PATCH" && s.path().ends_with("/deployments/gw-light-gateway"))
        .expect("the Deployment was applied");
    serde_json::from_str(&patch.body).unwrap()
}

#[tokio::test]
async fn a_restart_without_changes_rolls_the_pods_by_annotation_and_follows_the_newest_pod() {
    let (client, server) = canned::server(rolling_cluster);
    let gateway = admitting_gateway().await;
    let values = json!({"secret": {"portalAuthorization": "Bearer a"}});
    let (target, chart) = target(client, gateway, values);
    assert_eq!(target.restart(&Restart::as_deployed()).await.unwrap(), Started::Ready);
    assert_eq!(target.current_pod(), "gw-new-2", "the pod that started last");
    // The replaced pod's log, followed to its end.
    let mut previous = String::new();
    for _ in 0..100 {
        previous = target.previous_gateway_logs().await.unwrap();
        if previous.contains("stopped") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(previous, "old run\nstopped\n");
    let renders = chart.renders.lock().unwrap().clone();
    assert_eq!(renders.len(), 2, "rendered once as is, then with the roll annotation");
    drop(target);
    let seen = server.await.unwrap();
    let deployment = applied_deployment(&seen);
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert!(annotations[restart::ROLL_ANNOTATION].is_string(), "{annotations}");
    assert_eq!(deployment["metadata"]["namespace"], "light-gateway");
    let follow = seen.iter().find(|s| s.path().ends_with("/gw-old-1/log")).unwrap();
    assert!(follow.uri.contains("follow=true"), "{}", follow.uri);
    let kinds: Vec<&str> = seen
        .iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.path().rsplit('/').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        ["secrets", "configmaps", "services", "deployments"],
        "Helm's order"
    );
}

#[tokio::test]
async fn a_token_override_changes_the_secret_and_rolls_through_its_checksum() {
    let (client, server) = canned::server(rolling_cluster);
    let gateway = admitting_gateway().await;
    let (target, chart) = target(client, gateway, json!({"secret": {"portalAuthorization": "Bearer a"}}));
    let mut restart = Restart::as_deployed();
    restart.env = vec![("LIGHT_PORTAL_AUTHORIZATION".into(), "Bearer rotated".into())];
    assert_eq!(target.restart(&restart).await.unwrap(), Started::Ready);
    assert_eq!(
        chart.renders.lock().unwrap().len(),
        1,
        "the checksum changed: no annotation needed"
    );
    drop(target);
    let seen = server.await.unwrap();
    let secret = seen
        .iter()
        .find(|s| s.method == "PATCH" && s.path().ends_with("/secrets/gw-light-gateway"))
        .unwrap();
    let secret: Value = serde_json::from_str(&secret.body).unwrap();
    assert_eq!(secret["stringData"]["LIGHT_PORTAL_AUTHORIZATION"], "Bearer rotated");
    let deployment = applied_deployment(&seen);
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["checksum/secret"], "sum-of-Bearer rotated");
    assert!(annotations.get(restart::ROLL_ANNOTATION).is_none(), "{annotations}");
}

#[tokio::test]
async fn keeping_an_emptydir_cache_with_overrides_is_refused_before_anything_is_touched() {
    let (client, server) = canned::server(rolling_cluster);
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    let mut restart = Restart {
        cache: Cache::Keep,
        ..Restart::as_deployed()
    };
    restart
        .values
        .insert("server.startOnRegistryFailure".into(), json!(false));
    assert!(target.restart(&restart).await.is_err());
    drop(target);
    assert!(server.await.unwrap().is_empty());
}

#[tokio::test]
async fn backends_scale_to_none_and_back_and_unknown_ones_are_named() {
    let (client, server) = canned::server(|seen| match (seen.method.as_str(), seen.path()) {
        ("PATCH", _) => (
            200,
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {}}),
        ),
        ("GET", "/api/v1/namespaces/tools/pods") => (
            200,
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []}),
        ),
        ("GET", "/apis/apps/v1/namespaces/tools/deployments/mcp-backend-b") => (
            200,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mcp-backend-b", "generation": 3},
                   "spec": {"replicas": 1, "selector": {}, "template": {}},
                   "status": {"observedGeneration": 3, "updatedReplicas": 1, "replicas": 1, "availableReplicas": 1}}),
        ),
        _ => canned::not_found(),
    });
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    target.set_backend("backend-b", false).await.unwrap();
    target.set_backend("backend-b", true).await.unwrap();
    let err = target.set_backend("backend-c", true).await.unwrap_err().to_string();
    assert_eq!(err, "switching backend backend-c: no such backend");
    drop(target);
    let seen = server.await.unwrap();
    let scales: Vec<String> = seen
        .iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| format!("{} {}", s.path(), s.body))
        .collect();
    assert_eq!(
        scales,
        [
            r#"/apis/apps/v1/namespaces/tools/deployments/mcp-backend-b/scale {"spec":{"replicas":0}}"#,
            r#"/apis/apps/v1/namespaces/tools/deployments/mcp-backend-b/scale {"spec":{"replicas":1}}"#
        ]
    );
}

#[tokio::test]
async fn pod_stability_expects_the_live_replica_count() {
    let (client, server) = canned::server(|seen| match seen.path() {
        "/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway" => (
            200,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gw-light-gateway"},
                   "spec": {"replicas": 3, "selector": {}, "template": {}}}),
        ),
        _ => (
            200,
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod("gw-new-1", "new", "2026-01-01T00:00:00Z")]}),
        ),
    });
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    let err = target
        .pods_stable(Duration::from_millis(1))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "watching the gateway pods: 3 pods expected, saw 1 then 1");
    drop(target);
    let seen = server.await.unwrap();
    assert!(
        seen[1]
            .uri
            .contains("labelSelector=app.kubernetes.io%2Finstance%3Dgw%2Capp.kubernetes.io%2Fname%3Dlight-gateway"),
        "{}",
        seen[1].uri
    );
}

#[tokio::test]
async fn logs_are_the_current_pods_and_fall_back_to_its_last_run() {
    let (client, _server) = canned::server(|seen| {
        if seen.uri.contains("previous=true") {
            (200, Value::String("crashed run\n".into()))
        } else {
            (
                400,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 400, "reason": "BadRequest",
                       "message": "container \"light-gateway\" in pod \"gw-old-1\" is waiting to start: CrashLoopBackOff"}),
            )
        }
    });
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    assert_eq!(target.gateway_logs().await.unwrap(), "crashed run\n");
    assert_eq!(target.previous_gateway_logs().await.unwrap(), "", "no restart yet");
}

#[tokio::test]
async fn fixture_logs_are_named_after_the_fixtures() {
    let (client, _server) = canned::server(|seen| match seen.path() {
        "/api/v1/namespaces/tools/pods" if seen.uri.contains("mcp-backend-a") => (
            200,
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [{"metadata": {"name": "mcp-backend-a-1"}}]}),
        ),
        "/api/v1/namespaces/tools/pods" => (
            200,
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []}),
        ),
        _ => (
            200,
            Value::String("LISTENING main=http://0.0.0.0:8080 admin=http://0.0.0.0:9000\n".into()),
        ),
    });
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    let logs = target.fixture_logs().await;
    assert_eq!(
        logs,
        [
            (
                "backend-a".to_string(),
                "LISTENING main=http://0.0.0.0:8080 admin=http://0.0.0.0:9000\n".to_string()
            ),
            ("backend-b".to_string(), "(no pod: stopped)\n".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_service_is_asked_through_the_proxy() {
    let (client, server) = canned::server(|_| (200, Value::String("ok".into())));
    let (target, _) = target(client, admitting_gateway().await, json!({}));
    assert_eq!(target.service_get("/health").await.unwrap(), (200, "ok".to_string()));
    assert_eq!(target.name(), "cluster");
    assert_eq!(
        target.features(),
        [Feature::Kubernetes, Feature::Service, Feature::Containers]
    );
    drop(target);
    let seen = server.await.unwrap();
    assert_eq!(
        seen[0].uri,
        "/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/health"
    );
}

#[tokio::test]
async fn kind_is_unavailable_where_it_is_missing() {
    let Some(why) = kind_missing() else {
        return;
    };
    let scenario = Scenario {
        chart: PathBuf::from("chart"),
        values: json!({}),
        runtime_config: String::new(),
        source: "test".into(),
    };
    let chart = FakeChart {
        renders: Mutex::new(Vec::new()),
    };
    let options = KubeOptions {
        cluster: Cluster::Kind {
            name: "lgc-test".into(),
            config: PathBuf::from("kind/cluster.yaml"),
        },
        fixtures_image: "light-gateway-fixtures:0.1.0".into(),
        keep: false,
    };
    match KubeTarget::provision(&scenario, &chart, options).await {
        Err(TargetError::Unavailable(reason)) => assert_eq!(reason, why),
        Err(other) => panic!("expected Unavailable, got {other}"),
        Ok(_) => panic!("provisioned without kind"),
    }
    assert!(
        chart.renders.lock().unwrap().is_empty(),
        "nothing rendered before the check"
    );
}
