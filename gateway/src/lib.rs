//! light-gateway: a Pingora MCP micro-gateway, a drop-in for the upstream binary.
//!
//! Data flows one way: bootstrap files ([`config`]) -> config-server download ([`bootstrap`])
//! -> resolved runtime config -> services ([`server`], [`registry`], [`auth`], [`mcp`]).

pub mod app;
pub mod auth;
pub mod bootstrap;
pub(crate) mod cleartext;
pub mod config;
pub(crate) mod handler;
pub mod logging;
pub mod mcp;
pub(crate) mod metrics;
pub mod registry;
pub(crate) mod reload;
pub mod server;
pub mod tls;
