//! The controller session: one WebSocket, registration, heartbeat, reconnect with backoff,
//! answers to controller requests, lookups and deregistration (docs/protocols.md#controller).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config};
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::backoff::Backoff;
use super::protocol::{self, Inbound, REGISTER_ID, RegisterParams};
use super::runtime_tools::{Answer, RuntimeTools, SessionIdentity};
use super::{RegistryError, Status};
use crate::logging::milestone;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Intervals of the session; the defaults are the protocol's.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Connect and registration-ack timeout (5 s).
    pub ack_timeout: Duration,
    /// WebSocket Ping interval; no inbound frame for a whole interval means reconnect (30 s).
    pub ping_interval: Duration,
    /// First reconnect delay (1 s), doubled per failure.
    pub backoff_initial: Duration,
    /// Longest reconnect delay (60 s), before jitter.
    pub backoff_max: Duration,
    /// A connection that lived this long resets the backoff (10 s).
    pub stable_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            stable_after: Duration::from_secs(10),
        }
    }
}

/// What the session needs.
#[derive(Clone)]
pub struct Settings {
    /// `ws://` or `wss://` URL of `/ws/microservice`.
    pub ws_url: String,
    /// TLS for `wss://`.
    pub tls: Arc<rustls::ClientConfig>,
    /// The register params (the jwt inside is never logged).
    pub register: RegisterParams,
    /// Intervals.
    pub timing: Timing,
    /// What controller requests (`tools/list`, `tools/call`) are answered from.
    pub runtime_tools: Arc<RuntimeTools>,
}

pub(super) enum Command {
    Lookup {
        params: Value,
        reply: oneshot::Sender<Result<Value, RegistryError>>,
    },
    Deregister {
        reason: String,
        deadline: Instant,
        reply: oneshot::Sender<Result<(), RegistryError>>,
    },
}

enum End {
    Stop,
    Lost(String),
}

/// The session task: register, serve, reconnect, until deregistered or the handle is dropped.
pub(super) async fn run(settings: Settings, mut commands: mpsc::Receiver<Command>, status: watch::Sender<Status>) {
    let mut backoff = Backoff::new(settings.timing.backoff_initial, settings.timing.backoff_max);
    loop {
        match connect_and_register(&settings).await {
            Ok((socket, id)) => {
                info!(event = milestone::REGISTERED, runtime_instance_id = %id, controller = %settings.ws_url, address = %settings.register.address, port = settings.register.port, "controller registered");
                status.send_replace(Status::Registered(id));
                set_connected(true);
                let connected_at = Instant::now();
                match serve(&settings, socket, id, &mut commands).await {
                    End::Stop => {
                        set_connected(false);
                        break;
                    }
                    End::Lost(reason) => {
                        set_connected(false);
                        warn!(controller = %settings.ws_url, reason, "controller connection lost; reconnecting");
                        status.send_replace(Status::Reconnecting(reason));
                    }
                }
                if connected_at.elapsed() >= settings.timing.stable_after {
                    backoff.reset();
                }
            }
            Err(reason) => {
                warn!(event = milestone::REGISTRATION_FAILED, controller = %settings.ws_url, reason, "controller registration failed");
                status.send_replace(Status::Failed(reason));
            }
        }
        if let End::Stop = wait_disconnected(backoff.next_delay(), &mut commands).await {
            break;
        }
    }
    status.send_replace(Status::Stopped);
}

/// The controller-connected gauge, when metrics are on.
fn set_connected(connected: bool) {
    if let Some(m) = crate::metrics::get() {
        m.controller_connected(connected);
    }
}

/// The largest message (and frame) taken from the controller. Its frames are JSON-RPC requests
/// and answers of a few kilobytes; the library's default (64 MiB) would let a broken or hostile
/// controller make the gateway buffer that much. A larger one ends the connection (and the
/// session reconnects).
pub(crate) const MAX_CONTROLLER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

