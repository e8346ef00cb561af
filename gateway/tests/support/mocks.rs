//! The gateway's peers for process tests: the fixtures crate's mocks, started in this process
//! (so `cargo test -p light-gateway` needs no mock binary built first). The tests are
//! synchronous, so each mock runs on a runtime of its own, on its own thread, until dropped;
//! dropping it closes its listeners and every connection it holds, as killing a process would.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use light_gateway_fixtures::key_service::KeyAlg;
use light_gateway_fixtures::{
    MockConfigServer, MockController, MockKeyService, MockMcpServer, SessionMode, StartError,
};
use serde_json::Value;
use tokio::sync::oneshot;

use super::client;

/// A started mock's two addresses.
trait Listening: Send + 'static {
    /// Main URL and admin URL.
    fn urls(&self) -> (String, String);
}

macro_rules! listening {
    ($($mock:ty),*) => {$(
        impl Listening for $mock {
            fn urls(&self) -> (String, String) {
                (self.url(), self.admin_url())
            }
        }
    )*};
}
listening!(MockConfigServer, MockController, MockMcpServer, MockKeyService);

/// A running mock.
pub struct Mock {
    /// Main URL (`http://127.0.0.1:port`, `https://` with TLS).
    pub main: String,
    /// Admin URL.
    pub admin: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Mock {
    /// Runs what `start` starts on a runtime of its own until the `Mock` is dropped.
    fn serve<M, F>(what: &'static str, start: impl FnOnce() -> F + Send + 'static) -> Mock
    where
        M: Listening,
        F: Future<Output = Result<M, StartError>>,
    {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(what.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the mock");
                runtime.block_on(async move {
                    match start().await {
                        Ok(mock) => {
                            let _ = ready_tx.send(Ok(mock.urls()));
                            let _ = stop_rx.await;
                            drop(mock);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("{e}: {:?}", std::error::Error::source(&e))));
                        }
                    }
                });
                // Dropping the runtime here cancels every task the mock spawned, so each
                // connection it held is closed.
            })
            .expect("a thread for the mock");
        let (main, admin) = ready_rx
            .recv()
            .expect("the mock's thread answers")
            .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
        Mock {
            main,
            admin,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The mock config-server over `data`, over HTTPS with `tls` (cert, key) when given.
    pub fn config_server(data: &Path, tls: Option<(&Path, &Path)>) -> Mock {
        let mut builder = MockConfigServer::builder().data_dir(data);
        if let Some((cert, key)) = tls {
            builder = builder.tls(cert, key);
        }
        Self::serve("mock-config-server", move || builder.start())
    }

    /// The mock controller, on `listen` when given (to come back on the same port).
    pub fn controller(listen: Option<SocketAddr>) -> Mock {
        let mut builder = MockController::builder();
        if let Some(addr) = listen {
            builder = builder.listen(addr);
        }
        Self::serve("mock-controller", move || builder.start())
    }

    /// The mock MCP server `instance` in `mode`, over HTTPS with `tls` (cert, key) when given.
    pub fn mcp_server(instance: &str, mode: SessionMode, tls: Option<(&Path, &Path)>) -> Mock {
        let mut builder = MockMcpServer::builder().instance(instance).session_mode(mode);
        if let Some((cert, key)) = tls {
            builder = builder.tls(cert, key);
        }
        Self::serve("mock-mcp-server", move || builder.start())
    }

    /// The mock key service, its first key of `alg`.
    pub fn key_service(alg: KeyAlg) -> Mock {
        let builder = MockKeyService::builder().initial_alg(alg);
        Self::serve("mock-key-service", move || builder.start())
    }

    /// The port of the main listener.
    pub fn port(&self) -> u16 {
        self.main
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap()
    }

    /// GET an admin path as JSON.
    pub fn get(&self, path: &str) -> Value {
        client()
            .get(format!("{}{path}", self.admin))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// POST JSON to an admin path.
    pub fn post(&self, path: &str, body: Value) -> Value {
        let response = client()
            .post(format!("{}{path}", self.admin))
            .json(&body)
            .send()
            .unwrap();
        response.json().unwrap_or(Value::Null)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
