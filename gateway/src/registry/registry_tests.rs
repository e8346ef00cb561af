//! Session tests against a scripted in-process controller.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use super::protocol::RegisterParams;
use super::*;

/// How the scripted controller answers the register frame.
#[derive(Clone, Copy)]
enum Script {
    Ack,
    Refuse,
    Silent,
    /// Ack, then close the socket after this many ms.
    AckThenDrop(u64),
    /// Ack, then stop reading (no pongs) and hold the socket.
    AckThenDeaf,
    /// Ack, then send a message one byte over the gateway's limit.
    AckThenHuge,
}

struct Controller {
    url: String,
    registrations: Arc<AtomicUsize>,
    frames: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

async fn controller(script: Script) -> Controller {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws/microservice", listener.local_addr().unwrap());
    let registrations = Arc::new(AtomicUsize::new(0));
    let (tx, frames) = tokio::sync::mpsc::unbounded_channel();
    let count = registrations.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (count, tx) = (count.clone(), tx.clone());
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    tx.send(frame.clone()).ok();
                    let reply = match (frame["method"].as_str(), script) {
                        (Some("service/register"), Script::Refuse) => {
                            json!({"jsonrpc":"2.0","id":frame["id"],"error":{"code":-32001,"message":"sid mismatch"}})
                        }
                        (Some("service/register"), Script::Silent) => continue,
                        (Some("service/register"), _) => {
                            count.fetch_add(1, Ordering::SeqCst);
                            json!({"jsonrpc":"2.0","id":frame["id"],"result":{"runtimeInstanceId": uuid::Uuid::new_v4().to_string(),"status":"registered"}})
                        }
                        (Some("service/deregister"), _) => {
                            json!({"jsonrpc":"2.0","id":frame["id"],"result":{"runtimeInstanceId":frame["params"]["runtimeInstanceId"],"status":"deregistered"}})
                        }
                        (Some("discovery/lookup"), _) => {
                            json!({"jsonrpc":"2.0","id":frame["id"],"result":{"serviceId":frame["params"]["serviceId"],"nodes":[]}})
                        }
                        _ => continue,
                    };
                    ws.send(Message::text(reply.to_string())).await.unwrap();
                    if frame["method"] == "service/register" {
                        match script {
                            Script::AckThenDrop(ms) => {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                return;
                            }
                            Script::AckThenDeaf => {
                                tokio::time::sleep(Duration::from_secs(30)).await;
                                return;
                            }
                            Script::AckThenHuge => {
                                // Once the gateway has reported its registration.
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                let huge = "x".repeat(super::session::MAX_CONTROLLER_MESSAGE_BYTES + 1);
                                // The gateway may drop the connection while this is in flight.
                                let _ = ws.send(Message::text(huge)).await;
                                tokio::time::sleep(Duration::from_secs(30)).await;
                                return;
                            }
                            _ => {}
                        }
                    }
                }
            });
        }
    });
    Controller {
        url,
        registrations,
        frames,
    }
}

fn settings(url: &str) -> Settings {
    crate::tls::install_crypto_provider();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Settings {
        ws_url: url.to_string(),
        tls: Arc::new(tls),
        register: RegisterParams {
            service_id: "com.x.gw-1.0.0".into(),
            version: "1.0.0".into(),
            protocol: "http".into(),
            address: "gw.ns".into(),
            port: 8080,
            env_tag: "dev".into(),
            jwt: "tok".into(),
        },
        timing: Timing {
            ack_timeout: Duration::from_millis(500),
            ping_interval: Duration::from_millis(200),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            stable_after: Duration::from_secs(10),
        },
        runtime_tools: Arc::new(RuntimeTools::new(
            config_snapshot::ConfigSnapshot::default(),
            &crate::handler::Activation::default(),
            "test-host".into(),
            None,
            None,
        )),
    }
}

#[test]
fn ws_url_maps_scheme_and_appends_the_path() {
    let u = |s: &str| ws_url(&url::Url::parse(s).unwrap());
    assert_eq!(
        u("https://controller.ns:8438"),
        "wss://controller.ns:8438/ws/microservice"
    );
    assert_eq!(u("http://c:80/portal/"), "ws://c/portal/ws/microservice");
}

