//! The API calls against a canned API server (kube's client over tower-test's mock service).

use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

use super::*;

/// A client whose API server answers each request with the next of `answers`, and the paths it
/// was asked for.
fn canned(answers: Vec<Value>) -> (kube::Client, tokio::task::JoinHandle<Vec<String>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        let mut paths = Vec::new();
        for answer in answers {
            let Some((request, send)) = handle.next_request().await else {
                break;
            };
            paths.push(request.uri().to_string());
            let body = match answer {
                Value::String(text) => text.into_bytes(),
                other => serde_json::to_vec(&other).unwrap(),
            };
            send.send_response(Response::builder().body(Body::from(body)).unwrap());
        }
        paths
    });
    (kube::Client::new(service, "light-gateway"), server)
}

fn deployment(generation: i64, observed: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "gw-light-gateway", "namespace": "light-gateway", "generation": generation},
        "spec": {"replicas": 2, "selector": {}, "template": {}},
        "status": {"observedGeneration": observed, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    })
}

fn quick() -> Timeouts {
    Timeouts {
        rollout: Duration::from_secs(5),
        poll_min: Duration::from_millis(1),
        poll_max: Duration::from_millis(5),
        ..Timeouts::default()
    }
}

#[tokio::test]
async fn rollout_gate_waits_past_a_stale_condition_until_the_new_generation_is_observed() {
    let (client, server) = canned(vec![deployment(4, 3), deployment(4, 3), deployment(4, 4)]);
    let verdict = wait_rollout(client, "light-gateway", "gw-light-gateway", &quick()).await;
    assert!(verdict.unwrap().contains("generation 4 rolled out"));
    let paths = server.await.unwrap();
    assert_eq!(
        paths.len(),
        3,
        "kept polling while generation 4 was unobserved: {paths:?}"
    );
    assert!(paths[0].starts_with("/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway"));
}

fn pod_list(restarts: &[(&str, i32, bool)]) -> Value {
    let items: Vec<Value> = restarts
        .iter()
        .map(|(name, count, ready)| {
            json!({"metadata": {"name": name},
                   "status": {"conditions": [{"type": "Ready", "status": if *ready { "True" } else { "False" }}],
                              "containerStatuses": [{"name": "light-gateway", "ready": ready, "restartCount": count, "image": "i", "imageID": ""}]}})
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
}

#[tokio::test]
async fn readiness_window_counts_restarts_between_two_snapshots() {
    let (client, _) = canned(vec![
        pod_list(&[("a", 0, true), ("b", 0, true)]),
        pod_list(&[("a", 0, true), ("b", 1, true)]),
    ]);
    let err = pods_stable(client, "light-gateway", "app=gw", 2, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert!(err.contains("pod b restarted during the window (0 -> 1)"), "{err}");
    let (client, server) = canned(vec![pod_list(&[("a", 3, true)]), pod_list(&[("a", 3, true)])]);
    assert!(
        pods_stable(client, "light-gateway", "app=gw", 1, Duration::from_millis(1))
            .await
            .is_ok()
    );
    let paths = server.await.unwrap();
    assert!(paths[0].contains("labelSelector=app%3Dgw"), "{paths:?}");
}

#[tokio::test]
async fn logs_read_current_or_previous_and_milestones_parse() {
    let text = "2026-11-23T10:00:00Z  INFO light_gateway::app: ready event=\"ready\"\n";
    let (client, server) = canned(vec![Value::String(text.into())]);
    let logs = logs(client, "light-gateway", "gw-1", true).await.unwrap();
    assert!(crate::checks::has_milestone(&logs, "ready", "ready"));
    assert!(!crate::checks::has_milestone(
        &logs,
        "registered",
        "controller registered"
    ));
    let paths = server.await.unwrap();
    assert!(
        paths[0].contains("/pods/gw-1/log") && paths[0].contains("previous=true"),
        "{paths:?}"
    );
}
