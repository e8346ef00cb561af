//! Runtime tool dispatch, answer shapes and masking of the gathered config.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rstest::rstest;
use serde_json::{Value, json};
use tracing_subscriber::{EnvFilter, Registry, reload};

use super::*;
use crate::config::crypt;
use crate::config::{BootstrapConfig, ConfigDirs, RuntimeConfig};
use crate::logging::{FilterControl, initial_setting};
use crate::registry::config_snapshot::{FILES, MASK, MaskedFile};

const PORTAL_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzaWQiOiJzdmMifQ.pOrTaLsEcReT";

fn register() -> RegisterParams {
    RegisterParams {
        service_id: "com.x.gw-1.2.0".into(),
        version: "1.2.0".into(),
        protocol: "http".into(),
        address: "gw.ns".into(),
        port: 8080,
        env_tag: "dev".into(),
        jwt: PORTAL_TOKEN.into(),
    }
}

/// A snapshot with every file loaded from `docs` (masked already), `{}` for the rest.
fn snapshot(docs: &[(&str, Value)]) -> ConfigSnapshot {
    let files = FILES
        .iter()
        .map(|kind| MaskedFile {
            kind: *kind,
            source: Some(format!("embedded:{}.yml", kind.config_name)),
            config: Ok(docs
                .iter()
                .find(|(name, _)| *name == kind.config_name)
                .map_or_else(|| json!({}), |(_, doc)| doc.clone())),
        })
        .collect();
    ConfigSnapshot {
        files,
        value_sources: vec!["embedded:values.yml".into(), "config/values.yml".into()],
    }
}

/// A filter control over a layer the caller keeps alive (the handle fails once it is dropped).
fn logging() -> (Arc<FilterControl>, reload::Layer<EnvFilter, Registry>) {
    let (layer, handle) = reload::Layer::new(EnvFilter::new("info"));
    (
        Arc::new(FilterControl::new(handle, initial_setting(Some("info")))),
        layer,
    )
}

