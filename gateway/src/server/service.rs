//! The gateway's one Pingora service: admission and `/health` in `request_filter`; MCP
//! routing plugs in behind admission.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;

use super::admission::{Admission, Decision, InFlight};

/// Per-request state.
#[derive(Debug, Default)]
pub struct RequestCtx {
    /// Held while an admitted request runs, so a drain can wait for it.
    pub in_flight: Option<InFlight>,
}

/// The Pingora service.
pub struct Gateway {
    admission: Arc<Admission>,
}

impl Gateway {
    /// A service over shared admission state.
    pub fn new(admission: Arc<Admission>) -> Self {
        Self { admission }
    }
}

/// Writes a small complete response; `close` ends the connection after it.
async fn respond(
    session: &mut Session,
    status: u16,
    content_type: &str,
    body: &'static [u8],
    close: bool,
) -> Result<bool> {
    let mut header = ResponseHeader::build(status, Some(4))?;
    header.insert_header("content-type", content_type)?;
    header.insert_header("content-length", body.len().to_string())?;
    if close {
        header.insert_header("connection", "close")?;
        header.insert_header("retry-after", "0")?;
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(header), false).await?;
    session
        .write_response_body(Some(Bytes::from_static(body)), true)
        .await?;
    Ok(true)
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> Self::CTX {
        RequestCtx::default()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Self::CTX) -> Result<bool> {
        let (decision, in_flight) = self.admission.admit(session.req_header().uri.path());
        ctx.in_flight = in_flight;
        match decision {
            Decision::Health => respond(session, 200, "text/plain", b"ok", false).await,
            Decision::Unavailable => respond(session, 503, "text/plain", b"gateway not ready\n", true).await,
            Decision::Admit => {
                // Read (and drop) the body first: the request stays in flight until the client
                // has sent it, and the connection stays usable for keep-alive.
                while session.read_request_body().await?.is_some() {}
                // No route is configured for this path (the MCP router serves its own path).
                respond(
                    session,
                    404,
                    "application/json",
                    br#"{"error":"no route for this path"}"#,
                    false,
                )
                .await
            }
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Self::CTX) -> Result<Box<HttpPeer>> {
        // Every request is answered in request_filter; reaching here is a bug, not a client error.
        Err(Error::explain(ErrorType::InternalError, "no upstream for this request"))
    }
}
