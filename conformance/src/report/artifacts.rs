//! An artifacts folder per failed check: gateway and fixture logs, fixture records and the
//! rendered manifests, every secret value redacted.

use std::path::PathBuf;

use super::redact::redact;
use crate::check::Context;
use crate::runner::AsyncCollect;

/// Writes artifacts under `root/<check id>/`.
pub struct Artifacts {
    /// The folder holding one folder per failed check.
    pub root: PathBuf,
}

#[async_trait::async_trait]
impl AsyncCollect for Artifacts {
    async fn collect(&mut self, ctx: &Context<'_>, id: &str) -> Option<PathBuf> {
        let dir = self.root.join(id);
        std::fs::create_dir_all(&dir).ok()?;
        let secrets = ctx.deployment.secrets();
        let write = |name: &str, text: &str| {
            let _ = std::fs::write(dir.join(name), redact(text, &secrets));
        };
        write(
            "gateway.log",
            &ctx.target.gateway_logs().await.unwrap_or_else(|e| e.to_string()),
        );
        for (name, log) in ctx.target.fixture_logs().await {
            write(&format!("{name}.log"), &log);
        }
        let endpoints = ctx.target.endpoints();
        for (name, base, path) in [
            (
                "config-server-requests.json",
                endpoints.config_server_admin.clone(),
                "/__admin/requests",
            ),
            (
                "controller-registrations.json",
                endpoints.controller_admin.clone(),
                "/__admin/registrations",
            ),
        ] {
            let text = match crate::peers::get_json(&ctx.http, &base, path).await {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                Err(e) => format!("unavailable: {}", e.0),
            };
            write(name, &text);
        }
        write("manifests.yaml", &ctx.deployment.rendered.to_golden());
        for (name, text) in ctx.target.diagnostics(&dir).await {
            write(&name, &text);
        }
        Some(dir)
    }
}
