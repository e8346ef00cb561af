//! The gateway as an MCP client of a backend (protocols.md §5): legacy backends get one
//! session per frontend session (or one shared session for the bridge), initialised lazily;
//! stateless backends get self-contained requests, never an `initialize`.

use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::model::{ClientCapabilities, Implementation, InitializeRequestParams, ProtocolVersion};
use serde_json::Value;

use super::response::{self, error_text};
use super::{BackendSession, Call, CallError, transport_error};
use crate::mcp::config::{BackendProtocol, STATELESS_VERSIONS};
use crate::mcp::protocol::{
    HEADER_METHOD, HEADER_NAME, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID, encode_header_value,
};
use crate::mcp::tools::Tool;

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// The legacy version the gateway asks backends for.
const LEGACY_VERSION: &str = "2025-11-25";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Calls `tool` at `url`.
///
/// # Errors
/// [`CallError`].
pub async fn call(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    protocol: BackendProtocol,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    match protocol {
        BackendProtocol::Stateless => stateless_call(client, max, url, tool, call).await,
        BackendProtocol::Legacy => legacy_call(client, max, url, tool, call).await,
    }
}

/// The per-request `_meta` of the stateless era (SEP-2575): version and client capabilities.
fn stateless_meta(version: &str) -> String {
    format!(
        r#"{{"io.modelcontextprotocol/protocolVersion":"{version}","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"light-gateway","version":"{}"}}}}"#,
        env!("CARGO_PKG_VERSION")
    )
}

fn tools_call_body(id: u64, name: &str, arguments: &str, stateless_version: Option<&str>) -> String {
    let name = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into());
    let meta = stateless_version
        .map(|v| format!(r#","_meta":{}"#, stateless_meta(v)))
        .unwrap_or_default();
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":{name},"arguments":{arguments}{meta}}}}}"#
    )
}

fn post(client: &reqwest::Client, url: &url::Url, call: &Call<'_>, body: String) -> reqwest::RequestBuilder {
    let mut request = client
        .post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, ACCEPT_BOTH);
    for (name, value) in call.forward {
        request = request.header(name, value);
    }
    request.body(body)
}

async fn stateless_call(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let version = STATELESS_VERSIONS[0];
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let body = tools_call_body(id, &tool.backend_name, call.arguments.get(), Some(version));
    let response = post(client, url, call, body)
        .header(HEADER_PROTOCOL_VERSION, version)
        .header(HEADER_METHOD, "tools/call")
        .header(HEADER_NAME, encode_header_value(&tool.backend_name))
        .send()
        .await
        .map_err(|e| transport_error(url, &e))?;
    if !response.status().is_success() {
        return Err(CallError::Backend(format!(
            "backend {url} answered {}",
            error_text(response).await
        )));
    }
    response::read(response, url, max, id, call.notifications).await
}

async fn legacy_call(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let key = url.as_str();
    for attempt in 0..2 {
        let slot = call.sessions.slot(key);
        let session = slot
            .get_or_try_init(|| initialize(client, max, url, call))
            .await?
            .clone();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let body = tools_call_body(id, &tool.backend_name, call.arguments.get(), None);
        let mut request = post(client, url, call, body).header(HEADER_PROTOCOL_VERSION, &session.version);
        if let Some(session_id) = &session.id {
            request = request.header(HEADER_SESSION_ID, session_id);
        }
        let response = request.send().await.map_err(|e| transport_error(url, &e))?;
        // A backend that forgot the session (restart, expiry) answers 404: start a new one once.
        if response.status() == reqwest::StatusCode::NOT_FOUND && session.id.is_some() && attempt == 0 {
            call.sessions.reset(key, &slot);
            continue;
        }
        if !response.status().is_success() {
            return Err(CallError::Backend(format!(
                "backend {url} answered {}",
                error_text(response).await
            )));
        }
        return response::read(response, url, max, id, call.notifications).await;
    }
    Err(CallError::Backend(format!("backend {url} lost the session twice")))
}

/// `initialize` then `notifications/initialized`.
async fn initialize(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    call: &Call<'_>,
) -> Result<BackendSession, CallError> {
    let params = InitializeRequestParams::new(
        ClientCapabilities::default(),
        Implementation::new("light-gateway", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}).to_string();
    let response = post(client, url, call, body)
        .send()
        .await
        .map_err(|e| transport_error(url, &e))?;
    if !response.status().is_success() {
        return Err(CallError::Backend(format!(
            "backend {url} refused initialize: {}",
            error_text(response).await
        )));
    }
    let id = response
        .headers()
        .get(HEADER_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = response::read(response, url, max, 0, None).await.map_err(|e| match e {
        CallError::JsonRpc(raw) => CallError::Backend(format!("backend {url} refused initialize: {}", raw.get())),
        other => other,
    })?;
    let version = serde_json::from_str::<Value>(&result)
        .ok()
        .and_then(|v| v.get("protocolVersion").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| LEGACY_VERSION.to_string());
    let session = BackendSession { id, version };
    let mut note = post(
        client,
        url,
        call,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
    )
    .header(HEADER_PROTOCOL_VERSION, &session.version);
    if let Some(id) = &session.id {
        note = note.header(HEADER_SESSION_ID, id);
    }
    let answer = note.send().await.map_err(|e| transport_error(url, &e))?;
    if !answer.status().is_success() {
        return Err(CallError::Backend(format!(
            "backend {url} refused notifications/initialized: {}",
            error_text(answer).await
        )));
    }
    Ok(session)
}

/// Lists a backend's tools (aggregation), in a session of its own that ends right after.
///
/// # Errors
/// [`CallError`].
pub async fn list_tools(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    protocol: BackendProtocol,
) -> Result<Value, CallError> {
    let sessions = super::LegacySessions::default();
    let arguments =
        serde_json::value::RawValue::from_string("{}".into()).map_err(|e| CallError::Backend(e.to_string()))?;
    let call = Call {
        arguments: &arguments,
        forward: &[],
        sessions: &sessions,
        notifications: None,
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let result = match protocol {
        BackendProtocol::Stateless => {
            let version = STATELESS_VERSIONS[0];
            let meta = stateless_meta(version);
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{"_meta":{meta}}}}}"#);
            let response = post(client, url, &call, body)
                .header(HEADER_PROTOCOL_VERSION, version)
                .header(HEADER_METHOD, "tools/list")
                .send()
                .await
                .map_err(|e| transport_error(url, &e))?;
            response::read(response, url, max, id, None).await
        }
        BackendProtocol::Legacy => {
            let session = initialize(client, max, url, &call).await?;
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#);
            let mut request = post(client, url, &call, body).header(HEADER_PROTOCOL_VERSION, &session.version);
            if let Some(sid) = &session.id {
                request = request.header(HEADER_SESSION_ID, sid);
            }
            let response = request.send().await.map_err(|e| transport_error(url, &e))?;
            let result = response::read(response, url, max, id, None).await;
            delete_session(client, url.as_str(), &session).await;
            result
        }
    }?;
    serde_json::from_str(&result).map_err(|e| CallError::Backend(format!("backend {url} tools/list result: {e}")))
}

/// Ends a backend session (best effort: failures are logged at debug).
pub async fn delete_session(client: &reqwest::Client, url: &str, session: &BackendSession) {
    let Some(id) = &session.id else { return };
    let result = client
        .delete(url)
        .header(HEADER_SESSION_ID, id)
        .header(HEADER_PROTOCOL_VERSION, &session.version)
        .send()
        .await;
    if let Err(e) = result {
        tracing::debug!(backend = url, reason = %e, "backend session DELETE failed");
    }
}
