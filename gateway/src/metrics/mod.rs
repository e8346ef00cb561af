//! Prometheus metrics (README, "Metrics"): what the gateway counts, on its own listener
//! (`metrics.yml` `prometheusPort`, `prometheusPath`), in the Prometheus text format through
//! `prometheus-client`.
//!
//! Label values come only from config (tool names, backend origins) or from fixed sets (route
//! classes, outcomes, status codes), never from a request, so the number of series stays
//! bounded whatever clients send. The registry is process-wide: one gateway per process, and
//! the recording sites (router, auth, bootstrap, controller session) need no handle passed down.

pub mod config;
pub mod endpoint;

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use config::MetricsConfig;

/// Every family's name starts with this.
const PREFIX: &str = "light_gateway";

/// Latency buckets: 0.25 ms doubling to about 8 s (16 buckets), which spans a cached health
/// answer and a tool at its timeout.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// A request's route class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The MCP path.
    Mcp,
    /// `/health`.
    Health,
    /// The protected-resource metadata document.
    Metadata,
    /// Anything else (404s, refusals while not ready).
    Other,
}

impl Route {
    const ALL: [Route; 4] = [Route::Mcp, Route::Health, Route::Metadata, Route::Other];

    fn label(self) -> &'static str {
        match self {
            Self::Mcp => "mcp",
            Self::Health => "health",
            Self::Metadata => "metadata",
            Self::Other => "other",
        }
    }
}

/// How a tools/call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The tool answered a result.
    Ok,
    /// The tool answered a result with `isError: true`.
    ToolError,
    /// The backend answered a JSON-RPC error.
    BackendRpcError,
    /// The backend could not be reached, timed out, or answered something unusable.
    BackendFailed,
    /// Access control refused the caller.
    Denied,
    /// The call never reached a backend: unknown tool, bad arguments, a refused bridge.
    Refused,
    /// The client left before the answer.
    Cancelled,
}

impl CallOutcome {
    const ALL: [CallOutcome; 7] = [
        CallOutcome::Ok,
        CallOutcome::ToolError,
        CallOutcome::BackendRpcError,
        CallOutcome::BackendFailed,
        CallOutcome::Denied,
        CallOutcome::Refused,
        CallOutcome::Cancelled,
    ];

    /// The label value (also the audit line's `outcome`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::BackendRpcError => "backend_rpc_error",
            Self::BackendFailed => "backend_failed",
            Self::Denied => "denied",
            Self::Refused => "refused",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tool: String,
    backend: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConfigLabels {
    kind: &'static str,
    outcome: &'static str,
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

/// The gauges read from the live modules when scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sampled {
    /// Legacy (`initialize`) sessions open.
    pub sessions: i64,
    /// Callers with bridged backend sessions.
    pub bridge_callers: i64,
    /// Idle keep-alive connections to backends.
    pub idle_backend_connections: i64,
}

/// Reads [`Sampled`] when a scrape comes in.
pub type Sampler = Box<dyn Fn() -> Sampled + Send + Sync>;

/// Reads the requests in flight when a scrape comes in (admission counts them anyway, for the
/// drain, so a scrape costs the data path nothing).
pub type InFlightSource = Box<dyn Fn() -> i64 + Send + Sync>;

/// One tool's series, made when the tool is built: a call records through these handles, with
/// no label hashing or allocation (the family lookups were 1.3k instructions a call).
#[derive(Debug, Clone)]
pub struct ToolSeries {
    calls: [Counter; 7],
    latency: Histogram,
}

impl ToolSeries {
    /// Records one call.
    pub fn record(&self, outcome: CallOutcome, took: Duration) {
        self.calls[outcome as usize].inc();
        self.latency.observe(took.as_secs_f64());
    }
}

/// The registry and every family.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    tool_calls: Family<CallLabels, Counter>,
    tool_latency: Latencies<ToolLabels>,
    auth: Family<OutcomeLabels, Counter>,
    /// `auth_decisions_total{outcome="allowed"}`, made once: every admitted request counts it.
    auth_allowed: Counter,
    config_loads: Family<ConfigLabels, Counter>,
    controller_connected: Gauge,
    sessions: Gauge,
    bridge_callers: Gauge,
    idle_backend_connections: Gauge,
    requests_in_flight: Gauge,
    sampler: OnceLock<Sampler>,
    in_flight_source: OnceLock<InFlightSource>,
    /// Per route: its latency histogram and its status-200 counter, made once (most answers).
    route_series: [(Histogram, Counter); 4],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics once [`install`] ran (`metrics.enabled`), else `None`: every
/// recording site is one load and a branch when metrics are off.
pub fn get() -> Option<&'static Metrics> {
    GLOBAL.get()
}