async fn connect_and_register(settings: &Settings) -> Result<(Socket, Uuid), String> {
    let connector = settings
        .ws_url
        .starts_with("wss:")
        .then(|| Connector::Rustls(settings.tls.clone()));
    let wait = settings.timing.ack_timeout;
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_CONTROLLER_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_CONTROLLER_MESSAGE_BYTES));
    let connect = connect_async_tls_with_config(settings.ws_url.as_str(), Some(limits), false, connector);
    let (mut socket, _) = timeout(wait, connect)
        .await
        .map_err(|_| format!("no connection to {} within {wait:?}", settings.ws_url))?
        .map_err(|e| {
            format!(
                "failed to connect to {}: {}",
                settings.ws_url,
                crate::logging::error_chain(&e)
            )
        })?;
    let params = serde_json::to_value(&settings.register).map_err(|e| e.to_string())?;
    let frame = protocol::request(REGISTER_ID, "service/register", params);
    socket
        .send(Message::text(frame))
        .await
        .map_err(|e| format!("failed to send service/register: {e}"))?;
    let deadline = Instant::now() + wait;
    loop {
        let frame = timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no registration ack within {wait:?}"))?;
        let text = match frame {
            None => return Err("controller closed the connection before acknowledging registration".into()),
            Some(Err(e)) => return Err(format!("connection failed before the registration ack: {e}")),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                return Err(format!(
                    "controller closed the connection: {}",
                    close.map(|c| c.reason.to_string()).unwrap_or_default()
                ));
            }
            Some(Ok(_)) => continue,
        };
        match protocol::classify(&text) {
            Some(Inbound::Response { id, outcome }) if id == REGISTER_ID => {
                let result = outcome.map_err(|message| format!("controller refused registration: {message}"))?;
                return protocol::registered_id(&result).map(|id| (socket, id));
            }
            Some(Inbound::Request { id, method, params }) => {
                // Before the ack a long answer (a reload) is awaited here: nothing else is due.
                let result = match answer_request(settings, None, &method, &params) {
                    Answer::Now(result) => result,
                    Answer::Later(result) => result.await,
                };
                let _ = socket.send(Message::text(protocol::answer(&id, result))).await;
            }
            _ => {}
        }
    }
}

