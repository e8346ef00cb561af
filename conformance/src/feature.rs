//! What a check may need beyond the chart and a running gateway, and who provides it: the
//! platform, the scenario or the machine running the suite. Its own module, so that checks and
//! platforms both depend on it and not on each other.

use serde::Serialize;

/// What a target offers beyond rendering the chart and running the gateway with its peers, or
/// what the scenario or the machine running the suite offers (see [`Feature::provider`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// Kubernetes objects: Deployments, rollouts, pods and their restart counts.
    Kubernetes,
    /// A Kubernetes Service in front of the gateway pods.
    Service,
    /// The gateway runs in a container the way the rendered pod spec says (user, mounts,
    /// read-only root filesystem), so those can be checked live.
    Containers,
    /// The scenario protects MCP: its runtime config runs a `jwt` or `unified-security`
    /// handler. A property of the scenario, not of the target.
    ProtectedMcp,
    /// The scenario's token lives in the chart's own Secret (`secret.portalAuthorization`), not
    /// in an `existingSecret` the suite does not own and never rewrites. A property of the
    /// scenario.
    ChartSecret,
    /// The strict MCP client (the official Python MCP SDK, [`crate::mcp::strict`]) runs here:
    /// its interpreter exists and imports `mcp`. A property of the machine running the suite.
    StrictMcpClient,
}

/// Who provides a [`Feature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The target (local, docker, kind, cluster).
    Target,
    /// The scenario (values and runtime config).
    Scenario,
    /// The machine running the suite.
    Environment,
}

impl Feature {
    /// Every feature, in report order.
    pub const ALL: [Feature; 6] = [
        Self::Kubernetes,
        Self::Service,
        Self::Containers,
        Self::ProtectedMcp,
        Self::ChartSecret,
        Self::StrictMcpClient,
    ];

    /// The feature's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::Service => "service",
            Self::Containers => "containers",
            Self::ProtectedMcp => "protected-mcp",
            Self::ChartSecret => "chart-secret",
            Self::StrictMcpClient => "strict-mcp-client",
        }
    }

    /// Who provides it: the runner asks the target only for target features.
    pub fn provider(self) -> Provider {
        match self {
            Self::Kubernetes | Self::Service | Self::Containers => Provider::Target,
            Self::ProtectedMcp | Self::ChartSecret => Provider::Scenario,
            Self::StrictMcpClient => Provider::Environment,
        }
    }

    /// Why a scenario lacks this feature (scenario features only).
    pub fn scenario_absence(self) -> Option<&'static str> {
        match self {
            Self::ProtectedMcp => {
                Some("the scenario does not protect MCP (its runtime config runs no jwt or unified-security handler)")
            }
            Self::ChartSecret => {
                Some("the scenario's token is in existingSecret, which the suite does not own and never rewrites")
            }
            _ => None,
        }
    }
}