/// Turns recording on for this process (idempotent) and returns the registry.
pub fn install() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class and status",
            http_requests.clone(),
        );
        let http_latency: Latencies<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from the request head to the end of the answer, by route class",
            http_latency.clone(),
        );
        let tool_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "MCP tools/call requests, by tool, backend origin and outcome",
            tool_calls.clone(),
        );
        let tool_latency: Latencies<ToolLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "tool_call_duration_seconds",
            "Time a tools/call took from the gateway's view, by tool and backend origin",
            tool_latency.clone(),
        );
        let auth = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "auth_decisions",
            "Requests the auth handlers decided, by outcome (allowed, or the refusal's status)",
            auth.clone(),
        );
        let config_loads = Family::<ConfigLabels, Counter>::default();
        registry.register(
            "config_loads",
            "Config-server downloads at startup (bootstrap) and reloads, by outcome",
            config_loads.clone(),
        );
        let controller_connected = Gauge::default();
        registry.register(
            "controller_connected",
            "1 while the controller session is registered, else 0",
            controller_connected.clone(),
        );
        let sessions = Gauge::default();
        registry.register("mcp_sessions", "Legacy MCP sessions open", sessions.clone());
        let bridge_callers = Gauge::default();
        registry.register(
            "bridge_callers",
            "Callers holding bridged legacy backend sessions",
            bridge_callers.clone(),
        );
        let idle_backend_connections = Gauge::default();
        registry.register(
            "backend_idle_connections",
            "Idle keep-alive connections to backends",
            idle_backend_connections.clone(),
        );
        let requests_in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests admitted and not yet answered (what a drain waits for)",
            requests_in_flight.clone(),
        );
        registry.register(
            "build",
            "The gateway's version",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        let route_series = Route::ALL.map(|route| {
            let label = route.label();
            (
                http_latency.get_or_create_owned(&RouteLabels { route: label }),
                http_requests.get_or_create_owned(&HttpLabels {
                    route: label,
                    status: 200,
                }),
            )
        });
        Self {
            route_series,
            registry,
            http_requests,
            tool_calls,
            tool_latency,
            auth_allowed: auth.get_or_create_owned(&OutcomeLabels { outcome: "allowed" }),
            auth,
            config_loads,
            controller_connected,
            sessions,
            bridge_callers,
            idle_backend_connections,
            requests_in_flight,
            sampler: OnceLock::new(),
            in_flight_source: OnceLock::new(),
        }
    }

    /// Counts one answered HTTP request.
    pub fn http(&self, route: Route, status: u16, took: Duration) {
        let (latency, ok) = &self.route_series[route as usize];
        latency.observe(took.as_secs_f64());
        if status == 200 {
            ok.inc();
        } else {
            let route = route.label();
            self.http_requests.get_or_create(&HttpLabels { route, status }).inc();
        }
    }

    /// The series of a configured tool (every outcome's counter exists from now on, at 0).
    pub fn tool_series(&self, tool: &str, backend: &str) -> ToolSeries {
        let calls = CallOutcome::ALL.map(|outcome| {
            self.tool_calls.get_or_create_owned(&CallLabels {
                tool: tool.to_string(),
                backend: backend.to_string(),
                outcome: outcome.label(),
            })
        });
        let latency = self.tool_latency.get_or_create_owned(&ToolLabels {
            tool: tool.to_string(),
            backend: backend.to_string(),
        });
        ToolSeries { calls, latency }
    }

    /// Counts one tools/call through the families (a call of no configured tool; configured
    /// ones record through their [`ToolSeries`]).
    pub fn tool_call(&self, tool: &str, backend: &str, outcome: CallOutcome, took: Duration) {
        let labels = CallLabels {
            tool: tool.to_string(),
            backend: backend.to_string(),
            outcome: outcome.label(),
        };
        self.tool_calls.get_or_create(&labels).inc();
        let labels = ToolLabels {
            tool: labels.tool,
            backend: labels.backend,
        };
        self.tool_latency.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// Counts one auth decision (`allowed`, or the refusal's status as text).
    pub fn auth(&self, outcome: &'static str) {
        if outcome == "allowed" {
            self.auth_allowed.inc();
            return;
        }
        self.auth.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one config load: `kind` bootstrap or reload, `outcome` ok, cache, failed.
    pub fn config_load(&self, kind: &'static str, outcome: &'static str) {
        self.config_loads.get_or_create(&ConfigLabels { kind, outcome }).inc();
    }

    /// Sets whether the controller session is registered.
    pub fn controller_connected(&self, connected: bool) {
        self.controller_connected.set(i64::from(connected));
    }

    /// Sets what fills the gauges at each scrape (the first caller wins: one gateway per
    /// process).
    pub fn set_sampler(&self, sampler: Sampler) {
        let _ = self.sampler.set(sampler);
    }

    /// Sets where the in-flight gauge is read at each scrape (the first caller wins).
    pub fn set_in_flight_source(&self, source: InFlightSource) {
        let _ = self.in_flight_source.set(source);
    }

    /// The Prometheus text exposition, gauges sampled now.
    pub fn render(&self) -> String {
        if let Some(sample) = self.sampler.get().map(|s| s()) {
            self.sessions.set(sample.sessions);
            self.bridge_callers.set(sample.bridge_callers);
            self.idle_backend_connections.set(sample.idle_backend_connections);
        }
        if let Some(in_flight) = self.in_flight_source.get() {
            self.requests_in_flight.set(in_flight());
        }
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The status text of an auth refusal as a bounded label value.
pub fn refusal_label(status: u16) -> &'static str {
    match status {
        400 => "refused_400",
        401 => "refused_401",
        403 => "refused_403",
        429 => "refused_429",
        503 => "refused_503",
        _ => "refused_other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value of one series in `text`: the line starting with `series` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn counts_render_as_prometheus_text_with_bounded_labels() {
        let m = Metrics::new();
        m.http(Route::Mcp, 200, Duration::from_millis(2));
        m.http(Route::Mcp, 200, Duration::from_millis(3));
        m.tool_series("echo", "http://127.0.0.1:9")
            .record(CallOutcome::Ok, Duration::from_millis(1));
        m.tool_call(
            "echo",
            "http://127.0.0.1:9",
            CallOutcome::BackendFailed,
            Duration::from_millis(1),
        );
        m.auth(refusal_label(401));
        m.auth("allowed");
        m.auth("allowed");
        m.config_load("reload", "failed");
        m.controller_connected(true);
        m.set_sampler(Box::new(|| Sampled {
            sessions: 3,
            bridge_callers: 1,
            idle_backend_connections: 2,
        }));
        m.set_in_flight_source(Box::new(|| 4));
        let text = m.render();
        assert_eq!(
            value(&text, r#"light_gateway_http_requests_total{route="mcp",status="200"}"#),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                r#"light_gateway_http_request_duration_seconds_count{route="mcp"}"#
            ),
            Some(2.0)
        );
        let ok = r#"light_gateway_tool_calls_total{tool="echo",backend="http://127.0.0.1:9",outcome="ok"}"#;
        assert_eq!(value(&text, ok), Some(1.0));
        let failed =
            r#"light_gateway_tool_calls_total{tool="echo",backend="http://127.0.0.1:9",outcome="backend_failed"}"#;
        assert_eq!(value(&text, failed), Some(1.0));
        assert_eq!(
            value(&text, r#"light_gateway_auth_decisions_total{outcome="refused_401"}"#),
            Some(1.0)
        );
        assert_eq!(
            value(&text, r#"light_gateway_auth_decisions_total{outcome="allowed"}"#),
            Some(2.0)
        );
        assert_eq!(
            value(
                &text,
                r#"light_gateway_config_loads_total{kind="reload",outcome="failed"}"#
            ),
            Some(1.0)
        );
        assert_eq!(value(&text, "light_gateway_controller_connected"), Some(1.0));
        assert_eq!(value(&text, "light_gateway_mcp_sessions"), Some(3.0));
        assert_eq!(value(&text, "light_gateway_backend_idle_connections"), Some(2.0));
        assert_eq!(value(&text, "light_gateway_http_requests_in_flight"), Some(4.0));
        assert!(
            text.contains("# TYPE light_gateway_tool_call_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("light_gateway_build_info{version="), "{text}");
    }
}
