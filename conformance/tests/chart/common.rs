//! Shared helpers: where the chart and tools are, one Helm engine per process, scenario values.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use light_gateway_conformance::render::{self, ChartRenderer, Release, RenderError, Rendered};
use serde_json::Value;

/// Release name every test renders with.
pub const RELEASE: &str = "gw";
/// Namespace every test renders into.
pub const NAMESPACE: &str = "light-gateway";
/// Object name the chart derives for release `gw`.
pub const FULLNAME: &str = "gw-light-gateway";
/// Kubernetes version the documents are validated against.
pub const KUBE_VERSION: &str = "1.37.0";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The chart directory.
pub fn chart() -> PathBuf {
    workspace().join("chart")
}

/// The Helm engine, chosen once: `helm` on PATH, else libhelm_c.so from the repo's .venv.
pub fn helm() -> &'static dyn ChartRenderer {
    static ENGINE: OnceLock<Box<dyn ChartRenderer>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let engine = render::detect().unwrap_or_else(|e| panic!("{e}\n(run `make setup` to create .venv)"));
            eprintln!("rendering with {}", engine.describe());
            engine
        })
        .as_ref()
}

/// The release every test renders.
pub fn release() -> Release {
    Release::new(RELEASE, NAMESPACE)
}

/// Renders the chart with `values`, panicking with Helm's message on failure.
pub fn render(values: &Value) -> Rendered {
    helm()
        .render(&chart(), values, &release())
        .unwrap_or_else(|e| panic!("render failed: {e}"))
}

/// Renders the chart with `values`, expecting a failure.
pub fn render_err(values: &Value) -> RenderError {
    match helm().render(&chart(), values, &release()) {
        Ok(_) => panic!("render succeeded with {values}, expected a failure"),
        Err(e) => e,
    }
}

/// The names of the scenarios in chart/ci (`default` for `default-values.yaml`), sorted.
pub fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(chart().join("ci"))
        .expect("chart/ci")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix("-values.yaml").map(String::from))
        .collect();
    names.sort();
    names
}

/// A scenario's values as JSON.
pub fn scenario_values(name: &str) -> Value {
    let path = chart().join("ci").join(format!("{name}-values.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let values: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if values.is_null() {
        Value::Object(Default::default())
    } else {
        values
    }
}

/// Renders a scenario.
pub fn render_scenario(name: &str) -> Rendered {
    render(&scenario_values(name))
}

/// A tool installed into the repo's .venv by `make setup`.
pub fn venv_tool(name: &str) -> PathBuf {
    let tool = workspace().join(".venv/bin").join(name);
    assert!(
        tool.is_file(),
        "{} is missing: run `make setup` (it creates .venv with kubernetes-validate and helm-python-sdk)",
        tool.display()
    );
    tool
}

/// The gateway binary of this workspace build (`make test` builds it first).
pub fn gateway_binary() -> PathBuf {
    // Test executables live in <target>/debug/deps; the binary sits one level up.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let binary = profile_dir.join("light-gateway");
    assert!(
        binary.is_file(),
        "{} is missing: build it first (`make build`, or `cargo build -p light-gateway`)",
        binary.display()
    );
    binary
}

/// Merges `patch` into `base` (objects key by key, anything else replaced), as Helm merges
/// several values files.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The gateway Deployment of a render.
pub fn deployment(rendered: &Rendered) -> k8s_openapi::api::apps::v1::Deployment {
    rendered.get("Deployment", FULLNAME).unwrap()
}

/// The gateway pod template of a render.
pub fn pod(rendered: &Rendered) -> k8s_openapi::api::core::v1::PodTemplateSpec {
    deployment(rendered).spec.template
}

/// The gateway container of a render.
pub fn container(rendered: &Rendered) -> k8s_openapi::api::core::v1::Container {
    let spec = pod(rendered).spec.unwrap();
    spec.containers
        .into_iter()
        .find(|c| c.name == "light-gateway")
        .expect("light-gateway container")
}

/// The files of the bootstrap ConfigMap of a render.
pub fn bootstrap_files(rendered: &Rendered) -> std::collections::BTreeMap<String, String> {
    let cm: k8s_openapi::api::core::v1::ConfigMap =
        rendered.get("ConfigMap", &format!("{FULLNAME}-bootstrap")).unwrap();
    cm.data.unwrap_or_default()
}

/// values.yml of the bootstrap ConfigMap, parsed.
pub fn values_yml(rendered: &Rendered) -> Value {
    serde_saphyr::from_str(&bootstrap_files(rendered)["values.yml"]).unwrap()
}
