//! tools/call (access control, the backend call, the answer in the client's era, the call's
//! record) and the per-caller tools/list.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::super::backend::{Call, CallError, LegacySessions};
use super::super::call_record::CallRecord;
use super::super::config::{BackendProtocol, Bridge};
use super::super::limits::Admitted;
use super::super::protocol::Answer;
use super::super::replies::{answer, error_frame_raw, sse_headers};
use super::super::sessions::{Holder, Session};
use super::super::shape::{self, ClientEra};
use super::super::tools::Target;
use super::super::wire::{self, CallParams};
use super::super::{Body, McpError, Reply};
use super::HttpRequest;
use super::Router;
use crate::auth::access::{Caller, ToolRef};
use crate::auth::principal::Principal;
use crate::metrics::CallOutcome;

/// Whose backend sessions a call uses.
pub(super) enum Owner {
    /// The legacy frontend session's own.
    Frontend(Arc<Session>),
    /// The gateway's bridge sessions of this caller (stateless clients; anonymous ones share),
    /// and its admission, held until the call ends (an SSE answer included).
    Bridge(
        Option<Arc<Principal>>,
        #[expect(dead_code, reason = "held for its drop, which gives the places back")] Admitted<Holder>,
    ),
}

impl Owner {
    /// The era of the client the call answers: a frontend session is a legacy client's.
    pub(super) fn client_era(&self) -> ClientEra {
        match self {
            Self::Frontend(_) => ClientEra::Legacy,
            Self::Bridge(..) => ClientEra::Stateless,
        }
    }
}

impl Router {
    /// The tools/list answer frame for `request`'s caller: only the tools the access policy lets
    /// it call (the precomputed list when there is no policy).
    pub(super) fn list(&self, id: &RawValue, stateless: bool, request: &HttpRequest<'_>) -> Bytes {
        let tools = self.tools.load();
        let Some(policy) = request.policy else {
            return wire::result_frame(id, tools.list_json(stateless));
        };
        let caller = Caller {
            principal: request.principal.as_deref(),
            headers: request.headers,
        };
        let budget = policy.max_cel_evaluations();
        let listed = tools.list_json_filtered(stateless, |i, tool| {
            budget.is_none_or(|n| i < n)
                && policy.visible(
                    ToolRef {
                        name: &tool.name,
                        endpoint: &tool.endpoint,
                    },
                    caller,
                )
        });
        wire::result_frame(id, &listed)
    }

    /// The headers a backend gets from the client (`forwardClientHeaders`), and the request's
    /// correlation headers, which replace any forwarded ones of the same names.
    pub(super) fn forwarded(&self, request: &HttpRequest<'_>) -> Vec<(HeaderName, HeaderValue)> {
        let own = request.correlation.backend_headers();
        let mut out: Vec<(HeaderName, HeaderValue)> = self
            .forward
            .iter()
            .filter(|name| !own.iter().any(|(o, _)| o == *name))
            .flat_map(|name| {
                request
                    .headers
                    .get_all(name)
                    .iter()
                    .map(move |v| (name.clone(), v.clone()))
            })
            .collect();
        out.extend(own);
        out
    }

