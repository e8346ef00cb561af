//! The gateway container as the rendered pod spec describes it, in Docker's terms: image, user
//! and groups, read-only root filesystem, capabilities, command, and each volume mount by the
//! kind of its volume. Pure: reading the spec here, turning it into `docker run` arguments
//! there, so the mapping is unit-tested without an engine.

use k8s_openapi::api::core::v1::{Container, PodSpec, Volume};

/// Where a mounted volume's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// A ConfigMap's keys as files (`items`: only these keys, at these paths).
    ConfigMap {
        /// The ConfigMap's name.
        name: String,
        /// `(key, path)` pairs when the volume lists items.
        items: Option<Vec<(String, String)>>,
    },
    /// A Secret's keys as files.
    Secret {
        /// The Secret's name.
        name: String,
        /// `(key, path)` pairs when the volume lists items.
        items: Option<Vec<(String, String)>>,
    },
    /// Scratch space living as long as the pod (`medium: Memory` is a tmpfs).
    EmptyDir {
        /// `medium: Memory`.
        memory: bool,
    },
    /// A claim whose content outlives pods.
    Claim {
        /// The claim's name.
        claim: String,
    },
}

/// One `volumeMounts` entry with its volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MountSpec {
    /// The volume's name in the pod spec.
    pub(super) volume: String,
    /// `mountPath`.
    pub(super) path: String,
    /// Mounted read-only: `readOnly`, a read-only claim, or a ConfigMap or Secret volume
    /// (Kubernetes mounts those read-only whatever the mount says).
    pub(super) read_only: bool,
    /// `subPath`: one entry of the volume instead of its root.
    pub(super) sub_path: Option<String>,
    /// The volume.
    pub(super) source: Source,
}

/// The gateway container's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GatewaySpec {
    /// The container's name in the pod spec.
    pub(super) name: String,
    /// `image`.
    pub(super) image: String,
    /// `runAsUser` (container over pod).
    pub(super) uid: Option<i64>,
    /// `runAsGroup` (container over pod).
    pub(super) gid: Option<i64>,
    /// `fsGroup` and `supplementalGroups`: the process's extra groups.
    pub(super) groups: Vec<i64>,
    /// `readOnlyRootFilesystem`.
    pub(super) read_only_root: bool,
    /// `allowPrivilegeEscalation: false`.
    pub(super) no_new_privileges: bool,
    /// `privileged`.
    pub(super) privileged: bool,
    /// `capabilities.add`.
    pub(super) cap_add: Vec<String>,
    /// `capabilities.drop`.
    pub(super) cap_drop: Vec<String>,
    /// `command` (replaces the image's entrypoint).
    pub(super) command: Option<Vec<String>>,
    /// `args` (replaces the image's cmd).
    pub(super) args: Option<Vec<String>>,
    /// `workingDir`.
    pub(super) working_dir: Option<String>,
    /// `volumeMounts`, each with its volume.
    pub(super) mounts: Vec<MountSpec>,
}

