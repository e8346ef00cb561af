//! The config cache: atomic writes (temp file in the same dir, fsync, rename, fsync dir), so a
//! crash never leaves a half-written file, and names that would escape the dir are refused.
//! Files are created 0600 and directories the cache creates 0700: `certs` can hold private keys
//! and `values.yml` decrypted secrets. A directory that already exists (a mounted volume, say)
//! keeps its mode; the files in it are still the owner's alone.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A cache write that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The name is empty, absolute, has a path separator, or is `.`/`..`.
    #[error("failed to cache '{0}': the name would escape the cache directory")]
    UnsafeName(String),
    /// The file system refused.
    #[error("failed to write {path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Checks that `name` is a plain file name inside the cache dir.
///
/// # Errors
/// [`CacheError::UnsafeName`].
pub fn check_name(name: &str) -> Result<(), CacheError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !Path::new(name).is_absolute();
    if plain {
        Ok(())
    } else {
        Err(CacheError::UnsafeName(name.to_string()))
    }
}

/// Writes `bytes` to `dir/name` atomically and returns the path.
///
/// # Errors
/// An unsafe name or an I/O failure (the previous file, if any, is left as it was).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, CacheError> {
    check_name(name)?;
    let target = dir.join(name);
    let io = |source| CacheError::Io {
        path: target.clone(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let temp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), rand::random::<u32>()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io)?;
    Ok(target)
}

/// Temp files left by a write that was cut short (a kill between create and rename) are
/// removed once they are this old: a younger one may be another process's write in progress.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the temp files of writes cut short (`.<name>.<pid>.<n>.tmp`, older than a minute)
/// from `dir`; returns how many. Nothing reads them, but each holds a whole file's bytes.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= STALE_TEMP_AGE));
        if old && entry.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("")]
    #[case(".")]
    #[case("..")]
    #[case("../escape")]
    #[case("/etc/passwd")]
    #[case("sub/file")]
    #[case("back\\slash")]
    fn names_that_would_escape_the_cache_are_refused(#[case] name: &str) {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_atomic(dir.path(), name, b"x"),
            Err(CacheError::UnsafeName(_))
        ));
    }

    #[test]
    fn files_are_the_owners_alone_and_new_directories_too() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("config-cache").join("certs");
        let path = write_atomic(&dir, "server.key", b"secret").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("config-cache")), 0o700);
    }

    #[test]
    fn stale_temps_are_removed_and_fresh_ones_and_other_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".values.yml.4242.17.tmp");
        let fresh = dir.path().join(".values.yml.4243.18.tmp");
        for path in [&stale, &fresh] {
            std::fs::write(path, b"half").unwrap();
        }
        write_atomic(dir.path(), "values.yml", b"a: 1\n").unwrap();
        let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(two_minutes_ago)
            .unwrap();
        assert_eq!(remove_stale_temps(dir.path()), 1);
        assert!(!stale.exists() && fresh.exists());
        assert!(dir.path().join("values.yml").exists());
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "values.yml", b"a: 1\n").unwrap();
        write_atomic(dir.path(), "values.yml", b"a: 2\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("values.yml")).unwrap(),
            "a: 2\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["values.yml"]);
    }
}
