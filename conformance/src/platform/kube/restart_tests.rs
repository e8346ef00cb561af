//! Tests of `restart.rs`.

use std::collections::BTreeMap;

use super::*;
use crate::platform::kube::canned;
use crate::render::{Release, Rendered};

fn deployed(values: Value) -> Deployment {
    let manifests =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gw}\ndata:\n  values.yml: \"server.httpPort: 8080\\n\"\n";
    let rendered = Rendered::new(BTreeMap::from([("a.yaml".to_string(), manifests.to_string())]), None);
    Deployment::new(Release::new("gw", "light-gateway"), values, rendered).unwrap()
}

fn restart(cache: Cache) -> Restart {
    Restart {
        cache,
        ..Restart::as_deployed()
    }
}

#[test]
fn keeping_an_emptydir_cache_restarts_in_place_and_anything_else_rolls() {
    let empty_dir = deployed(json!({"secret": {"portalAuthorization": "Bearer a"}}));
    let pvc = deployed(json!({"cache": {"type": "pvc"}}));
    assert_eq!(plan(&restart(Cache::Keep), &empty_dir).unwrap(), Plan::InPlace);
    let rolled = |r: &Restart, d: &Deployment| match plan(r, d).unwrap() {
        Plan::Rollout { empty_cache, .. } => empty_cache,
        Plan::InPlace => panic!("rolled in place"),
    };
    assert!(!rolled(&restart(Cache::AsDeployed), &empty_dir));
    // An emptyDir is empty in new pods: nothing to empty.
    assert!(!rolled(&restart(Cache::Empty), &empty_dir));
    assert!(!rolled(&restart(Cache::Keep), &pvc));
    assert!(!rolled(&restart(Cache::AsDeployed), &pvc));
    assert!(rolled(&restart(Cache::Empty), &pvc));
    let mut keep_with_values = restart(Cache::Keep);
    keep_with_values
        .values
        .insert("server.startOnRegistryFailure".into(), json!(false));
    let err = plan(&keep_with_values, &empty_dir).unwrap_err().to_string();
    assert!(err.starts_with("restarting with overrides and the cache kept"), "{err}");
    assert!(matches!(plan(&keep_with_values, &pvc), Ok(Plan::Rollout { .. })));
}

#[test]
fn overrides_become_chart_values() {
    let base = json!({
        "bootstrap": {"values": {"server.startOnRegistryFailure": true, "startup.host": "local.test"}},
        "secret": {"portalAuthorization": "Bearer old"},
        "extraEnv": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    });
    let mut r = Restart::as_deployed();
    r.values.insert("server.startOnRegistryFailure".into(), json!(false));
    r.env = vec![
        ("LIGHT_PORTAL_AUTHORIZATION".into(), "Bearer new".into()),
        ("RUST_LOG".into(), "debug".into()),
        ("LOG_FORMAT".into(), "json".into()),
        ("A".into(), "3".into()),
        ("light_4j_config_password".into(), "pw".into()),
    ];
    let values = restart_values(&base, &r).unwrap();
    assert_eq!(
        values["bootstrap"]["values"],
        json!({"server.startOnRegistryFailure": false, "startup.host": "local.test"})
    );
    assert_eq!(
        values["secret"],
        json!({"portalAuthorization": "Bearer new", "configPassword": "pw"})
    );
    assert_eq!(values["logLevel"], "debug");
    assert_eq!(values["logFormat"], "json");
    assert_eq!(
        values["extraEnv"],
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "3"}])
    );
    // The deployment's own values stay as they were.
    assert_eq!(base["secret"]["portalAuthorization"], "Bearer old");
}

#[test]
fn values_are_made_where_the_scenario_had_none() {
    let mut r = Restart::as_deployed();
    r.values.insert("server.startOnRegistryFailure".into(), json!(false));
    r.env = vec![("LOG_FORMAT".into(), "logfmt".into()), ("MY_FLAG".into(), "on".into())];
    let mut values = restart_values(&json!({}), &r).unwrap();
    with_roll_annotation(&mut values, "2026-01-01T00:00:00Z");
    assert_eq!(
        values,
        json!({
            "bootstrap": {"values": {"server.startOnRegistryFailure": false}},
            "logFormat": "text",
            "extraEnv": [{"name": "MY_FLAG", "value": "on"}],
            "podAnnotations": {"light-gateway-conformance/restarted-at": "2026-01-01T00:00:00Z"}
        })
    );
}

