//! A canned API server for the kube targets' tests: kube's client over tower-test's mock service,
//! each request answered by a function of what was asked, and every request recorded.

use http::{Request, Response};
use kube::client::Body;
use serde_json::Value;

/// One request the canned server received.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    /// GET, PATCH, ...
    pub(super) method: String,
    /// Path and query.
    pub(super) uri: String,
    /// The request body as text.
    pub(super) body: String,
    /// Its Content-Type.
    pub(super) content_type: Option<String>,
}

impl Seen {
    /// The path without the query.
    pub(super) fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }
}

/// A client whose API server answers with `answer(request)`: a status and a JSON body (a JSON
/// string is sent as raw text). The handle yields every request once the client is dropped.
pub(super) fn server<F>(mut answer: F) -> (kube::Client, tokio::task::JoinHandle<Vec<Seen>>)
where
    F: FnMut(&Seen) -> (u16, Value) + Send + 'static,
{
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let body = body.collect_bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            let request = Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                body: String::from_utf8_lossy(&body).into_owned(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from),
            };
            let (status, reply) = answer(&request);
            let reply = match reply {
                Value::String(text) => text.into_bytes(),
                other => serde_json::to_vec(&other).unwrap_or_default(),
            };
            seen.push(request);
            let response = Response::builder()
                .status(status)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Body::from(reply))
                .expect("a canned response");
            send.send_response(response);
        }
        seen
    });
    (kube::Client::new(service, "default"), server)
}

/// A 404 Status as the API server sends it.
pub(super) fn not_found() -> (u16, Value) {
    (
        404,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"}),
    )
}
