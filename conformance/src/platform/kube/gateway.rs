//! What the rendered chart says about the gateway the target drives: namespace, Deployment,
//! selector, container, port, Service and where a PVC cache is mounted.

use super::*;

/// The gateway as the target drives it, from the rendered chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gateway {
    /// The release namespace.
    pub(super) namespace: String,
    /// The Deployment's name.
    pub(super) deployment: String,
    /// Its pods' label selector.
    pub(super) selector: String,
    /// The gateway container's name.
    pub(super) container: String,
    /// The port the suite talks to (the first listener).
    pub(super) port: u16,
    /// `http` or `https`.
    pub(super) protocol: String,
    /// The Service in front of the pods.
    pub(super) service: Option<ServiceRef>,
    /// Where a PersistentVolumeClaim cache is mounted in the container.
    pub(super) cache_mount: Option<String>,
}

/// Reads the gateway's facts out of the rendered chart.
pub(super) fn gateway_of(deployment: &Deployment) -> Result<Gateway, TargetError> {
    let what = "reading the rendered gateway Deployment";
    let rendered = deployment.gateway().map_err(|e| TargetError::operation(what, e))?;
    let name = rendered
        .metadata
        .name
        .clone()
        .ok_or_else(|| TargetError::operation(what, "it has no name"))?;
    let labels = rendered.spec.selector.match_labels.clone().unwrap_or_default();
    if labels.is_empty() {
        return Err(TargetError::operation(what, "its selector has no matchLabels"));
    }
    let pod = rendered
        .spec
        .template
        .spec
        .ok_or_else(|| TargetError::operation(what, "it has no pod spec"))?;
    let container = pod
        .containers
        .first()
        .ok_or_else(|| TargetError::operation(what, "its pod has no container"))?;
    let cache_mount = pod
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.persistent_volume_claim.is_some())
        .find_map(|v| {
            container
                .volume_mounts
                .iter()
                .flatten()
                .find(|m| m.name == v.name)
                .map(|m| m.mount_path.clone())
        });
    let identity = &deployment.identity;
    let services: Vec<Service> = deployment
        .rendered
        .all("Service")
        .map_err(|e| TargetError::operation("reading the rendered Service", e))?;
    // The Service selecting the gateway pods that carries the gateway's listener (the chart's
    // metrics Service selects them too, with only the metrics port); failing a port match, the
    // first selecting Service's first port.
    let selecting: Vec<&Service> = services
        .iter()
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|spec| spec.selector.as_ref())
                .is_some_and(|selector| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
        })
        .collect();
    let ports_of = |s: &Service| s.spec.as_ref().and_then(|spec| spec.ports.clone()).unwrap_or_default();
    let matching = selecting.iter().find_map(|s| {
        let ports = ports_of(s);
        let port = ports
            .iter()
            .find(|p| p.name.as_deref() == Some(identity.protocol.as_str()))
            .or_else(|| ports.iter().find(|p| p.port == i32::from(identity.port)))?
            .clone();
        Some((*s, port))
    });
    let chosen = matching.or_else(|| {
        let s = selecting.first()?;
        Some((*s, ports_of(s).first()?.clone()))
    });
    let service = chosen.and_then(|(s, port)| {
        Some(ServiceRef {
            namespace: deployment.release.namespace.clone(),
            name: s.metadata.name.clone()?,
            port: port.name.clone().unwrap_or_else(|| port.port.to_string()),
            https: identity.protocol == "https",
        })
    });
    Ok(Gateway {
        namespace: deployment.release.namespace.clone(),
        deployment: name,
        selector: selector_string(&labels),
        container: container.name.clone(),
        port: identity.port,
        protocol: identity.protocol.clone(),
        service,
        cache_mount,
    })
}

/// The image of the gateway container, as the rendered Deployment names it.
pub(super) fn gateway_image(deployment: &Deployment) -> Result<String, TargetError> {
    let what = "reading the gateway image";
    deployment
        .pod_spec()
        .map_err(|e| TargetError::operation(what, e))?
        .containers
        .first()
        .and_then(|c| c.image.clone())
        .ok_or_else(|| TargetError::operation(what, "the gateway container names no image"))
}
