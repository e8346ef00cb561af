//! One docker-target run at a time on a host: container names are host-global (they are the
//! fixtures' in-cluster DNS names), so two runs would take each other's names. An exclusive
//! `flock` on a file in the temp dir serializes runs across processes; it also serializes runs
//! inside one process (each holds its own open file description), such as parallel tests.

use std::path::PathBuf;

use crate::platform::TargetError;

/// Held for the target's lifetime; the kernel releases it when the file closes, also when the
/// process dies, so a crashed run never blocks the next.
#[derive(Debug)]
pub(super) struct RunLock {
    _file: std::fs::File,
}

/// The lock file.
fn path() -> PathBuf {
    std::env::temp_dir().join("light-gateway-conformance-docker.lock")
}

impl RunLock {
    /// Waits (without blocking the runtime) until no other docker-target run holds the lock.
    ///
    /// # Errors
    /// The lock file cannot be opened or locked.
    pub(super) async fn acquire() -> Result<Self, TargetError> {
        tokio::task::spawn_blocking(Self::acquire_blocking)
            .await
            .map_err(|e| TargetError::operation("waiting for the docker-target lock", e))?
    }

    fn acquire_blocking() -> Result<Self, TargetError> {
        let path = path();
        let what = || format!("locking {}", path.display());
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| TargetError::operation(what(), e))?;
        loop {
            // std's File::lock is flock(2) with LOCK_EX on Unix.
            match file.lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TargetError::operation(what(), e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_second_holder_waits_for_the_first() {
        let first = RunLock::acquire().await.unwrap();
        let second = tokio::spawn(RunLock::acquire());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!second.is_finished(), "the lock is exclusive");
        drop(first);
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .expect("released on drop")
            .unwrap();
        assert!(second.is_ok());
    }
}
