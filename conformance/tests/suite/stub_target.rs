//! A target that runs nothing and serves only an MCP URL: for checks that read the render, or
//! that talk to an MCP stand-in. Every operation that needs a running deployment is refused.

use async_trait::async_trait;
use light_gateway_conformance::check::Feature;
use light_gateway_conformance::platform::{Endpoints, Restart, Started, Target, TargetError};

/// Nothing but `mcp` (gateway, admin and fixture URLs all point at its origin).
pub struct StubTarget {
    name: &'static str,
    mcp: url::Url,
}

impl StubTarget {
    /// A target called `name` whose MCP endpoint is `mcp`.
    pub fn new(name: &'static str, mcp: url::Url) -> Self {
        Self { name, mcp }
    }

    fn unsupported<T>(&self, operation: &'static str) -> Result<T, TargetError> {
        Err(TargetError::Unsupported {
            target: self.name,
            operation,
        })
    }
}

#[async_trait]
impl Target for StubTarget {
    fn name(&self) -> &'static str {
        self.name
    }
    fn features(&self) -> &[Feature] {
        &[]
    }
    fn endpoints(&self) -> Endpoints {
        let mut origin = self.mcp.clone();
        origin.set_path("/");
        Endpoints {
            gateway: origin.clone(),
            service: None,
            mcp_path: self.mcp.path().into(),
            config_server_admin: origin.clone(),
            controller_admin: origin.clone(),
            key_service_admin: origin,
            backends: vec![],
            metrics: None,
        }
    }
    async fn gateway_logs(&self) -> Result<String, TargetError> {
        Ok(String::new())
    }
    async fn previous_gateway_logs(&self) -> Result<String, TargetError> {
        Ok(String::new())
    }
    async fn restart(&self, _: &Restart) -> Result<Started, TargetError> {
        self.unsupported("restart")
    }
    async fn terminate(&self) -> Result<Option<i32>, TargetError> {
        self.unsupported("terminate")
    }
    async fn set_backend(&self, _: &str, _: bool) -> Result<(), TargetError> {
        self.unsupported("stop a backend")
    }
    async fn fixture_logs(&self) -> Vec<(String, String)> {
        vec![]
    }
    async fn teardown(&self) -> Result<(), TargetError> {
        Ok(())
    }
}
