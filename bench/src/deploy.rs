//! The pieces on 127.0.0.1: the rmcp backend, the mock config-server (serving the gateway's
//! runtime config: the MCP route and the `echo` tools) and controller, the mock key service,
//! nginx proxying to the backend, and gateways started afresh (a new working dir each time, so
//! every start downloads its config and registers). The JWT gateway is another service id, whose
//! runtime config puts the `jwt` handler in front of `mcp`.

use crate::procs::{Mock, Proc, free_port};
use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// The tuple config-server serves.
const HOST: &str = "local.test";
const SERVICE_ID: &str = "com.example.mcp-gateway-1.0.0";
/// The service id whose runtime config verifies JWTs.
const JWT_SERVICE_ID: &str = "com.example.mcp-gateway-jwt-1.0.0";
/// The service id whose runtime config turns metrics off.
const NO_METRICS_SERVICE_ID: &str = "com.example.mcp-gateway-nometrics-1.0.0";
/// The audience the JWT gateway requires.
const AUDIENCE: &str = "light-gateway-bench";
const ENV: &str = "test";

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// Directory of the release binaries (the mocks).
    pub bin_dir: PathBuf,
    /// The gateway under test.
    pub gateway: PathBuf,
    /// nginx; `None` runs without it (`make soak` measures the gateway alone).
    pub nginx: Option<PathBuf>,
}

impl Programs {
    fn bin(&self, name: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(name);
        if !path.is_file() {
            bail!(
                "{} is missing: build it with cargo build --release (make bench does)",
                path.display()
            );
        }
        Ok(path)
    }
}

/// What config-server serves as `values.yml`: the route and two tools on the backend. The
/// stateless limits per caller and per target (32 by default) are raised above the largest
/// concurrency measured: wrk is one anonymous caller (one JWT principal) and one target. The
/// audit line is off, as nginx runs with `access_log off`; metrics are on, as shipped.
fn runtime_values(backend: &str) -> String {
    let private = "toolMetadata: {runtime: {allowPrivateTargetHost: true}}";
    format!(
        "mcpAudit.enabled: false
handler.handlers: [mcp]
handler.chains: {{mcp-chain: [mcp]}}
handler.paths: [{{path: /mcp, method: POST, exec: [mcp-chain]}}]
handler.defaultHandlers: []
mcp-router.maxSessionsPerClient: 1000
mcp-router.protocols.stateless.maxConcurrentRequestsPerPrincipal: 4096
mcp-router.protocols.stateless.maxConcurrentBackendCallsPerTarget: 4096
mcp-router.tools:
  - {{name: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: '{backend}', path: /mcp, {private}}}
  - {{name: {legacy}, endpointName: echo, apiType: mcp, targetHost: '{backend}', path: /mcp, {private}}}
",
        legacy = crate::mcp::GATEWAY_LEGACY_TOOL
    )
}

/// The JWT gateway's runtime config: the same tools behind the `jwt` handler, keys from `keys`.
fn jwt_runtime_values(backend: &str, keys: &str) -> String {
    let plain = runtime_values(backend);
    let plain = plain
        .lines()
        .filter(|l| !l.starts_with("handler."))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "handler.handlers: [jwt, mcp]
handler.chains: {{mcp-chain: [jwt, mcp]}}
handler.paths: [{{path: /mcp, method: POST, exec: [mcp-chain]}}]
handler.defaultHandlers: []
client.tokenKeyServerUrl: '{keys}'
security.audience: [{AUDIENCE}]
{plain}
"
    )
}

/// Makes the mock config-server (data under `work/config-server`) serve `values` to
/// `service_id`.
fn serve(work: &Path, service_id: &str, values: &str) -> Result<()> {
    let tuple = work.join("config-server").join(HOST).join(service_id).join(ENV);
    std::fs::create_dir_all(&tuple)?;
    std::fs::write(tuple.join("values.yml"), values)?;
    Ok(())
}

/// The gateway's own `config/values.yml`: where config-server and the controller are.
fn bootstrap_values(config_server: &str, controller: &str, port: u16, service_id: &str) -> String {
    format!(
        "startup.host: {HOST}\nserver.serviceId: {service_id}\nserver.environment: {ENV}\n\
         light-config-server-uri: {config_server}\nstartup.bootstrapCaCertPath: \"\"\nclient.caCertPath: \"\"\n\
         server.ip: 127.0.0.1\nserver.advertisedAddress: 127.0.0.1\nserver.httpPort: {port}\n\
         server.enableRegistry: true\nportalRegistry.portalUrl: {controller}\n"
    )
}

/// An unsigned JWT whose claims match the tuple (the mocks check claims, not signatures).
fn token(service_id: &str) -> String {
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(json!({"alg": "none", "typ": "JWT"}));
    let claims = b64(json!({"host": HOST, "sid": service_id, "env": ENV}));
    format!("Bearer {header}.{claims}.")
}

