//! What the kube targets do to running pods and Deployments: choose "the gateway" among the
//! pods, exec in a container, wait for a container to exit, scale a fixture, GET through the API
//! server's Service proxy, and gather events and pod YAML for a failed check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::io::AsyncBufReadExt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{AttachParams, ListParams, LogParams, Patch, PatchParams};
use tokio::io::AsyncReadExt;

use crate::platform::TargetError;
use crate::platform::kube::cluster::gates;

/// The label the Deployment controller gives each revision's pods.
pub(super) const TEMPLATE_HASH: &str = "pod-template-hash";
/// How long one exec may take (the suite only runs short commands).
const EXEC_WITHIN: Duration = Duration::from_secs(60);

/// The pods matching `selector` in `namespace`, terminating ones included.
///
/// # Errors
/// An API error.
pub(super) async fn list_pods(client: &kube::Client, namespace: &str, selector: &str) -> Result<Vec<Pod>, TargetError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default().labels(selector))
        .await
        .map(|list| list.items)
        .map_err(|e| TargetError::operation(format!("listing pods {selector} in {namespace}"), e))
}

/// A container's status in a pod.
pub(super) fn container_status<'a>(pod: &'a Pod, container: &str) -> Option<&'a ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == container)
}

/// A container's restart count (0 before it has a status).
pub(super) fn restart_count(pod: &Pod, container: &str) -> i32 {
    container_status(pod, container).map_or(0, |c| c.restart_count)
}

/// When the container's current run started, else when the pod was created.
fn started_at(pod: &Pod, container: &str) -> Option<Timestamp> {
    container_status(pod, container)
        .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .or(pod.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

fn revision_is(pod: &Pod, hash: Option<&str>) -> bool {
    hash.is_none_or(|hash| {
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(TEMPLATE_HASH))
            .is_some_and(|h| h == hash)
    })
}

/// The pod the suite means by "the gateway" (or a fixture): Ready, not terminating, of revision
/// `hash` when given, and of those the one whose container started last. That pod is also the
/// last to have registered with the controller, whose newest record the checks read.
pub(super) fn newest_ready(pods: &[Pod], container: &str, hash: Option<&str>) -> Option<String> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && revision_is(p, hash))
        .filter(|p| gates::PodState::of(p).ready)
        .max_by_key(|p| started_at(p, container))
        .and_then(|p| p.metadata.name.clone())
}

/// The newest pod of revision `hash`, Ready or not: the one to read logs of when a rollout did
/// not get anywhere.
pub(super) fn newest(pods: &[Pod], hash: Option<&str>) -> Option<String> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && revision_is(p, hash))
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .and_then(|p| p.metadata.name.clone())
}

/// A pod whose `container` is running (for work any replica can do, like emptying a shared cache).
pub(super) fn running(pods: &[Pod], container: &str) -> Option<String> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .find(|p| {
            container_status(p, container)
                .and_then(|c| c.state.as_ref())
                .is_some_and(|s| s.running.is_some())
        })
        .and_then(|p| p.metadata.name.clone())
}

/// Runs `argv` in `container` of `pod`: the exit code and stdout followed by stderr.
///
/// # Errors
/// The exec could not be started, did not end in time, or ended without an exit status.
pub(super) async fn exec(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    argv: &[&str],
) -> Result<(i64, String), TargetError> {
    let what = format!("running {argv:?} in {namespace}/{pod}");
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = AttachParams::default()
        .container(container)
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let run = async {
        let mut process = api
            .exec(pod, argv.iter().map(|a| a.to_string()).collect::<Vec<_>>(), &params)
            .await
            .map_err(|e| TargetError::operation(&what, e))?;
        let status = process.take_status();
        let read = |half: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
            let mut buf = Vec::new();
            if let Some(mut half) = half {
                // A stream cut short still gives what arrived; the status says how it ended.
                let _ = half.read_to_end(&mut buf).await;
            }
            buf
        };
        let (stdout, stderr) = tokio::join!(read(process.stdout()), read(process.stderr()));
        let status = match status {
            Some(status) => status.await,
            None => None,
        };
        // The message loop's own end (the connection closing) says nothing the status does not.
        let _ = process.join().await;
        let code = exit_code(status.as_ref()).map_err(|e| TargetError::operation(&what, e))?;
        let mut output = String::from_utf8_lossy(&stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&stderr));
        Ok((code, output))
    };
    tokio::time::timeout(EXEC_WITHIN, run)
        .await
        .map_err(|_| TargetError::operation(&what, format!("no exit status within {EXEC_WITHIN:?}")))?
}

