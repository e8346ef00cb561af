//! Host directories bind-mounted into containers: a ConfigMap's or Secret's files (what the
//! kubelet would project), and config-server's data dir. The containers run as non-root users,
//! so every directory is 0755 and every file 0644 whatever the umask, as Kubernetes' default
//! projection modes are.

use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use crate::deployment::Identity;
use crate::platform::TargetError;

/// Replaces `dir` with exactly `files` (`(relative path, bytes)`).
///
/// # Errors
/// A path that is absolute or climbs out of `dir`, or a write that fails.
pub(super) fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), TargetError> {
    let fail = |e: std::io::Error| TargetError::operation(format!("writing {}", dir.display()), e);
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(fail)?;
    }
    make_dir(dir).map_err(fail)?;
    for (name, bytes) in files {
        check_relative(name)?;
        let path = dir.join(name);
        let mut parent = path.parent();
        let mut missing = Vec::new();
        while let Some(p) = parent.filter(|p| !p.exists()) {
            missing.push(p.to_path_buf());
            parent = p.parent();
        }
        for p in missing.iter().rev() {
            make_dir(p).map_err(fail)?;
        }
        std::fs::write(&path, bytes).map_err(fail)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).map_err(fail)?;
    }
    Ok(())
}

fn make_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

/// A projected file's path must stay inside its volume, as the API server requires.
fn check_relative(name: &str) -> Result<(), TargetError> {
    let path = Path::new(name);
    let inside = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if inside {
        Ok(())
    } else {
        Err(TargetError::operation(
            "projecting volume files",
            format!("{name:?} is not a relative path inside the volume"),
        ))
    }
}

/// `files` as a volume with `items` projects them: all keys under their own names, or only
/// the listed keys under the listed paths.
///
/// # Errors
/// An item naming a key that is not there (Kubernetes refuses to start such a pod).
pub(super) fn project(
    files: Vec<(String, Vec<u8>)>,
    items: Option<&[(String, String)]>,
    what: &str,
) -> Result<Vec<(String, Vec<u8>)>, TargetError> {
    let Some(items) = items else {
        return Ok(files);
    };
    items
        .iter()
        .map(|(key, path)| {
            files
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, bytes)| (path.clone(), bytes.clone()))
                .ok_or_else(|| TargetError::operation(format!("projecting {what}"), format!("it has no key {key}")))
        })
        .collect()
}

/// config-server's data dir layout: `<host>/<serviceId>/<envTag>/values.yml`, as a relative
/// path (each part one path element).
///
/// # Errors
/// A part that is empty, `.`/`..`, or holds a `/`.
pub(super) fn runtime_config_path(identity: &Identity) -> Result<String, TargetError> {
    for (key, part) in [
        ("startup.host", &identity.host),
        ("server.serviceId", &identity.service_id),
        ("server.environment", &identity.env_tag),
    ] {
        if part.is_empty() || part == "." || part == ".." || part.contains('/') {
            return Err(TargetError::operation(
                "placing the runtime config in config-server's data dir",
                format!("{key} {part:?} cannot be a directory name"),
            ));
        }
    }
    Ok(format!(
        "{}/{}/{}/values.yml",
        identity.host, identity.service_id, identity.env_tag
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(host: &str) -> Identity {
        Identity {
            service_id: "com.example.mcp-gateway-1.0.0".into(),
            env_tag: "test".into(),
            host: host.into(),
            advertised_address: "gw".into(),
            protocol: "http".into(),
            port: 8080,
        }
    }

    #[test]
    fn files_are_written_readable_for_any_user_and_stale_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let vol = dir.path().join("vol");
        write_dir(&vol, &[("old.yml".into(), b"x".to_vec())]).unwrap();
        write_dir(
            &vol,
            &[
                ("values.yml".into(), b"a: 1\n".to_vec()),
                ("sub/dir/ca.pem".into(), b"pem".to_vec()),
            ],
        )
        .unwrap();
        assert!(!vol.join("old.yml").exists());
        assert_eq!(std::fs::read_to_string(vol.join("values.yml")).unwrap(), "a: 1\n");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&vol), 0o755);
        assert_eq!(mode(&vol.join("sub/dir")), 0o755);
        assert_eq!(mode(&vol.join("sub/dir/ca.pem")), 0o644);
        for bad in ["../x", "/etc/x", "a/../../x", ""] {
            assert!(write_dir(&vol, &[(bad.into(), vec![])]).is_err(), "{bad}");
        }
    }

    #[test]
    fn items_select_and_rename_keys() {
        let files = vec![("a".to_string(), b"1".to_vec()), ("b".to_string(), b"2".to_vec())];
        assert_eq!(project(files.clone(), None, "cm").unwrap(), files);
        let items = [("b".to_string(), "dir/b.txt".to_string())];
        assert_eq!(
            project(files.clone(), Some(&items), "cm").unwrap(),
            vec![("dir/b.txt".to_string(), b"2".to_vec())]
        );
        let missing = [("c".to_string(), "c".to_string())];
        let err = project(files, Some(&missing), "ConfigMap x").unwrap_err().to_string();
        assert!(err.contains("no key c"), "{err}");
    }

    #[test]
    fn the_runtime_config_path_is_the_config_tuple() {
        assert_eq!(
            runtime_config_path(&identity("local.test")).unwrap(),
            "local.test/com.example.mcp-gateway-1.0.0/test/values.yml"
        );
        for bad in ["..", "a/b", ""] {
            assert!(runtime_config_path(&identity(bad)).is_err(), "{bad}");
        }
    }
}
