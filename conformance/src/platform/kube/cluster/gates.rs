//! Conditions on Kubernetes objects, as plain functions over their status (kube-rs style), so
//! they test on canned objects.
//!
//! The rollout gate is written like `kubectl rollout status`, not kube-runtime's
//! `is_deployment_completed`, which only reads the Progressing condition and can be satisfied
//! by a previous rollout.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

/// Whether the Deployment's current rollout is complete: `Ok(summary)` when it is, `Err(why
/// not)` while it is not (or when it failed).
///
/// # Errors
/// The reason the rollout is not complete.
pub fn rollout_complete(deployment: &Deployment) -> Result<String, String> {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let status = deployment.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0);
    if observed < generation {
        return Err(format!(
            "waiting for the controller to observe generation {generation} (observed {observed})"
        ));
    }
    if let Some(failed) =
        status.conditions.iter().flatten().find(|c| {
            c.type_.as_deref() == Some("Progressing") && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        })
    {
        return Err(format!(
            "rollout failed: {}",
            failed.message.clone().unwrap_or_default()
        ));
    }
    let desired = deployment.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        return Err(format!("{updated} of {desired} replicas updated"));
    }
    if total > updated {
        return Err(format!("{} old replicas pending termination", total - updated));
    }
    if available < updated {
        return Err(format!("{available} of {updated} updated replicas available"));
    }
    Ok(format!(
        "generation {generation} rolled out: {updated} updated, {available} available of {desired} desired"
    ))
}

/// A pod's readiness and restarts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodState {
    /// Pod name.
    pub name: String,
    /// Whether the Ready condition is True.
    pub ready: bool,
    /// Sum of its containers' restart counts.
    pub restarts: i32,
}

impl PodState {
    /// The state of `pod`.
    pub fn of(pod: &Pod) -> Self {
        let status = pod.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let restarts = status
            .container_statuses
            .iter()
            .flatten()
            .map(|c| c.restart_count)
            .sum();
        Self {
            name: pod.metadata.name.clone().unwrap_or_default(),
            ready,
            restarts,
        }
    }
}

/// Whether the pods stayed Ready with unchanged restart counts between two snapshots taken a
/// window apart: the same pods, all Ready both times, no restart in between.
///
/// # Errors
/// What changed.
pub fn stable(before: &[PodState], after: &[PodState], expected: usize) -> Result<String, String> {
    if before.len() != expected || after.len() != expected {
        return Err(format!(
            "{expected} pods expected, saw {} then {}",
            before.len(),
            after.len()
        ));
    }
    for pod in before.iter().chain(after) {
        if !pod.ready {
            return Err(format!("pod {} is not Ready", pod.name));
        }
    }
    for pod in before {
        match after.iter().find(|p| p.name == pod.name) {
            None => return Err(format!("pod {} was replaced during the window", pod.name)),
            Some(later) if later.restarts != pod.restarts => {
                return Err(format!(
                    "pod {} restarted during the window ({} -> {})",
                    pod.name, pod.restarts, later.restarts
                ));
            }
            Some(_) => {}
        }
    }
    let restarts: i32 = after.iter().map(|p| p.restarts).sum();
    Ok(format!(
        "{expected} pods Ready, restart counts unchanged (total {restarts})"
    ))
}

/// The exit code of a pod's last terminated container run (after a crash or a SIGTERM), if any.
pub fn last_exit_code(pod: &Pod) -> Option<i32> {
    let status = pod.status.as_ref()?;
    status.container_statuses.iter().flatten().find_map(|c| {
        let terminated = c
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .or(c.last_state.as_ref().and_then(|s| s.terminated.as_ref()))?;
        Some(terminated.exit_code)
    })
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
