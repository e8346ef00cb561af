//! The suite itself: the local target runs every check that needs no Kubernetes and passes it
//! for our gateway; each check is shown able to fail; the reports agree and leak no token.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod auth;
mod common;
mod injections;
mod manifests;
mod reports;
mod strict_client;
mod stub_target;
