//! Getting locally built images onto every node of a kind cluster, with no registry.
//!
//! Not `kind load docker-image`: it pipes a plain `docker save` into each node, and under
//! Docker's containerd image store (the default from Docker 29) that archive names every
//! platform of an image's index while only the host's platform is there, so the node's import
//! fails with "content digest ... not found" (kind issue 3795). kind's own docs give what works
//! with both stores: save one platform with `docker image save --platform` and load that archive
//! with `kind load image-archive`. Engines older than API 1.48 (Docker 28) have no `--platform`
//! on save and need none: their classic store holds one platform per image.
//!
//! After loading, each node is asked through `docker exec <node> crictl images` whether it holds
//! every image, so a load that quietly did nothing fails here, naming the node and the image,
//! rather than later as a pod stuck in ErrImageNeverPull.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::kind;
use crate::platform::TargetError;
use crate::platform::docker::cli as docker;

/// The Engine API version from which `docker image save` takes `--platform`.
const SAVE_PLATFORM_SINCE: (u32, u32) = (1, 48);

/// `1.41` as (1, 41).
pub(super) fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Whether an engine speaking `api` (the lower of client and server) saves one platform on request.
pub(super) fn save_takes_platform(api: (u32, u32)) -> bool {
    api >= SAVE_PLATFORM_SINCE
}

/// `docker image save [--platform P] -o <archive> <images>`.
pub(super) fn save_args(platform: Option<&str>, archive: &Path, images: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["image", "save"].map(OsString::from).to_vec();
    if let Some(platform) = platform {
        args.extend(["--platform", platform].map(OsString::from));
    }
    args.push("-o".into());
    args.push(archive.as_os_str().to_owned());
    args.extend(images.iter().map(OsString::from));
    args
}

/// `kind load image-archive <archive> --name <cluster>`.
pub(super) fn load_archive_args(cluster: &str, archive: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["load", "image-archive"].map(OsString::from).to_vec();
    args.push(archive.as_os_str().to_owned());
    args.extend(["--name", cluster].map(OsString::from));
    args
}

/// Images grouped by platform (`linux/amd64`), each once, in a stable order: one archive each.
pub(super) fn by_platform(images: &[String], platforms: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (image, platform) in images.iter().zip(platforms) {
        let group = groups.entry(platform.clone()).or_default();
        if !group.contains(image) {
            group.push(image.clone());
        }
    }
    groups
}

