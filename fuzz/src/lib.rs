//! Fuzz targets over the gateway's own code: each takes arbitrary bytes, drives the real parser
//! or validator through the `light-gateway` library (a copy would prove nothing about the
//! gateway) and panics only on a bug: a refusal (`Err`) is the right answer to bad input, a
//! panic, an overflow, a hang or a broken invariant is a finding.
//!
//! The same functions run under AFL++ (`make fuzz`, the `afl` feature of the binary) and over the
//! committed corpus in `cargo test` (`tests/corpus_replay.rs`). `README.md` says what each target
//! reads.

pub mod input;
mod loopback;
mod targets;

/// One fuzz target: its name (also its corpus folder, `corpus/<name>/`) and its entry point.
pub struct Target {
    /// The name `make fuzz` and the corpus use.
    pub name: &'static str,
    /// What the target exercises, for `--list`.
    pub about: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
}

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "placeholder",
        about: "config::placeholder::Resolver over a values map and a document (both YAML)",
        run: targets::config::placeholder,
    },
    Target {
        name: "values_layers",
        about: "config::sources::Layers: values.yml from three directories merged, then resolved",
        run: targets::config::values_layers,
    },
    Target {
        name: "config_server",
        about: "bootstrap::client::ConfigServerClient reading a config-server answer (configs, certs)",
        run: targets::config::config_server,
    },
    Target {
        name: "jsonrpc",
        about: "mcp::wire: JSON-RPC parsing and classification, depth scan, frames, header encoding",
        run: targets::mcp::jsonrpc,
    },
    Target {
        name: "mcp_request",
        about: "mcp::Router::handle: request validation (method, headers, era, session, params)",
        run: targets::mcp::mcp_request,
    },
    Target {
        name: "backend_reply",
        about: "an MCP backend's answer (JSON or SSE) read by the router on a tools/call",
        run: targets::backend::backend_reply,
    },
    Target {
        name: "controller_frame",
        about: "registry::protocol: controller frames classified and answered",
        run: targets::registry::controller_frame,
    },
    Target {
        name: "jwt_header",
        about: "auth::jwt: bearer extraction, JWT header parsing and verification; auth::keys JWKS",
        run: targets::auth::jwt_header,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
