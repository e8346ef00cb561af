//! What the gateway container is given, from the rendered chart plus a restart's overrides: the
//! bootstrap ConfigMap's files (`values.yml` with override keys set) and the container env
//! (literals and Secret references resolved, overrides last). Every target uses it, so a
//! restart means the same thing everywhere.

use serde_json::{Map, Value};

use super::{Restart, TargetError};
use crate::deployment::Deployment;

/// The gateway's `/config` files and env.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// `(file name, text)` of the bootstrap ConfigMap, `values.yml` with the overrides.
    pub files: Vec<(String, String)>,
    /// The container env, overrides applied (replacing, never duplicating, a name).
    pub env: Vec<(String, String)>,
}

impl GatewayConfig {
    /// The config `deployment` gives, with `restart`'s overrides.
    ///
    /// # Errors
    /// No pod spec rendered, or a values.yml that cannot be written back.
    pub fn of(deployment: &Deployment, restart: &Restart) -> Result<Self, TargetError> {
        let mut values: Map<String, Value> = deployment.bootstrap_values.clone();
        for (key, value) in &restart.values {
            values.insert(key.clone(), value.clone());
        }
        let values_yml = serde_saphyr::to_string(&values)
            .map_err(|e| TargetError::operation("writing the bootstrap values.yml", e))?;
        let files = deployment
            .config_files
            .iter()
            .map(|(name, text)| {
                let text = if name == "values.yml" {
                    values_yml.clone()
                } else {
                    text.clone()
                };
                (name.clone(), text)
            })
            .collect();
        let mut env = deployment
            .container_env()
            .map_err(|e| TargetError::operation("reading the container env", e))?;
        for (name, value) in &restart.env {
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value.clone()));
        }
        Ok(Self { files, env })
    }

    /// Writes the files into `dir` (created if missing; files no longer rendered are removed).
    ///
    /// # Errors
    /// The directory cannot be written.
    pub fn write_files(&self, dir: &std::path::Path) -> Result<(), TargetError> {
        let fail = |e: std::io::Error| TargetError::operation(format!("writing {}", dir.display()), e);
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(fail)?;
        }
        std::fs::create_dir_all(dir).map_err(fail)?;
        for (name, text) in &self.files {
            std::fs::write(dir.join(name), text).map_err(fail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::render::{Release, Rendered};

    fn deployment() -> Deployment {
        let manifests = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: gw}
data:
  values.yml: |
    server.httpPort: 8080
    server.startOnRegistryFailure: true
  client.yml: "tls: {}\n"
---
apiVersion: v1
kind: Secret
metadata: {name: gw}
stringData: {LIGHT_PORTAL_AUTHORIZATION: Bearer a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: gateway
          env:
            - {name: LIGHT_PORTAL_AUTHORIZATION, valueFrom: {secretKeyRef: {name: gw, key: LIGHT_PORTAL_AUTHORIZATION}}}
            - {name: RUST_LOG, value: info}
"#;
        let rendered = Rendered::new(BTreeMap::from([("all.yaml".to_string(), manifests.to_string())]), None);
        Deployment::new(Release::new("gw", "ns"), json!({}), rendered).expect("deployment")
    }

    #[test]
    fn overrides_replace_values_keys_and_env_names() {
        let mut restart = Restart::as_deployed();
        restart.values = BTreeMap::from([("server.startOnRegistryFailure".to_string(), json!(false))]);
        restart.env = vec![("LIGHT_PORTAL_AUTHORIZATION".into(), "Bearer b".into())];
        let config = GatewayConfig::of(&deployment(), &restart).unwrap();
        let values = &config.files.iter().find(|(n, _)| n == "values.yml").unwrap().1;
        let values: Map<String, Value> = serde_saphyr::from_str(values).unwrap();
        assert_eq!(values["server.startOnRegistryFailure"], json!(false));
        assert_eq!(values["server.httpPort"], json!(8080));
        assert!(config.files.iter().any(|(n, t)| n == "client.yml" && t == "tls: {}\n"));
        assert_eq!(
            config.env,
            vec![
                ("RUST_LOG".to_string(), "info".to_string()),
                ("LIGHT_PORTAL_AUTHORIZATION".to_string(), "Bearer b".to_string()),
            ]
        );
    }

    #[test]
    fn as_deployed_is_the_rendered_config() {
        let d = deployment();
        let config = GatewayConfig::of(&d, &Restart::as_deployed()).unwrap();
        assert_eq!(config.env[0], ("LIGHT_PORTAL_AUTHORIZATION".into(), "Bearer a".into()));
        assert_eq!(config.files.len(), d.config_files.len());
    }
}
