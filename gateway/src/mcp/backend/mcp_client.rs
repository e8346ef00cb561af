//! The gateway as an MCP client of a backend (docs/protocols.md#mcp): legacy
//! backends get one session per frontend session (or one shared session for the bridge),
//! initialised lazily; stateless backends get self-contained requests, never an `initialize`.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use rmcp::model::{ClientCapabilities, Implementation, InitializeRequestParams, ProtocolVersion};
use serde_json::Value;

use super::pool::{Answer, Pool};
use super::response;
use super::{BackendSession, Call, CallError, Failure, Redacted, transport_error};
use crate::mcp::config::{BackendProtocol, STATELESS_VERSIONS};
use crate::mcp::protocol::{
    HEADER_METHOD, HEADER_NAME, HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID, encode_header_value,
};
use crate::mcp::tools::Tool;

const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TOOLS_CALL: HeaderValue = HeaderValue::from_static("tools/call");
const TOOLS_LIST: HeaderValue = HeaderValue::from_static("tools/list");
/// The legacy version the gateway asks backends for.
const LEGACY_VERSION: &str = "2025-11-25";

/// The stateless version the gateway speaks to backends, as a header value.
const STATELESS_VERSION: HeaderValue = HeaderValue::from_static(STATELESS_VERSIONS[0]);

/// The per-request `_meta` of the stateless era (SEP-2575): version and client capabilities.
/// The same on every request, so written once.
static STATELESS_META: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"{{"io.modelcontextprotocol/protocolVersion":"{}","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"light-gateway","version":"{}"}}}}"#,
        STATELESS_VERSIONS[0],
        env!("CARGO_PKG_VERSION")
    )
});

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Calls `tool` at `url`.
///
/// # Errors
/// [`CallError`].
pub async fn call(
    pool: &Pool,
    max: usize,
    url: &url::Url,
    protocol: BackendProtocol,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    match protocol {
        BackendProtocol::Stateless => stateless_call(pool, max, url, tool, call).await,
        // Boxed: a legacy call (session set-up included) is the larger state machine, and
        // inline it would grow every stateless call's future too.
        BackendProtocol::Legacy => Box::pin(legacy_call(pool, max, url, tool, call)).await,
    }
}