#[test]
fn an_existing_secret_is_not_rewritten() {
    let mut r = Restart::as_deployed();
    r.env = vec![("LIGHT_PORTAL_AUTHORIZATION".into(), "Bearer x".into())];
    let err = restart_values(&json!({"existingSecret": "portal-token"}), &r)
        .unwrap_err()
        .to_string();
    assert!(err.contains("existingSecret portal-token"), "{err}");
}

fn k8s_deployment(generation: i64, observed: i64, revision: &str, complete: bool) -> Value {
    let (updated, available) = if complete { (2, 2) } else { (1, 0) };
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "gw-light-gateway", "namespace": "light-gateway", "generation": generation,
                     "uid": "d-uid", "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "gw"}}, "template": {}},
        "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": 3,
                   "availableReplicas": available}
    })
}

fn replica_sets() -> Value {
    let rs = |hash: &str, revision: &str| {
        json!({"metadata": {"name": format!("gw-light-gateway-{hash}"),
                            "labels": {"app": "gw", "pod-template-hash": hash},
                            "annotations": {"deployment.kubernetes.io/revision": revision},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": "gw-light-gateway", "uid": "d-uid"}]},
               "spec": {"selector": {"matchLabels": {"app": "gw"}}}})
    };
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {},
           "items": [rs("old", "1"), rs("new", "2")]})
}

fn pods(new_state: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
        {"metadata": {"name": "gw-light-gateway-old-1", "labels": {"app": "gw", "pod-template-hash": "old"}},
         "status": {"conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "light-gateway", "ready": true, "restartCount": 0,
                                           "image": "i", "imageID": "", "state": {"running": {}}}]}},
        {"metadata": {"name": "gw-light-gateway-new-1", "labels": {"app": "gw", "pod-template-hash": "new"},
                      "creationTimestamp": "2026-01-01T00:00:00Z"},
         "status": {"conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [{"name": "light-gateway", "ready": false, "restartCount": 0,
                                           "image": "i", "imageID": "", "state": new_state}]}}
    ]})
}

fn quick(startup: Duration) -> Waits {
    Waits {
        startup,
        rollout: Duration::from_secs(5),
        poll_min: Duration::from_millis(1),
        poll_max: Duration::from_millis(2),
    }
}

#[test]
fn the_new_revision_is_the_replica_set_with_the_deployments_revision() {
    let deployment: K8sDeployment = serde_json::from_value(k8s_deployment(2, 2, "2", false)).unwrap();
    let sets: Vec<ReplicaSet> = serde_json::from_value(replica_sets()["items"].clone()).unwrap();
    assert_eq!(new_revision(&deployment, &sets).as_deref(), Some("new"));
    let mut foreign = sets.clone();
    for rs in &mut foreign {
        rs.metadata.owner_references = None;
    }
    assert_eq!(new_revision(&deployment, &foreign), None);
}

