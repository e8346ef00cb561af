//! A strict reading of the Gateway API HTTPRoute (gateway.networking.k8s.io/v1) for the
//! fields the chart renders. kubernetes-validate has no schemas for CRDs, so an unknown or
//! misspelt field is caught here instead: every struct refuses unknown fields.

#![allow(
    dead_code,
    reason = "the fields are there to be checked by deny_unknown_fields, most are never read"
)]
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

/// An HTTPRoute.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRoute {
    pub api_version: ApiVersion,
    pub kind: Kind,
    pub metadata: ObjectMeta,
    pub spec: HttpRouteSpec,
}

/// The only apiVersion accepted.
#[derive(Debug, Deserialize)]
pub enum ApiVersion {
    #[serde(rename = "gateway.networking.k8s.io/v1")]
    V1,
}

/// The only kind accepted.
#[derive(Debug, Deserialize)]
pub enum Kind {
    HTTPRoute,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRouteSpec {
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub matches: Vec<Match>,
    pub backend_refs: Vec<BackendRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Match {
    pub path: Option<PathMatch>,
    pub method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMatch {
    #[serde(rename = "type")]
    pub kind: PathMatchType,
    pub value: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum PathMatchType {
    Exact,
    PathPrefix,
    RegularExpression,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackendRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub port: u16,
    pub weight: Option<i32>,
}