impl GatewaySpec {
    /// Reads the first container of `pod` (the gateway's).
    ///
    /// # Errors
    /// No container or image, a mount naming no volume, or a volume kind Docker cannot stand in
    /// for (hostPath, projected, CSI, ...).
    pub(super) fn of(pod: &PodSpec) -> Result<Self, String> {
        let container: &Container = pod.containers.first().ok_or("the pod spec has no container")?;
        let image = container
            .image
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| format!("container {} has no image", container.name))?;
        let pod_sc = pod.security_context.clone().unwrap_or_default();
        let sc = container.security_context.clone().unwrap_or_default();
        let mut groups: Vec<i64> = pod_sc.fs_group.into_iter().collect();
        groups.extend(pod_sc.supplemental_groups.unwrap_or_default());
        groups.sort_unstable();
        groups.dedup();
        let capabilities = sc.capabilities.clone().unwrap_or_default();
        let volumes = pod.volumes.clone().unwrap_or_default();
        let mut mounts = Vec::new();
        for mount in container.volume_mounts.clone().unwrap_or_default() {
            let volume = volumes
                .iter()
                .find(|v| v.name == mount.name)
                .ok_or_else(|| format!("volumeMount {} names no volume of the pod", mount.name))?;
            let (source, forced_read_only) = source(volume)?;
            mounts.push(MountSpec {
                volume: mount.name.clone(),
                path: mount.mount_path.clone(),
                read_only: forced_read_only || mount.read_only.unwrap_or(false),
                sub_path: mount.sub_path.clone().filter(|s| !s.is_empty()),
                source,
            });
        }
        Ok(Self {
            name: container.name.clone(),
            image,
            uid: sc.run_as_user.or(pod_sc.run_as_user),
            gid: sc.run_as_group.or(pod_sc.run_as_group),
            groups,
            read_only_root: sc.read_only_root_filesystem.unwrap_or(false),
            no_new_privileges: sc.allow_privilege_escalation == Some(false),
            privileged: sc.privileged.unwrap_or(false),
            cap_add: capabilities.add.unwrap_or_default(),
            cap_drop: capabilities.drop.unwrap_or_default(),
            command: container.command.clone().filter(|c| !c.is_empty()),
            args: container.args.clone(),
            working_dir: container.working_dir.clone().filter(|w| !w.is_empty()),
            mounts,
        })
    }

    /// `--user` for `docker run`: `uid[:gid]`. With only a group set, Kubernetes runs the
    /// image's user in that group, so the image's `User` (`image_user`, as `docker image
    /// inspect` reports it) supplies the uid.
    pub(super) fn docker_user(&self, image_user: &str) -> Option<String> {
        let uid = match self.uid {
            Some(uid) => uid.to_string(),
            None if self.gid.is_some() => {
                let user = image_user.split(':').next().unwrap_or_default();
                if user.is_empty() {
                    "0".to_string()
                } else {
                    user.to_string()
                }
            }
            None => return None,
        };
        Some(match self.gid {
            Some(gid) => format!("{uid}:{gid}"),
            None => uid,
        })
    }
}

/// A volume's source, and whether Kubernetes forces it read-only.
fn source(volume: &Volume) -> Result<(Source, bool), String> {
    let items = |items: &Option<Vec<k8s_openapi::api::core::v1::KeyToPath>>| {
        items
            .as_ref()
            .map(|items| items.iter().map(|i| (i.key.clone(), i.path.clone())).collect())
    };
    if let Some(cm) = &volume.config_map {
        return Ok((
            Source::ConfigMap {
                name: cm.name.clone(),
                items: items(&cm.items),
            },
            true,
        ));
    }
    if let Some(secret) = &volume.secret {
        let name = secret
            .secret_name
            .clone()
            .ok_or_else(|| format!("secret volume {} names no Secret", volume.name))?;
        return Ok((
            Source::Secret {
                name,
                items: items(&secret.items),
            },
            true,
        ));
    }
    if let Some(empty) = &volume.empty_dir {
        return Ok((
            Source::EmptyDir {
                memory: empty.medium.as_deref() == Some("Memory"),
            },
            false,
        ));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        return Ok((
            Source::Claim {
                claim: claim.claim_name.clone(),
            },
            claim.read_only.unwrap_or(false),
        ));
    }
    Err(format!(
        "volume {} is of a kind the docker target cannot stand in for (only configMap, secret, \
         emptyDir and persistentVolumeClaim)",
        volume.name
    ))
}

/// What a mount is on the Docker side, once the target has made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Backing {
    /// A host directory (ConfigMap and Secret files).
    Dir(String),
    /// A named volume (emptyDir, claim): Docker fills a new one from the image's directory, so
    /// the image's ownership of `/app/config-cache` holds as it does on a fresh emptyDir
    /// with `fsGroup`.
    Volume(String),
    /// A tmpfs (`medium: Memory`).
    Tmpfs,
}

/// Everything `docker run` needs besides the spec.
#[derive(Debug, Clone)]
pub(super) struct Run<'a> {
    /// The container's name (also its DNS alias on the network).
    pub(super) name: &'a str,
    /// The network.
    pub(super) network: &'a str,
    /// `key=value` labels.
    pub(super) labels: &'a [String],
    /// `--user`, from [`GatewaySpec::docker_user`].
    pub(super) user: Option<String>,
    /// Each `(host port on 127.0.0.1, container port)`: the gateway's listener, then the
    /// metrics port when there is one.
    pub(super) publish: Vec<(u16, u16)>,
    /// Each of the spec's mounts, in order, as made.
    pub(super) backings: &'a [Backing],
    /// Env variable names; their values come from the CLI's environment.
    pub(super) env_names: Vec<&'a str>,
}

