//! Kubernetes for the kind and cluster targets: conditions as plain functions ([`gates`]) and
//! the API calls behind them ([`api`]).

pub mod api;
pub mod gates;
