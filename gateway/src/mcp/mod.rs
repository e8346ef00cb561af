//! The MCP router (docs/protocols.md#mcp): Streamable HTTP on one path, both eras, tools/list and
//! tools/call to MCP and HTTP backends. Design notes: `README.md` in this folder.

pub mod aggregate;
mod audit;
pub mod backend;
mod call_record;
pub mod client_address;
pub mod config;
pub mod correlation;
pub mod forward;
pub mod hosts;
pub mod incident;
pub mod limits;
pub mod protocol;
mod replies;
mod router;
pub mod sessions;
pub mod setup;
pub mod shape;
pub mod tools;
pub mod wire;

use bytes::Bytes;
use http::HeaderName;
use rmcp::model::{ErrorCode, ErrorData};
use tokio::sync::mpsc;

pub use router::{HttpRequest, Router, RouterError};

/// A request that ends with a JSON-RPC error, and who is to blame.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum McpError {
    /// The body is not JSON.
    #[error("failed to parse the body: {0}")]
    Parse(String),
    /// JSON, but not a usable request (batch, wrong version field).
    #[error("failed to accept the request: {0}")]
    InvalidRequest(String),
    /// A legacy request without `Mcp-Session-Id`.
    #[error("failed to find a session: Mcp-Session-Id is required after initialize")]
    MissingSession,
    /// A legacy request naming a session that is not (or no longer) live.
    #[error("failed to find session {0}: unknown or expired; initialize again")]
    UnknownSession(String),
    /// An unknown method.
    #[error("failed to find method {0}")]
    MethodNotFound(String),
    /// Bad params (unknown tool, arguments not an object).
    #[error("failed to use the params: {0}")]
    InvalidParams(String),
    /// A stateless header disagrees with the body.
    #[error("failed header check: {0}")]
    HeaderMismatch(String),
    /// A version nobody serves.
    #[error("failed to agree on a version: {0}")]
    UnsupportedVersion(String, Vec<String>),
    /// The backend failed (named).
    #[error("tool '{tool}' failed: {reason}")]
    Backend {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// `maxSessions` reached.
    #[error("failed to open a session: the gateway holds its maximum of {0}")]
    GatewayFull(usize),
    /// `maxSessionsPerClient` reached.
    #[error("failed to open a session: this client holds its maximum of {0}")]
    ClientFull(usize),
    /// `protocols.stateless.maxConcurrentRequests` in flight.
    #[error(
        "failed to admit the request: the gateway has its maximum of {0} stateless requests in flight (maxConcurrentRequests); retry later"
    )]
    GatewayBusy(usize),
    /// `protocols.stateless.maxConcurrentRequestsPerPrincipal` in flight.
    #[error(
        "failed to admit the request: this caller has its maximum of {0} stateless requests in flight (maxConcurrentRequestsPerPrincipal); retry later"
    )]
    CallerBusy(usize),
    /// A session opened by another principal.
    #[error("failed to use the session: it belongs to another caller")]
    NotYourSession,
    /// The access policy denies the tool to this caller.
    #[error("{0}")]
    AccessDenied(String),
}

impl McpError {
    /// HTTP status and JSON-RPC code: client mistakes are 4xx, backend failures travel as a
    /// JSON-RPC error in a 200 (the transport worked).
    pub fn status_and_code(&self) -> (u16, ErrorCode) {
        match self {
            Self::Parse(_) => (400, ErrorCode::PARSE_ERROR),
            Self::InvalidRequest(_) => (400, ErrorCode::INVALID_REQUEST),
            // Upstream answers 400 with -32000 (the spec suggests 404 for unknown sessions);
            // kept for drop-in compatibility and recorded in the conformance report.
            Self::MissingSession | Self::UnknownSession(_) => (400, ErrorCode(-32000)),
            Self::MethodNotFound(_) => (200, ErrorCode::METHOD_NOT_FOUND),
            Self::InvalidParams(_) => (200, ErrorCode::INVALID_PARAMS),
            Self::HeaderMismatch(_) => (400, ErrorCode::HEADER_MISMATCH),
            Self::UnsupportedVersion(..) => (400, ErrorCode::UNSUPPORTED_PROTOCOL_VERSION),
            Self::Backend { .. } => (200, ErrorCode(-32000)),
            Self::GatewayFull(_) => (503, ErrorCode(-32000)),
            Self::ClientFull(_) | Self::GatewayBusy(_) | Self::CallerBusy(_) => (429, ErrorCode(-32000)),
            // Upstream's codes: -32001 for a session of another principal (403) and for a
            // denied tool (a JSON-RPC error in a 200).
            Self::NotYourSession => (403, ErrorCode(-32001)),
            Self::AccessDenied(_) => (200, ErrorCode(-32001)),
        }
    }

    /// The JSON-RPC error object.
    pub fn to_error_data(&self) -> ErrorData {
        self.to_error_data_for(None)
    }

    /// [`McpError::to_error_data`] with the request's correlation id in `data.correlationId`.
    pub fn to_error_data_for(&self, correlation: Option<&str>) -> ErrorData {
        let (_, code) = self.status_and_code();
        let mut data = match self {
            Self::UnsupportedVersion(_, supported) => Some(serde_json::json!({ "supported": supported })),
            _ => None,
        };
        if let Some(id) = correlation {
            let object = data.get_or_insert_with(|| serde_json::json!({}));
            object["correlationId"] = serde_json::Value::String(id.to_string());
        }
        ErrorData::new(code, self.to_string(), data)
    }
}

/// An answer body.
pub enum Body {
    /// No body (202, 204, 405).
    Empty,
    /// A complete body.
    Full(Bytes),
    /// SSE events as they come; the stream ends when the sender is dropped.
    Events(mpsc::Receiver<Bytes>),
}

/// An answer.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers besides the framing ones.
    pub headers: Vec<(HeaderName, String)>,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// A reply with no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }
}