/// The `docker run` arguments (after `run`) for the gateway container.
///
/// # Errors
/// A mount the CLI's `--mount` syntax cannot carry (a comma in a path), or a subPath of a
/// volume (Docker 20.10 has no volume subpaths).
pub(super) fn run_args(spec: &GatewaySpec, run: &Run<'_>) -> Result<Vec<String>, String> {
    let mut args: Vec<String> = vec![
        "--detach".into(),
        // Never pull: a missing image is the caller's to build (`make image`).
        "--pull=never".into(),
        format!("--name={}", run.name),
        format!("--network={}", run.network),
        format!("--network-alias={}", run.name),
    ];
    args.extend(
        run.publish
            .iter()
            .map(|(host, container)| format!("--publish=127.0.0.1:{host}:{container}")),
    );
    args.extend(run.labels.iter().map(|l| format!("--label={l}")));
    if let Some(user) = &run.user {
        args.push(format!("--user={user}"));
    }
    args.extend(spec.groups.iter().map(|g| format!("--group-add={g}")));
    if spec.read_only_root {
        args.push("--read-only".into());
    }
    if spec.no_new_privileges {
        args.push("--security-opt=no-new-privileges".into());
    }
    if spec.privileged {
        args.push("--privileged".into());
    }
    args.extend(spec.cap_drop.iter().map(|c| format!("--cap-drop={c}")));
    args.extend(spec.cap_add.iter().map(|c| format!("--cap-add={c}")));
    if let Some(dir) = &spec.working_dir {
        args.push(format!("--workdir={dir}"));
    }
    if spec.mounts.len() != run.backings.len() {
        return Err(format!(
            "{} mounts but {} backings made",
            spec.mounts.len(),
            run.backings.len()
        ));
    }
    for (mount, backing) in spec.mounts.iter().zip(run.backings) {
        args.push(format!("--mount={}", mount_arg(mount, backing)?));
    }
    for name in &run.env_names {
        args.push(format!("--env={name}"));
    }
    let (entrypoint, rest) = match &spec.command {
        Some(command) => (command.first(), command.get(1..).unwrap_or_default().to_vec()),
        None => (None, Vec::new()),
    };
    if let Some(entrypoint) = entrypoint {
        args.push(format!("--entrypoint={entrypoint}"));
    }
    args.push(spec.image.clone());
    // Kubernetes: `command` without `args` drops the image's cmd too; Docker keeps it unless
    // something follows the image, so the rest of `command` and `args` always go there.
    args.extend(rest);
    args.extend(spec.args.clone().unwrap_or_default());
    Ok(args)
}