/// A tools/call request, appended piece by piece (this runs once per call).
fn tools_call_body(id: u64, name: &str, arguments: &str, stateless: bool) -> String {
    let meta = if stateless { STATELESS_META.len() + 9 } else { 0 };
    let mut body = String::with_capacity(80 + name.len() + arguments.len() + meta);
    body.push_str(r#"{"jsonrpc":"2.0","id":"#);
    body.push_str(itoa::Buffer::new().format(id));
    body.push_str(r#","method":"tools/call","params":{"name":"#);
    // A tool name is a validated identifier, but quote it properly all the same.
    match serde_json::to_string(name) {
        Ok(quoted) => body.push_str(&quoted),
        Err(_) => body.push_str("\"\""),
    }
    body.push_str(r#","arguments":"#);
    body.push_str(arguments);
    if stateless {
        body.push_str(r#","_meta":"#);
        body.push_str(&STATELESS_META);
    }
    body.push_str("}}");
    body
}

/// A POST of `body` with the client's forwarded headers.
fn post(call: &Call<'_>, body: String) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = Method::POST;
    let headers = request.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, JSON);
    headers.insert(http::header::ACCEPT, ACCEPT_BOTH);
    for (name, value) in call.forward {
        headers.append(name.clone(), value.clone());
    }
    request
}

/// Sets an MCP header from text; a value that cannot be a header (a backend's odd session id)
/// is a backend error.
fn with(
    mut request: Request<Full<Bytes>>,
    name: &'static str,
    value: &str,
    url: &url::Url,
) -> Result<Request<Full<Bytes>>, CallError> {
    let value = HeaderValue::from_str(value).map_err(|_| {
        CallError::backend(
            Failure::Unusable,
            format!("backend {}: {name} {value:?} cannot be sent as a header", Redacted(url)),
        )
    })?;
    request.headers_mut().insert(HeaderName::from_static(name), value);
    Ok(request)
}

/// `request` with the stateless era's headers for `method`.
fn stateless(mut request: Request<Full<Bytes>>, method: HeaderValue) -> Request<Full<Bytes>> {
    let headers = request.headers_mut();
    headers.insert(
        HeaderName::from_static(HEADER_PROTOCOL_VERSION),
        STATELESS_VERSION.clone(),
    );
    headers.insert(HeaderName::from_static(HEADER_METHOD), method);
    request
}

/// Sends `request`, turning transport failures and non-2xx answers into backend errors
/// (`what` says what a refusal was a refusal of).
async fn send(pool: &Pool, url: &url::Url, request: Request<Full<Bytes>>, what: &str) -> Result<Answer, CallError> {
    let answer = pool.send(url, request).await.map_err(|e| transport_error(url, &e))?;
    if !answer.status.is_success() {
        return Err(CallError::backend(
            Failure::Unusable,
            format!("backend {} {what}{}", Redacted(url), answer.error_text().await),
        ));
    }
    Ok(answer)
}

async fn stateless_call(
    pool: &Pool,
    max: usize,
    url: &url::Url,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let body = tools_call_body(id, &tool.backend_name, call.arguments.get(), true);
    let request = stateless(post(call, body), TOOLS_CALL);
    let request = with(request, HEADER_NAME, &encode_header_value(&tool.backend_name), url)?;
    let answer = send(pool, url, request, "answered ").await?;
    response::read(answer, url, max, id, call.notifications).await
}

async fn legacy_call(
    pool: &Pool,
    max: usize,
    url: &url::Url,
    tool: &Tool,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let key = url.as_str();
    for attempt in 0..2 {
        let slot = call.sessions.slot(key);
        let session = slot.get_or_try_init(|| initialize(pool, max, url, call)).await?.clone();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let body = tools_call_body(id, &tool.backend_name, call.arguments.get(), false);
        let request = session.stamp(post(call, body), url)?;
        let answer = pool.send(url, request).await.map_err(|e| transport_error(url, &e))?;
        // A backend that forgot the session (restart, expiry) answers 404: start a new one once.
        if answer.status == http::StatusCode::NOT_FOUND && session.id.is_some() && attempt == 0 {
            call.sessions.reset(key, &slot);
            continue;
        }
        if !answer.status.is_success() {
            return Err(CallError::backend(
                Failure::Unusable,
                format!("backend {} answered {}", Redacted(url), answer.error_text().await),
            ));
        }
        return response::read(answer, url, max, id, call.notifications).await;
    }
    Err(CallError::backend(
        Failure::Unusable,
        format!("backend {} lost the session twice", Redacted(url)),
    ))
}

impl BackendSession {
    /// `request` with this session's version and id.
    fn stamp(&self, request: Request<Full<Bytes>>, url: &url::Url) -> Result<Request<Full<Bytes>>, CallError> {
        let request = with(request, HEADER_PROTOCOL_VERSION, &self.version, url)?;
        match &self.id {
            Some(id) => with(request, HEADER_SESSION_ID, id, url),
            None => Ok(request),
        }
    }
}

/// `initialize` then `notifications/initialized`.
async fn initialize(pool: &Pool, max: usize, url: &url::Url, call: &Call<'_>) -> Result<BackendSession, CallError> {
    let params = InitializeRequestParams::new(
        ClientCapabilities::default(),
        Implementation::new("light-gateway", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}).to_string();
    let answer = send(pool, url, post(call, body), "refused initialize: ").await?;
    let id = answer
        .headers
        .get(HEADER_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = response::read(answer, url, max, 0, None).await.map_err(|e| match e {
        CallError::JsonRpc(raw) => CallError::backend(
            Failure::Unusable,
            format!("backend {} refused initialize: {}", Redacted(url), raw.get()),
        ),
        other => other,
    })?;
    let version = serde_json::from_str::<Value>(&result)
        .ok()
        .and_then(|v| v.get("protocolVersion").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| LEGACY_VERSION.to_string());
    let session = BackendSession {
        id,
        version,
        allow_private: pool.allows_private(),
    };
    let note = post(call, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into());
    let answer = send(
        pool,
        url,
        session.stamp(note, url)?,
        "refused notifications/initialized: ",
    )
    .await?;
    // Read to the end so the connection can serve the next request.
    let _ = answer.read_capped(max).await;
    Ok(session)
}

/// Lists a backend's tools (aggregation), in a session of its own that ends right after.
///
/// # Errors
/// [`CallError`].
pub async fn list_tools(
    pool: &Pool,
    max: usize,
    url: &url::Url,
    protocol: BackendProtocol,
) -> Result<Value, CallError> {
    let sessions = super::LegacySessions::default();
    let arguments = serde_json::value::RawValue::from_string("{}".into())
        .map_err(|e| CallError::backend(Failure::Unusable, e.to_string()))?;
    let call = Call {
        arguments: &arguments,
        forward: &[],
        sessions: &sessions,
        notifications: None,
        // Listing is the gateway's own work, bounded by its timeout, not a caller's call.
        limited: false,
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let result = match protocol {
        BackendProtocol::Stateless => {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{"_meta":{}}}}}"#,
                *STATELESS_META
            );
            let answer = send(pool, url, stateless(post(&call, body), TOOLS_LIST), "answered ").await?;
            response::read(answer, url, max, id, None).await
        }
        BackendProtocol::Legacy => {
            let session = initialize(pool, max, url, &call).await?;
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#);
            let result = match send(pool, url, session.stamp(post(&call, body), url)?, "answered ").await {
                Ok(answer) => response::read(answer, url, max, id, None).await,
                Err(e) => Err(e),
            };
            delete_session(pool, url.as_str(), &session, super::SESSION_CLOSE_TIMEOUT).await;
            result
        }
    }?;
    serde_json::from_str(&result).map_err(|e| {
        CallError::backend(
            Failure::Unusable,
            format!("backend {} tools/list result: {e}", Redacted(url)),
        )
    })
}

/// Ends a backend session (best effort: failures are logged at debug).
pub async fn delete_session(pool: &Pool, url: &str, session: &BackendSession, within: std::time::Duration) {
    if session.id.is_none() {
        return;
    }
    let ended = async {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::DELETE;
        let request = session.stamp(request, &url).map_err(|e| e.to_string())?;
        let answer = pool.send(&url, request).await.map_err(|e| e.to_string())?;
        let _ = answer.read_capped(4096).await;
        Ok::<(), String>(())
    };
    let outcome = tokio::time::timeout(within, ended)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", within.as_millis())));
    if let Err(reason) = outcome {
        tracing::debug!(backend = url, reason, "backend session DELETE failed");
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::legacy(false)]
    #[case::stateless(true)]
    fn a_tools_call_body_is_the_json_it_means(#[case] stateless: bool) {
        let body = tools_call_body(42, "say \"hi\"", r#"{"a":[1,2]}"#, stateless);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["id"], 42);
        assert_eq!(parsed["method"], "tools/call");
        assert_eq!(parsed["params"]["name"], "say \"hi\"");
        assert_eq!(parsed["params"]["arguments"], serde_json::json!({"a": [1, 2]}));
        let meta = &parsed["params"]["_meta"];
        if stateless {
            assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], STATELESS_VERSIONS[0]);
            assert_eq!(meta["io.modelcontextprotocol/clientInfo"]["name"], "light-gateway");
        } else {
            assert!(meta.is_null(), "{body}");
        }
    }
}
