//! The modules in service: read once per request, swapped whole by a reload.

use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::mcp::Router;
use crate::mcp::setup::McpService;

/// The router's service and the task refreshing its aggregated tool lists.
#[derive(Default)]
struct Refreshing {
    service: Option<Arc<McpService>>,
    task: Option<JoinHandle<()>>,
}

/// The MCP router (when on) and the auth handlers in service.
pub struct Live {
    router: ArcSwapOption<Router>,
    auth: ArcSwap<Auth>,
    mcp: Mutex<Refreshing>,
}

impl Live {
    /// The modules startup built; nothing runs until [`Live::start`].
    pub fn new(mcp: Option<Arc<McpService>>, auth: Arc<Auth>) -> Arc<Self> {
        Arc::new(Self {
            router: ArcSwapOption::new(mcp.as_ref().map(|m| m.router.clone())),
            auth: ArcSwap::new(auth),
            mcp: Mutex::new(Refreshing {
                service: mcp,
                task: None,
            }),
        })
    }

    /// The router in service, if the MCP handler is on.
    pub fn router(&self) -> Option<Arc<Router>> {
        self.router.load_full()
    }

    /// The auth handlers in service.
    pub fn auth(&self) -> Arc<Auth> {
        self.auth.load_full()
    }

    /// The gauges a metrics scrape reads (zero without a router).
    pub fn sample(&self) -> crate::metrics::Sampled {
        self.router().map(|r| r.sample()).unwrap_or_default()
    }

    /// The router's service in service.
    pub fn mcp_service(&self) -> Option<Arc<McpService>> {
        self.lock().service.clone()
    }

    /// Before ready: keys fetched once, aggregated tool lists fetched once, and both refreshed
    /// from then on in the background.
    pub async fn start(&self) {
        self.auth().start_key_refresh().await;
        let service = self.mcp_service();
        let refresh = match service {
            Some(service) => start_refresh(service).await,
            None => None,
        };
        self.lock().task = refresh;
    }

    /// Puts `auth` in service once its keys were fetched; requests already admitted finish with
    /// the handlers they started with.
    pub async fn install_auth(&self, auth: Arc<Auth>) {
        auth.start_key_refresh().await;
        self.auth.store(auth);
    }

    /// Puts `mcp` in service (or takes the router out with `None`) once its aggregated lists
    /// were fetched; the previous router's refresh stops, and requests already in it finish.
    pub async fn install_router(&self, mcp: Option<Arc<McpService>>) {
        let refresh = match mcp.clone() {
            Some(service) => start_refresh(service).await,
            None => None,
        };
        self.router.store(mcp.as_ref().map(|m| m.router.clone()));
        let previous = std::mem::replace(
            &mut *self.lock(),
            Refreshing {
                service: mcp,
                task: refresh,
            },
        );
        if let Some(task) = previous.task {
            task.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Refreshing> {
        self.mcp.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(task) = self.lock().task.take() {
            task.abort();
        }
    }
}

/// Fetches `service`'s aggregated lists once and spawns their refresh (none without any).
async fn start_refresh(service: Arc<McpService>) -> Option<JoinHandle<()>> {
    if !service.aggregates() {
        return None;
    }
    let mut lists = Vec::new();
    service.refresh(&mut lists).await;
    Some(tokio::spawn(service.refresh_forever(lists)))
}