/// The exit code an exec's final Status carries: `Success` is 0, a `NonZeroExitCode` failure
/// names the code in its `ExitCode` cause.
///
/// # Errors
/// No status, or a failure that is not an exit code (the command could not be started).
pub(super) fn exit_code(status: Option<&Status>) -> Result<i64, String> {
    let status = status.ok_or("the exec ended without an exit status")?;
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let cause = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|causes| causes.iter().find(|c| c.reason.as_deref() == Some("ExitCode")));
    match cause.and_then(|c| c.message.as_deref()) {
        Some(code) => code
            .trim()
            .parse()
            .map_err(|e| format!("exit code {code:?} is not a number: {e}")),
        None => Err(format!(
            "the exec failed: {}",
            status.message.as_deref().unwrap_or("no message")
        )),
    }
}

/// Whether `container` of `pod` has terminated since its restart count was `baseline`, and with
/// which code: `Some(code)` once it has (the run may already have been restarted).
pub(super) fn exited_since(pod: &Pod, container: &str, baseline: i32) -> Option<Option<i32>> {
    let status = container_status(pod, container)?;
    let terminated_now = status.state.as_ref().is_some_and(|s| s.terminated.is_some());
    (status.restart_count > baseline || terminated_now).then(|| gates::last_exit_code(pod))
}

/// Waits until `container` of `pod` has terminated since `baseline`; its exit code.
///
/// # Errors
/// The pod is gone or an API error, or no termination within `within`.
pub(super) async fn wait_exit(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    baseline: i32,
    within: Duration,
    poll: Duration,
) -> Result<Option<i32>, TargetError> {
    let what = format!("waiting for {container} in {namespace}/{pod} to exit");
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let current = api.get(pod).await.map_err(|e| TargetError::operation(&what, e))?;
        if let Some(code) = exited_since(&current, container, baseline) {
            return Ok(code);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TargetError::operation(what, format!("still running after {within:?}")));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Sets a Deployment's replicas through its scale subresource (the suite's applied spec stays
/// as it was; only the scale changes).
///
/// # Errors
/// An API error.
pub(super) async fn scale(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    replicas: i32,
) -> Result<(), TargetError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    api.patch_scale(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})),
    )
    .await
    .map(drop)
    .map_err(|e| TargetError::operation(format!("scaling {namespace}/{name} to {replicas}"), e))
}

/// Waits until no pod matches `selector`, terminating ones included: a stopped fixture is gone.
///
/// # Errors
/// Pods left after `within`, or an API error.
pub(super) async fn wait_no_pods(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    within: Duration,
    poll: Duration,
) -> Result<(), TargetError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let pods = list_pods(client, namespace, selector).await?;
        if pods.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
            return Err(TargetError::operation(
                format!("stopping pods {selector} in {namespace}"),
                format!("still there after {within:?}: {}", names.join(", ")),
            ));
        }
        tokio::time::sleep(poll).await;
    }
}

