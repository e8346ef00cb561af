//! The rendered probes answer the way kubelet asks them.

use futures_util::FutureExt;
use k8s_openapi::api::core::v1::Probe;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::check::{Check, Context, Profile};
use crate::outcome::{Failure, ensure};

/// The check.
pub static CHECK: Check = Check {
    id: "probes",
    description: "The startup, readiness and liveness probes the chart renders succeed against the running gateway, asked the way kubelet asks them.",
    checklist: "Pods are ready and restart count is stable (the probes behind readiness and restarts).",
    profile: Profile::Validation,
    features: &[],
    disruptive: false,
    run: |ctx| run(ctx).boxed(),
};

async fn run(ctx: &Context<'_>) -> Result<String, Failure> {
    let container = ctx
        .deployment
        .pod_spec()?
        .containers
        .into_iter()
        .next()
        .ok_or_else(|| Failure("no container".into()))?;
    let ports: Vec<(i32, String)> = container
        .ports
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.container_port, p.name.unwrap_or_default()))
        .collect();
    let probes = [
        ("startup", container.startup_probe),
        ("readiness", container.readiness_probe),
        ("liveness", container.liveness_probe),
    ];
    let mut seen = Vec::new();
    for (kind, probe) in probes {
        let probe = probe.ok_or_else(|| Failure(format!("no {kind} probe is rendered")))?;
        seen.push(format!(
            "{kind} {}",
            ask(ctx, &probe, &ports)
                .await
                .map_err(|e| Failure(format!("{kind} probe: {}", e.0)))?
        ));
    }
    Ok(seen.join("; "))
}

/// What a probe asks: an HTTP GET (scheme, path) or a TCP connect, on a container port.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Asks {
    /// `httpGet` with its lower-case scheme and path.
    Get { port: i32, scheme: String, path: String },
    /// `tcpSocket`.
    Connect { port: i32 },
}

/// Reads what `probe` asks, its named port resolved against the container's `ports`.
pub(super) fn asks(probe: &Probe, ports: &[(i32, String)]) -> Result<Asks, Failure> {
    let resolve = |port: &IntOrString| match port {
        IntOrString::Int(p) => Ok(*p),
        IntOrString::String(name) => ports.iter().find(|(_, n)| n == name).map(|(p, _)| *p).ok_or_else(|| {
            Failure(format!(
                "the probe names port {name:?}, which the container does not have"
            ))
        }),
    };
    if let Some(get) = &probe.http_get {
        return Ok(Asks::Get {
            port: resolve(&get.port)?,
            scheme: get.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase(),
            path: get.path.clone().unwrap_or_else(|| "/".into()),
        });
    }
    if let Some(tcp) = &probe.tcp_socket {
        return Ok(Asks::Connect {
            port: resolve(&tcp.port)?,
        });
    }
    Err(Failure("a probe that is neither httpGet nor tcpSocket".into()))
}

/// Asks one probe as kubelet would, [`crate::timeouts::Timeouts::consecutive`] times in a row,
/// every answer a success. The suite reaches the container's first port (the gateway's
/// endpoint), so a probe on another port or scheme is a failure, not a pass on the wrong port.
async fn ask(ctx: &Context<'_>, probe: &Probe, ports: &[(i32, String)]) -> Result<String, Failure> {
    let endpoint = ctx.target.endpoints().gateway;
    let first = ports.first().map(|(p, _)| *p);
    let times = ctx.timeouts.consecutive.max(1);
    match asks(probe, ports)? {
        Asks::Get { port, scheme, path } => {
            ensure(Some(port) == first, || {
                format!("the probe asks port {port}, the suite reaches {first:?}")
            })?;
            ensure(scheme == endpoint.scheme(), || {
                format!("probes with {scheme}, the gateway's endpoint is {}", endpoint.scheme())
            })?;
            let mut url = endpoint.clone();
            url.set_path(&path);
            let mut status = 0;
            for _ in 0..times {
                status = ctx.http.get(url.clone()).send().await?.status().as_u16();
                // kubelet counts 200-399 as success.
                ensure((200..400).contains(&status), || format!("GET {url} answered {status}"))?;
            }
            Ok(format!("GET {path} {status}, {times} in a row"))
        }
        Asks::Connect { port } => {
            ensure(Some(port) == first, || {
                format!("the tcpSocket probe asks port {port}, the suite reaches {first:?}")
            })?;
            let addr = format!(
                "{}:{}",
                endpoint.host_str().unwrap_or("127.0.0.1"),
                endpoint.port_or_known_default().unwrap_or(80)
            );
            for _ in 0..times {
                tokio::net::TcpStream::connect(&addr)
                    .await
                    .map_err(|e| Failure(format!("tcp {addr}: {e}")))?;
            }
            Ok(format!("tcp port {port} open, {times} in a row"))
        }
    }
}
