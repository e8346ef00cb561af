//! Tests of `ops.rs`.

use serde_json::{Value, json};

use super::*;
use crate::platform::kube::canned;

fn pod(name: &str, hash: &str, ready: bool, started: &str, restarts: i32, state: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"pod-template-hash": hash}, "creationTimestamp": started},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "light-gateway", "ready": ready, "restartCount": restarts,
                                   "image": "i", "imageID": "", "state": state}]
        }
    }))
    .unwrap()
}

fn running_since(t: &str) -> Value {
    json!({"running": {"startedAt": t}})
}

#[test]
fn the_gateway_is_the_ready_pod_that_started_last() {
    let pods = vec![
        pod(
            "a",
            "h1",
            true,
            "2026-01-01T00:00:00Z",
            0,
            running_since("2026-01-01T00:00:01Z"),
        ),
        pod(
            "b",
            "h1",
            true,
            "2026-01-01T00:00:00Z",
            0,
            running_since("2026-01-01T00:00:05Z"),
        ),
        pod(
            "c",
            "h2",
            false,
            "2026-01-01T00:01:00Z",
            0,
            json!({"waiting": {"reason": "ContainerCreating"}}),
        ),
    ];
    assert_eq!(newest_ready(&pods, "light-gateway", None).as_deref(), Some("b"));
    assert_eq!(newest_ready(&pods, "light-gateway", Some("h2")), None);
    assert_eq!(newest(&pods, Some("h2")).as_deref(), Some("c"));
    assert_eq!(running(&pods, "light-gateway").as_deref(), Some("a"));
    let mut terminating = pods[1].clone();
    terminating.metadata.deletion_timestamp = pods[1].metadata.creation_timestamp.clone();
    assert_eq!(
        newest_ready(&[pods[0].clone(), terminating], "light-gateway", None).as_deref(),
        Some("a")
    );
}

fn status(value: Value) -> Status {
    serde_json::from_value(value).unwrap()
}

#[test]
fn exec_exit_codes_come_from_the_final_status() {
    assert_eq!(exit_code(Some(&status(json!({"status": "Success"})))), Ok(0));
    let failed = status(json!({"status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}));
    assert_eq!(exit_code(Some(&failed)), Ok(3));
    let not_started = status(json!({"status": "Failure", "reason": "InternalError",
        "message": "exec: \"nope\": executable file not found in $PATH"}));
    assert!(
        exit_code(Some(&not_started))
            .unwrap_err()
            .contains("executable file not found")
    );
    assert!(exit_code(None).is_err());
}

#[test]
fn an_exit_counts_from_the_baseline_restart_count() {
    let running = pod(
        "a",
        "h",
        true,
        "2026-01-01T00:00:00Z",
        2,
        running_since("2026-01-01T00:00:01Z"),
    );
    assert_eq!(exited_since(&running, "light-gateway", 2), None);
    let terminated = pod(
        "a",
        "h",
        false,
        "2026-01-01T00:00:00Z",
        2,
        json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
    );
    assert_eq!(exited_since(&terminated, "light-gateway", 2), Some(Some(0)));
    let mut restarted: Value = serde_json::to_value(pod(
        "a",
        "h",
        false,
        "2026-01-01T00:00:00Z",
        3,
        running_since("2026-01-01T00:00:09Z"),
    ))
    .unwrap();
    restarted["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 143}});
    let restarted: Pod = serde_json::from_value(restarted).unwrap();
    assert_eq!(exited_since(&restarted, "light-gateway", 2), Some(Some(143)));
}

#[test]
fn the_service_proxy_path_names_scheme_service_and_port() {
    let plain = ServiceRef {
        namespace: "light-gateway".into(),
        name: "gw-light-gateway".into(),
        port: "http".into(),
        https: false,
    };
    assert_eq!(
        plain.proxy_path("/health"),
        "/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/health"
    );
    let tls = ServiceRef {
        https: true,
        port: "https".into(),
        ..plain
    };
    assert_eq!(
        tls.proxy_path("health"),
        "/api/v1/namespaces/light-gateway/services/https:gw-light-gateway:https/proxy/health"
    );
}

#[tokio::test]
async fn proxy_get_passes_any_status_through() {
    let (client, server) = canned::server(|_| (503, Value::String("draining".into())));
    let (status, body) = proxy_get(
        &client,
        "/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/health",
    )
    .await
    .unwrap();
    assert_eq!((status, body.as_str()), (503, "draining"));
    drop(client);
    let seen = server.await.unwrap();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].uri,
        "/api/v1/namespaces/light-gateway/services/gw-light-gateway:http/proxy/health"
    );
}

#[tokio::test]
async fn scaling_patches_the_scale_subresource_and_waits_for_the_pods_to_go() {
    let mut lists = 0;
    let (client, server) = canned::server(move |seen| match seen.method.as_str() {
        "PATCH" => (
            200,
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "mcp-backend-b"}, "spec": {"replicas": 0}}),
        ),
        _ => {
            lists += 1;
            let items = if lists == 1 {
                vec![json!({"metadata": {"name": "mcp-backend-b-1", "deletionTimestamp": "2026-01-01T00:00:00Z"}})]
            } else {
                vec![]
            };
            (
                200,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}),
            )
        }
    });
    scale(&client, "tools", "mcp-backend-b", 0).await.unwrap();
    let quick = Duration::from_millis(1);
    wait_no_pods(
        &client,
        "tools",
        "app.kubernetes.io/name=mcp-backend-b",
        Duration::from_secs(5),
        quick,
    )
    .await
    .unwrap();
    drop(client);
    let seen = server.await.unwrap();
    assert_eq!(
        seen[0].path(),
        "/apis/apps/v1/namespaces/tools/deployments/mcp-backend-b/scale"
    );
    assert_eq!(seen[0].content_type.as_deref(), Some("application/merge-patch+json"));
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({"spec": {"replicas": 0}})
    );
    assert_eq!(seen.len(), 3, "waited while a terminating pod remained: {seen:?}");
}

