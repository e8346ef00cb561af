//! What the soak sends and how each answer is judged. The stateless requests are the bench's
//! (`mcp::spec`: the 2026-07-28 headers and `_meta`), tools/list is the same call with another
//! method, and a legacy session is initialize, notifications/initialized, a few tools/call with
//! `Mcp-Session-Id`, then DELETE. Every request carries its own JSON-RPC id, and the answer must
//! carry it back: a crossed answer is an error like any other.

use super::tally::{Failure, Kind, Recorder};
use crate::mcp::{self, Target, Workload};
use anyhow::{Context, Result};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// tools/call per legacy session.
pub const SESSION_CALLS: u64 = 3;
/// The tools every tools/list must show (runtime config of `deploy.rs`).
const LISTED_TOOLS: [&str; 2] = ["echo", mcp::GATEWAY_LEGACY_TOOL];
/// A request without an answer after this long is an error (`transport: timed out`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle keep-alive connections kept; a burst's extra connections are closed after it, so the
/// gateway's fd count follows the load rather than the largest burst seen.
const IDLE_CONNECTIONS: usize = 16;
/// How much of an answer an error keeps.
const DETAIL_CHARS: usize = 400;

/// One unit the generator schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A stateless tools/call.
    Call,
    /// A stateless tools/list.
    List,
    /// A legacy session, opened, used and closed.
    Session,
}

impl Op {
    /// How many requests it sends.
    pub fn requests(self) -> u64 {
        match self {
            Op::Call | Op::List => 1,
            Op::Session => 3 + SESSION_CALLS,
        }
    }
}

/// The mix, repeated: 11 stateless tools/call, 3 tools/list and one session of 6 requests in
/// every 20 requests, interleaved.
pub const MIX: [Op; 15] = [
    Op::Session,
    Op::Call,
    Op::Call,
    Op::List,
    Op::Call,
    Op::Call,
    Op::Call,
    Op::Call,
    Op::List,
    Op::Call,
    Op::Call,
    Op::Call,
    Op::Call,
    Op::List,
    Op::Call,
];

/// A request's headers and body; the body's id is replaced per request.
#[derive(Debug, Clone)]
struct Template {
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Template {
    fn from_spec(spec: &mcp::RequestSpec) -> Result<Template> {
        let body = spec.body.as_deref().context("a request without a body")?;
        Ok(Template {
            headers: spec.headers.clone(),
            body: serde_json::from_str(body)?,
        })
    }
}

/// An answer, read in full.
struct Answer {
    status: StatusCode,
    content_type: String,
    session: Option<String>,
    body: String,
}

/// The gateway's `/mcp` and the requests for it.
pub struct Traffic {
    client: Client,
    url: String,
    ids: AtomicU64,
    call: Template,
    list: Template,
    session_call: Template,
}

impl Traffic {
    /// Requests for the gateway at `base` (`http://127.0.0.1:<port>`).
    pub fn new(base: &str) -> Result<Traffic> {
        // Built in one workspace, reqwest may get `rustls-no-provider` and then needs a
        // process-wide provider even for plain HTTP (as in `make test`); a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(IDLE_CONNECTIONS)
            .no_proxy()
            .build()
            .context("building the HTTP client")?;
        let call = Template::from_spec(&mcp::spec(Workload::Stateless, Target::Gateway, Vec::new(), ""))?;
        let mut list = call.clone();
        list.headers.retain(|(name, _)| *name != "Mcp-Name");
        for (name, value) in &mut list.headers {
            if *name == "Mcp-Method" {
                *value = "tools/list".to_owned();
            }
        }
        list.body["method"] = json!("tools/list");
        list.body["params"] = json!({"_meta": call.body["params"]["_meta"].clone()});
        let session_call = Template::from_spec(&mcp::spec(Workload::Legacy, Target::Gateway, Vec::new(), ""))?;
        Ok(Traffic {
            client,
            url: format!("{base}/mcp"),
            ids: AtomicU64::new(1),
            call,
            list,
            session_call,
        })
    }

