//! What one tools/call leaves behind: its count and latency in the metrics. Every exit of the
//! call finishes its record once; a call dropped unfinished (the client left) counts as
//! cancelled.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::tools::Tool;
use crate::metrics::{self, CallOutcome};

/// The tool name counted for a call naming no configured tool: MCP tool names cannot contain
/// parentheses, so it never meets a real one.
const UNKNOWN_TOOL: &str = "(unknown)";

/// One tools/call in progress.
pub(super) struct CallRecord {
    started: Instant,
    /// The tool once known, for the drop of an unfinished call.
    tool: OnceLock<(String, String)>,
    finished: AtomicBool,
}

impl CallRecord {
    /// Starts the clock.
    pub(super) fn start() -> Self {
        Self {
            started: Instant::now(),
            tool: OnceLock::new(),
            finished: AtomicBool::new(false),
        }
    }

    /// Notes the tool the call reaches, so a call cut short still names it.
    pub(super) fn reaching(&self, tool: &Tool) {
        if metrics::get().is_some() {
            let _ = self.tool.set((tool.name.clone(), tool.backend.clone()));
        }
    }

    /// Records how the call ended (once; later calls are ignored).
    pub(super) fn finish(&self, tool: Option<&Tool>, outcome: CallOutcome) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(m) = metrics::get() {
            let (name, backend) = tool.map_or((UNKNOWN_TOOL, ""), |t| (t.name.as_str(), t.backend.as_str()));
            m.tool_call(name, backend, outcome, self.started.elapsed());
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        if let (Some(m), Some((name, backend))) = (metrics::get(), self.tool.get()) {
            m.tool_call(name, backend, CallOutcome::Cancelled, self.started.elapsed());
        }
    }
}
