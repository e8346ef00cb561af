//! Reading an MCP backend's answer: one JSON body, or an SSE stream read event by event (with
//! notifications passed on as they arrive) until the response to our request.
//!
//! Only the reply to the request sent counts: a response carrying another id (or none) is a
//! backend error, never passed through. Of the other messages only `notifications/*` reach the
//! client, re-serialised on one line (an SSE `data:` spanning lines would break the client's
//! framing); requests from the backend (sampling, elicitation) are dropped, since no answer of
//! the client could be routed back to the backend.

use std::borrow::Cow;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::pool::{Answer, ReadError};
use super::{CallError, Failure, Redacted};
use crate::mcp::wire::sse_event;

/// The parts of a backend message the gateway looks at.
#[derive(Deserialize)]
struct Message<'a> {
    /// Text that may hold escapes, so owned when it must be (a borrowed `&str` would refuse it).
    #[serde(default, borrow)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
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

fn classify(data: &[u8], url: &url::Url, expected: u64) -> Seen {
    let message = match serde_json::from_slice::<Message>(data) {
        Ok(message) => message,
        Err(e) => {
            return Seen::Answer(Err(CallError::backend(
                Failure::Unusable,
                format!("backend {} sent a message that is not JSON-RPC: {e}", Redacted(url)),
            )));
        }
    };
    if let Some(method) = message.method {
        // Passed on as they are: only what is JSON-RPC 2.0 may reach the client.
        let version_2 = message.jsonrpc.as_deref() == Some("2.0");
        return if version_2 && message.id.is_none() && method.starts_with("notifications/") {
            Seen::Notification
        } else {
            Seen::Other
        };
    }
    if message.result.is_none() && message.error.is_none() {
        return Seen::Other;
    }
    let id = message.id.map_or("none", |id| id.get().trim());
    if id.parse::<u64>().ok() != Some(expected) {
        let error: String = message
            .error
            .map(|e| format!(" (its error: {})", e.get().chars().take(200).collect::<String>()))
            .unwrap_or_default();
        return Seen::Answer(Err(CallError::backend(
            Failure::Unusable,
            format!(
                "backend {} answered with id {id}, not the id {expected} of the request{error}",
                Redacted(url)
            ),
        )));
    }
    match (message.error, message.result) {
        (Some(error), _) => Seen::Answer(Err(CallError::JsonRpc(error.to_owned()))),
        (None, Some(result)) => Seen::Answer(Ok(result.get().to_string())),
        (None, None) => Seen::Other,
    }
}

/// A notification as one SSE event, its JSON re-serialised on one line.
fn notification_event(data: &[u8]) -> Option<Bytes> {
    let value: serde_json::Value = serde_json::from_slice(data).ok()?;
    Some(sse_event(value.to_string().as_bytes()))
}