#[tokio::test]
async fn waiting_for_an_exit_polls_the_pod_until_its_container_terminated() {
    let mut polls = 0;
    let (client, _server) = canned::server(move |_| {
        polls += 1;
        let state = if polls < 3 {
            running_since("2026-01-01T00:00:01Z")
        } else {
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}})
        };
        (
            200,
            serde_json::to_value(pod("gw-1", "h", false, "2026-01-01T00:00:00Z", 0, state)).unwrap(),
        )
    });
    let quick = Duration::from_millis(1);
    let code = wait_exit(
        &client,
        "light-gateway",
        "gw-1",
        "light-gateway",
        0,
        Duration::from_secs(5),
        quick,
    )
    .await
    .unwrap();
    assert_eq!(code, Some(0));
}

#[test]
fn events_read_oldest_first() {
    let events: Vec<Event> = serde_json::from_value(json!([
        {"metadata": {"name": "e2"}, "involvedObject": {"kind": "Pod", "name": "gw-1"}, "reason": "BackOff",
         "type": "Warning", "message": "Back-off restarting failed container", "count": 4,
         "lastTimestamp": "2026-01-01T00:00:09Z"},
        {"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "gw-1"}, "reason": "Pulled",
         "type": "Normal", "message": "Container image already present", "lastTimestamp": "2026-01-01T00:00:01Z"}
    ]))
    .unwrap();
    let text = event_lines(&events);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "2026-01-01T00:00:01Z Normal Pulled Pod/gw-1: Container image already present",
            "2026-01-01T00:00:09Z Warning BackOff Pod/gw-1: Back-off restarting failed container (x4)"
        ]
    );
}

#[test]
fn pod_yaml_leaves_managed_fields_out() {
    let mut p = pod(
        "gw-1",
        "h",
        true,
        "2026-01-01T00:00:00Z",
        0,
        running_since("2026-01-01T00:00:01Z"),
    );
    p.metadata.managed_fields = Some(vec![Default::default()]);
    let yaml = pods_yaml(&[p]);
    assert!(yaml.contains("gw-1"), "{yaml}");
    assert!(!yaml.contains("managedFields"), "{yaml}");
}