/// A token of the key service's RS256 key for the JWT gateway, valid for a day (one token for
/// the whole run, as an agent reuses its token until it expires).
fn mint_token(keys_admin: &str) -> Result<String> {
    let answer: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{keys_admin}/__admin/tokens"))
        .json(&json!({"claims": {"sub": "bench", "aud": AUDIENCE}, "expiresIn": 86_400}))
        .send()?
        .error_for_status()?
        .json()?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the key service minted no token: {answer}"))
}

/// nginx as a plain reverse proxy with upstream keepalive; `worker_processes auto` (one per
/// core, as the gateway runs one worker thread per core). `/health` is answered by nginx itself,
/// as the gateway answers its own.
pub fn nginx_conf(dir: &Path, port: u16, backend_port: u16) -> String {
    let d = dir.display();
    format!(
        "worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream mcp_backend {{
        server 127.0.0.1:{backend_port};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /health {{ default_type text/plain; return 200 \"ok\"; }}
        location / {{
            proxy_pass http://mcp_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host 127.0.0.1:{backend_port};
        }}
    }}
}}
"
    )
}

/// Everything but the gateway.
pub struct Deployment {
    programs: Programs,
    /// The rmcp backend.
    pub backend: Mock,
    config_server: Mock,
    controller: Mock,
    _keys: Mock,
    /// The bearer token the JWT gateway accepts.
    pub token: String,
    /// nginx and its base URL, when started.
    nginx: Option<(Proc, String)>,
    work: tempfile::TempDir,
}

impl Deployment {
    /// Starts the backend, config-server, controller and nginx (when [`Programs::nginx`] names it).
    pub fn start(programs: Programs) -> Result<Deployment> {
        let work = tempfile::Builder::new().prefix("light-gateway-bench").tempdir()?;
        let mut cmd = Command::new(programs.bin("mock-mcp-server")?);
        cmd.args(["--instance", "backend", "--session-mode", "legacy"])
            .env("RUST_LOG", "warn");
        let backend = Mock::start("mock-mcp-server", cmd)?;
        serve(work.path(), SERVICE_ID, &runtime_values(&backend.main))?;
        let mut cmd = Command::new(programs.bin("mock-key-service")?);
        cmd.args(["--initial-alg", "RS256"]).env("RUST_LOG", "warn");
        let keys = Mock::start("mock-key-service", cmd)?;
        serve(
            work.path(),
            JWT_SERVICE_ID,
            &jwt_runtime_values(&backend.main, &keys.main),
        )?;
        let no_metrics = format!("metrics.enabled: false\n{}", runtime_values(&backend.main));
        serve(work.path(), NO_METRICS_SERVICE_ID, &no_metrics)?;
        let token = mint_token(&keys.admin)?;
        let mut cmd = Command::new(programs.bin("mock-config-server")?);
        cmd.arg("--data-dir")
            .arg(work.path().join("config-server"))
            .env("RUST_LOG", "warn");
        let config_server = Mock::start("mock-config-server", cmd)?;
        let mut cmd = Command::new(programs.bin("mock-controller")?);
        cmd.env("RUST_LOG", "warn");
        let controller = Mock::start("mock-controller", cmd)?;
        let nginx = match &programs.nginx {
            Some(nginx) => Some(start_nginx(nginx, work.path(), backend.port()?)?),
            None => None,
        };
        Ok(Deployment {
            programs,
            backend,
            config_server,
            controller,
            _keys: keys,
            token,
            nginx,
            work,
        })
    }

    /// nginx's master process (its workers are its children).
    pub fn nginx_pid(&self) -> Result<u32> {
        Ok(self.started_nginx()?.0.pid())
    }

    /// nginx's base URL.
    pub fn nginx_url(&self) -> Result<&str> {
        Ok(&self.started_nginx()?.1)
    }

    fn started_nginx(&self) -> Result<&(Proc, String)> {
        self.nginx.as_ref().context("this deployment was started without nginx")
    }

    /// Starts a gateway in a fresh working dir on a free port (not waiting for it).
    pub fn spawn_gateway(&self) -> Result<Gateway> {
        self.spawn(SERVICE_ID)
    }

    /// Starts the gateway whose runtime config verifies JWTs on `/mcp`.
    pub fn spawn_jwt_gateway(&self) -> Result<Gateway> {
        self.spawn(JWT_SERVICE_ID)
    }

    /// Starts the gateway whose runtime config turns metrics off.
    pub fn spawn_no_metrics_gateway(&self) -> Result<Gateway> {
        self.spawn(NO_METRICS_SERVICE_ID)
    }

    /// The gateway's answer to the controller's `reload_modules` (all modules), through the
    /// mock controller's admin API.
    pub fn reload(&self, client: &reqwest::blocking::Client) -> Result<serde_json::Value> {
        let answer: serde_json::Value = client
            .post(format!("{}/__admin/call", self.controller.admin))
            .json(
                &json!({"method": "tools/call", "params": {"name": "reload_modules", "arguments": {}},
                          "serviceId": SERVICE_ID, "timeoutMs": 20000}),
            )
            .send()?
            .error_for_status()?
            .json()?;
        Ok(answer["result"].clone())
    }

