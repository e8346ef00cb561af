//! A check is a declarative record (README, "Conformance suite"): id, description, the
//! checklist line it proves, its profile, the target features it needs, and how to run it.
//! The runner owns skip policy; a check never skips itself.

use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::deployment::Deployment;
pub use crate::feature::{Feature, Provider};
use crate::outcome::Failure;
use crate::platform::Target;
use crate::render::ChartRenderer;
use crate::scenario::Scenario;
use crate::timeouts::Timeouts;

/// The report's profiles (shaped like the Gateway API conformance report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The deployment guide's validation checklist.
    Validation,
    /// The deployment guide's security checklist.
    Security,
    /// Fault behaviour: peers down, wrong token, SIGTERM under load.
    Faults,
}

/// What a check gets to work with.
pub struct Context<'a> {
    /// The target serving the deployment.
    pub target: &'a dyn Target,
    /// The rendered chart and what it implies.
    pub deployment: &'a Deployment,
    /// The suite's waits.
    pub timeouts: Timeouts,
    /// HTTP client for fixtures' admin APIs and the gateway.
    pub http: reqwest::Client,
    /// The scenario (to render variants, such as a rotated token).
    pub scenario: &'a Scenario,
    /// The Helm engine.
    pub renderer: &'a dyn ChartRenderer,
}

/// A check body: `Ok(evidence)` passes, `Err(failure)` fails.
pub type CheckFn = for<'a> fn(&'a Context<'a>) -> BoxFuture<'a, Result<String, Failure>>;

/// One check.
pub struct Check {
    /// Stable id (`controller-record`).
    pub id: &'static str,
    /// One sentence.
    pub description: &'static str,
    /// The checklist line it proves (quoted from the deployment guide where there is one).
    pub checklist: &'static str,
    /// Its profile.
    pub profile: Profile,
    /// Features the target must have.
    pub features: &'static [Feature],
    /// Whether it restarts or disturbs the deployment (run after the others; it must leave the
    /// deployment as it found it).
    pub disruptive: bool,
    /// The body.
    pub run: CheckFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("profile", &self.profile)
            .finish()
    }
}

impl Check {
    /// The profile's name.
    pub fn profile_name(&self) -> &'static str {
        match self.profile {
            Profile::Validation => "validation",
            Profile::Security => "security",
            Profile::Faults => "faults",
        }
    }
}
