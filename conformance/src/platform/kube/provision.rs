//! Putting objects into the cluster: namespaces, then every object server-side applied as a
//! `DynamicObject` whose resource discovery resolves (so the chart's HTTPRoute or HPA works as
//! well as its Deployment), and a record of what was made so that teardown removes exactly that.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;

use super::fixtures;
use crate::deployment::Deployment;
use crate::platform::TargetError;

/// The field manager of every apply: the suite owns what it applied, nothing else.
pub(super) const MANAGER: &str = "light-gateway-conformance";

/// Whether a rendered object is a Helm hook (the `helm test` pod): `helm install` does not create
/// hooks with the release, so neither does the suite.
pub(super) fn is_hook(object: &Value) -> bool {
    object.pointer("/metadata/annotations/helm.sh~1hook").is_some()
}

/// Helm's install order (`releaseutil.InstallOrder`); kinds it does not know go last.
pub(super) fn install_rank(kind: &str) -> usize {
    const ORDER: [&str; 36] = [
        "PriorityClass",
        "Namespace",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "PodSecurityPolicy",
        "PodDisruptionBudget",
        "ServiceAccount",
        "Secret",
        "SecretList",
        "ConfigMap",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleList",
        "ClusterRoleBinding",
        "ClusterRoleBindingList",
        "Role",
        "RoleList",
        "RoleBinding",
        "RoleBindingList",
        "Service",
        "DaemonSet",
        "Pod",
        "ReplicationController",
        "ReplicaSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "Job",
        "CronJob",
        "IngressClass",
        "Ingress",
        "APIService",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// The chart's objects as `helm install` creates them: hooks left out, in install order (the
/// order of the render within one kind).
///
/// # Errors
/// A rendered document that is not YAML.
pub(super) fn chart_objects(deployment: &Deployment) -> Result<Vec<Value>, TargetError> {
    let mut objects: Vec<Value> = deployment
        .rendered
        .objects()
        .map_err(|e| TargetError::operation("reading the rendered chart", e))?
        .into_iter()
        .map(|o| o.value)
        .filter(|v| !is_hook(v))
        .collect();
    objects.sort_by_key(|v| install_rank(v["kind"].as_str().unwrap_or_default()));
    Ok(objects)
}

/// One object the suite applied.
#[derive(Debug, Clone)]
pub(super) struct Applied {
    /// Its resource.
    pub(super) resource: ApiResource,
    /// Its namespace (`None`: cluster-scoped).
    pub(super) namespace: Option<String>,
    /// Its name.
    pub(super) name: String,
}

/// Server-side apply through discovery, each kind resolved once.
pub(super) struct Applier {
    client: kube::Client,
    resolved: Mutex<BTreeMap<(String, String), (ApiResource, ApiCapabilities)>>,
}

impl Applier {
    /// An applier over `client`.
    pub(super) fn new(client: kube::Client) -> Self {
        Self {
            client,
            resolved: Mutex::new(BTreeMap::new()),
        }
    }

    /// The resource serving `kind` in `api_version`.
    async fn resolve(&self, api_version: &str, kind: &str) -> Result<(ApiResource, ApiCapabilities), TargetError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.resolved.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(found);
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk).await.map_err(|e| {
            TargetError::operation(
                format!("discovering {kind} {api_version}"),
                format!("the cluster does not serve it: {e}"),
            )
        })?;
        if let Ok(mut map) = self.resolved.lock() {
            map.insert(key, found.clone());
        }
        Ok(found)
    }

    /// Applies `object` (apiVersion, kind and metadata.name set), in `namespace` when its kind is
    /// namespaced; forced, so the suite's version wins over any earlier manager's.
    ///
    /// # Errors
    /// An object without kind or name, a kind the cluster does not serve, or the API's refusal.
    pub(super) async fn apply(&self, object: &Value, namespace: &str) -> Result<Applied, TargetError> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let what = format!("applying {kind} {name}");
        if kind.is_empty() || api_version.is_empty() || name.is_empty() {
            return Err(TargetError::operation(
                what,
                "the object lacks apiVersion, kind or metadata.name",
            ));
        }
        let (resource, caps) = self.resolve(api_version, kind).await?;
        let mut object: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| TargetError::operation(&what, e))?;
        let (api, namespace) = match caps.scope {
            Scope::Namespaced => {
                // Rendered objects name no namespace: the release's is where Helm puts them.
                let ns = object
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| namespace.to_string());
                object.metadata.namespace = Some(ns.clone());
                (
                    Api::<DynamicObject>::namespaced_with(self.client.clone(), &ns, &resource),
                    Some(ns),
                )
            }
            Scope::Cluster => (Api::<DynamicObject>::all_with(self.client.clone(), &resource), None),
        };
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object))
            .await
            .map_err(|e| {
                TargetError::operation(
                    format!("{what} in {}", namespace.as_deref().unwrap_or("the cluster")),
                    e,
                )
            })?;
        Ok(Applied {
            resource,
            namespace,
            name: name.to_string(),
        })
    }

    /// Applies a typed object (k8s-openapi writes its apiVersion and kind).
    ///
    /// # Errors
    /// As [`Applier::apply`].
    pub(super) async fn apply_typed<K: serde::Serialize>(
        &self,
        object: &K,
        namespace: &str,
    ) -> Result<Applied, TargetError> {
        let value = serde_json::to_value(object).map_err(|e| TargetError::operation("writing an object as JSON", e))?;
        self.apply(&value, namespace).await
    }
}

