//! Provisioning steps: connecting to the cluster (creating the kind cluster first), installing
//! the fixtures and the chart, cleaning up after a failed start, and the port-forwards.

use super::*;

/// Connects to the cluster: for kind, creates it and loads the images first. The second value is
/// the API server's URL as the suite reaches it.
pub(super) async fn connect(
    options: &KubeOptions,
    deployment: &Deployment,
) -> Result<(kube::Client, url::Url), TargetError> {
    match &options.cluster {
        Cluster::Kind { name, config } => {
            let images = [gateway_image(deployment)?, options.fixtures_image.clone()];
            kind::create(name, config).await?;
            let connected = async {
                kind_images::load(name, &images).await?;
                let config = kind::config_from_yaml(&kind::kubeconfig(name).await?).await?;
                kind::client(config)
            }
            .await;
            if connected.is_err()
                && !options.keep
                && let Err(e) = kind::delete(name).await
            {
                eprintln!("conformance: {e}");
            }
            connected
        }
        Cluster::Current { context } => {
            let config = kind::current_config(context.clone()).await?;
            let (client, url) = kind::client(config)?;
            // A context whose API server does not answer cannot host the run at all.
            client
                .apiserver_version()
                .await
                .map_err(|e| TargetError::Unavailable(format!("the cluster at {url} does not answer: {e}")))?;
            Ok((client, url))
        }
    }
}

/// Installs namespaces, fixtures and the chart, recording what was made in `made`; the gateway
/// pod to start with.
pub(super) async fn install(
    client: &kube::Client,
    applier: &Applier,
    plans: &Plans<'_>,
    made: &mut Made,
) -> Result<String, TargetError> {
    let Plans {
        deployment,
        gateway,
        objects,
        timeouts,
    } = plans;
    let mut namespaces = vec![gateway.namespace.clone()];
    namespaces.extend(
        objects
            .namespaces
            .iter()
            .filter(|ns| **ns != gateway.namespace)
            .cloned(),
    );
    for ns in &namespaces {
        if provision::ensure_namespace(applier, ns, timeouts.rollout, timeouts.poll_max).await? {
            made.namespaces.push(ns.clone());
        }
    }
    let config_map_ns = objects.config_map.metadata.namespace.clone().unwrap_or_default();
    made.record(applier.apply_typed(&objects.config_map, &config_map_ns).await?);
    for (d, fixture) in objects.deployments.iter().zip(&objects.fixtures) {
        made.record(applier.apply_typed(d, &fixture.namespace).await?);
    }
    for (s, fixture) in objects.services.iter().zip(&objects.fixtures) {
        made.record(applier.apply_typed(s, &fixture.namespace).await?);
    }
    // The fixtures first: a gateway started before config-server answers bootstraps from nothing.
    for fixture in &objects.fixtures {
        api::wait_rollout(client.clone(), &fixture.namespace, &fixture.service, timeouts)
            .await
            .map_err(|why| TargetError::operation(format!("starting fixture {}", fixture.name), why))?;
    }
    for object in provision::chart_objects(deployment)? {
        made.record(applier.apply(&object, &gateway.namespace).await?);
    }
    let pods = |why: String| async move {
        let pods = ops::list_pods(client, &gateway.namespace, &gateway.selector)
            .await
            .unwrap_or_default();
        let Some(pod) = ops::newest(&pods, None) else {
            return why;
        };
        let logs = api::logs(client.clone(), &gateway.namespace, &pod, false)
            .await
            .unwrap_or_else(|e| e);
        format!("{why}; the log of {pod} ends:\n{}", tail(&logs, LOG_TAIL))
    };
    if let Err(why) = api::wait_rollout(client.clone(), &gateway.namespace, &gateway.deployment, timeouts).await {
        return Err(TargetError::operation("installing the chart", pods(why).await));
    }
    let listed = ops::list_pods(client, &gateway.namespace, &gateway.selector).await?;
    ops::newest_ready(&listed, &gateway.container, None)
        .ok_or_else(|| TargetError::operation("installing the chart", "the rollout completed with no Ready pod"))
}

/// Removes what a run made, reporting (not failing on) what could not be removed.
pub(super) async fn cleanup(cluster: &Cluster, client: &kube::Client, made: &Made) {
    let result = match cluster {
        Cluster::Kind { name, .. } => kind::delete(name).await,
        Cluster::Current { .. } => made.remove(client).await,
    };
    if let Err(e) = result {
        eprintln!("conformance: {e}");
    }
}

/// The Service through the API server's proxy.
pub(super) fn service_url(cluster_url: &url::Url, service: &ServiceRef) -> url::Url {
    let mut url = cluster_url.clone();
    url.set_path(&format!(
        "{}{}",
        cluster_url.path().trim_end_matches('/'),
        service.proxy_path("/")
    ));
    url
}

/// Starts the port-forwards (the gateway's to the current pod, each fixture's admin port to
/// its Ready pod) and says where everything is.
pub(super) async fn start_forwards(
    client: &kube::Client,
    gateway: &Gateway,
    fixtures: &[Fixture],
    current: &Arc<RwLock<String>>,
    cluster_url: &url::Url,
    deployment: &Deployment,
) -> Result<(Vec<Forward>, Endpoints), TargetError> {
    let gateway_pods: Api<Pod> = Api::namespaced(client.clone(), &gateway.namespace);
    let gateway_forward = Forward::start(
        gateway_pods,
        PodChoice::Current(current.clone()),
        gateway.port,
        "the gateway",
    )
    .await?;
    let gateway_url = gateway_forward.url(&gateway.protocol)?;
    let mut forwards = vec![gateway_forward];
    let metrics = match crate::platform::metrics_listener(deployment) {
        Some((port, path)) => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &gateway.namespace);
            let forward =
                Forward::start(pods, PodChoice::Current(current.clone()), port, "the gateway's metrics").await?;
            let mut url = forward.url("http")?;
            url.set_path(&path);
            forwards.push(forward);
            Some(url)
        }
        None => None,
    };
    let mut admin = Vec::new();
    for fixture in fixtures {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &fixture.namespace);
        let choice = PodChoice::Selector {
            labels: fixture.selector(),
            container: FIXTURE_CONTAINER.into(),
        };
        let forward = Forward::start(pods, choice, ADMIN_PORT, &format!("{} admin", fixture.name)).await?;
        admin.push((fixture.name.clone(), forward.url("http")?));
        forwards.push(forward);
    }
    let find = |name: &str| {
        admin
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, url)| url.clone())
            .ok_or_else(|| TargetError::operation("forwarding to the fixtures", format!("no {name} fixture")))
    };
    let endpoints = Endpoints {
        gateway: gateway_url,
        service: gateway.service.as_ref().map(|s| service_url(cluster_url, s)),
        mcp_path: crate::platform::mcp_path(deployment),
        config_server_admin: find("config-server")?,
        controller_admin: find("controller")?,
        key_service_admin: find("key-service")?,
        backends: admin
            .iter()
            .filter(|(name, _)| BACKENDS.iter().any(|b| b.instance == name))
            .cloned()
            .collect(),
        metrics,
    };
    Ok((forwards, endpoints))
}
