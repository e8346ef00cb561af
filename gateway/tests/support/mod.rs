//! Process-test support: the real `light-gateway` binary on 127.0.0.1 in its own temp dir,
//! killed on drop, and its peers, the fixtures crate's mocks, in this process ([`mocks`]).
#![allow(dead_code)]

pub mod auth;
pub mod certs;
pub mod mcp;
pub mod mocks;

pub use mocks::Mock;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

/// Default wait for a milestone or a condition.
pub const WAIT: Duration = Duration::from_secs(15);

/// A token no output may ever show.
pub const SECRET_MARK: &str = "tOkEnSeCrEt";

/// The gateway binary cargo built for these tests.
pub fn gateway_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_light-gateway"))
}

/// An unsigned JWT with these claims; the signature part carries a marker so a leak is visible.
pub fn token(host: &str, sid: &str, env: &str) -> String {
    let unsigned = light_gateway_fixtures::unsigned_token(&json!({"host": host, "sid": sid, "env": env}));
    format!("{unsigned}{SECRET_MARK}")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    light_gateway_fixtures::sample::free_port().unwrap()
}

/// Output lines captured from a child, shared with a reader thread.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Vec<String>>>);

impl Output {
    /// Reads `stream` line by line on a thread until it closes (the thread ends then).
    fn capture(&self, stream: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<()> {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    }

    /// Everything so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }

    /// Waits until a line contains `needle`; panics with the output when it does not.
    pub fn wait_for(&self, needle: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.0.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(
                start.elapsed() < within,
                "no line with {needle:?} within {within:?}; output:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The mock config-server over `data`.
pub fn config_server(data: &Path) -> Mock {
    Mock::config_server(data, None)
}

/// The mock controller, on `listen` when given.
pub fn controller(listen: Option<&str>) -> Mock {
    Mock::controller(listen.map(|addr| addr.parse().expect("a socket address")))
}

/// The tuple the tests use: the sample tuple of the fixtures.
pub use light_gateway_fixtures::sample::{ENV, HOST, SID};

/// A config-server data tree for the test tuple with `values` and one file.
pub fn config_data(values: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tuple = dir.path().join(HOST).join(SID).join(ENV);
    std::fs::create_dir_all(tuple.join("files")).unwrap();
    std::fs::write(tuple.join("values.yml"), values).unwrap();
    std::fs::write(tuple.join("files").join("hello.txt"), "hello from config-server\n").unwrap();
    dir
}

/// A gateway working directory: `config/values.yml` and friends.
pub struct AppDir {
    /// The temp dir (working directory of the gateway).
    pub dir: tempfile::TempDir,
}

impl AppDir {
    /// A working dir whose `config/values.yml` is `values`.
    pub fn new(values: &str) -> AppDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/values.yml"), values).unwrap();
        AppDir { dir }
    }

    /// A path inside the working dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file relative to the working dir.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Values for the test tuple: config-server at `config_server`, controller at `controller`
/// (registry off when `None`), HTTP on `port`.
pub fn values(config_server: &str, controller: Option<&str>, port: u16) -> String {
    let registry = match controller {
        Some(url) => format!("server.enableRegistry: true\nportalRegistry.portalUrl: {url}\n"),
        None => "server.enableRegistry: false\n".to_string(),
    };
    format!(
        "startup.host: {HOST}\nserver.serviceId: {SID}\nserver.environment: {ENV}\n\
         light-config-server-uri: {config_server}\nstartup.bootstrapCaCertPath: \"\"\nclient.caCertPath: \"\"\n\
         startup.timeout: 2000\nstartup.connectTimeout: 500\n\
         server.ip: 127.0.0.1\nserver.advertisedAddress: 127.0.0.1\nserver.httpPort: {port}\n{registry}"
    )
}

/// A running gateway.
pub struct Gateway {
    child: Option<Child>,
    /// The threads reading stdout and stderr: they end when the process has exited.
    readers: Vec<std::thread::JoinHandle<()>>,
    /// stderr lines (the logs).
    pub logs: Output,
    /// stdout lines.
    pub stdout: Output,
}

impl Gateway {
    /// Starts the gateway in `app` with `token` as `LIGHT_PORTAL_AUTHORIZATION`.
    pub fn start(app: &AppDir, token: Option<&str>) -> Gateway {
        Self::start_with(app, token, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(app: &AppDir, token: Option<&str>, env: &[(&str, &str)]) -> Gateway {
        let mut cmd = Command::new(gateway_bin());
        cmd.current_dir(app.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.env_remove("LIGHT_PORTAL_AUTHORIZATION").env("RUST_LOG", "info");
        if let Some(token) = token {
            cmd.env("LIGHT_PORTAL_AUTHORIZATION", format!("Bearer {token}"));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (logs, stdout) = (Output::default(), Output::default());
        let readers = vec![
            logs.capture(child.stderr.take().unwrap()),
            stdout.capture(child.stdout.take().unwrap()),
        ];
        Gateway {
            child: Some(child),
            readers,
            logs,
            stdout,
        }
    }

    /// Waits for the `ready` milestone.
    pub fn wait_ready(&self) {
        self.logs.wait_for("event=\"ready\"", WAIT);
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([&format!("-{name}"), &pid]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; panics with the logs after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // Everything it wrote is read once the readers see the pipes close.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                start.elapsed() < within,
                "gateway still running after {within:?}; logs:\n{}",
                self.logs.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the gateway printed.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout.text(), self.logs.text())
    }

    /// Asserts the secret marker never appeared in the output.
    pub fn assert_no_token_in_output(&self) {
        assert!(
            !self.output().contains(SECRET_MARK),
            "token leaked into output:\n{}",
            self.output()
        );
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A blocking HTTP client (installs the crypto provider reqwest needs).
pub fn client() -> reqwest::blocking::Client {
    light_gateway::tls::install_crypto_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// GET `url`, returning status and body (None when no connection).
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let response = client().get(url).send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().unwrap_or_default()))
}

/// Polls `condition` every 50 ms until it holds; panics with `what` after `within`.
pub fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the gateway whose metrics listen on `metrics_port` counts at least `n` requests
/// in flight (admitted, not yet answered): the event a test needs before it signals a drain.
pub fn wait_in_flight(metrics_port: u16, n: u32) {
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    eventually(&format!("{n} request(s) in flight"), WAIT, || {
        http_get(&url).is_some_and(|(_, text)| {
            text.lines()
                .filter_map(|l| l.strip_prefix("light_gateway_http_requests_in_flight "))
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .any(|v| v >= f64::from(n))
        })
    });
}
