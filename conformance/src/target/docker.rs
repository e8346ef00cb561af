//! The docker target (being rewritten; see the helper's work).

use crate::deployment::Deployment;
use crate::render::ChartRenderer;
use crate::scenario::Scenario;

use super::TargetError;

/// The images.
#[derive(Debug, Clone)]
pub struct Images {
    /// The fixtures image.
    pub fixtures: String,
}

/// Why the docker target cannot run here, if it cannot.
pub fn unavailable(images: &[&str]) -> Option<String> {
    Some(format!("the docker target is being rebuilt ({images:?})"))
}

/// The docker target.
pub struct DockerTarget;

impl DockerTarget {
    /// Provisions.
    ///
    /// # Errors
    /// Always, for now.
    pub async fn provision(
        _scenario: &Scenario,
        _renderer: &dyn ChartRenderer,
        images: Images,
    ) -> Result<(super::local::LocalTarget, Deployment), TargetError> {
        Err(TargetError::Unavailable(
            unavailable(&[&images.fixtures]).unwrap_or_default(),
        ))
    }
}
