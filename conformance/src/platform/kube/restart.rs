//! Restarting the gateway on a cluster: which kind of restart a [`Restart`] asks for, the chart
//! values a rollout applies, and the waits that tell a gateway that became ready from one that
//! exited or one still starting.
//!
//! A restart is a rollout of the chart re-rendered with the overrides (a values change rolls the
//! pods through the ConfigMap checksum, a token through the Secret checksum, anything else through
//! a pod-template annotation), except "keep the cache" on an emptyDir: a rollout would give new
//! pods empty emptyDirs, so the container is restarted in place instead.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment as K8sDeployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Map, Value, json};

use super::ops::{self, TEMPLATE_HASH};
use crate::deployment::Deployment;
use crate::platform::kube::cluster::gates;
use crate::platform::{Cache, Restart, TargetError, empties_cache, pvc_cache};
use crate::timeouts::Timeouts;

/// The pod-template annotation that rolls the pods when nothing else changed.
pub(super) const ROLL_ANNOTATION: &str = "light-gateway-conformance/restarted-at";
/// The Deployment controller's revision annotation (on Deployments and their ReplicaSets).
const REVISION: &str = "deployment.kubernetes.io/revision";

/// How a restart is done.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Plan {
    /// SIGTERM to the current pod's gateway; the kubelet starts the container again in the same
    /// pod, whose emptyDir cache survives.
    InPlace,
    /// Apply the chart rendered with `values` and wait for the rollout.
    Rollout {
        /// The chart values (the deployment's, overrides applied).
        values: Value,
        /// Empty the PVC cache first, from inside a running pod.
        empty_cache: bool,
    },
}

/// The plan for `restart` on `deployed`.
///
/// # Errors
/// Overrides with the cache kept on an emptyDir (new config needs new pods, which get empty
/// emptyDirs), or overrides the chart cannot express (see [`restart_values`]).
pub(super) fn plan(restart: &Restart, deployed: &Deployment) -> Result<Plan, TargetError> {
    let overrides = !restart.values.is_empty() || !restart.env.is_empty();
    let pvc = pvc_cache(deployed);
    if restart.cache == Cache::Keep && !pvc {
        if overrides {
            return Err(TargetError::operation(
                "restarting with overrides and the cache kept",
                "an emptyDir cache survives only a container restart in the same pod, and new config \
                 needs new pods",
            ));
        }
        return Ok(Plan::InPlace);
    }
    Ok(Plan::Rollout {
        values: restart_values(&deployed.values, restart)?,
        // An emptyDir cache is empty in the new pods anyway.
        empty_cache: pvc && empties_cache(restart.cache, deployed),
    })
}

/// The chart values with `restart`'s overrides: bootstrap `values.yml` keys as
/// `bootstrap.values.<key>`, the token as `secret.portalAuthorization` (a real Secret change, so
/// the checksum rolls the pods), the config password as `secret.configPassword`, `RUST_LOG` as
/// `logLevel`, `LOG_FORMAT` as `logFormat` (json, else text), and any other variable in
/// `extraEnv`.
///
/// # Errors
/// A token or password override when the scenario uses `existingSecret`: that Secret is not the
/// chart's, and the suite does not rewrite it.
pub(super) fn restart_values(base: &Value, restart: &Restart) -> Result<Value, TargetError> {
    let mut values = base.clone();
    for (key, value) in &restart.values {
        // Keys are flat (`server.startOnRegistryFailure`): never split on their dots.
        set(&mut values, &["bootstrap", "values"], key, value.clone());
    }
    let existing_secret = base
        .get("existingSecret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    for (name, value) in &restart.env {
        match name.as_str() {
            "LIGHT_PORTAL_AUTHORIZATION" | "light_4j_config_password" => {
                if let Some(secret) = existing_secret {
                    return Err(TargetError::operation(
                        format!("overriding {name}"),
                        format!("the scenario uses existingSecret {secret}, which the suite does not rewrite"),
                    ));
                }
                let key = if name == "LIGHT_PORTAL_AUTHORIZATION" {
                    "portalAuthorization"
                } else {
                    "configPassword"
                };
                set(&mut values, &["secret"], key, json!(value));
            }
            "RUST_LOG" => set(&mut values, &[], "logLevel", json!(value)),
            // The gateway writes JSON for `json` (any case) and text for anything else; the
            // chart refuses LOG_FORMAT in extraEnv, so logFormat says it.
            "LOG_FORMAT" => {
                let format = if value.eq_ignore_ascii_case("json") {
                    "json"
                } else {
                    "text"
                };
                set(&mut values, &[], "logFormat", json!(format));
            }
            other => set_extra_env(&mut values, other, value),
        }
    }
    Ok(values)
}