#[tokio::test]
async fn a_new_pod_whose_gateway_exits_is_reported_as_exited_not_as_a_timeout() {
    let mut gets = 0;
    let (client, _server) = canned::server(move |seen| match seen.path() {
        "/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway" => {
            gets += 1;
            // First the controller has not seen the change yet.
            let observed = if gets == 1 { 1 } else { 2 };
            (
                200,
                k8s_deployment(2, observed, if gets == 1 { "1" } else { "2" }, false),
            )
        }
        "/apis/apps/v1/namespaces/light-gateway/replicasets" => (200, replica_sets()),
        _ => (200, pods(json!({"terminated": {"exitCode": 1, "reason": "Error"}}))),
    });
    let end = wait_rollout_or_exit(
        &client,
        "light-gateway",
        "gw-light-gateway",
        "app=gw",
        &quick(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        end,
        RolloutEnd::Exited {
            pod: "gw-light-gateway-new-1".into(),
            code: Some(1)
        }
    );
}

#[tokio::test]
async fn a_new_pod_never_ready_ends_the_wait_at_the_startup_timeout() {
    let (client, _server) = canned::server(move |seen| match seen.path() {
        "/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway" => {
            (200, k8s_deployment(2, 2, "2", false))
        }
        "/apis/apps/v1/namespaces/light-gateway/replicasets" => (200, replica_sets()),
        _ => (200, pods(json!({"running": {}}))),
    });
    let end = wait_rollout_or_exit(
        &client,
        "light-gateway",
        "gw-light-gateway",
        "app=gw",
        &quick(Duration::from_millis(20)),
    )
    .await
    .unwrap();
    match end {
        RolloutEnd::Stuck { pod, reason } => {
            assert_eq!(pod.as_deref(), Some("gw-light-gateway-new-1"));
            assert!(
                reason.starts_with("no pod of the new revision Ready after 20ms"),
                "{reason}"
            );
            assert!(reason.contains("1 of 2 replicas updated"), "{reason}");
        }
        other => panic!("expected Stuck, got {other:?}"),
    }
}

#[tokio::test]
async fn a_complete_rollout_names_the_new_revision() {
    let (client, server) = canned::server(move |seen| match seen.path() {
        "/apis/apps/v1/namespaces/light-gateway/deployments/gw-light-gateway" => {
            let mut d = k8s_deployment(2, 2, "2", true);
            d["status"]["replicas"] = json!(2);
            (200, d)
        }
        "/apis/apps/v1/namespaces/light-gateway/replicasets" => (200, replica_sets()),
        _ => (200, pods(json!({"running": {}}))),
    });
    let end = wait_rollout_or_exit(
        &client,
        "light-gateway",
        "gw-light-gateway",
        "app=gw",
        &quick(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        end,
        RolloutEnd::Complete {
            hash: Some("new".into())
        }
    );
    drop(client);
    let seen = server.await.unwrap();
    assert!(seen[1].uri.contains("labelSelector=app%3Dgw"), "{seen:?}");
}

fn container(restarts: i32, ready: bool, state: Value, last: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "gw-1"},
        "status": {"containerStatuses": [{"name": "light-gateway", "ready": ready, "restartCount": restarts,
                                          "image": "i", "imageID": "", "state": state, "lastState": last}]}
    }))
    .unwrap()
}

#[test]
fn in_place_the_first_termination_is_the_suites_own() {
    let c = "light-gateway";
    let ours = json!({"terminated": {"exitCode": 0}});
    let running = json!({"running": {}});
    assert!(matches!(
        in_place_progress(&container(4, true, running.clone(), json!({})), c, 4),
        InPlace::Waiting(_)
    ));
    assert!(matches!(
        in_place_progress(&container(4, false, ours.clone(), json!({})), c, 4),
        InPlace::Waiting(_)
    ));
    assert!(matches!(
        in_place_progress(&container(5, false, running.clone(), ours.clone()), c, 4),
        InPlace::Waiting(_)
    ));
    assert_eq!(
        in_place_progress(&container(5, true, running.clone(), ours.clone()), c, 4),
        InPlace::Ready
    );
    assert_eq!(
        in_place_progress(&container(5, false, json!({"terminated": {"exitCode": 2}}), ours), c, 4),
        InPlace::Exited(Some(2))
    );
    assert_eq!(
        in_place_progress(
            &container(
                6,
                false,
                json!({"waiting": {"reason": "CrashLoopBackOff"}}),
                json!({"terminated": {"exitCode": 3}})
            ),
            c,
            4
        ),
        InPlace::Exited(Some(3))
    );
}

#[tokio::test]
async fn an_in_place_restart_that_never_gets_ready_says_why_at_the_deadline() {
    let (client, _server) = canned::server(|_| {
        (
            200,
            serde_json::to_value(container(
                5,
                false,
                json!({"running": {}}),
                json!({"terminated": {"exitCode": 0}}),
            ))
            .unwrap(),
        )
    });
    let end = wait_in_place(
        &client,
        "light-gateway",
        "gw-1",
        "light-gateway",
        4,
        &quick(Duration::from_millis(10)),
    )
    .await
    .unwrap();
    assert_eq!(
        end,
        InPlace::Waiting("not Ready 10ms after the restart: restarted, not Ready yet".into())
    );
}
