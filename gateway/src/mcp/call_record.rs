//! What one tools/call leaves behind: its count and latency in the metrics, and its audit line.
//! Every exit of the call finishes its record once; a call dropped unfinished (the client left)
//! is recorded as cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::audit::{self, AuditConfig};
use super::correlation::CorrelationConfig;
use super::router::HttpRequest;
use super::tools::Tool;
use crate::auth::principal::Principal;
use crate::metrics::{self, CallOutcome};

/// The tool name counted for a call naming no configured tool: MCP tool names cannot contain
/// parentheses, so it never meets a real one.
const UNKNOWN_TOOL: &str = "(unknown)";
/// How much of a requested tool name an audit line keeps.
const MAX_AUDITED_NAME: usize = 128;

/// One tools/call in progress.
pub(super) struct CallRecord {
    started: Instant,
    /// The tool once known, for the drop of an unfinished call.
    tool: OnceLock<Arc<Tool>>,
    finished: AtomicBool,
    /// Boxed: off in most deployments' hot path, and the record lives in every call's future.
    audit: Option<Box<Audit>>,
}

/// What the audit line of the call needs besides the tool and outcome.
struct Audit {
    config: Arc<AuditConfig>,
    fields: Arc<CorrelationConfig>,
    time: String,
    correlation: Option<String>,
    traceability: Option<String>,
    request_id: Box<RawValue>,
    principal: Option<Arc<Principal>>,
    requested: OnceLock<String>,
    arguments: OnceLock<Value>,
}

impl CallRecord {
    /// Starts the clock for `request`'s call with JSON-RPC id `id`.
    pub(super) fn start(
        audit: &Arc<AuditConfig>,
        fields: &Arc<CorrelationConfig>,
        request: &HttpRequest<'_>,
        id: &RawValue,
    ) -> Self {
        let audit = audit.enabled.then(|| {
            Box::new(Audit {
                config: audit.clone(),
                fields: fields.clone(),
                time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                correlation: request.correlation.id.clone(),
                traceability: request.correlation.traceability.clone(),
                request_id: id.to_owned(),
                principal: request.principal.clone(),
                requested: OnceLock::new(),
                arguments: OnceLock::new(),
            })
        });
        Self {
            started: Instant::now(),
            tool: OnceLock::new(),
            finished: AtomicBool::new(false),
            audit,
        }
    }

    /// Notes the tool name the client asked for (the audit line keeps it even when unknown).
    pub(super) fn requested(&self, name: &str) {
        if let Some(audit) = &self.audit {
            let _ = audit.requested.set(name.chars().take(MAX_AUDITED_NAME).collect());
        }
    }

    /// Notes the call's arguments, when the audit log keeps them (masked).
    pub(super) fn arguments(&self, raw: &RawValue) {
        if let Some(audit) = self.audit.as_ref().filter(|a| a.config.log_arguments) {
            let value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            let _ = audit.arguments.set(audit.config.masked(value));
        }
    }

    /// Notes the tool the call reaches, so a call cut short still names it.
    pub(super) fn reaching(&self, tool: &Arc<Tool>) {
        let _ = self.tool.set(tool.clone());
    }

    /// Records how the call ended (once; later calls are ignored).
    pub(super) fn finish(&self, tool: Option<&Tool>, outcome: CallOutcome) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        self.record(tool, outcome);
    }

    fn record(&self, tool: Option<&Tool>, outcome: CallOutcome) {
        let took = self.started.elapsed();
        match (tool.and_then(|t| t.series.as_ref()), metrics::get()) {
            (Some(series), _) => series.record(outcome, took),
            (None, Some(m)) => m.tool_call(UNKNOWN_TOOL, "", outcome, took),
            (None, None) => {}
        }
        let Some(audit) = &self.audit else {
            return;
        };
        let mut line = Map::new();
        line.insert("log".into(), json!("audit"));
        line.insert("event".into(), json!("tools/call"));
        line.insert("time".into(), json!(audit.time));
        if let Some(id) = &audit.correlation {
            line.insert(audit.fields.correlation_mdc_field.clone(), json!(id));
        }
        if let Some(id) = &audit.traceability {
            line.insert(audit.fields.traceability_mdc_field.clone(), json!(id));
        }
        let request_id = serde_json::from_str(audit.request_id.get()).unwrap_or(Value::Null);
        line.insert("requestId".into(), request_id);
        if let Some(p) = &audit.principal {
            let mut who = Map::new();
            for (key, value) in [("user", &p.user_id), ("client", &p.client_id), ("issuer", &p.issuer)] {
                if let Some(value) = value {
                    who.insert(key.into(), json!(value));
                }
            }
            line.insert("principal".into(), Value::Object(who));
        }
        let (name, backend) = match tool {
            Some(tool) => (json!(tool.name), json!(tool.backend)),
            None => (json!(audit.requested.get()), Value::Null),
        };
        line.insert("tool".into(), name);
        line.insert("backend".into(), backend);
        line.insert("outcome".into(), json!(outcome.label()));
        line.insert(
            "latencyMs".into(),
            json!((took.as_secs_f64() * 1_000_000.0).round() / 1000.0),
        );
        if let Some(arguments) = audit.arguments.get() {
            line.insert("arguments".into(), arguments.clone());
        }
        audit::emit(&line);
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        if let Some(tool) = self.tool.get() {
            self.record(Some(tool), CallOutcome::Cancelled);
        }
    }
}
