//! Local port-forwards, so ordinary HTTP clients on the suite's machine reach pods by a
//! `127.0.0.1` URL: a listener on a free local port, and for each accepted connection a fresh
//! port-forward stream into the pod chosen at that moment. The URL stays fixed for the whole run
//! (`Target::endpoints` is synchronous), while the pod behind it can change after a rollout.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::ops;
use crate::platform::TargetError;

/// How long a finished forward may take to close its WebSocket before it is cut.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Which pod a new connection goes to.
#[derive(Debug, Clone)]
pub(super) enum PodChoice {
    /// The pod named here now (the target moves it after a rollout).
    Current(Arc<RwLock<String>>),
    /// The newest Ready pod matching this label selector (a fixture's pod, whichever it is).
    Selector {
        /// The label selector.
        labels: String,
        /// The container whose start time tells the newest pod.
        container: String,
    },
}

/// A running port-forward: a local listener and its connections.
pub(super) struct Forward {
    local: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Forward {
    /// Listens on `127.0.0.1:0` and forwards every connection to `port` of the chosen pod.
    ///
    /// # Errors
    /// No local port could be bound.
    pub(super) async fn start(pods: Api<Pod>, choice: PodChoice, port: u16, what: &str) -> Result<Self, TargetError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| TargetError::operation(format!("listening locally for {what}"), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| TargetError::operation(format!("listening locally for {what}"), e))?;
        let what = what.to_string();
        let accept = tokio::spawn(async move {
            // Connections live in this set, so stopping the forward stops them too.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => {
                            let (pods, choice, what) = (pods.clone(), choice.clone(), what.clone());
                            connections.spawn(async move {
                                if let Err(e) = forward_one(socket, &pods, &choice, port).await {
                                    tracing::debug!(forward = %what, "connection not forwarded: {e}");
                                }
                            });
                        }
                        Err(e) => {
                            tracing::warn!(forward = %what, "accepting a local connection: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                    // Reap finished connections so the set does not grow over a long run.
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { local, accept })
    }

    /// `<scheme>://127.0.0.1:<local port>`.
    ///
    /// # Errors
    /// A scheme that does not make a URL.
    pub(super) fn url(&self, scheme: &str) -> Result<url::Url, TargetError> {
        url::Url::parse(&format!("{scheme}://{}", self.local))
            .map_err(|e| TargetError::operation("forming a port-forward URL", e))
    }

    /// Stops listening and cuts every forwarded connection.
    pub(super) fn stop(&self) {
        self.accept.abort();
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Picks the pod a connection goes to now.
async fn choose(pods: &Api<Pod>, choice: &PodChoice) -> Result<String, String> {
    match choice {
        PodChoice::Current(name) => name
            .read()
            .map(|n| n.clone())
            .map_err(|_| "the current pod's name is poisoned".to_string()),
        PodChoice::Selector { labels, container } => {
            let list = pods
                .list(&ListParams::default().labels(labels))
                .await
                .map_err(|e| format!("listing pods {labels}: {e}"))?;
            ops::newest_ready(&list.items, container, None).ok_or_else(|| format!("no Ready pod matches {labels}"))
        }
    }
}

/// Copies one local connection to and from a new port-forward stream into the chosen pod.
async fn forward_one(mut socket: TcpStream, pods: &Api<Pod>, choice: &PodChoice, port: u16) -> Result<(), String> {
    let pod = choose(pods, choice).await?;
    let mut forwarder = pods
        .portforward(&pod, &[port])
        .await
        .map_err(|e| format!("port-forward to {pod}:{port}: {e}"))?;
    let mut upstream = forwarder
        .take_stream(port)
        .ok_or_else(|| format!("port-forward to {pod}:{port} gave no stream"))?;
    let errors = forwarder.take_error(port);
    let copy = tokio::io::copy_bidirectional(&mut socket, &mut upstream);
    let result = match errors {
        Some(errors) => {
            tokio::pin!(errors);
            tokio::select! {
                copied = copy => copied.map(drop).map_err(|e| format!("copying to {pod}:{port}: {e}")),
                // The kubelet reports a port nobody listens on through the error channel.
                Some(message) = &mut errors => Err(format!("{pod}:{port}: {message}")),
            }
        }
        None => copy
            .await
            .map(drop)
            .map_err(|e| format!("copying to {pod}:{port}: {e}")),
    };
    drop(upstream);
    if tokio::time::timeout(CLOSE_WITHIN, forwarder.join()).await.is_err() {
        tracing::debug!("port-forward to {pod}:{port} did not close within {CLOSE_WITHIN:?}");
    }
    result
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::platform::kube::canned;

    #[tokio::test]
    async fn the_current_pod_is_read_per_connection() {
        let (client, _server) = canned::server(|_| (200, json!({})));
        let pods: Api<Pod> = Api::namespaced(client, "light-gateway");
        let current = Arc::new(RwLock::new("gw-1".to_string()));
        let choice = PodChoice::Current(current.clone());
        assert_eq!(choose(&pods, &choice).await.unwrap(), "gw-1");
        *current.write().unwrap() = "gw-2".into();
        assert_eq!(choose(&pods, &choice).await.unwrap(), "gw-2");
    }

    #[tokio::test]
    async fn a_selector_picks_a_ready_pod_and_says_when_there_is_none() {
        let mut calls = 0;
        let (client, server) = canned::server(move |_| {
            calls += 1;
            let items = if calls == 1 {
                vec![json!({"metadata": {"name": "config-server-1"},
                            "status": {"conditions": [{"type": "Ready", "status": "True"}]}})]
            } else {
                vec![]
            };
            (
                200,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}),
            )
        });
        let pods: Api<Pod> = Api::namespaced(client, "lightapi");
        let choice = PodChoice::Selector {
            labels: "app.kubernetes.io/name=config-server".into(),
            container: "mock".into(),
        };
        assert_eq!(choose(&pods, &choice).await.unwrap(), "config-server-1");
        let err = choose(&pods, &choice).await.unwrap_err();
        assert_eq!(err, "no Ready pod matches app.kubernetes.io/name=config-server");
        drop(pods);
        let seen = server.await.unwrap();
        assert!(
            seen[0].uri.starts_with("/api/v1/namespaces/lightapi/pods?"),
            "{}",
            seen[0].uri
        );
        assert!(
            seen[0]
                .uri
                .contains("labelSelector=app.kubernetes.io%2Fname%3Dconfig-server")
        );
    }

    #[tokio::test]
    async fn a_connection_with_no_pod_to_go_to_is_closed() {
        let (client, _server) = canned::server(|_| {
            (
                200,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []}),
            )
        });
        let pods: Api<Pod> = Api::namespaced(client, "tools");
        let choice = PodChoice::Selector {
            labels: "app.kubernetes.io/name=mcp-backend-a".into(),
            container: "mock".into(),
        };
        let forward = Forward::start(pods, choice, 9000, "backend-a admin").await.unwrap();
        let url = forward.url("http").unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        let mut socket = TcpStream::connect(forward.local).await.unwrap();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0))), "the connection was closed: {read:?}");
        forward.stop();
    }
}
