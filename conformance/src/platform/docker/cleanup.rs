//! Removing what runs made, found by label: a run's own at teardown (or drop), and at
//! provisioning everything an earlier run left (a crash, or `--keep`).

use super::{LABEL, cli};
use crate::platform::TargetError;

/// How to list, then remove, each kind of object a run makes, in an order that frees each
/// before what it uses (containers use volumes and the network).
const CLEANUP: [(&[&str], &[&str]); 3] = [
    (&["ps", "--all", "--quiet"], &["rm", "--force", "--volumes"]),
    (&["volume", "ls", "--quiet"], &["volume", "rm", "--force"]),
    (&["network", "ls", "--quiet"], &["network", "rm"]),
];

/// Removes what earlier runs left: only the run holding the lock may exist, so everything
/// carrying the docker target's label is stale.
///
/// # Errors
/// As [`remove_labelled`].
pub(super) async fn clear_leftovers() -> Result<(), TargetError> {
    remove_labelled(LABEL).await
}

/// Removes the containers, then the volumes, then the networks carrying `label`.
///
/// # Errors
/// The first step that failed; every step runs regardless.
pub(super) async fn remove_labelled(label: &str) -> Result<(), TargetError> {
    let filter = format!("label={label}");
    let mut first_error = None;
    for (list, remove) in CLEANUP {
        let result = match cli::run(list.iter().copied().chain(["--filter", &filter])).await {
            Ok(listed) => {
                let ids: Vec<&str> = listed.split_whitespace().collect();
                if ids.is_empty() {
                    Ok(())
                } else {
                    cli::run(remove.iter().chain(&ids)).await.map(drop)
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// [`remove_labelled`] with blocking CLI calls, for `Drop` (no runtime may be at hand there);
/// failures are logged, as a drop cannot report them.
pub(super) fn remove_labelled_blocking(label: &str) {
    let filter = format!("label={label}");
    for (list, remove) in CLEANUP {
        let mut args = list.to_vec();
        args.extend(["--filter", filter.as_str()]);
        let listed = match cli::blocking(&args) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(e) => {
                tracing::warn!("listing the docker target's leftovers: {e}");
                return;
            }
        };
        let ids: Vec<&str> = listed.split_whitespace().collect();
        if ids.is_empty() {
            continue;
        }
        let mut args = remove.to_vec();
        args.extend(ids);
        match cli::blocking(&args) {
            Ok(out) if !out.status.success() => tracing::warn!(
                "removing the docker target's leftovers: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => tracing::warn!("removing the docker target's leftovers: {e}"),
            Ok(_) => {}
        }
    }
}