/// Sets the roll annotation (through the chart's `podAnnotations`) to `stamp`.
pub(super) fn with_roll_annotation(values: &mut Value, stamp: &str) {
    set(values, &["podAnnotations"], ROLL_ANNOTATION, json!(stamp));
}

/// Sets `key` in the map at `path`, making maps on the way.
fn set(values: &mut Value, path: &[&str], key: &str, value: Value) {
    let mut at = values;
    for step in path {
        at = object(at).entry(step.to_string()).or_insert_with(|| json!({}));
    }
    object(at).insert(key.to_string(), value);
}

/// `value` as a map, replacing whatever else it was.
fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}

/// Replaces (or adds) `name` in `extraEnv`; the API refuses two entries of one name.
fn set_extra_env(values: &mut Value, name: &str, value: &str) {
    let map = object(values);
    let mut env: Vec<Value> = map
        .get("extraEnv")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    env.retain(|e| e["name"] != name);
    env.push(json!({"name": name, "value": value}));
    map.insert("extraEnv".into(), Value::Array(env));
}

/// The waits of a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Waits {
    /// For a new gateway to be Ready or to have exited.
    pub(super) startup: Duration,
    /// For a whole rollout.
    pub(super) rollout: Duration,
    /// First poll interval.
    pub(super) poll_min: Duration,
    /// Longest poll interval.
    pub(super) poll_max: Duration,
}