/// What provisioning made, so that teardown removes that and nothing else: namespaces it created
/// go whole; objects in namespaces that were there before (and cluster-scoped ones) one by one.
#[derive(Debug, Default, Clone)]
pub(super) struct Made {
    /// Namespaces created by the suite.
    pub(super) namespaces: Vec<String>,
    /// Objects outside those namespaces, in the order applied.
    pub(super) objects: Vec<Applied>,
}

impl Made {
    /// Notes an applied object (once; objects in created namespaces go with the namespace).
    pub(super) fn record(&mut self, applied: Applied) {
        if applied
            .namespace
            .as_ref()
            .is_some_and(|ns| self.namespaces.contains(ns))
        {
            return;
        }
        let same = |a: &Applied| {
            a.name == applied.name && a.namespace == applied.namespace && a.resource.kind == applied.resource.kind
        };
        if !self.objects.iter().any(same) {
            self.objects.push(applied);
        }
    }

    /// Deletes the recorded objects (newest first), then the created namespaces. Deletion is
    /// asked for, not waited for: a namespace takes its time, and a later run waits for it.
    ///
    /// # Errors
    /// The first deletion that failed (others are still attempted); already gone is fine.
    pub(super) async fn remove(&self, client: &kube::Client) -> Result<(), TargetError> {
        let mut first_error = None;
        let params = DeleteParams::background();
        for applied in self.objects.iter().rev() {
            let api = match &applied.namespace {
                Some(ns) => Api::<DynamicObject>::namespaced_with(client.clone(), ns, &applied.resource),
                None => Api::<DynamicObject>::all_with(client.clone(), &applied.resource),
            };
            if let Err(e) = api.delete(&applied.name, &params).await
                && !is_not_found(&e)
            {
                first_error.get_or_insert(TargetError::operation(
                    format!("deleting {} {}", applied.resource.kind, applied.name),
                    e,
                ));
            }
        }
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for ns in &self.namespaces {
            if let Err(e) = namespaces.delete(ns, &params).await
                && !is_not_found(&e)
            {
                first_error.get_or_insert(TargetError::operation(format!("deleting namespace {ns}"), e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Whether the API answered 404.
pub(super) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

/// Makes sure namespace `name` exists: `Ok(true)` when the suite created it. A namespace still
/// terminating (a previous run's) is waited for first, since nothing can be created in it.
///
/// # Errors
/// An API error, or a namespace still terminating after `within`.
pub(super) async fn ensure_namespace(
    applier: &Applier,
    name: &str,
    within: Duration,
    poll: Duration,
) -> Result<bool, TargetError> {
    let api: Api<Namespace> = Api::all(applier.client.clone());
    let what = format!("creating namespace {name}");
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let existing = api.get_opt(name).await.map_err(|e| TargetError::operation(&what, e))?;
        match existing {
            None => {
                applier.apply_typed(&fixtures::namespace(name), name).await?;
                return Ok(true);
            }
            Some(ns) if ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating") => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(TargetError::operation(
                        what,
                        format!("namespace {name} is still terminating after {within:?}"),
                    ));
                }
                tokio::time::sleep(poll).await;
            }
            Some(_) => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::platform::kube::canned;
    use crate::render::{Release, Rendered};

    #[test]
    fn hooks_are_left_out_and_the_rest_follows_helms_order() {
        let manifests = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw}
spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: gw-test
  annotations: {helm.sh/hook: test}
---
apiVersion: v1
kind: Service
metadata: {name: gw}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gw-bootstrap}
data: {values.yml: "server.httpPort: 8080\n"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gw}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gw}
"#;
        let rendered = Rendered::new(BTreeMap::from([("all.yaml".to_string(), manifests.to_string())]), None);
        let deployment = Deployment::new(Release::new("gw", "ns"), json!({}), rendered).unwrap();
        let kinds: Vec<String> = chart_objects(&deployment)
            .unwrap()
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            ["NetworkPolicy", "ConfigMap", "Service", "Deployment", "HTTPRoute"]
        );
    }

    fn core_resources() -> Value {
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
            {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap",
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
        ]})
    }

    #[tokio::test]
    async fn apply_is_server_side_with_the_suites_field_manager_in_the_release_namespace() {
        let (client, server) = canned::server(|seen| match seen.path() {
            "/api/v1" => (200, core_resources()),
            _ => (
                200,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gw-bootstrap"}}),
            ),
        });
        let applier = Applier::new(client);
        let object =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gw-bootstrap"}, "data": {"a": "b"}});
        let applied = applier.apply(&object, "light-gateway").await.unwrap();
        assert_eq!(applied.namespace.as_deref(), Some("light-gateway"));
        // The kind is resolved once.
        applier.apply(&object, "light-gateway").await.unwrap();
        drop(applier);
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0].method, "GET");
        assert_eq!(seen[1].method, "PATCH");
        assert_eq!(
            seen[1].path(),
            "/api/v1/namespaces/light-gateway/configmaps/gw-bootstrap"
        );
        assert!(
            seen[1].uri.contains("fieldManager=light-gateway-conformance"),
            "{}",
            seen[1].uri
        );
        assert!(seen[1].uri.contains("force=true"), "{}", seen[1].uri);
        assert_eq!(seen[1].content_type.as_deref(), Some("application/apply-patch+yaml"));
        let body: Value = serde_json::from_str(&seen[1].body).unwrap();
        assert_eq!(body["metadata"]["namespace"], "light-gateway");
        assert_eq!(body["data"]["a"], "b");
    }

    #[tokio::test]
    async fn a_kind_the_cluster_does_not_serve_is_named() {
        let (client, _server) = canned::server(|_| {
            (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "the server could not find the requested resource"}),
            )
        });
        let applier = Applier::new(client);
        let route =
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "gw"}});
        let err = applier.apply(&route, "ns").await.unwrap_err().to_string();
        assert!(
            err.starts_with("discovering HTTPRoute gateway.networking.k8s.io/v1: the cluster does not serve it"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn namespaces_are_created_only_when_missing_and_recorded_so() {
        let (client, server) = canned::server(|seen| match (seen.method.as_str(), seen.path()) {
            ("GET", "/api/v1/namespaces/tools") => (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
            ),
            ("GET", "/api/v1/namespaces/default") => (
                200,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}, "status": {"phase": "Active"}}),
            ),
            ("GET", "/api/v1") => (200, core_resources()),
            _ => (
                200,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools"}}),
            ),
        });
        let applier = Applier::new(client);
        let quick = Duration::from_millis(1);
        assert!(ensure_namespace(&applier, "tools", quick, quick).await.unwrap());
        assert!(!ensure_namespace(&applier, "default", quick, quick).await.unwrap());
        drop(applier);
        let seen = server.await.unwrap();
        let patch = seen.iter().find(|s| s.method == "PATCH").unwrap();
        assert_eq!(patch.path(), "/api/v1/namespaces/tools");
        let body: Value = serde_json::from_str(&patch.body).unwrap();
        assert_eq!(body["metadata"]["labels"]["kubernetes.io/metadata.name"], "tools");
        assert_eq!(seen.iter().filter(|s| s.method == "PATCH").count(), 1);
    }

    #[tokio::test]
    async fn a_terminating_namespace_is_waited_for_until_the_deadline() {
        let (client, _server) = canned::server(|_| {
            (
                200,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools"}, "status": {"phase": "Terminating"}}),
            )
        });
        let applier = Applier::new(client);
        let err = ensure_namespace(&applier, "tools", Duration::from_millis(20), Duration::from_millis(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("namespace tools is still terminating"), "{err}");
    }

    fn applied(kind: &str, ns: Option<&str>, name: &str) -> Applied {
        Applied {
            resource: ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", kind)),
            namespace: ns.map(String::from),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn teardown_removes_what_was_made_and_nothing_else() {
        let mut made = Made {
            namespaces: vec!["tools".into()],
            ..Made::default()
        };
        made.record(applied("Service", Some("tools"), "mcp-backend-a"));
        made.record(applied("ConfigMap", Some("default"), "gw"));
        made.record(applied("ConfigMap", Some("default"), "gw"));
        assert_eq!(made.objects.len(), 1);
        let (client, server) = canned::server(|seen| match seen.path() {
            // Already gone: fine.
            "/api/v1/namespaces/tools" => (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
            ),
            _ => (200, json!({"kind": "Status", "apiVersion": "v1", "status": "Success"})),
        });
        made.remove(&client).await.unwrap();
        drop(client);
        let seen = server.await.unwrap();
        let deleted: Vec<String> = seen.iter().map(|s| format!("{} {}", s.method, s.path())).collect();
        assert_eq!(
            deleted,
            [
                "DELETE /api/v1/namespaces/default/configmaps/gw",
                "DELETE /api/v1/namespaces/tools"
            ]
        );
    }
}