/// A pod's log, followed from its start until the container ends (or `within` passes), so that
/// a pod a rollout replaces leaves its whole log behind, shutdown lines included.
pub(super) struct LogCapture {
    text: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl LogCapture {
    /// Starts following `pod`'s log.
    pub(super) fn start(client: &kube::Client, namespace: &str, pod: &str, within: Duration) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let (sink, pod) = (text.clone(), pod.to_string());
        let append = move |line: &str| {
            if let Ok(mut text) = sink.lock() {
                text.push_str(line);
                text.push('\n');
            }
        };
        let task = tokio::spawn(async move {
            let follow = async {
                let params = LogParams {
                    follow: true,
                    ..LogParams::default()
                };
                let stream = api.log_stream(&pod, &params).await.map_err(|e| e.to_string())?;
                let mut lines = stream.lines();
                while let Some(line) = lines.next().await {
                    append(&line.map_err(|e| e.to_string())?);
                }
                Ok::<(), String>(())
            };
            match tokio::time::timeout(within, follow).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => append(&format!("[the log of {pod} could not be followed further: {e}]")),
                Err(_) => append(&format!(
                    "[the log of {pod} was followed for {within:?}; the rest is not here]"
                )),
            }
        });
        Self { text, task }
    }

    /// What was captured so far.
    pub(super) fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the API server's proxy names a Service port: `[https:]<service>:<port name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ServiceRef {
    /// The Service's namespace.
    pub(super) namespace: String,
    /// The Service's name.
    pub(super) name: String,
    /// The port's name (or number when it has none).
    pub(super) port: String,
    /// Whether the proxy must speak HTTPS to the pods.
    pub(super) https: bool,
}

impl ServiceRef {
    /// `/api/v1/namespaces/<ns>/services/[https:]<name>:<port>/proxy<path>`.
    pub(super) fn proxy_path(&self, path: &str) -> String {
        let scheme = if self.https { "https:" } else { "" };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        format!(
            "/api/v1/namespaces/{}/services/{scheme}{}:{}/proxy{path}",
            self.namespace, self.name, self.port
        )
    }
}

/// GET `path` through the API server (the Service proxy): status and body, whatever the status.
///
/// # Errors
/// The API server could not be reached or the body not read.
pub(super) async fn proxy_get(client: &kube::Client, path: &str) -> Result<(u16, String), TargetError> {
    let what = format!("GET {path} through the API server");
    let request = http::Request::get(path)
        .body(kube::client::Body::empty())
        .map_err(|e| TargetError::operation(&what, e))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| TargetError::operation(&what, e))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| TargetError::operation(&what, e))?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The events of `namespace`, oldest first, one line each.
///
/// # Errors
/// An API error.
pub(super) async fn events(client: &kube::Client, namespace: &str) -> Result<String, TargetError> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| TargetError::operation(format!("listing events in {namespace}"), e))?;
    Ok(event_lines(&list.items))
}

/// `<time> <type> <reason> <kind>/<name>: <message> (xN)`, oldest first.
pub(super) fn event_lines(events: &[Event]) -> String {
    let when = |e: &Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(e.first_timestamp.as_ref().map(|t| t.0))
    };
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| when(e));
    sorted
        .into_iter()
        .map(|e| {
            let object = &e.involved_object;
            format!(
                "{} {} {} {}/{}: {}{}\n",
                when(e).map_or_else(|| "-".to_string(), |t| t.to_string()),
                e.type_.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or("-"),
                object.kind.as_deref().unwrap_or("-"),
                object.name.as_deref().unwrap_or("-"),
                e.message.as_deref().unwrap_or("").trim(),
                e.count
                    .filter(|c| *c > 1)
                    .map(|c| format!(" (x{c})"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

/// Pods as YAML, without the managed fields nobody reads.
pub(super) fn pods_yaml(pods: &[Pod]) -> String {
    let pods: Vec<Pod> = pods
        .iter()
        .cloned()
        .map(|mut p| {
            p.metadata.managed_fields = None;
            p
        })
        .collect();
    serde_saphyr::to_string(&pods).unwrap_or_else(|e| format!("the pods could not be written as YAML: {e}"))
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
