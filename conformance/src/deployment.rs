//! What the rendered chart says the deployment is: the gateway's identity as the controller
//! must see it, the token, and the objects the security checks read. Everything comes from the
//! chart's output, never from gateway code.

use k8s_openapi::api::apps::v1::Deployment as K8sDeployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::{Map, Value};

use crate::render::{Release, RenderError, Rendered};

/// The gateway's expected registration and endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `server.serviceId`.
    pub service_id: String,
    /// `server.environment` (the envTag).
    pub env_tag: String,
    /// `startup.host` (the config tuple's host).
    pub host: String,
    /// `server.advertisedAddress`.
    pub advertised_address: String,
    /// `https` when HTTPS is on, else `http`.
    pub protocol: String,
    /// The registered port.
    pub port: u16,
}

/// A rendered deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Release name and namespace.
    pub release: Release,
    /// The chart values it was rendered with (secrets included: never written out unredacted).
    pub values: Value,
    /// The rendered chart.
    pub rendered: Rendered,
    /// The bootstrap `values.yml` from the ConfigMap.
    pub bootstrap_values: Map<String, Value>,
    /// The bootstrap ConfigMap's files.
    pub config_files: Vec<(String, String)>,
    /// The expected identity.
    pub identity: Identity,
    /// Env the gateway gets from the rendered Secret (`LIGHT_PORTAL_AUTHORIZATION`, ...).
    pub secret_env: Vec<(String, String)>,
}

/// A deployment the suite cannot read.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// Rendering or parsing failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The bootstrap ConfigMap is missing or unreadable.
    #[error("failed to read the bootstrap ConfigMap: {0}")]
    Bootstrap(String),
}

impl Deployment {
    /// Reads what the suite needs out of `rendered`.
    ///
    /// # Errors
    /// No bootstrap ConfigMap, or a values.yml that is not a map.
    pub fn new(release: Release, values: Value, rendered: Rendered) -> Result<Self, DeploymentError> {
        let maps: Vec<ConfigMap> = rendered.all("ConfigMap")?;
        let bootstrap = maps
            .into_iter()
            .find(|m| m.data.as_ref().is_some_and(|d| d.contains_key("values.yml")))
            .ok_or_else(|| DeploymentError::Bootstrap("no ConfigMap with values.yml".into()))?;
        let data = bootstrap.data.unwrap_or_default();
        let bootstrap_values: Map<String, Value> = serde_saphyr::from_str(&data["values.yml"])
            .map_err(|e| DeploymentError::Bootstrap(format!("values.yml: {e}")))?;
        let identity = identity(&bootstrap_values);
        let secret_env = secret_env(&rendered)?;
        Ok(Self {
            release,
            values,
            rendered,
            bootstrap_values,
            config_files: data.into_iter().collect(),
            identity,
            secret_env,
        })
    }

    /// The gateway Deployment object.
    ///
    /// # Errors
    /// None rendered.
    pub fn gateway(&self) -> Result<K8sDeployment, RenderError> {
        let all: Vec<K8sDeployment> = self.rendered.all("Deployment")?;
        all.into_iter().next().ok_or_else(|| RenderError::Missing {
            kind: "Deployment".into(),
            name: "(any)".into(),
        })
    }

    /// The gateway's pod template.
    ///
    /// # Errors
    /// No Deployment rendered.
    pub fn pod_template(&self) -> Result<k8s_openapi::api::core::v1::PodTemplateSpec, RenderError> {
        Ok(self.gateway()?.spec.template)
    }

    /// The gateway's pod spec.
    ///
    /// # Errors
    /// No Deployment rendered, or one without a pod spec.
    pub fn pod_spec(&self) -> Result<k8s_openapi::api::core::v1::PodSpec, RenderError> {
        self.pod_template()?.spec.ok_or_else(|| RenderError::Missing {
            kind: "Deployment pod spec".into(),
            name: "(gateway)".into(),
        })
    }

    /// The container's env as the pod gets it: literal values, and Secret references resolved
    /// from the rendered Secret (optional ones skipped when absent).
    ///
    /// # Errors
    /// No pod spec rendered.
    pub fn container_env(&self) -> Result<Vec<(String, String)>, RenderError> {
        let container = self.pod_spec()?.containers.into_iter().next();
        let mut env = Vec::new();
        for var in container.and_then(|c| c.env).unwrap_or_default() {
            if let Some(value) = var.value {
                env.push((var.name, value));
            } else if let Some(key) = var.value_from.and_then(|f| f.secret_key_ref).map(|r| r.key)
                && let Some((_, value)) = self.secret_env.iter().find(|(k, _)| *k == key)
            {
                env.push((var.name, value.clone()));
            }
        }
        Ok(env)
    }

    /// The token the gateway is given (`LIGHT_PORTAL_AUTHORIZATION`), if any.
    pub fn token(&self) -> Option<&str> {
        self.secret_env
            .iter()
            .find(|(k, _)| k == "LIGHT_PORTAL_AUTHORIZATION")
            .map(|(_, v)| v.as_str())
    }

    /// Every secret value, for redaction: as given, without `Bearer `, and base64-encoded.
    pub fn secrets(&self) -> Vec<String> {
        use base64::Engine;
        let mut out: Vec<String> = self
            .secret_env
            .iter()
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .collect();
        for v in out.clone() {
            if let Some(bare) = v.strip_prefix("Bearer ") {
                out.push(bare.to_string());
            }
            // The form a Secret's `data` holds it in.
            out.push(base64::engine::general_purpose::STANDARD.encode(&v));
        }
        out
    }
}

fn text(values: &Map<String, Value>, key: &str, default: &str) -> String {
    match values.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => default.to_string(),
    }
}

fn identity(values: &Map<String, Value>) -> Identity {
    let https = values
        .get("server.enableHttps")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (protocol, port_key, default_port) = if https {
        ("https", "server.httpsPort", 8443)
    } else {
        ("http", "server.httpPort", 8080)
    };
    let port = values
        .get(port_key)
        .and_then(Value::as_u64)
        .map_or(default_port, |p| p as u16);
    Identity {
        service_id: text(values, "server.serviceId", "com.networknt.light-gateway-1.0.0"),
        env_tag: text(values, "server.environment", "dev"),
        host: text(values, "startup.host", "dev.lightapi.net"),
        advertised_address: text(values, "server.advertisedAddress", "127.0.0.1"),
        protocol: protocol.to_string(),
        port,
    }
}

fn secret_env(rendered: &Rendered) -> Result<Vec<(String, String)>, RenderError> {
    let secrets: Vec<Secret> = rendered.all("Secret")?;
    let mut env = Vec::new();
    for secret in secrets {
        for (k, v) in secret.string_data.unwrap_or_default() {
            env.push((k, v));
        }
        for (k, v) in secret.data.unwrap_or_default() {
            env.push((k, String::from_utf8_lossy(&v.0).into_owned()));
        }
    }
    Ok(env)
}
