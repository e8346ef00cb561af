//! Conformance suite for light-gateway deployments.
//!
//! The suite judges any light-gateway (this repo's or upstream's) through what the Helm chart
//! renders and what the gateway answers on the wire; it links no gateway code. Modules:
//!
//! - [`render`]: renders, lints and schema-checks a Helm chart with the `helm` binary when
//!   one is on `PATH` and with `libhelm_c.so` (Helm's Go SDK behind a C ABI, shipped by the
//!   `helm-python-sdk` wheel) otherwise, and reads the result as Kubernetes objects.
#![warn(missing_docs)]

pub mod check;
pub mod checks;
pub mod deployment;
pub mod feature;
pub mod mcp;
pub mod outcome;
pub mod peers;
pub mod platform;
pub mod render;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod suite;
pub mod timeouts;

#[cfg(test)]
mod docs_tests;
