//! The fixtures every platform runs and where they live: their in-cluster DNS names on kind and
//! clusters, the container names on the docker network; the local platform takes the backend
//! list (instances and session modes) and runs them on 127.0.0.1. Config-server and the
//! controller where the scenario's bootstrap values point, the two MCP backends as Services in
//! namespace `tools`, the key service (JWKS) beside config-server in namespace `lightapi`.

use serde_json::Value;

use super::TargetError;
use crate::deployment::Deployment;

/// One MCP backend fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backend {
    /// Instance name (tool results carry it; `set_backend` takes it).
    pub(crate) instance: &'static str,
    /// Its Service name.
    pub(crate) service: &'static str,
    /// `legacy` (sessions) or `stateless`: what the runtime config's tools expect.
    pub(crate) session_mode: &'static str,
}

/// The MCP backends' namespace.
pub(crate) const BACKEND_NAMESPACE: &str = "tools";
/// The port each backend serves MCP on.
pub(crate) const BACKEND_PORT: u16 = 8080;
/// The port every fixture's admin API listens on inside a container.
pub(crate) const ADMIN_PORT: u16 = 9000;

/// The backends the runtime config's `{{backend-a}}` and `{{backend-b}}` name.
pub(crate) const BACKENDS: [Backend; 2] = [
    Backend {
        instance: "backend-a",
        service: "mcp-backend-a",
        session_mode: "legacy",
    },
    Backend {
        instance: "backend-b",
        service: "mcp-backend-b",
        session_mode: "stateless",
    },
];

/// The mock key service: its Service, namespace and port (the runtime config's `{{key-service}}`).
pub(crate) const KEY_SERVICE: KeyService = KeyService {
    service: "key-service",
    namespace: "lightapi",
    port: 8436,
};

/// Where the key service lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyService {
    /// Its Service name.
    pub(crate) service: &'static str,
    /// Its namespace.
    pub(crate) namespace: &'static str,
    /// The port it serves JWKS on.
    pub(crate) port: u16,
}

impl KeyService {
    /// `key-service.lightapi.svc.cluster.local`.
    pub(crate) fn host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.service, self.namespace)
    }

    /// `http://key-service.lightapi.svc.cluster.local:8436`, as the gateway reaches it.
    pub(crate) fn url(&self) -> String {
        format!("http://{}:{}", self.host(), self.port)
    }
}

impl Backend {
    /// The `mock-mcp-server` arguments after the listeners: its instance name and session mode,
    /// and `--any-host`, because the gateway's Host header is the DNS name, which rmcp's
    /// DNS-rebinding check refuses unless told otherwise.
    pub(crate) fn args(&self) -> Vec<String> {
        [
            "--instance",
            self.instance,
            "--session-mode",
            self.session_mode,
            "--any-host",
        ]
        .map(String::from)
        .to_vec()
    }

    /// `mcp-backend-a.tools.svc.cluster.local`.
    pub(crate) fn host(&self) -> String {
        format!("{}.{BACKEND_NAMESPACE}.svc.cluster.local", self.service)
    }

    /// `http://mcp-backend-a.tools.svc.cluster.local:8080`, as the gateway reaches it.
    pub(crate) fn url(&self) -> String {
        format!("http://{}:{BACKEND_PORT}", self.host())
    }
}

/// A peer the gateway's bootstrap values point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// The DNS name (`config-server.lightapi.svc.cluster.local`).
    pub(crate) host: String,
    /// The first label: the Service name.
    pub(crate) service: String,
    /// The second label: the namespace (`default` when the name has one label).
    pub(crate) namespace: String,
    /// The port.
    pub(crate) port: u16,
    /// Whether the gateway speaks HTTPS to it.
    pub(crate) https: bool,
}

/// config-server and the controller, as the rendered bootstrap values name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peers {
    /// `light-config-server-uri`.
    pub(crate) config_server: Peer,
    /// `portalRegistry.portalUrl`.
    pub(crate) controller: Peer,
}

impl Peers {
    /// Reads both URLs out of the deployment's bootstrap `values.yml`.
    ///
    /// # Errors
    /// A key missing or not a URL with a host.
    pub(crate) fn of(deployment: &Deployment) -> Result<Self, TargetError> {
        Ok(Self {
            config_server: peer(deployment, "light-config-server-uri")?,
            controller: peer(deployment, "portalRegistry.portalUrl")?,
        })
    }
}

impl Peers {
    /// Refuses peers the gateway dials over HTTPS: the fixtures serve plain HTTP (a scenario with
    /// HTTPS peers would need their certificate in the chart's `bootstrap.caPem`).
    ///
    /// # Errors
    /// The first HTTPS peer, named by its bootstrap key.
    pub(crate) fn require_plain_http(&self, target: &str) -> Result<(), TargetError> {
        for (key, peer) in [
            ("light-config-server-uri", &self.config_server),
            ("portalRegistry.portalUrl", &self.controller),
        ] {
            if peer.https {
                return Err(TargetError::operation(
                    "placing the fixtures",
                    format!(
                        "{key} is https://{}:{}; the {target} serves the fixtures over plain HTTP",
                        peer.host, peer.port
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A fixture's command in the fixtures image: `/app/<program> --listen 0.0.0.0:<port>
/// --admin-listen 0.0.0.0:9000 <extra>`.
pub(crate) fn mock_command(program: &str, port: u16, extra: &[String]) -> Vec<String> {
    let mut command = vec![
        format!("/app/{program}"),
        "--listen".into(),
        format!("0.0.0.0:{port}"),
        "--admin-listen".into(),
        format!("0.0.0.0:{ADMIN_PORT}"),
    ];
    command.extend(extra.iter().cloned());
    command
}

fn peer(deployment: &Deployment, key: &str) -> Result<Peer, TargetError> {
    let what = format!("reading {key} in the bootstrap values.yml");
    let text = deployment
        .bootstrap_values
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| TargetError::operation(&what, "missing"))?;
    let url = url::Url::parse(text).map_err(|e| TargetError::operation(&what, format!("{text:?}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| TargetError::operation(&what, format!("{text:?} has no host")))?
        .to_string();
    let mut labels = host.split('.');
    let service = labels.next().unwrap_or_default().to_string();
    let namespace = labels.next().unwrap_or("default").to_string();
    Ok(Peer {
        port: url.port_or_known_default().unwrap_or(443),
        https: url.scheme() == "https",
        host,
        service,
        namespace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_services_in_tools() {
        assert_eq!(BACKENDS[0].url(), "http://mcp-backend-a.tools.svc.cluster.local:8080");
        assert_eq!(BACKENDS[1].session_mode, "stateless");
        assert_eq!(KEY_SERVICE.url(), "http://key-service.lightapi.svc.cluster.local:8436");
    }
}
