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

/// Asks one probe once; the gateway's endpoint stands for the container's first port.
async fn ask(ctx: &Context<'_>, probe: &Probe, ports: &[(i32, String)]) -> Result<String, Failure> {
    let endpoint = ctx.target.endpoints().gateway;
    let first = ports.first().map(|(p, _)| *p);
    let resolve = |port: &IntOrString| match port {
        IntOrString::Int(p) => Some(*p),
        IntOrString::String(name) => ports.iter().find(|(_, n)| n == name).map(|(p, _)| *p),
    };
    if let Some(get) = &probe.http_get {
        let port = resolve(&get.port);
        ensure(port == first, || {
            format!("probes port {:?}, the suite reaches {first:?}", get.port)
        })?;
        let scheme = get.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        ensure(scheme == endpoint.scheme(), || {
            format!("probes with {scheme}, the gateway's endpoint is {}", endpoint.scheme())
        })?;
        let mut url = endpoint.clone();
        url.set_path(get.path.as_deref().unwrap_or("/"));
        let status = ctx.http.get(url.clone()).send().await?.status();
        // kubelet counts 200-399 as success.
        ensure((200..400).contains(&status.as_u16()), || {
            format!("GET {url} answered {status}")
        })?;
        return Ok(format!("GET {} {}", url.path(), status.as_u16()));
    }
    if probe.tcp_socket.is_some() {
        let addr = format!(
            "{}:{}",
            endpoint.host_str().unwrap_or("127.0.0.1"),
            endpoint.port_or_known_default().unwrap_or(80)
        );
        tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| Failure(format!("tcp {addr}: {e}")))?;
        return Ok(format!("tcp {addr} open"));
    }
    Err(Failure("a probe that is neither httpGet nor tcpSocket".into()))
}