/// How long the rest of an SSE answer may take to end once the reply is in.
const DRAIN_AFTER_REPLY: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads the answer to the request just sent with id `expected`.
///
/// # Errors
/// Too large, not JSON-RPC, a reply with another id, a stream that ended early, or the
/// backend's JSON-RPC error.
pub async fn read(
    answer: Answer,
    url: &url::Url,
    max: usize,
    expected: u64,
    notifications: Option<&mpsc::Sender<Bytes>>,
) -> Result<String, CallError> {
    let shown = Redacted(url);
    let unusable = |detail: String| CallError::backend(Failure::Unusable, detail);
    let too_large = || {
        CallError::backend(
            Failure::TooLarge,
            format!("backend {shown} answer exceeds maxResponseBodyBytes ({max})"),
        )
    };
    let failed = |e: ReadError| match e {
        ReadError::TooLarge(_) => too_large(),
        ReadError::Body(e) => unusable(format!("backend {shown} answer broke off: {e}")),
    };
    let content_type = answer.content_type();
    if content_type.starts_with("application/json") {
        let body = answer.read_capped(max).await.map_err(failed)?;
        return match classify(&body, url, expected) {
            Seen::Answer(answer) => answer,
            _ => Err(unusable(format!("backend {shown} answered without a result"))),
        };
    }
    if !content_type.starts_with("text/event-stream") {
        return Err(unusable(format!(
            "backend {shown} answered with content type '{content_type}'"
        )));
    }
    if answer.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut events = sse_stream::SseStream::from_bytes_stream(answer.into_stream(max));
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| match e {
            sse_stream::Error::Body(cause) => match cause.downcast::<ReadError>() {
                Ok(read) => failed(*read),
                Err(other) => unusable(format!("backend {shown} stream failed: {other}")),
            },
            other => unusable(format!("backend {shown} stream failed: {other}")),
        })?;
        let Some(data) = event.data.filter(|d| !d.trim().is_empty()) else {
            continue;
        };
        match classify(data.as_bytes(), url, expected) {
            Seen::Answer(answer) => {
                // The rest of the stream (its end, mostly) is read in the background: a
                // stream read to its end gives its connection back to the pool; one dropped
                // here would close it, and every legacy call would open a new connection.
                tokio::spawn(async move {
                    let rest = async { while events.next().await.is_some() {} };
                    let _ = tokio::time::timeout(DRAIN_AFTER_REPLY, rest).await;
                });
                return answer;
            }
            Seen::Notification => {
                if let (Some(tx), Some(event)) = (notifications, notification_event(data.as_bytes())) {
                    // A client that went away only loses notifications; the call goes on.
                    let _ = tx.send(event).await;
                }
            }
            Seen::Other => {}
        }
    }
    Err(unusable(format!("backend {shown} ended its stream without answering")))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn url() -> url::Url {
        url::Url::parse("http://backend:8080/mcp").unwrap()
    }

    fn answer(data: &str) -> Result<String, String> {
        match classify(data.as_bytes(), &url(), 7) {
            Seen::Answer(Ok(result)) => Ok(result),
            Seen::Answer(Err(CallError::JsonRpc(error))) => Err(format!("jsonrpc {}", error.get())),
            Seen::Answer(Err(CallError::Backend { detail, .. })) => Err(detail),
            Seen::Notification => Err("notification".into()),
            Seen::Other => Err("other".into()),
        }
    }

    #[test]
    fn the_reply_to_the_request_is_the_answer() {
        assert_eq!(
            answer(r#"{"jsonrpc":"2.0","id":7,"result":{"x":1}}"#),
            Ok(r#"{"x":1}"#.into())
        );
        assert_eq!(
            answer(r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"m"}}"#),
            Err(r#"jsonrpc {"code":-32602,"message":"m"}"#.into())
        );
    }

    #[rstest]
    #[case::another_id(r#"{"jsonrpc":"2.0","id":8,"result":{}}"#, "id 8")]
    #[case::a_string_id(r#"{"jsonrpc":"2.0","id":"7","result":{}}"#, "id \"7\"")]
    #[case::no_id(r#"{"jsonrpc":"2.0","result":{}}"#, "id none")]
    #[case::error_without_id(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#, "id none")]
    fn a_reply_with_another_id_is_a_backend_error(#[case] data: &str, #[case] named: &str) {
        let reason = answer(data).unwrap_err();
        assert!(reason.contains(named) && reason.contains("not the id 7"), "{reason}");
    }

    #[rstest]
    #[case::progress(
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#,
        "notification"
    )]
    #[case::a_request_from_the_backend(
        r#"{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}"#,
        "other"
    )]
    #[case::a_method_that_is_no_notification(r#"{"jsonrpc":"2.0","method":"ping"}"#, "other")]
    #[case::a_notification_without_jsonrpc(r#"{"method":"notifications/progress","params":{}}"#, "other")]
    #[case::a_notification_of_another_version(r#"{"jsonrpc":"1.0","method":"notifications/progress"}"#, "other")]
    #[case::an_escaped_method(r#"{"jsonrpc":"2.0","method":"notifications\/progress"}"#, "notification")]
    #[case::neither(r#"{"jsonrpc":"2.0"}"#, "other")]
    fn only_notifications_are_passed_on(#[case] data: &str, #[case] seen: &str) {
        assert_eq!(answer(data), Err(seen.to_string()));
    }

    #[test]
    fn notifications_are_re_serialised_on_one_line() {
        let event =
            notification_event(b"{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"notifications/progress\"\n}").unwrap();
        assert_eq!(
            &event[..],
            b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
        );
        assert!(notification_event(b"{broken").is_none());
    }
}