#[tokio::test]
async fn registers_with_register_1_and_the_advertised_endpoint() {
    let mut c = controller(Script::Ack).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    assert!(handle.first_outcome().await.is_ok());
    let frame = c.frames.recv().await.unwrap();
    assert_eq!(frame["id"], "register-1");
    assert_eq!(frame["method"], "service/register");
    assert_eq!(
        frame["params"],
        json!({"serviceId":"com.x.gw-1.0.0","version":"1.0.0","protocol":"http","address":"gw.ns","port":8080,"envTag":"dev","jwt":"tok"})
    );
}

#[tokio::test]
async fn refusal_is_reported_with_the_controller_message() {
    let c = controller(Script::Refuse).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    let err = handle.first_outcome().await.unwrap_err();
    assert!(err.contains("sid mismatch"), "{err}");
}

#[tokio::test]
async fn missing_ack_times_out() {
    let c = controller(Script::Silent).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    let err = handle.first_outcome().await.unwrap_err();
    assert!(err.contains("no registration ack"), "{err}");
}

#[tokio::test]
async fn unreachable_controller_fails_then_registers_once_it_is_back() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut handle = RegistryHandle::spawn(settings(&format!("ws://{addr}/ws/microservice")));
    assert!(handle.first_outcome().await.is_err());
    // Bring a controller up on the same port.
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _ = ws.next().await;
        let ack = json!({"jsonrpc":"2.0","id":"register-1","result":{"runtimeInstanceId":uuid::Uuid::new_v4().to_string(),"status":"registered"}});
        ws.send(Message::text(ack.to_string())).await.unwrap();
        while ws.next().await.is_some() {}
    });
    let registered = handle
        .status
        .clone()
        .wait_for(|s| matches!(s, Status::Registered(_)))
        .await
        .is_ok();
    assert!(registered);
}

#[tokio::test]
async fn dropped_connection_reconnects_and_registers_again() {
    let c = controller(Script::AckThenDrop(50)).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    assert!(handle.first_outcome().await.is_ok());
    tokio::time::timeout(Duration::from_secs(5), async {
        while c.registrations.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("re-registered after each drop");
}

/// Registers against a controller playing `script`, then waits up to `within` for the session
/// to lose the connection; the reason it gives.
async fn reason_for_reconnecting(script: Script, within: Duration) -> String {
    let c = controller(script).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    let first = handle.first_outcome().await;
    assert!(first.is_ok(), "{first:?}");
    let lost = tokio::time::timeout(within, handle.status.wait_for(|s| matches!(s, Status::Reconnecting(_))))
        .await
        .expect("the connection was not lost in time")
        .map(|s| s.clone())
        .unwrap();
    match lost {
        Status::Reconnecting(reason) => reason,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_message_over_the_limit_ends_the_connection() {
    let reason = reason_for_reconnecting(Script::AckThenHuge, Duration::from_secs(5)).await;
    assert!(reason.contains("too long"), "{reason}");
}

#[tokio::test]
async fn silent_connection_is_abandoned_after_a_ping_interval() {
    let reason = reason_for_reconnecting(Script::AckThenDeaf, Duration::from_secs(3)).await;
    assert!(reason.contains("no frame"), "{reason}");
}

#[tokio::test]
async fn lookup_and_deregister_round_trip() {
    let mut c = controller(Script::Ack).await;
    let mut handle = RegistryHandle::spawn(settings(&c.url));
    let id = handle.first_outcome().await.unwrap();
    let found = handle.lookup("other-svc", Some("dev"), None).await.unwrap();
    assert_eq!(found["serviceId"], "other-svc");
    handle.deregister("shutdown", Duration::from_secs(2)).await.unwrap();
    let _register = c.frames.recv().await.unwrap();
    let lookup = c.frames.recv().await.unwrap();
    assert_eq!(lookup["method"], "discovery/lookup");
    let dereg = c.frames.recv().await.unwrap();
    assert_eq!(
        dereg["params"],
        json!({"runtimeInstanceId": id.to_string(), "reason": "shutdown"})
    );
}