/// Serves one registered connection until it is lost or the session stops.
async fn serve(settings: &Settings, mut socket: Socket, id: Uuid, commands: &mut mpsc::Receiver<Command>) -> End {
    let mut ping = tokio::time::interval_at(
        Instant::now() + settings.timing.ping_interval,
        settings.timing.ping_interval,
    );
    let mut heard_since_ping = true;
    let mut pending: HashMap<String, oneshot::Sender<Result<Value, RegistryError>>> = HashMap::new();
    let mut next_id = 0u64;
    let mut closing: Option<(Instant, oneshot::Sender<Result<(), RegistryError>>)> = None;
    let deregister_id = "deregister-1";
    // Answers that take time (a reload) run on their own task, which finishes even if this
    // connection is lost, and come back here to be sent.
    let (later_tx, mut later) = mpsc::unbounded_channel::<(Value, Value)>();
    loop {
        let closing_deadline = closing.as_ref().map(|(d, _)| *d);
        tokio::select! {
            frame = socket.next() => {
                heard_since_ping = true;
                let text = match frame {
                    None | Some(Ok(Message::Close(_))) => return finish(closing, Err(RegistryError::Closed), End::Lost("controller closed the connection".into())),
                    Some(Err(e)) => return finish(closing, Err(RegistryError::Closed), End::Lost(format!("connection failed: {e}"))),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                match protocol::classify(&text) {
                    Some(Inbound::Response { id: rid, outcome }) if rid == deregister_id && closing.is_some() => {
                        let result = outcome.map(|_| ()).map_err(RegistryError::Refused);
                        if result.is_ok() {
                            info!(event = milestone::DEREGISTERED, runtime_instance_id = %id, "controller deregistered");
                        }
                        let _ = socket.close(None).await;
                        return finish(closing, result, End::Stop);
                    }
                    Some(Inbound::Response { id: rid, outcome }) => {
                        if let Some(reply) = pending.remove(&rid) {
                            let _ = reply.send(outcome.map_err(RegistryError::Refused));
                        }
                    }
                    Some(Inbound::Request { id: rid, method, params }) => {
                        let result = match answer_request(settings, Some(id), &method, &params) {
                            Answer::Now(result) => result,
                            Answer::Later(result) => {
                                let back = later_tx.clone();
                                tokio::spawn(async move {
                                    let _ = back.send((rid, result.await));
                                });
                                continue;
                            }
                        };
                        if let Err(e) = socket.send(Message::text(protocol::answer(&rid, result))).await {
                            return finish(closing, Err(RegistryError::Closed), End::Lost(format!("send failed: {e}")));
                        }
                    }
                    _ => {}
                }
            }
            Some((rid, result)) = later.recv() => {
                if let Err(e) = socket.send(Message::text(protocol::answer(&rid, result))).await {
                    return finish(closing, Err(RegistryError::Closed), End::Lost(format!("send failed: {e}")));
                }
            }
            _ = ping.tick() => {
                if !heard_since_ping {
                    return End::Lost(format!("no frame from the controller for {:?}", settings.timing.ping_interval));
                }
                heard_since_ping = false;
                if let Err(e) = socket.send(Message::Ping(Default::default())).await {
                    return End::Lost(format!("ping failed: {e}"));
                }
            }
            command = commands.recv(), if closing.is_none() => match command {
                None => {
                    let _ = socket.close(None).await;
                    return End::Stop;
                }
                Some(Command::Lookup { params, reply }) => {
                    next_id += 1;
                    let rid = format!("lookup-{next_id}");
                    match socket.send(Message::text(protocol::request(&rid, "discovery/lookup", params))).await {
                        Ok(()) => { pending.insert(rid, reply); }
                        Err(e) => { let _ = reply.send(Err(RegistryError::Closed)); return End::Lost(format!("send failed: {e}")); }
                    }
                }
                Some(Command::Deregister { reason, deadline, reply }) => {
                    let params = serde_json::json!({"runtimeInstanceId": id, "reason": reason});
                    if socket.send(Message::text(protocol::request(deregister_id, "service/deregister", params))).await.is_err() {
                        let _ = reply.send(Err(RegistryError::Closed));
                        return End::Stop;
                    }
                    closing = Some((deadline, reply));
                }
            },
            _ = until(closing_deadline) => {
                let _ = socket.close(None).await;
                return finish(closing, Err(RegistryError::Timeout("service/deregister")), End::Stop);
            }
        }
    }
}

/// The answer to a controller request; logged at debug with the method, tool and outcome.
fn answer_request(settings: &Settings, runtime_instance_id: Option<Uuid>, method: &str, params: &Value) -> Answer {
    let who = SessionIdentity {
        register: &settings.register,
        runtime_instance_id,
    };
    let tool = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let log = move |method: &str, result: &Value| {
        let status = result.get("status").and_then(Value::as_str).unwrap_or("success");
        debug!(method, tool, status, "controller request answered");
    };
    match settings.runtime_tools.answer(&who, method, params) {
        Answer::Now(result) => {
            log(method, &result);
            Answer::Now(result)
        }
        Answer::Later(result) => {
            let method = method.to_string();
            Answer::Later(Box::pin(async move {
                let result = result.await;
                log(&method, &result);
                result
            }))
        }
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Answers a pending deregistration, if any; a session that was deregistering always stops.
fn finish(
    closing: Option<(Instant, oneshot::Sender<Result<(), RegistryError>>)>,
    result: Result<(), RegistryError>,
    end: End,
) -> End {
    match closing {
        Some((_, reply)) => {
            let _ = reply.send(result);
            End::Stop
        }
        None => end,
    }
}

/// Waits out a reconnect delay; commands that need a connection fail fast meanwhile.
async fn wait_disconnected(delay: Duration, commands: &mut mpsc::Receiver<Command>) -> End {
    let wake = sleep(delay);
    tokio::pin!(wake);
    loop {
        tokio::select! {
            _ = &mut wake => return End::Lost(String::new()),
            command = commands.recv() => match command {
                None => return End::Stop,
                Some(Command::Lookup { reply, .. }) => { let _ = reply.send(Err(RegistryError::NotRegistered)); }
                Some(Command::Deregister { reply, .. }) => {
                    let _ = reply.send(Err(RegistryError::NotRegistered));
                    return End::Stop;
                }
            },
        }
    }
}
