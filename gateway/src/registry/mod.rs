//! Controller registration (portal registry, docs/protocols.md#controller).

mod backoff;
pub mod config_snapshot;
pub mod protocol;
pub mod runtime_tools;
mod session;

use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

pub use runtime_tools::RuntimeTools;
pub use session::{Settings, Timing};

/// A registry operation that did not complete.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegistryError {
    /// No registered connection right now.
    #[error("failed to reach the controller: not registered")]
    NotRegistered,
    /// The connection closed before the answer.
    #[error("failed to get an answer: the controller connection closed")]
    Closed,
    /// The controller answered with an error.
    #[error("failed: the controller refused: {0}")]
    Refused(String),
    /// No answer in time.
    #[error("failed to get an answer to {0} in time")]
    Timeout(&'static str),
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// First attempt under way.
    Connecting,
    /// Registered with this runtimeInstanceId.
    Registered(Uuid),
    /// The last attempt failed, with the reason; retrying.
    Failed(String),
    /// A registered connection was lost; reconnecting.
    Reconnecting(String),
    /// Deregistered or stopped.
    Stopped,
}

/// The handle to a running session.
pub struct RegistryHandle {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<Status>,
    task: JoinHandle<()>,
}

use session::Command;

/// The `/ws/microservice` URL for `portal_url` (`https` -> `wss`, `http` -> `ws`).
pub fn ws_url(portal_url: &url::Url) -> String {
    let scheme = if portal_url.scheme() == "https" { "wss" } else { "ws" };
    let mut url = portal_url.clone();
    let _ = url.set_scheme(scheme);
    let path = format!("{}/ws/microservice", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.to_string()
}

impl RegistryHandle {
    /// Starts the session on the current runtime.
    pub fn spawn(settings: Settings) -> Self {
        let (commands, receiver) = mpsc::channel(16);
        let (status_tx, status) = watch::channel(Status::Connecting);
        let task = tokio::spawn(session::run(settings, receiver, status_tx));
        Self { commands, status, task }
    }

    /// The outcome of the first attempt: the runtimeInstanceId, or why it failed.
    pub async fn first_outcome(&mut self) -> Result<Uuid, String> {
        let status = self
            .status
            .wait_for(|s| !matches!(s, Status::Connecting))
            .await
            .map(|s| s.clone())
            .unwrap_or(Status::Stopped);
        match status {
            Status::Registered(id) => Ok(id),
            Status::Failed(reason) | Status::Reconnecting(reason) => Err(reason),
            Status::Connecting | Status::Stopped => Err("registry session stopped".into()),
        }
    }

    /// Where the session stands now.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// `discovery/lookup` (5 s timeout).
    ///
    /// # Errors
    /// Not registered, refused, closed or timed out.
    pub async fn lookup(
        &self,
        service_id: &str,
        env_tag: Option<&str>,
        protocol: Option<&str>,
    ) -> Result<Value, RegistryError> {
        let mut params = serde_json::json!({"serviceId": service_id});
        if let Some(env) = env_tag {
            params["envTag"] = env.into();
        }
        if let Some(p) = protocol {
            params["protocol"] = p.into();
        }
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Lookup { params, reply })
            .await
            .map_err(|_| RegistryError::Closed)?;
        tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .map_err(|_| RegistryError::Timeout("discovery/lookup"))?
            .map_err(|_| RegistryError::Closed)?
    }

    /// `service/deregister` with `reason`, waiting at most `within` for the ack; the session
    /// ends either way.
    ///
    /// # Errors
    /// Not registered, refused, closed or timed out.
    pub async fn deregister(self, reason: &str, within: Duration) -> Result<(), RegistryError> {
        let (reply, answer) = oneshot::channel();
        let deadline = Instant::now() + within;
        let sent = self
            .commands
            .send(Command::Deregister {
                reason: reason.to_string(),
                deadline,
                reply,
            })
            .await;
        let result = match sent {
            Ok(()) => tokio::time::timeout_at(deadline + Duration::from_millis(50), answer)
                .await
                .map_err(|_| RegistryError::Timeout("service/deregister"))
                .and_then(|r| r.map_err(|_| RegistryError::Closed))
                .and_then(|r| r),
            Err(_) => Err(RegistryError::Closed),
        };
        self.task.abort();
        result
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
