//! The Helm chart under chart/, rendered by the real Helm engine (the `helm` binary when it is
//! on PATH, else libhelm_c.so from .venv) and checked against the Kubernetes schemas, the
//! deployment guide's rules and the gateway's own config validation.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod binary_engine;
mod checkov;
mod common;
mod contract;
mod gateway_api;
mod guards;
mod helm_cli;
mod metrics;
mod rules;
mod scenarios;
mod surfaces;
mod values_doc;