    pub(super) async fn tools_call(
        self: &Arc<Self>,
        id: &RawValue,
        call: Option<CallParams<'_>>,
        owner: Owner,
        request: &HttpRequest<'_>,
        mode: Answer,
    ) -> Result<Reply, McpError> {
        let record = CallRecord::start(&self.audit, &self.correlation, request, id);
        let headers = request.headers;
        let Some(call) = call else {
            record.finish(None, CallOutcome::Refused);
            return Err(McpError::InvalidParams("tools/call needs params".into()));
        };
        record.requested(&call.name);
        let tools = self.tools.load();
        let Some(tool) = tools.get(&call.name).cloned() else {
            record.finish(None, CallOutcome::Refused);
            return Err(McpError::InvalidParams(format!("unknown tool '{}'", call.name)));
        };
        let arguments = match call.arguments {
            None => RawValue::from_string("{}".into()).map_err(|e| McpError::InvalidParams(e.to_string()))?,
            Some(raw) if raw.get().trim_start().starts_with('{') => raw.to_owned(),
            Some(_) => {
                record.finish(Some(&tool), CallOutcome::Refused);
                return Err(McpError::InvalidParams(format!(
                    "arguments of '{}' must be an object",
                    call.name
                )));
            }
        };
        record.reaching(&tool);
        record.arguments(&arguments);
        if let Some(policy) = request.policy {
            let caller = Caller {
                principal: request.principal.as_deref(),
                headers,
            };
            let tool_ref = ToolRef {
                name: &tool.name,
                endpoint: &tool.endpoint,
            };
            policy.authorize(tool_ref, caller, &arguments).map_err(|denied| {
                tracing::info!(tool = %tool.name, caller = %request.principal.as_ref().map_or("anonymous".into(), |p| p.describe()), "tool call denied by access control");
                record.finish(Some(&tool), CallOutcome::Denied);
                McpError::AccessDenied(denied.to_string())
            })?;
        }
        let legacy_backend = matches!(
            tool.target,
            Target::Mcp {
                protocol: BackendProtocol::Legacy,
                ..
            }
        );
        let stateless_backend = matches!(
            tool.target,
            Target::Mcp {
                protocol: BackendProtocol::Stateless,
                ..
            }
        );
        if matches!(owner, Owner::Bridge(..))
            && legacy_backend
            && self.config.protocols.stateless.stateless_to_legacy_bridge == Bridge::Reject
        {
            record.finish(Some(&tool), CallOutcome::Refused);
            return Err(McpError::Backend {
                tool: tool.name.clone(),
                reason: "its backend speaks only the legacy era and statelessToLegacyBridge is reject".into(),
            });
        }
        let forward = self.forwarded(request);
        let correlation = request.correlation.id.clone();
        let id = id.to_owned();
        let router = self.clone();
        let run = async move |notifications: Option<&mpsc::Sender<Bytes>>| {
            let bridged;
            let sessions: &LegacySessions = match &owner {
                Owner::Frontend(session) => &session.backends,
                // Stateless and HTTP backends keep no session: no table is looked up for them.
                Owner::Bridge(..) if !legacy_backend => &router.no_sessions,
                Owner::Bridge(caller, _) => {
                    let key = caller.as_deref().map_or("", |p| p.binding.as_str());
                    let (set, expired) = router.backends.bridge.for_caller(key);
                    router.backends.close_sessions(expired);
                    bridged = set;
                    &bridged
                }
            };
            let call = Call {
                arguments: &arguments,
                forward: &forward,
                sessions,
                notifications,
                limited: matches!(owner, Owner::Bridge(..)) || stateless_backend,
            };
            let called = router.backends.call(&tool, call).await;
            let outcome = match &called {
                Ok(_) => CallOutcome::Ok,
                Err(CallError::JsonRpc(_)) => CallOutcome::BackendRpcError,
                Err(CallError::Backend { .. }) => CallOutcome::BackendFailed,
            };
            match called {
                Ok(result) => {
                    let (shaped, is_error) = shape::shaped(owner.client_era(), &result);
                    record.finish(Some(&tool), if is_error { CallOutcome::ToolError } else { outcome });
                    wire::result_frame(&id, &shaped)
                }
                Err(CallError::JsonRpc(error)) => {
                    record.finish(Some(&tool), outcome);
                    error_frame_raw(&id, &error)
                }
                Err(CallError::Backend { failure, detail }) => {
                    record.finish(Some(&tool), outcome);
                    let incident = super::super::incident::new_id();
                    tracing::warn!(tool = %tool.name, incident, detail, "tool call failed");
                    let e = McpError::Backend {
                        tool: tool.name.clone(),
                        reason: format!("{} (incident {incident} in the gateway log)", failure.client_text()),
                    };
                    wire::error_frame(Some(&id), &e.to_error_data_for(correlation.as_deref()))
                }
            }
        };
        match mode {
            Answer::Json => Ok(answer(&run(None).await, Answer::Json)),
            Answer::Sse => {
                let (tx, rx) = mpsc::channel(16);
                tokio::spawn(async move {
                    // A client that left stops the call: the backend request is dropped
                    // (its connection closed) instead of running to the tool's timeout.
                    tokio::select! {
                        frame = run(Some(&tx)) => {
                            let _ = tx.send(wire::sse_event(&frame)).await;
                        }
                        () = tx.closed() => tracing::debug!("SSE client left; tool call stopped"),
                    }
                });
                Ok(Reply {
                    status: 200,
                    headers: sse_headers(),
                    body: Body::Events(rx),
                })
            }
        }
    }
}