    fn post(&self, template: &Template) -> (RequestBuilder, u64) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut body = template.body.clone();
        body["id"] = json!(id);
        let mut request = self.client.post(&self.url).body(body.to_string());
        for (name, value) in &template.headers {
            request = request.header(*name, value);
        }
        (request, id)
    }

    async fn send(request: RequestBuilder) -> Result<Answer, Failure> {
        let response = request.send().await.map_err(|e| transport(&e))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let session = header("mcp-session-id").filter(|s| !s.is_empty());
        let status = response.status();
        let body = response.text().await.map_err(|e| transport(&e))?;
        Ok(Answer {
            status,
            content_type,
            session,
            body,
        })
    }

    /// A stateless tools/call of `echo`; the echo must return the arguments.
    pub async fn stateless_call(&self) -> Result<(), Failure> {
        let (request, id) = self.post(&self.call);
        let answer = Self::send(request).await?;
        check_echo(&rpc_result(&answer, id)?, &answer)
    }

    /// A stateless tools/list; it must list the configured tools.
    pub async fn stateless_list(&self) -> Result<(), Failure> {
        let (request, id) = self.post(&self.list);
        let answer = Self::send(request).await?;
        let message = rpc_result(&answer, id)?;
        let names: Vec<&str> = message["result"]["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        match LISTED_TOOLS.iter().find(|tool| !names.contains(tool)) {
            None => Ok(()),
            Some(missing) => Err(wrong(format!("tools/list without {missing}"), &answer)),
        }
    }

    /// initialize: a session id and a result, else an error.
    pub async fn initialize(&self) -> Result<String, Failure> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": mcp::LEGACY_VERSION, "capabilities": {},
            "clientInfo": {"name": "light-gateway-soak", "version": "1"}}});
        let request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", mcp::ACCEPT)
            .body(body.to_string());
        let answer = Self::send(request).await?;
        rpc_result(&answer, id)?;
        answer
            .session
            .clone()
            .ok_or_else(|| wrong("initialize without Mcp-Session-Id".to_owned(), &answer))
    }

    /// notifications/initialized: any 2xx (202 as the spec says, without a body).
    pub async fn initialized(&self, session: &str) -> Result<(), Failure> {
        let body = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", mcp::ACCEPT)
            .header("MCP-Protocol-Version", mcp::LEGACY_VERSION)
            .header("Mcp-Session-Id", session)
            .body(body.to_string());
        success(&Self::send(request).await?)
    }

    /// tools/call of the gateway's legacy tool in `session`.
    pub async fn session_call(&self, session: &str) -> Result<(), Failure> {
        let (request, id) = self.post(&self.session_call);
        let answer = Self::send(request.header("Mcp-Session-Id", session)).await?;
        check_echo(&rpc_result(&answer, id)?, &answer)
    }

    /// DELETE of `session`: any 2xx.
    pub async fn delete(&self, session: &str) -> Result<(), Failure> {
        let request = self
            .client
            .delete(&self.url)
            .header("MCP-Protocol-Version", mcp::LEGACY_VERSION)
            .header("Mcp-Session-Id", session);
        success(&Self::send(request).await?)
    }
}

/// What a request that got no (whole) answer failed on.
fn transport(error: &reqwest::Error) -> Failure {
    let class = if error.is_timeout() {
        "transport: timed out"
    } else if error.is_connect() {
        "transport: connect"
    } else if error.is_body() || error.is_decode() {
        "transport: body"
    } else {
        "transport: request"
    };
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure {
        class: class.to_owned(),
        detail,
    }
}

fn excerpt(answer: &Answer) -> String {
    let body: String = answer.body.chars().take(DETAIL_CHARS).collect();
    let session = answer
        .session
        .as_deref()
        .map(|s| format!(", Mcp-Session-Id {s}"))
        .unwrap_or_default();
    format!("{} ({}{session}): {body}", answer.status, answer.content_type)
}

fn wrong(class: String, answer: &Answer) -> Failure {
    Failure {
        class,
        detail: excerpt(answer),
    }
}

fn success(answer: &Answer) -> Result<(), Failure> {
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(wrong(format!("HTTP {}", answer.status.as_u16()), answer))
    }
}

