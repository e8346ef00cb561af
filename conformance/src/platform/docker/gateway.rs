//! The gateway container: each volume mount given its backing (projected files in a host dir,
//! a named volume, a tmpfs), the container run from the pod spec with the env of
//! [`GatewayConfig`], stopped and removed again on a restart with its logs kept.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::pod::{self, Backing, Source};
use super::{DockerTarget, LABEL, STOP_GRACE_SECS, State, cli, files};
use crate::platform::{Cache, GatewayConfig, Restart, Started, TargetError};

impl DockerTarget {
    /// Makes each mount's backing for a start after `cache`, then runs the gateway container
    /// and waits for it to be ready or exit.
    pub(super) async fn start_gateway(&self, state: &mut State, restart: &Restart) -> Result<Started, TargetError> {
        let config = GatewayConfig::of(&self.deployment, restart)?;
        self.renew_volumes(state, restart.cache).await?;
        let mut backings = Vec::new();
        for mount in &self.spec.mounts {
            backings.push(match &mount.source {
                Source::ConfigMap { name, items } => {
                    let files = self.config_map_files(name, &config)?;
                    self.project(&mount.volume, files, items.as_deref(), &format!("ConfigMap {name}"))?
                }
                Source::Secret { name, items } => {
                    let files = self.secret_files(name)?;
                    self.project(&mount.volume, files, items.as_deref(), &format!("Secret {name}"))?
                }
                Source::EmptyDir { memory: true } => Backing::Tmpfs,
                Source::EmptyDir { memory: false } | Source::Claim { .. } => {
                    let volume = state.volumes.get(&mount.volume).cloned().ok_or_else(|| {
                        TargetError::operation(
                            format!("mounting volume {}", mount.volume),
                            "no Docker volume made for it",
                        )
                    })?;
                    Backing::Volume(volume)
                }
            });
        }
        let labels = self.labels();
        let run = pod::Run {
            name: &self.gateway,
            network: &self.run,
            labels: &labels,
            user: self.user.clone(),
            publish: std::iter::once((self.gateway_port, self.deployment.identity.port))
                .chain(self.metrics_port)
                .collect(),
            backings: &backings,
            env_names: config.env.iter().map(|(name, _)| name.as_str()).collect(),
        };
        let args =
            pod::run_args(&self.spec, &run).map_err(|e| TargetError::operation("running the gateway container", e))?;
        // Set first: a container that was created but failed to start still has to go.
        state.gateway = true;
        cli::run_with_env(std::iter::once("run".to_string()).chain(args), &config.env)
            .await
            .map_err(|e| TargetError::operation(format!("starting the gateway container {}", self.gateway), e))?;
        let name = self.gateway.as_str();
        Ok(
            crate::platform::wait_ready(&self.http, &self.endpoints.gateway, self.startup, || async move {
                cli::exit_state(name).await.ok().flatten()
            })
            .await,
        )
    }

    /// Gives each emptyDir and claim the volume a start after `cache` finds: a fresh one where
    /// a replaced pod would get one (every emptyDir unless the cache is kept; a claim only when
    /// the cache is emptied), the current one otherwise. For the cache volume this is
    /// [`super::empties_cache`]; for `/tmp` it is what a new pod gets.
    async fn renew_volumes(&self, state: &mut State, cache: Cache) -> Result<(), TargetError> {
        let mut seen = std::collections::BTreeSet::new();
        for mount in &self.spec.mounts {
            let fresh = match mount.source {
                Source::EmptyDir { memory: false } => cache != Cache::Keep,
                Source::Claim { .. } => cache == Cache::Empty,
                _ => continue,
            };
            // Two mounts of one volume (subPaths) share the first one's decision.
            if !seen.insert(mount.volume.as_str()) {
                continue;
            }
            let current = state.volumes.get(&mount.volume).cloned();
            if current.is_some() && !fresh {
                continue;
            }
            if let Some(old) = current {
                cli::run(["volume", "rm", "--force", &old]).await?;
            }
            state.made += 1;
            let name = format!("{}-{}-{}", self.run, mount.volume, state.made);
            cli::run([
                "volume",
                "create",
                "--label",
                LABEL,
                "--label",
                &self.run_label(),
                &name,
            ])
            .await?;
            state.volumes.insert(mount.volume.clone(), name);
        }
        Ok(())
    }

    /// A ConfigMap's files: the bootstrap one (holding `values.yml`) as [`GatewayConfig`] gives
    /// them with the restart's overrides, any other as rendered.
    fn config_map_files(&self, name: &str, config: &GatewayConfig) -> Result<Vec<(String, Vec<u8>)>, TargetError> {
        let map: ConfigMap = self.deployment.rendered.get("ConfigMap", name).map_err(|e| {
            TargetError::operation(
                format!("mounting ConfigMap {name}"),
                format!("the docker target has only what the chart renders: {e}"),
            )
        })?;
        if map.data.as_ref().is_some_and(|d| d.contains_key("values.yml")) {
            return Ok(config
                .files
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                .collect());
        }
        let mut files: Vec<(String, Vec<u8>)> = map
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        files.extend(map.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
        Ok(files)
    }

    /// A rendered Secret's keys as files.
    fn secret_files(&self, name: &str) -> Result<Vec<(String, Vec<u8>)>, TargetError> {
        let secret: Secret = self.deployment.rendered.get("Secret", name).map_err(|e| {
            TargetError::operation(
                format!("mounting Secret {name}"),
                format!("the docker target has only what the chart renders: {e}"),
            )
        })?;
        let mut files: Vec<(String, Vec<u8>)> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        files.extend(
            secret
                .string_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
        Ok(files)
    }

    /// Writes a volume's files into its host dir (rewritten at every start, as a new pod's
    /// projection is).
    fn project(
        &self,
        volume: &str,
        files: Vec<(String, Vec<u8>)>,
        items: Option<&[(String, String)]>,
        what: &str,
    ) -> Result<Backing, TargetError> {
        let dir = self.work.path().join("volumes").join(volume);
        files::write_dir(&dir, &files::project(files, items, what)?)?;
        Ok(Backing::Dir(dir.display().to_string()))
    }

    /// Stops the gateway container (SIGTERM, then SIGKILL after the grace), keeps its logs as
    /// the previous logs, and removes it.
    pub(super) async fn remove_gateway(&self, state: &mut State) -> Result<(), TargetError> {
        if !state.gateway {
            return Ok(());
        }
        cli::run(["stop", "-t", STOP_GRACE_SECS, &self.gateway]).await?;
        state.previous_logs = cli::logs(&self.gateway).await?;
        cli::run(["rm", "--force", &self.gateway]).await?;
        state.gateway = false;
        Ok(())
    }
}
