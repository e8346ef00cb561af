//! A conformance scenario: the chart, its values, and the runtime config config-server serves.
//! Targets overlay where the fixtures are; the suite makes the token.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::deployment::{Deployment, DeploymentError};
use crate::render::{ChartRenderer, Release};

/// The namespace and release the suite deploys as.
pub const NAMESPACE: &str = "light-gateway";
/// The release name.
pub const RELEASE: &str = "gw";

/// A scenario to deploy.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The chart directory.
    pub chart: PathBuf,
    /// Chart values (the scenario's file).
    pub values: Value,
    /// Runtime config template (`{{backend-a}}`, `{{backend-b}}`, `{{key-service}}` are replaced).
    pub runtime_config: String,
    /// Where the scenario came from (for reports).
    pub source: String,
}

/// A scenario that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file cannot be read.
    #[error("failed to read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Rendering or reading the chart failed.
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    /// The Helm engine failed.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}

impl Scenario {
    /// Reads the chart values file and the runtime config template.
    ///
    /// # Errors
    /// Unreadable or non-YAML files.
    pub fn load(chart: &Path, values: &Path, runtime_config: &Path) -> Result<Self, ScenarioError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| ScenarioError::Read {
                path: p.to_path_buf(),
                reason: e.to_string(),
            })
        };
        let text = read(values)?;
        let parsed: Value = if text.trim().is_empty() {
            json!({})
        } else {
            serde_saphyr::from_str(&text).map_err(|e| ScenarioError::Read {
                path: values.to_path_buf(),
                reason: e.to_string(),
            })?
        };
        Ok(Self {
            chart: chart.to_path_buf(),
            values: parsed,
            runtime_config: read(runtime_config)?,
            source: values.display().to_string(),
        })
    }

    /// Renders with `overlay` merged over the scenario's values and a token for the rendered
    /// identity (unless the scenario uses `existingSecret`).
    ///
    /// # Errors
    /// The chart does not render or has no bootstrap ConfigMap.
    pub fn deploy(&self, renderer: &dyn ChartRenderer, overlay: &Value) -> Result<Deployment, ScenarioError> {
        let release = Release::new(RELEASE, NAMESPACE);
        let mut values = self.values.clone();
        merge(&mut values, overlay);
        let first = Deployment::new(
            release.clone(),
            values.clone(),
            renderer.render(&self.chart, &values, &release)?,
        )?;
        if existing_secret(&values) {
            return Ok(first);
        }
        let token = format!(
            "Bearer {}",
            token(
                &first.identity.host,
                &first.identity.service_id,
                &first.identity.env_tag,
                "initial"
            )
        );
        merge(&mut values, &json!({"secret": {"portalAuthorization": token}}));
        Ok(Deployment::new(
            release.clone(),
            values.clone(),
            renderer.render(&self.chart, &values, &release)?,
        )?)
    }

    /// The runtime config with the backends' base URLs filled in.
    pub fn runtime_config_for(&self, peers: &RuntimePeers<'_>) -> String {
        self.runtime_config
            .replace("{{backend-a}}", peers.backend_a.trim_end_matches('/'))
            .replace("{{backend-b}}", peers.backend_b.trim_end_matches('/'))
            .replace("{{key-service}}", peers.key_service.trim_end_matches('/'))
    }

    /// Whether the runtime config protects MCP: a `jwt`/`security` or `unified-security`
    /// handler in it. The auth checks run only then.
    pub fn protects_mcp(&self) -> bool {
        let Ok(values) = serde_saphyr::from_str::<Value>(&self.runtime_config) else {
            return false;
        };
        values
            .get("handler.handlers")
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(|id| id.rsplit('@').next().unwrap_or(id).trim())
                    .any(|id| matches!(id, "jwt" | "security" | "unified-security" | "unified"))
            })
    }
}

/// The fixtures' base URLs as the gateway reaches them, for the runtime config's placeholders.
#[derive(Debug, Clone, Copy)]
pub struct RuntimePeers<'a> {
    /// `{{backend-a}}`.
    pub backend_a: &'a str,
    /// `{{backend-b}}`.
    pub backend_b: &'a str,
    /// `{{key-service}}`.
    pub key_service: &'a str,
}

fn existing_secret(values: &Value) -> bool {
    values
        .get("existingSecret")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Merges `overlay` into `base`: maps key by key, anything else replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (k, v) in overlay {
                merge(base.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// An unsigned JWT with the claims real config-servers and controllers check, and a `jti`
/// that tells one token from the next (token rotation).
pub fn token(host: &str, sid: &str, env: &str, jti: &str) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(&json!({"alg": "none", "typ": "JWT"}));
    let claims = b64(&json!({"host": host, "sid": sid, "env": env, "jti": jti}));
    format!("{header}.{claims}.")
}

/// Bootstrap values overlay as `{"bootstrap": {"values": {...}}}`.
pub fn bootstrap_overlay(values: Map<String, Value>) -> Value {
    json!({"bootstrap": {"values": Value::Object(values)}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_deep_for_maps_and_replaces_the_rest() {
        let mut base = json!({"a": {"x": 1, "y": [1]}, "b": 1});
        merge(&mut base, &json!({"a": {"y": [2], "z": 3}}));
        assert_eq!(base, json!({"a": {"x": 1, "y": [2], "z": 3}, "b": 1}));
    }

    #[test]
    fn token_carries_the_claims() {
        let t = token("h", "s", "e", "1");
        let claims = t.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims, json!({"host": "h", "sid": "s", "env": "e", "jti": "1"}));
    }
}