/// The JSON-RPC message of a 2xx answer with a `result` for request `id`.
fn rpc_result(answer: &Answer, id: u64) -> Result<Value, Failure> {
    success(answer)?;
    let message = mcp::jsonrpc_message(&answer.content_type, &answer.body)
        .map_err(|e| wrong(format!("unreadable answer: {e:#}"), answer))?;
    if let Some(error) = message.get("error") {
        return Err(wrong(format!("JSON-RPC error {}", error["code"]), answer));
    }
    if message["id"] != json!(id) {
        return Err(wrong("an answer to another request (id)".to_owned(), answer));
    }
    if message.get("result").is_none() {
        return Err(wrong("JSON-RPC message without result".to_owned(), answer));
    }
    Ok(message)
}

fn check_echo(message: &Value, answer: &Answer) -> Result<(), Failure> {
    mcp::check_echo(message).map_err(|e| Failure {
        class: "wrong tools/call result".to_owned(),
        detail: format!("{e:#}; {}", excerpt(answer)),
    })
}

/// Sends `op`, recording each of its requests.
pub async fn run(traffic: &Traffic, op: Op, recorder: &Recorder) {
    match op {
        Op::Call => timed(recorder, Kind::StatelessCall, traffic.stateless_call()).await,
        Op::List => timed(recorder, Kind::StatelessList, traffic.stateless_list()).await,
        Op::Session => {
            let sent = Instant::now();
            let session = match traffic.initialize().await {
                Ok(session) => {
                    recorder.record(Kind::Initialize, sent, Ok(()));
                    session
                }
                Err(failure) => {
                    recorder.record(Kind::Initialize, sent, Err(failure));
                    return;
                }
            };
            // The steps go on after a failed one: each answer is counted, and DELETE still
            // closes what was opened.
            timed(recorder, Kind::Initialized, traffic.initialized(&session)).await;
            for _ in 0..SESSION_CALLS {
                timed(recorder, Kind::SessionCall, traffic.session_call(&session)).await;
            }
            timed(recorder, Kind::Delete, traffic.delete(&session)).await;
        }
    }
}

/// Awaits `request` (futures start when awaited, so the clock starts with the request).
async fn timed(recorder: &Recorder, kind: Kind, request: impl Future<Output = Result<(), Failure>>) {
    let sent = Instant::now();
    let outcome = request.await;
    recorder.record(kind, sent, outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            content_type: "application/json".to_owned(),
            session: None,
            body: body.to_owned(),
        }
    }

    #[test]
    fn the_mix_is_twenty_requests_with_one_session() {
        assert_eq!(MIX.iter().map(|op| op.requests()).sum::<u64>(), 20);
        assert_eq!(MIX.iter().filter(|op| **op == Op::Session).count(), 1);
    }

    #[test]
    fn the_list_is_the_stateless_call_with_another_method() {
        let traffic = Traffic::new("http://127.0.0.1:9").unwrap();
        assert_eq!(traffic.list.body["method"], "tools/list");
        assert!(traffic.list.body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].is_string());
        assert!(traffic.list.headers.iter().all(|(name, _)| *name != "Mcp-Name"));
        assert!(traffic.list.headers.contains(&("Mcp-Method", "tools/list".to_owned())));
        assert!(traffic.call.headers.contains(&("Mcp-Name", "echo".to_owned())));
    }

    #[test]
    fn an_error_status_counts_under_its_code() {
        let failure = rpc_result(&answer(503, "busy"), 1).unwrap_err();
        assert_eq!(failure.class, "HTTP 503");
        assert!(failure.detail.contains("busy"));
    }

    #[test]
    fn a_json_rpc_error_counts_under_its_code() {
        let body = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}"#;
        assert_eq!(
            rpc_result(&answer(200, body), 7).unwrap_err().class,
            "JSON-RPC error -32603"
        );
    }

    #[test]
    fn an_answer_to_another_id_is_an_error() {
        let body = r#"{"jsonrpc":"2.0","id":8,"result":{}}"#;
        assert!(rpc_result(&answer(200, body), 8).is_ok());
        assert_eq!(
            rpc_result(&answer(200, body), 7).unwrap_err().class,
            "an answer to another request (id)"
        );
    }
}