impl Waits {
    /// The suite's waits.
    pub(super) fn of(timeouts: &Timeouts) -> Self {
        Self {
            startup: timeouts.startup,
            rollout: timeouts.rollout,
            poll_min: timeouts.poll_min,
            poll_max: timeouts.poll_max,
        }
    }
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RolloutEnd {
    /// Complete; the new revision's pod-template-hash.
    Complete {
        /// The hash of the new pods.
        hash: Option<String>,
    },
    /// A pod of the new revision had its gateway container terminate.
    Exited {
        /// The pod.
        pod: String,
        /// The exit code.
        code: Option<i32>,
    },
    /// Neither within the waits.
    Stuck {
        /// The newest pod of the new revision, if any.
        pod: Option<String>,
        /// Why the rollout is not complete.
        reason: String,
    },
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The pod-template-hash of the revision `deployment` rolls out: its ReplicaSet with the
/// Deployment's revision number.
pub(super) fn new_revision(deployment: &K8sDeployment, sets: &[ReplicaSet]) -> Option<String> {
    let revision = annotation(&deployment.metadata, REVISION)?;
    let uid = deployment.metadata.uid.as_deref();
    sets.iter()
        .filter(|rs| uid.is_none_or(|uid| rs.metadata.owner_references.iter().flatten().any(|o| o.uid == uid)))
        .find(|rs| annotation(&rs.metadata, REVISION) == Some(revision))
        .and_then(|rs| rs.metadata.labels.as_ref()?.get(TEMPLATE_HASH).cloned())
}

/// Polls the gateway Deployment `name` until its rollout completes, a pod of the new revision
/// exits (reported at once: a gateway that exits before ready is not a timeout), or the waits
/// end: no new pod Ready within `startup`, or no complete rollout within `rollout`.
///
/// # Errors
/// An API error.
pub(super) async fn wait_rollout_or_exit(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    selector: &str,
    waits: &Waits,
) -> Result<RolloutEnd, TargetError> {
    let what = format!("waiting for the rollout of {namespace}/{name}");
    let deployments: Api<K8sDeployment> = Api::namespaced(client.clone(), namespace);
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let start = tokio::time::Instant::now();
    let mut interval = waits.poll_min;
    let mut new_pod_ready = false;
    loop {
        let deployment = deployments
            .get(name)
            .await
            .map_err(|e| TargetError::operation(&what, e))?;
        let verdict = gates::rollout_complete(&deployment);
        let observed = deployment
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        let mut newest = None;
        let mut hash = None;
        // Before the controller has seen the new generation, its revision is the old one.
        if observed >= deployment.metadata.generation.unwrap_or(0) {
            let list = sets
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(|e| TargetError::operation(&what, e))?;
            hash = new_revision(&deployment, &list.items);
            if let Some(hash) = &hash {
                let pods = ops::list_pods(client, namespace, selector).await?;
                let new: Vec<&Pod> = pods
                    .iter()
                    .filter(|p| {
                        p.metadata.deletion_timestamp.is_none()
                            && p.metadata.labels.as_ref().and_then(|l| l.get(TEMPLATE_HASH)) == Some(hash)
                    })
                    .collect();
                if let Some((pod, code)) = new
                    .iter()
                    .find_map(|p| Some((p.metadata.name.clone()?, gates::last_exit_code(p)?)))
                {
                    return Ok(RolloutEnd::Exited { pod, code: Some(code) });
                }
                new_pod_ready |= new.iter().any(|p| gates::PodState::of(p).ready);
                newest = ops::newest(&pods, Some(hash));
            }
        }
        let why = match verdict {
            Ok(_) => return Ok(RolloutEnd::Complete { hash }),
            Err(why) => why,
        };
        let elapsed = start.elapsed();
        if !new_pod_ready && elapsed >= waits.startup {
            return Ok(RolloutEnd::Stuck {
                pod: newest,
                reason: format!("no pod of the new revision Ready after {:?}: {why}", waits.startup),
            });
        }
        if elapsed >= waits.rollout {
            return Ok(RolloutEnd::Stuck {
                pod: newest,
                reason: format!("rollout of {name} not complete after {:?}: {why}", waits.rollout),
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(waits.poll_max);
    }
}

/// Where a container restarted in place stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum InPlace {
    /// Not yet restarted, or restarted and not Ready; why.
    Waiting(String),
    /// The new run is Ready.
    Ready,
    /// The new run terminated, with this code.
    Exited(Option<i32>),
}

/// Where `container` of `pod` stands after a SIGTERM sent at restart count `baseline`: the
/// first termination is the one the suite caused; only a later one is the new run exiting.
pub(super) fn in_place_progress(pod: &Pod, container: &str, baseline: i32) -> InPlace {
    let Some(status) = ops::container_status(pod, container) else {
        return InPlace::Waiting(format!("{container} has no status yet"));
    };
    let terminated = status.state.as_ref().and_then(|s| s.terminated.as_ref());
    match status.restart_count - baseline {
        ..=0 if terminated.is_some() => InPlace::Waiting("stopped; waiting for the kubelet to start it again".into()),
        ..=0 => InPlace::Waiting("waiting for the container to stop".into()),
        1 => match terminated {
            Some(t) => InPlace::Exited(Some(t.exit_code)),
            None if status.ready => InPlace::Ready,
            None => InPlace::Waiting("restarted, not Ready yet".into()),
        },
        _ => InPlace::Exited(gates::last_exit_code(pod)),
    }
}

/// Polls `pod` until its container, SIGTERMed at restart count `baseline`, runs Ready again or
/// exits, or `waits.startup` passes (then `Waiting` with the reason).
///
/// # Errors
/// The pod is gone, or an API error.
pub(super) async fn wait_in_place(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    baseline: i32,
    waits: &Waits,
) -> Result<InPlace, TargetError> {
    let what = format!("waiting for {container} in {namespace}/{pod} to restart");
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let start = tokio::time::Instant::now();
    let mut interval = waits.poll_min;
    loop {
        let current = api.get(pod).await.map_err(|e| TargetError::operation(&what, e))?;
        match in_place_progress(&current, container, baseline) {
            InPlace::Waiting(why) if start.elapsed() >= waits.startup => {
                return Ok(InPlace::Waiting(format!(
                    "not Ready {:?} after the restart: {why}",
                    waits.startup
                )));
            }
            InPlace::Waiting(_) => {}
            done => return Ok(done),
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(waits.poll_max);
    }
}

#[cfg(test)]
#[path = "restart_tests.rs"]
mod tests;
