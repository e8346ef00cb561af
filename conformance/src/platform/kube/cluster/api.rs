//! What the kind and cluster targets ask the API server, over a `kube::Client` (so tests can
//! put a canned API server behind it).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, LogParams};

use super::gates::{self, PodState};
use crate::timeouts::Timeouts;

/// Polls the Deployment until its rollout is complete ([`gates::rollout_complete`]) or
/// `timeouts.rollout` passes.
///
/// # Errors
/// Why the rollout is not complete at the deadline, or an API error.
pub async fn wait_rollout(
    client: kube::Client,
    namespace: &str,
    name: &str,
    timeouts: &Timeouts,
) -> Result<String, String> {
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let deadline = tokio::time::Instant::now() + timeouts.rollout;
    let mut interval = timeouts.poll_min;
    loop {
        let deployment = api.get(name).await.map_err(|e| format!("GET deployment {name}: {e}"))?;
        let verdict = gates::rollout_complete(&deployment);
        if verdict.is_ok() || tokio::time::Instant::now() >= deadline {
            return verdict
                .map_err(|why| format!("rollout of {name} not complete after {:?}: {why}", timeouts.rollout));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(timeouts.poll_max);
    }
}

/// The pods matching `selector`, as [`PodState`]s (terminating ones left out).
///
/// # Errors
/// An API error.
pub async fn pod_states(client: kube::Client, namespace: &str, selector: &str) -> Result<Vec<PodState>, String> {
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| format!("list pods {selector}: {e}"))?;
    Ok(pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(PodState::of)
        .collect())
}

/// Pods Ready with unchanged restart counts over `window` ([`gates::stable`]).
///
/// # Errors
/// What changed, or an API error.
pub async fn pods_stable(
    client: kube::Client,
    namespace: &str,
    selector: &str,
    expected: usize,
    window: Duration,
) -> Result<String, String> {
    let before = pod_states(client.clone(), namespace, selector).await?;
    tokio::time::sleep(window).await;
    let after = pod_states(client, namespace, selector).await?;
    gates::stable(&before, &after, expected)
}

/// A pod's logs (`previous`: the container run before the last restart).
///
/// # Errors
/// An API error (no previous run, for example).
pub async fn logs(client: kube::Client, namespace: &str, pod: &str, previous: bool) -> Result<String, String> {
    let api: Api<Pod> = Api::namespaced(client, namespace);
    api.logs(
        pod,
        &LogParams {
            previous,
            ..LogParams::default()
        },
    )
    .await
    .map_err(|e| format!("logs of {pod}: {e}"))
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