    fn spawn(&self, service_id: &str) -> Result<Gateway> {
        let port = free_port()?;
        let app = tempfile::Builder::new()
            .prefix("gateway")
            .tempdir_in(self.work.path())?;
        std::fs::create_dir_all(app.path().join("config"))?;
        let values = bootstrap_values(&self.config_server.main, &self.controller.main, port, service_id);
        std::fs::write(app.path().join("config/values.yml"), values)?;
        let mut cmd = Command::new(&self.programs.gateway);
        cmd.current_dir(app.path())
            .env("LIGHT_PORTAL_AUTHORIZATION", token(service_id))
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "json");
        let log = app.path().join("gateway.log");
        let spawned = SystemTime::now();
        let started = Instant::now();
        let proc = Proc::spawn_logging_to("light-gateway", cmd, &log)?;
        Ok(Gateway {
            proc,
            log,
            url: format!("http://127.0.0.1:{port}"),
            port,
            spawned,
            started,
            _app: app,
        })
    }
}

fn start_nginx(nginx: &Path, work: &Path, backend_port: u16) -> Result<(Proc, String)> {
    let dir = work.join("nginx");
    std::fs::create_dir_all(&dir)?;
    // Workers may run as another user when we are root: let them in.
    std::fs::set_permissions(work, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let port = free_port()?;
    std::fs::write(dir.join("nginx.conf"), nginx_conf(&dir, port, backend_port))?;
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    let mut proc = Proc::spawn("nginx", cmd, false)?;
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while crate::probe::status(port, &crate::probe::get_health()).ok() != Some(200) {
        if proc.exited() || start.elapsed() > Duration::from_secs(10) {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            bail!("nginx did not come up: {}\n{log}", proc.stderr.tail(20));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((proc, url))
}

/// A gateway process and when it was spawned.
pub struct Gateway {
    /// The process.
    pub proc: Proc,
    /// Its stdout and stderr (JSON log lines).
    log: PathBuf,
    /// Base URL.
    pub url: String,
    /// HTTP port.
    pub port: u16,
    /// Wall-clock spawn time (for log timestamps).
    pub spawned: SystemTime,
    /// Monotonic spawn time.
    pub started: Instant,
    _app: tempfile::TempDir,
}

impl Gateway {
    /// Waits until the MCP path answers something other than 503 (the gateway admits traffic).
    pub fn wait_ready(&mut self, within: Duration) -> Result<Duration> {
        self.wait_ready_with(within, None)
    }

    /// [`Gateway::wait_ready`], probing with `token` as a bearer token when given.
    pub fn wait_ready_with(&mut self, within: Duration, token: Option<&str>) -> Result<Duration> {
        let probe = crate::probe::stateless_call(token);
        loop {
            if let Ok(code) = crate::probe::status(self.port, &probe)
                && code != 503
            {
                if code != 200 {
                    bail!("the gateway answered {code} to a tools/call");
                }
                return Ok(self.started.elapsed());
            }
            if self.proc.exited() || self.started.elapsed() > within {
                bail!("the gateway was not ready within {within:?}:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The log lines so far.
    pub fn logs(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    /// Whether the log has the milestone (`"event":"<name>"`).
    pub fn logged(&self, event: &str) -> bool {
        let needle = format!("\"event\":\"{event}\"");
        self.logs().iter().any(|l| l.contains(&needle))
    }

    /// Context for errors: the newest log lines.
    pub fn log_tail(&self) -> String {
        let logs = self.logs();
        logs[logs.len().saturating_sub(30)..].join("\n")
    }

    /// Makes sure it registered with the controller before ready.
    pub fn check_registered(&self) -> Result<()> {
        if !self.logged("registered") {
            bail!("the gateway became ready without registering:\n{}", self.log_tail());
        }
        if !self.logged("bootstrap_ok") {
            bail!("the gateway did not download its config:\n{}", self.log_tail());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_config_routes_both_tools_to_the_backend() {
        let values = runtime_values("http://127.0.0.1:9");
        assert_eq!(values.matches("targetHost: 'http://127.0.0.1:9'").count(), 2);
        assert!(values.contains("backendMcpProtocol: stateless"));
        assert!(values.contains("allowPrivateTargetHost: true"));
    }

    #[test]
    fn the_jwt_runtime_config_puts_jwt_before_mcp_over_the_same_tools() {
        let values = jwt_runtime_values("http://127.0.0.1:9", "http://127.0.0.1:7");
        assert!(values.contains("handler.chains: {mcp-chain: [jwt, mcp]}"));
        assert_eq!(values.matches("handler.handlers").count(), 1);
        assert!(values.contains("client.tokenKeyServerUrl: 'http://127.0.0.1:7'"));
        assert_eq!(values.matches("targetHost: 'http://127.0.0.1:9'").count(), 2);
    }

    #[test]
    fn nginx_keeps_upstream_connections_alive() {
        let conf = nginx_conf(Path::new("/tmp/x"), 8080, 9090);
        assert!(conf.contains("keepalive 128;") && conf.contains("proxy_set_header Connection \"\";"));
        assert!(conf.contains("listen 127.0.0.1:8080;") && conf.contains("server 127.0.0.1:9090;"));
    }
}