fn portal_registry() -> [(&'static str, Value); 1] {
    [(
        "portal-registry",
        json!({"portalUrl": "http://c:8438", "portalToken": MASK}),
    )]
}

fn tools(logging: Option<Arc<FilterControl>>) -> Arc<RuntimeTools> {
    Arc::new(RuntimeTools::new(
        snapshot(&portal_registry()),
        &Activation::default(),
        "gw-0".into(),
        logging,
        None,
    ))
}

fn answer(tools: &Arc<RuntimeTools>, method: &str, params: Value) -> Answer {
    let register = register();
    let who = SessionIdentity {
        register: &register,
        runtime_instance_id: Some(Uuid::nil()),
    };
    tools.answer(&who, method, &params)
}

/// A request answered at once.
fn ask(tools: &Arc<RuntimeTools>, method: &str, params: Value) -> Value {
    match answer(tools, method, params) {
        Answer::Now(result) => result,
        Answer::Later(_) => panic!("{method} was not answered at once"),
    }
}

fn call(tools: &Arc<RuntimeTools>, name: &str, arguments: Value) -> Value {
    ask(tools, "tools/call", json!({"name": name, "arguments": arguments}))
}

fn names(list: &Value) -> Vec<&str> {
    list["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn tools_list_offers_what_this_gateway_implements() {
    let (control, _layer) = logging();
    let list = ask(&tools(Some(control)), "tools/list", json!({}));
    assert_eq!(list["capabilityVersion"], CAPABILITY_VERSION);
    assert_eq!(list["features"], json!({"logStreamLeaseV1": false}));
    assert_eq!(
        names(&list),
        [GET_SERVICE_INFO, GET_MODULES, GET_LOGGING_FILTER, SET_LOGGING_FILTER]
    );
    for tool in list["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["description"].as_str().is_some_and(|d| !d.is_empty()), "{tool}");
    }
    let set = &list["tools"][3]["inputSchema"];
    assert_eq!(
        (set["required"].clone(), set["properties"]["filter"]["type"].clone()),
        (json!(["filter"]), json!("string"))
    );
    let without_logging = ask(&tools(None), "tools/list", json!({}));
    assert_eq!(names(&without_logging), [GET_SERVICE_INFO, GET_MODULES]);
}

#[rstest]
#[case::unknown_method("config/reload", json!({}), "unsupported", Some("method 'config/reload'"))]
#[case::unknown_tool("tools/call", json!({"name": "clear_cache", "arguments": {"name": "x"}}), "unsupported", Some("tool 'clear_cache'"))]
#[case::call_without_name("tools/call", json!({"arguments": {}}), "error", None)]
#[case::reload_without_a_reloader("tools/call", json!({"name": RELOAD_MODULES, "arguments": {"modules": ["ALL"]}}), "error", None)]
#[case::filter_without_argument("tools/call", json!({"name": SET_LOGGING_FILTER}), "error", None)]
#[case::filter_blank("tools/call", json!({"name": SET_LOGGING_FILTER, "arguments": {"filter": " "}}), "error", None)]
#[case::get_filter("tools/call", json!({"name": GET_LOGGING_FILTER}), "success", None)]
fn requests_get_upstreams_status_shapes(
    #[case] method: &str,
    #[case] params: Value,
    #[case] status: &str,
    #[case] unsupported_names: Option<&str>,
) {
    let (control, _layer) = logging();
    let answer = ask(&tools(Some(control)), method, params);
    assert_eq!(answer["status"], status, "{answer}");
    match unsupported_names {
        Some(named) => {
            assert_eq!(answer["supported"], false, "{answer}");
            assert_eq!(answer["error"]["code"], "unsupported_method", "{answer}");
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(named), "{answer}");
        }
        None if status == "error" => {
            assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        }
        None => {}
    }
}

#[test]
fn reload_modules_without_a_reloader_says_so() {
    let answer = call(&tools(None), RELOAD_MODULES, json!({}));
    assert_eq!(answer, json!({"status": "error", "message": NO_HOT_RELOAD}));
}

#[test]
fn logging_tools_without_a_control_are_unsupported() {
    for name in [GET_LOGGING_FILTER, SET_LOGGING_FILTER] {
        let answer = call(&tools(None), name, json!({"filter": "debug"}));
        assert_eq!(
            (answer["supported"].clone(), answer["status"].clone()),
            (json!(false), json!("unsupported")),
            "{answer}"
        );
    }
}

#[test]
fn set_logging_filter_applies_a_good_directive_and_refuses_a_bad_one() {
    let (control, _layer) = logging();
    let tools = tools(Some(control.clone()));
    let initial = call(&tools, GET_LOGGING_FILTER, json!({}));
    assert_eq!(
        initial,
        json!({"status": "success", "filter": "info", "source": "env:RUST_LOG", "dynamic": true, "moduleId": LOGGING_MODULE_ID})
    );
    let bad = call(
        &tools,
        SET_LOGGING_FILTER,
        json!({"filter": "info,light_gateway=chatty"}),
    );
    assert_eq!(bad["status"], "error", "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("info,light_gateway=chatty"),
        "{bad}"
    );
    assert_eq!(call(&tools, GET_LOGGING_FILTER, json!({}))["filter"], "info");
    let good = call(
        &tools,
        SET_LOGGING_FILTER,
        json!({"filter": "info,light_gateway::registry=debug"}),
    );
    assert_eq!(
        good,
        json!({"status": "success", "filter": "info,light_gateway::registry=debug", "source": FILTER_SOURCE})
    );
    let now = call(&tools, GET_LOGGING_FILTER, json!({}));
    assert_eq!(
        (now["filter"].clone(), now["source"].clone()),
        (good["filter"].clone(), json!(FILTER_SOURCE))
    );
    assert_eq!(control.current().directive, "info,light_gateway::registry=debug");
}

#[test]
fn get_modules_lists_module_ids_and_service_info_says_none_reloads() {
    let modules = call(&tools(None), GET_MODULES, json!({}));
    let ids: Vec<&str> = modules["modules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for id in [
        "light-runtime/server",
        "light-runtime/portal-registry",
        "light-client/client",
        "light-pingora/mcp-router",
        "light-pingora/access-control",
        LOGGING_MODULE_ID,
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert_eq!(ids.len(), FILES.len() + 1);
    let info = call(&tools(None), GET_SERVICE_INFO, json!({}));
    let summaries = info["modules"].as_array().unwrap();
    assert_eq!(summaries.len(), ids.len());
    for m in summaries {
        assert_eq!(m["reloadable"], false, "{m}");
        assert!(
            m["loadedAt"]
                .as_str()
                .is_some_and(|t| t.len() == 20 && t.ends_with('Z')),
            "{m}"
        );
    }
}

#[test]
fn service_info_has_the_identity_the_config_and_no_token() {
    let info = call(&tools(None), GET_SERVICE_INFO, json!({}));
    assert_eq!(
        info["service"],
        json!({"serviceId": "com.x.gw-1.2.0", "version": "1.2.0", "envTag": "dev", "protocol": "http",
               "address": "gw.ns", "port": 8080, "runtimeInstanceId": Uuid::nil()})
    );
    assert_eq!(info["deployment"]["apiVersion"], "1.2.0");
    assert_eq!(info["environment"]["host"], json!({"ip": "gw.ns", "hostname": "gw-0"}));
    assert_eq!(info["component"]["portal-registry"]["portalToken"], MASK);
    assert_eq!(info["component"]["server"], json!({}));
    assert!(
        info["component"].get("apikey").is_none(),
        "inactive modules show no config: {info}"
    );
    assert_eq!(
        info["configSources"]["values"],
        json!(["embedded:values.yml", "config/values.yml"])
    );
    assert_eq!(info["configSources"]["files"]["server"], "embedded:server.yml");
    assert!(!info.to_string().contains("pOrTaLsEcReT"), "{info}");
}

#[rstest]
#[case::epoch(0, "1970-01-01T00:00:00Z")]
#[case::leap_day(951_782_400, "2000-02-29T00:00:00Z")]
#[case::late(1_786_102_245, "2026-08-07T11:30:45Z")]
fn times_are_rfc3339_utc(#[case] secs: u64, #[case] expected: &str) {
    let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    assert_eq!(rfc3339(time), expected);
}

/// The whole gathering path over a real config dir: the portal token (from the environment),
/// a password and a `CRYPT:` value in values.yml, and a key path, all masked.
#[test]
fn gathered_config_masks_every_secret_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = ConfigDirs::under(dir.path());
    std::fs::create_dir_all(&dirs.config).unwrap();
    let encrypted = crypt::encrypt("decrypted-backend-secret", "pw-123", b"salt-salt-salt-1");
    let values = format!(
        "server.serviceId: com.x.gw-1.2.0\nserver.tlsKeyPath: config/server-key.pem\n\
         basic-auth.users: [{{username: bob, password: bob-password-1, paths: [/mcp]}}]\n\
         mcp-router.tools: [{{name: echo, apiType: mcp, targetHost: 'http://b:8080', path: /mcp, \
         headers: {{X-Backend: '{encrypted}'}}}}]\nclient.tokenKeyClientSecret: '{encrypted}'\n"
    );
    std::fs::write(dirs.config.join("values.yml"), values).unwrap();
    let env: HashMap<String, String> = [
        (
            "LIGHT_PORTAL_AUTHORIZATION".to_string(),
            format!("Bearer {PORTAL_TOKEN}"),
        ),
        (crypt::PASSWORD_ENV.to_string(), "pw-123".to_string()),
    ]
    .into();
    let boot = BootstrapConfig::load(&dirs, &env).unwrap();
    let rt = RuntimeConfig::load(&dirs, &env, None).unwrap();
    let snapshot = ConfigSnapshot::gather(&rt, &boot, &dirs, &env);
    assert_eq!(snapshot.files.len(), FILES.len());
    let shown = serde_json::to_string(
        &snapshot
            .files
            .iter()
            .map(|f| f.config.clone().unwrap())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for secret in [
        PORTAL_TOKEN,
        "bob-password-1",
        "decrypted-backend-secret",
        "config/server-key.pem",
        "CRYPT:",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    assert_eq!(snapshot.config("startup").unwrap()["authorization"], MASK);
    assert_eq!(snapshot.config("portal-registry").unwrap()["portalToken"], MASK);
    assert_eq!(snapshot.config("server").unwrap()["serviceId"], "com.x.gw-1.2.0");
    assert_eq!(snapshot.config("basic-auth").unwrap()["users"][0]["username"], "bob");
    let tool = &snapshot.config("mcp-router").unwrap()["tools"][0];
    assert_eq!(
        (tool["name"].clone(), tool["headers"]["X-Backend"].clone()),
        (json!("echo"), json!(MASK))
    );
    assert_eq!(snapshot.value_sources, rt.value_sources);
}

/// Records what it was asked and answers a fixed report.
struct FakeReload {
    asked: Mutex<Vec<Vec<String>>>,
    report: ReloadReport,
    installs: bool,
}

#[async_trait::async_trait]
impl ModuleReload for FakeReload {
    fn reloadable(&self) -> &'static [&'static str] {
        &["light-pingora/mcp-router"]
    }

    async fn reload(&self, requested: &[String]) -> Reloaded {
        self.asked.lock().unwrap().push(requested.to_vec());
        let installed = self.installs.then(|| crate::reload::Installed {
            snapshot: snapshot(&[("mcp-router", json!({"enabled": true, "tools": [{"name": "new"}]}))]),
            activation: Activation::default(),
        });
        Reloaded {
            report: self.report.clone(),
            installed,
        }
    }
}

fn reloading(report: ReloadReport, installs: bool) -> (Arc<RuntimeTools>, Arc<FakeReload>) {
    let fake = Arc::new(FakeReload {
        asked: Mutex::new(Vec::new()),
        report,
        installs,
    });
    let tools = Arc::new(RuntimeTools::new(
        snapshot(&portal_registry()),
        &Activation::default(),
        "gw-0".into(),
        None,
        Some(fake.clone()),
    ));
    (tools, fake)
}

async fn reload(tools: &Arc<RuntimeTools>, arguments: Value) -> Value {
    match answer(
        tools,
        "tools/call",
        json!({"name": RELOAD_MODULES, "arguments": arguments}),
    ) {
        Answer::Later(result) => result.await,
        Answer::Now(result) => result,
    }
}

fn summary<'a>(info: &'a Value, module_id: &str) -> &'a Value {
    info["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["moduleId"] == module_id)
        .unwrap()
}

#[rstest]
#[case::omitted(json!({}), vec![])]
#[case::null(json!({"modules": null}), vec![])]
#[case::named(json!({"modules": ["light-pingora/mcp-router", " light-pingora/security "]}), vec!["light-pingora/mcp-router", "light-pingora/security"])]
#[tokio::test]
async fn reload_modules_passes_the_modules_asked_for(#[case] arguments: Value, #[case] expected: Vec<&str>) {
    let (tools, fake) = reloading(ReloadReport::default(), false);
    let answer = reload(&tools, arguments).await;
    assert_eq!(
        answer,
        json!({"modules": [], "reloaded": [], "skipped": [], "failed": []})
    );
    assert_eq!(
        *fake.asked.lock().unwrap(),
        vec![expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()]
    );
}

#[rstest]
#[case::not_an_array(json!({"modules": "light-pingora/mcp-router"}))]
#[case::a_number(json!({"modules": [1]}))]
#[case::blank(json!({"modules": [" "]}))]
#[tokio::test]
async fn bad_reload_arguments_are_refused_without_reloading(#[case] arguments: Value) {
    let (tools, fake) = reloading(ReloadReport::default(), false);
    let answer = reload(&tools, arguments).await;
    assert_eq!(answer["status"], "error", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("arguments.modules"),
        "{answer}"
    );
    assert!(fake.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_reload_is_listed_and_shows_in_the_modules_it_touched() {
    let report = ReloadReport {
        modules: vec!["light-pingora/mcp-router".into()],
        reloaded: vec!["light-pingora/mcp-router".into()],
        skipped: vec![crate::reload::Skipped {
            module_id: "light-runtime/server".into(),
            reason: crate::reload::REQUIRES_RESTART.into(),
        }],
        failed: vec![],
    };
    let (tools, _) = reloading(report, true);
    assert!(names(&ask(&tools, "tools/list", json!({}))).contains(&RELOAD_MODULES));
    let before = call(&tools, GET_SERVICE_INFO, json!({}));
    assert_eq!(summary(&before, "light-pingora/mcp-router")["reloadable"], true);
    assert_eq!(summary(&before, "light-runtime/server")["reloadable"], false);
    assert!(summary(&before, "light-pingora/mcp-router").get("lastReload").is_none());
    assert_eq!(before["component"].get("mcp-router"), None, "not active before");

    let answer = reload(&tools, json!({})).await;
    assert_eq!(answer["reloaded"], json!(["light-pingora/mcp-router"]));
    assert_eq!(answer["modules"], answer["reloaded"]);
    let after = call(&tools, GET_SERVICE_INFO, json!({}));
    let router = summary(&after, "light-pingora/mcp-router");
    assert_eq!(router["lastReload"]["status"], "success", "{router}");
    assert!(
        router["lastReload"]["completedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let server = summary(&after, "light-runtime/server");
    assert_eq!(
        (
            server["lastReload"]["status"].clone(),
            server["lastReload"]["message"].clone()
        ),
        (json!("skipped"), json!("requiresRestart"))
    );
    // The installed snapshot is what get_service_info describes from now on.
    assert_eq!(after["configSources"]["files"]["mcp-router"], "embedded:mcp-router.yml");
    assert_eq!(
        tools.described().config.config("mcp-router").unwrap()["tools"][0]["name"],
        "new"
    );
}

#[tokio::test]
async fn a_failed_reload_keeps_the_config_described_and_says_why() {
    let report = ReloadReport::all_failed(
        &["light-pingora/mcp-router".into()],
        "mcp-router.yml: tools[0].url is missing",
    );
    let (tools, _) = reloading(report, false);
    let answer = reload(&tools, json!({"modules": ["light-pingora/mcp-router"]})).await;
    assert_eq!(
        answer["failed"],
        json!([{"moduleId": "light-pingora/mcp-router", "message": "mcp-router.yml: tools[0].url is missing"}])
    );
    let info = call(&tools, GET_SERVICE_INFO, json!({}));
    let router = summary(&info, "light-pingora/mcp-router");
    assert_eq!(router["lastReload"]["status"], "failed");
    assert_eq!(
        router["lastReload"]["message"],
        "mcp-router.yml: tools[0].url is missing"
    );
    assert!(
        tools
            .described()
            .config
            .config("mcp-router")
            .unwrap()
            .get("tools")
            .is_none()
    );
}