/// One `--mount` value.
fn mount_arg(mount: &MountSpec, backing: &Backing) -> Result<String, String> {
    let check = |what: &str, text: &str| {
        if text.contains(',') || text.contains('"') {
            Err(format!(
                "{what} {text:?} of volume {} holds a comma or quote",
                mount.volume
            ))
        } else {
            Ok(())
        }
    };
    check("mountPath", &mount.path)?;
    let mut arg = match backing {
        Backing::Dir(dir) => {
            let source = match &mount.sub_path {
                Some(sub) => format!("{}/{sub}", dir.trim_end_matches('/')),
                None => dir.clone(),
            };
            check("source", &source)?;
            format!("type=bind,source={source},target={}", mount.path)
        }
        Backing::Volume(name) => {
            if let Some(sub) = &mount.sub_path {
                return Err(format!(
                    "volume {} is mounted with subPath {sub}, which Docker volumes cannot do",
                    mount.volume
                ));
            }
            format!("type=volume,source={name},target={}", mount.path)
        }
        Backing::Tmpfs => format!("type=tmpfs,target={}", mount.path),
    };
    if mount.read_only && *backing != Backing::Tmpfs {
        arg.push_str(",readonly");
    }
    Ok(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pod spec the chart renders by default (see `chart/tests/golden/default.yaml`).
    const DEFAULT: &str = r#"
securityContext: {fsGroup: 999, runAsGroup: 999, runAsNonRoot: true, runAsUser: 999}
containers:
  - name: light-gateway
    image: light-gateway:0.1.0
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      privileged: false
      readOnlyRootFilesystem: true
      runAsGroup: 999
      runAsUser: 999
    volumeMounts:
      - {name: bootstrap-config, mountPath: /config, readOnly: true}
      - {name: config-cache, mountPath: /app/config-cache}
      - {name: tmp, mountPath: /tmp}
volumes:
  - {name: bootstrap-config, configMap: {name: gw-light-gateway-bootstrap}}
  - {name: config-cache, emptyDir: {sizeLimit: 64Mi}}
  - {name: tmp, emptyDir: {sizeLimit: 32Mi}}
"#;

    fn spec(yaml: &str) -> Result<GatewaySpec, String> {
        let pod: PodSpec = serde_saphyr::from_str(yaml).expect("a pod spec");
        GatewaySpec::of(&pod)
    }

    fn run<'a>(backings: &'a [Backing], labels: &'a [String]) -> Run<'a> {
        Run {
            name: "gw-light-gateway.light-gateway",
            network: "lgc-0123abcd",
            labels,
            user: Some("999:999".into()),
            publish: vec![(40123, 8080)],
            backings,
            env_names: vec!["LIGHT_PORTAL_AUTHORIZATION", "RUST_LOG"],
        }
    }

    #[test]
    fn the_default_pod_spec_maps_to_its_docker_settings() {
        let spec = spec(DEFAULT).unwrap();
        assert_eq!(spec.image, "light-gateway:0.1.0");
        assert_eq!((spec.uid, spec.gid), (Some(999), Some(999)));
        assert_eq!(spec.groups, vec![999]);
        assert!(spec.read_only_root && spec.no_new_privileges && !spec.privileged);
        assert_eq!(spec.cap_drop, vec!["ALL"]);
        assert_eq!(
            spec.mounts,
            vec![
                MountSpec {
                    volume: "bootstrap-config".into(),
                    path: "/config".into(),
                    read_only: true,
                    sub_path: None,
                    source: Source::ConfigMap {
                        name: "gw-light-gateway-bootstrap".into(),
                        items: None
                    },
                },
                MountSpec {
                    volume: "config-cache".into(),
                    path: "/app/config-cache".into(),
                    read_only: false,
                    sub_path: None,
                    source: Source::EmptyDir { memory: false },
                },
                MountSpec {
                    volume: "tmp".into(),
                    path: "/tmp".into(),
                    read_only: false,
                    sub_path: None,
                    source: Source::EmptyDir { memory: false },
                },
            ]
        );

        let backings = [
            Backing::Dir("/tmp/w/config".into()),
            Backing::Volume("lgc-0123abcd-config-cache-1".into()),
            Backing::Volume("lgc-0123abcd-tmp-1".into()),
        ];
        let labels = ["io.lightapi.conformance=docker".to_string()];
        let args = run_args(&spec, &run(&backings, &labels)).unwrap();
        for expected in [
            "--pull=never",
            "--name=gw-light-gateway.light-gateway",
            "--network-alias=gw-light-gateway.light-gateway",
            "--publish=127.0.0.1:40123:8080",
            "--user=999:999",
            "--group-add=999",
            "--read-only",
            "--security-opt=no-new-privileges",
            "--cap-drop=ALL",
            "--mount=type=bind,source=/tmp/w/config,target=/config,readonly",
            "--mount=type=volume,source=lgc-0123abcd-config-cache-1,target=/app/config-cache",
            "--mount=type=volume,source=lgc-0123abcd-tmp-1,target=/tmp",
            "--env=LIGHT_PORTAL_AUTHORIZATION",
            "--label=io.lightapi.conformance=docker",
        ] {
            assert!(args.iter().any(|a| a == expected), "{expected} missing from {args:?}");
        }
        assert_eq!(
            args.last().map(String::as_str),
            Some("light-gateway:0.1.0"),
            "the image's CMD runs"
        );
        assert!(!args.iter().any(|a| a.starts_with("--entrypoint")));
        assert!(!args.iter().any(|a| a.contains("Bearer")), "env values never in argv");
    }

    #[test]
    fn the_container_security_context_overrides_the_pods() {
        let spec = spec(
            r#"
securityContext: {runAsUser: 999, runAsGroup: 999}
containers:
  - name: gw
    image: gw:1
    securityContext: {runAsUser: 1000}
"#,
        )
        .unwrap();
        assert_eq!(spec.docker_user("999:999").as_deref(), Some("1000:999"));
        assert!(
            !spec.read_only_root,
            "readOnlyRootFilesystem unset means a writable root"
        );
        assert!(spec.groups.is_empty());
    }

    #[test]
    fn users_follow_kubernetes_defaults() {
        let mut spec = spec("containers: [{name: gw, image: gw:1}]").unwrap();
        assert_eq!(spec.docker_user("999:999"), None, "no runAsUser: the image's user");
        spec.uid = Some(1000);
        assert_eq!(spec.docker_user("999:999").as_deref(), Some("1000"));
        spec.uid = None;
        spec.gid = Some(5);
        assert_eq!(spec.docker_user("999:999").as_deref(), Some("999:5"));
        assert_eq!(spec.docker_user("").as_deref(), Some("0:5"));
    }

    #[test]
    fn claims_secrets_memory_and_sub_paths_map_to_their_backings() {
        let spec = spec(
            r#"
containers:
  - name: gw
    image: gw:1
    command: [/app/light-gateway, --verbose]
    args: [--x]
    volumeMounts:
      - {name: cache, mountPath: /app/config-cache}
      - {name: tls, mountPath: /app/tls}
      - {name: mem, mountPath: /scratch}
      - {name: extra, mountPath: /etc/extra.yml, subPath: extra.yml}
volumes:
  - {name: cache, persistentVolumeClaim: {claimName: gw-cache}}
  - {name: tls, secret: {secretName: gw-tls, items: [{key: tls.crt, path: cert.pem}]}}
  - {name: mem, emptyDir: {medium: Memory}}
  - {name: extra, configMap: {name: extra}}
"#,
        )
        .unwrap();
        assert_eq!(
            spec.mounts[0].source,
            Source::Claim {
                claim: "gw-cache".into()
            }
        );
        assert!(!spec.mounts[0].read_only);
        assert_eq!(
            spec.mounts[1].source,
            Source::Secret {
                name: "gw-tls".into(),
                items: Some(vec![("tls.crt".into(), "cert.pem".into())])
            }
        );
        assert!(spec.mounts[1].read_only, "Secret volumes are read-only in Kubernetes");
        assert!(
            spec.mounts[3].read_only,
            "ConfigMap volumes too, whatever the mount says"
        );
        let backings = [
            Backing::Volume("v-cache".into()),
            Backing::Dir("/w/tls".into()),
            Backing::Tmpfs,
            Backing::Dir("/w/extra".into()),
        ];
        let args = run_args(&spec, &run(&backings, &[])).unwrap();
        for expected in [
            "--mount=type=volume,source=v-cache,target=/app/config-cache",
            "--mount=type=bind,source=/w/tls,target=/app/tls,readonly",
            "--mount=type=tmpfs,target=/scratch",
            "--mount=type=bind,source=/w/extra/extra.yml,target=/etc/extra.yml,readonly",
            "--entrypoint=/app/light-gateway",
        ] {
            assert!(args.iter().any(|a| a == expected), "{expected} missing from {args:?}");
        }
        let image = args.iter().position(|a| a == "gw:1").unwrap();
        assert_eq!(&args[image + 1..], ["--verbose", "--x"]);
    }

    #[test]
    fn what_docker_cannot_stand_in_for_is_refused_by_name() {
        let host_path = spec(
            r#"
containers: [{name: gw, image: gw:1, volumeMounts: [{name: h, mountPath: /h}]}]
volumes: [{name: h, hostPath: {path: /etc}}]
"#,
        )
        .unwrap_err();
        assert!(host_path.contains("volume h"), "{host_path}");
        let dangling =
            spec("containers: [{name: gw, image: gw:1, volumeMounts: [{name: x, mountPath: /x}]}]").unwrap_err();
        assert!(dangling.contains("volumeMount x"), "{dangling}");
        assert!(spec("containers: [{name: gw}]").unwrap_err().contains("no image"));

        let sub_volume = spec(
            r#"
containers: [{name: gw, image: gw:1, volumeMounts: [{name: c, mountPath: /c, subPath: s}]}]
volumes: [{name: c, emptyDir: {}}]
"#,
        )
        .unwrap();
        let backings = [Backing::Volume("v".into())];
        let err = run_args(&sub_volume, &run(&backings, &[])).unwrap_err();
        assert!(err.contains("subPath s"), "{err}");
    }
}
