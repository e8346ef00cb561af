//! Reading an MCP backend's answer: one JSON body, or an SSE stream read event by event (with
//! notifications passed on as they arrive) until the response to our request.

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::CallError;
use crate::mcp::wire::sse_event;

/// The parts of a backend message the gateway looks at.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    method: Option<&'a str>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// What a message turned out to be.
enum Seen {
    Answer(Result<String, CallError>),
    Notification,
    Other,
}

fn classify(data: &[u8], url: &url::Url) -> Seen {
    match serde_json::from_slice::<Message>(data) {
        Ok(Message { error: Some(error), .. }) => Seen::Answer(Err(CallError::JsonRpc(error.to_owned()))),
        Ok(Message {
            result: Some(result), ..
        }) => Seen::Answer(Ok(result.get().to_string())),
        Ok(Message { method: Some(_), .. }) => Seen::Notification,
        Ok(_) => Seen::Other,
        Err(e) => Seen::Answer(Err(CallError::Backend(format!(
            "backend {url} sent a message that is not JSON-RPC: {e}"
        )))),
    }
}

/// Reads the answer to the request just sent.
///
/// # Errors
/// Too large, not JSON-RPC, a stream that ended early, or the backend's JSON-RPC error.
pub async fn read(
    response: reqwest::Response,
    url: &url::Url,
    max: usize,
    notifications: Option<&mpsc::Sender<Bytes>>,
) -> Result<String, CallError> {
    let too_large = || CallError::Backend(format!("backend {url} answer exceeds maxResponseBodyBytes ({max})"));
    if response.content_length().is_some_and(|n| n as usize > max) {
        return Err(too_large());
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        let body = read_capped(response, max)
            .await
            .map_err(|e| e.unwrap_or_else(too_large))?;
        return match classify(&body, url) {
            Seen::Answer(answer) => answer,
            _ => Err(CallError::Backend(format!("backend {url} answered without a result"))),
        };
    }
    if !content_type.starts_with("text/event-stream") {
        return Err(CallError::Backend(format!(
            "backend {url} answered with content type '{content_type}'"
        )));
    }
    let mut events = sse_stream::SseStream::from_bytes_stream(response.bytes_stream());
    let mut seen = 0usize;
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| CallError::Backend(format!("backend {url} stream failed: {e}")))?;
        let Some(data) = event.data.filter(|d| !d.trim().is_empty()) else {
            continue;
        };
        seen += data.len();
        if seen > max {
            return Err(too_large());
        }
        match classify(data.as_bytes(), url) {
            Seen::Answer(answer) => return answer,
            Seen::Notification => {
                if let Some(tx) = notifications {
                    // A client that went away only loses notifications; the call goes on.
                    let _ = tx.send(sse_event(data.as_bytes())).await;
                }
            }
            Seen::Other => {}
        }
    }
    Err(CallError::Backend(format!(
        "backend {url} ended its stream without answering"
    )))
}

/// The whole body, or `Err(None)` past `max`, or `Err(Some(_))` when reading fails.
async fn read_capped(response: reqwest::Response, max: usize) -> Result<Vec<u8>, Option<CallError>> {
    let url = response.url().clone();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Some(super::transport_error(&url, &e)))?;
        if body.len() + chunk.len() > max {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Text of an error answer, for messages (first 300 characters).
pub async fn error_text(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(300).collect();
    format!(
        "HTTP {}{}{}",
        status.as_u16(),
        if body.is_empty() { "" } else { ": " },
        body
    )
}
