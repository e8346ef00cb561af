//! Building the router's answers: one JSON-RPC message as JSON or as one SSE event, errors
//! with their status, and the SSE headers.

use bytes::Bytes;
use http::HeaderName;
use serde_json::value::RawValue;

use super::protocol::Answer;
use super::{Body, McpError, Reply, wire};

/// An error frame around a backend's own JSON-RPC error object.
pub(super) fn error_frame_raw(id: &RawValue, error: &RawValue) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"error":{}}}"#,
        id.get(),
        error.get()
    ))
}

/// The headers of an SSE answer.
pub(super) fn sse_headers() -> Vec<(HeaderName, String)> {
    vec![
        (http::header::CONTENT_TYPE, "text/event-stream".into()),
        (http::header::CACHE_CONTROL, "no-cache".into()),
    ]
}

/// A complete answer carrying one JSON-RPC message, as JSON or as one SSE event.
pub(super) fn answer(frame: &Bytes, mode: Answer) -> Reply {
    match mode {
        Answer::Json => Reply {
            status: 200,
            headers: vec![(http::header::CONTENT_TYPE, "application/json".into())],
            body: Body::Full(frame.clone()),
        },
        Answer::Sse => Reply {
            status: 200,
            headers: sse_headers(),
            body: Body::Full(wire::sse_event(frame)),
        },
    }
}

/// An error answer: JSON when the status is not 200 (SSE carries only successful streams);
/// `correlation` goes into `error.data.correlationId`.
pub(super) fn error_reply(
    status: u16,
    id: Option<&RawValue>,
    error: &McpError,
    mode: Answer,
    correlation: Option<&str>,
) -> Reply {
    let frame = wire::error_frame(id, &error.to_error_data_for(correlation));
    let mut reply = answer(&frame, if status == 200 { mode } else { Answer::Json });
    reply.status = status;
    reply
}
