//! The kind and cluster targets (being rewritten; see the helper's work).

use std::path::PathBuf;

use crate::deployment::Deployment;
use crate::render::ChartRenderer;
use crate::scenario::Scenario;

use super::TargetError;

/// Which cluster.
#[derive(Debug, Clone)]
pub enum Cluster {
    /// A kind cluster made for the run.
    Kind {
        /// Its name.
        name: String,
        /// kind's cluster config.
        config: PathBuf,
    },
    /// The current kube context (or the one named).
    Current {
        /// The context.
        context: Option<String>,
    },
}

/// Options.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// The cluster.
    pub cluster: Cluster,
    /// The fixtures image.
    pub fixtures_image: String,
    /// Keep what the run made.
    pub keep: bool,
}

/// Why kind cannot run here.
pub fn kind_missing() -> Option<String> {
    Some("the kind target is being rebuilt".into())
}

/// The kube target.
pub struct KubeTarget;

impl KubeTarget {
    /// Provisions.
    ///
    /// # Errors
    /// Always, for now.
    pub async fn provision(
        _scenario: &Scenario,
        _renderer: &dyn ChartRenderer,
        _options: KubeOptions,
    ) -> Result<(super::local::LocalTarget, Deployment), TargetError> {
        Err(TargetError::Unavailable(kind_missing().unwrap_or_default()))
    }
}
