use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use rstest::rstest;
use serde_json::json;

use super::*;

fn deployment(
    generation: i64,
    observed: i64,
    replicas: i32,
    updated: i32,
    total: i32,
    available: i32,
    conditions: serde_json::Value,
) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "gw", "generation": generation},
        "spec": {"replicas": replicas, "selector": {}, "template": {}},
        "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                   "availableReplicas": available, "conditions": conditions}
    }))
    .unwrap()
}

fn progressing_ok() -> serde_json::Value {
    json!([{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}])
}

#[test]
fn complete_rollout_passes() {
    assert!(rollout_complete(&deployment(3, 3, 2, 2, 2, 2, progressing_ok())).is_ok());
}

#[test]
fn stale_progressing_condition_from_a_previous_rollout_does_not_pass() {
    // The controller has not observed generation 4 yet; the Progressing condition still says
    // NewReplicaSetAvailable from generation 3 (what is_deployment_completed would accept).
    let err = rollout_complete(&deployment(4, 3, 2, 2, 2, 2, progressing_ok())).unwrap_err();
    assert!(err.contains("observe generation 4"), "{err}");
}

#[rstest]
#[case::not_all_updated(deployment(2, 2, 3, 2, 3, 2, progressing_ok()), "2 of 3 replicas updated")]
#[case::old_replicas_left(deployment(2, 2, 2, 2, 3, 2, progressing_ok()), "1 old replicas pending termination")]
#[case::not_yet_available(deployment(2, 2, 2, 2, 2, 1, progressing_ok()), "1 of 2 updated replicas available")]
#[case::deadline_exceeded(
    deployment(2, 2, 2, 1, 2, 1, json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}])),
    "rollout failed: too slow"
)]
fn incomplete_rollouts_say_why(#[case] d: Deployment, #[case] expected: &str) {
    assert_eq!(rollout_complete(&d).unwrap_err(), expected);
}

fn pod(name: &str, ready: bool, restarts: i32) -> PodState {
    PodState {
        name: name.into(),
        ready,
        restarts,
    }
}

#[test]
fn readiness_window_passes_when_nothing_changes() {
    let before = [pod("a", true, 1), pod("b", true, 0)];
    assert!(stable(&before, &before.clone(), 2).is_ok());
}

#[rstest]
#[case::restart_counted(vec![pod("a", true, 0)], vec![pod("a", true, 1)], "restarted during the window (0 -> 1)")]
#[case::not_ready(vec![pod("a", true, 0)], vec![pod("a", false, 0)], "pod a is not Ready")]
#[case::replaced(vec![pod("a", true, 0)], vec![pod("b", true, 0)], "pod a was replaced")]
#[case::missing(vec![pod("a", true, 0)], vec![], "1 pods expected")]
fn readiness_window_fails_on_change(
    #[case] before: Vec<PodState>,
    #[case] after: Vec<PodState>,
    #[case] expected: &str,
) {
    let err = stable(&before, &after, 1).unwrap_err();
    assert!(err.contains(expected), "{err}");
}

#[test]
fn restart_counts_sum_containers_and_readiness_reads_the_condition() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "gw-1"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [
                       {"name": "a", "ready": true, "restartCount": 2, "image": "i", "imageID": "",
                        "lastState": {"terminated": {"exitCode": 137}}},
                       {"name": "b", "ready": true, "restartCount": 1, "image": "i", "imageID": ""}]}
    }))
    .unwrap();
    assert_eq!(PodState::of(&p), pod("gw-1", true, 3));
    assert_eq!(last_exit_code(&p), Some(137));
}