/// A reference as containerd names it: `light-gateway:0.1.0` is
/// `docker.io/library/light-gateway:0.1.0`, `team/x` is `docker.io/team/x:latest`.
pub(super) fn normalized(reference: &str) -> String {
    let (name, suffix) = match reference.find('@') {
        Some(at) => (&reference[..at], reference[at..].to_string()),
        None => match reference.rfind(':').filter(|i| !reference[*i..].contains('/')) {
            Some(colon) => (&reference[..colon], reference[colon..].to_string()),
            None => (reference, ":latest".to_string()),
        },
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{name}{suffix}")
}

#[derive(Deserialize)]
struct CrictlImages {
    #[serde(default)]
    images: Vec<CrictlImage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CrictlImage {
    #[serde(default)]
    repo_tags: Vec<String>,
    #[serde(default)]
    repo_digests: Vec<String>,
}

/// The images of `wanted` that `crictl images -o json` output does not list.
pub(super) fn missing_from(crictl_json: &str, wanted: &[String]) -> Result<Vec<String>, serde_json::Error> {
    let listed: CrictlImages = serde_json::from_str(crictl_json)?;
    Ok(wanted
        .iter()
        .filter(|image| {
            let name = normalized(image);
            !listed
                .images
                .iter()
                .any(|i| i.repo_tags.contains(&name) || i.repo_digests.contains(&name))
        })
        .cloned()
        .collect())
}

/// Saves `images` (local Docker images) and loads them into every node of kind cluster `cluster`,
/// then checks each node holds each image.
pub(super) async fn load(cluster: &str, images: &[String]) -> Result<(), TargetError> {
    let what = format!("loading {} into kind cluster {cluster}", images.join(" and "));
    let fail = |e: String| TargetError::operation(&what, e);
    let api = docker::run(["version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}"]).await?;
    let api = api
        .split_whitespace()
        .filter_map(parse_api_version)
        .min()
        .ok_or_else(|| fail(format!("docker version printed {:?}, not two API versions", api.trim())))?;
    let mut inspect: Vec<OsString> = ["image", "inspect", "--format"].map(OsString::from).to_vec();
    inspect.push("{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}".into());
    inspect.extend(images.iter().map(OsString::from));
    let platforms: Vec<String> = docker::run(inspect)
        .await
        .map_err(|e| fail(format!("the images must be built first (make image): {e}")))?
        .lines()
        .map(str::to_string)
        .collect();
    let dir = tempfile::tempdir().map_err(|e| fail(format!("no temp dir for the image archive: {e}")))?;
    for (n, (platform, group)) in by_platform(images, &platforms).into_iter().enumerate() {
        let archive: PathBuf = dir.path().join(format!("images-{n}.tar"));
        let platform = save_takes_platform(api).then_some(platform.as_str());
        docker::run(save_args(platform, &archive, &group)).await?;
        kind::kind(load_archive_args(cluster, &archive), &what).await?;
    }
    let nodes = kind::kind(["get", "nodes", "--name", cluster].map(OsString::from).to_vec(), &what).await?;
    for node in nodes.lines().map(str::trim).filter(|n| !n.is_empty()) {
        let listed = docker::run(["exec", node, "crictl", "images", "-o", "json"]).await?;
        let missing = missing_from(&listed, images).map_err(|e| fail(format!("crictl images on {node}: {e}")))?;
        if !missing.is_empty() {
            return Err(fail(format!(
                "node {node} does not hold {} after loading (a digest-pinned reference needs the image to \
                 come from a registry; use a tag)",
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[rstest]
    #[case::docker_20("1.41", false)]
    #[case::docker_27("1.47", false)]
    #[case::docker_28("1.48", true)]
    #[case::docker_29("1.52", true)]
    #[case::future_major("2.0", true)]
    fn platform_is_passed_to_save_only_where_the_engine_takes_it(#[case] api: &str, #[case] takes: bool) {
        assert_eq!(save_takes_platform(parse_api_version(api).unwrap()), takes);
    }

    #[test]
    fn save_names_one_platform_and_every_image_then_kind_loads_the_archive() {
        let images = [
            "light-gateway:0.1.0".to_string(),
            "light-gateway-fixtures:0.1.0".to_string(),
        ];
        assert_eq!(
            strings(&save_args(
                Some("linux/amd64"),
                Path::new("/tmp/x/images-0.tar"),
                &images
            )),
            [
                "image",
                "save",
                "--platform",
                "linux/amd64",
                "-o",
                "/tmp/x/images-0.tar",
                "light-gateway:0.1.0",
                "light-gateway-fixtures:0.1.0"
            ]
        );
        assert_eq!(
            strings(&save_args(None, Path::new("a.tar"), &images[..1])),
            ["image", "save", "-o", "a.tar", "light-gateway:0.1.0"]
        );
        assert_eq!(
            strings(&load_archive_args("lgc-1", Path::new("/tmp/x/images-0.tar"))),
            ["load", "image-archive", "/tmp/x/images-0.tar", "--name", "lgc-1"]
        );
    }

    #[test]
    fn images_group_by_platform_each_once() {
        let images = ["a:1", "b:1", "a:1", "c:1"].map(String::from);
        let platforms = ["linux/amd64", "linux/amd64", "linux/amd64", "linux/arm64/v8"].map(String::from);
        let groups = by_platform(&images, &platforms);
        assert_eq!(groups["linux/amd64"], ["a:1", "b:1"]);
        assert_eq!(groups["linux/arm64/v8"], ["c:1"]);
    }

    #[rstest]
    #[case("light-gateway:0.1.0", "docker.io/library/light-gateway:0.1.0")]
    #[case("light-gateway", "docker.io/library/light-gateway:latest")]
    #[case("team/gw:1", "docker.io/team/gw:1")]
    #[case("registry:5000/team/gw:1", "registry:5000/team/gw:1")]
    #[case("ghcr.io/x/gw", "ghcr.io/x/gw:latest")]
    #[case("localhost/gw:2", "localhost/gw:2")]
    #[case("gw@sha256:abc", "docker.io/library/gw@sha256:abc")]
    fn references_are_compared_as_containerd_names_them(#[case] reference: &str, #[case] name: &str) {
        assert_eq!(normalized(reference), name);
    }

    const CRICTL: &str = r#"{"images":[
        {"id":"sha256:1","repoTags":["docker.io/library/light-gateway:0.1.0"],"repoDigests":[],"size":"1"},
        {"id":"sha256:2","repoTags":["registry.k8s.io/pause:3.10"],"repoDigests":["registry.k8s.io/pause@sha256:ee"]}
    ]}"#;

    #[test]
    fn a_node_missing_an_image_is_named() {
        let wanted = [
            "light-gateway:0.1.0".to_string(),
            "light-gateway-fixtures:0.1.0".to_string(),
        ];
        assert_eq!(missing_from(CRICTL, &wanted).unwrap(), ["light-gateway-fixtures:0.1.0"]);
        assert!(missing_from(CRICTL, &wanted[..1]).unwrap().is_empty());
        assert!(
            missing_from(CRICTL, &["registry.k8s.io/pause@sha256:ee".to_string()])
                .unwrap()
                .is_empty()
        );
        assert!(missing_from("not json", &wanted).is_err());
    }
}
