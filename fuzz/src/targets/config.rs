//! Config: `${...}` placeholders, `values.yml` layering, and the answers of config-server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use light_gateway::bootstrap::client::ConfigServerClient;
use light_gateway::config::crypt;
use light_gateway::config::placeholder::Resolver;
use light_gateway::config::sources::{parse_values, parse_yaml};
use light_gateway::config::{BootstrapConfig, ConfigDirs, Layers, Phase, Values};
use serde_json::{Value, json};

use crate::input;
use crate::loopback::{Canned, Loopback, Stage, block_on, stage, staged};

/// The portal token of the fuzz environment: a secret that only `startup.yml` `authorization`
/// and `portal-registry.yml` `portalToken` may read. Written with a snowman so that no input
/// can spell it without a byte the leak check below looks for.
const PORTAL_TOKEN: &str = "\u{2603}-portal-secret";

/// The environment placeholders see. No config password: with one, every well-formed `CRYPT:`
/// value would cost 65,536 PBKDF2 rounds per run, and the cipher is not what these targets test.
fn environment() -> HashMap<String, String> {
    [
        ("HOST", "gw.example"),
        ("SERVER_HTTPPORT", "8080"),
        ("LIST", "[a, b]"),
        ("NESTED", "${HOST}:${SERVER_HTTPPORT}"),
        ("light_portal_authorization", PORTAL_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Whether any string in `value` (keys included) satisfies `test`.
fn any_string(value: &Value, test: &impl Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => test(s),
        Value::Array(items) => items.iter().any(|v| any_string(v, test)),
        Value::Object(map) => map.iter().any(|(k, v)| test(k) || any_string(v, test)),
        _ => false,
    }
}

/// Input: `values.yml` text, the separator line, a document's text. The document is resolved as
/// `startup.yml` (whose `authorization` may read the portal token) and as `mcp-router.yml`
/// (where no placeholder may).
pub fn placeholder(data: &[u8]) {
    let parts = input::parts(data, 2);
    let (values_text, document_text) = match parts.as_slice() {
        [values, document] => (*values, *document),
        _ => (&b""[..], data),
    };
    let (Ok(values_text), Ok(document_text)) = (str::from_utf8(values_text), str::from_utf8(document_text)) else {
        return;
    };
    let Ok(values) = parse_values("values.yml", values_text) else {
        return;
    };
    let Ok(document) = parse_yaml("startup.yml", document_text) else {
        return;
    };
    let env = environment();
    let resolver = Resolver::new(&values, &env);
    let resolved = resolver.resolve_document("startup.yml", document.clone());
    if !any_string(&document, &|s| s.contains("${") || s.starts_with(crypt::PREFIX)) {
        assert_eq!(
            resolved.as_ref().ok(),
            Some(&document),
            "a document without placeholders resolves to itself"
        );
    }
    let again = Resolver::new(&values, &env).resolve_document("startup.yml", document.clone());
    assert_eq!(
        format!("{resolved:?}"),
        format!("{again:?}"),
        "resolution is repeatable"
    );
    let _ = resolver.withhold(&format!("{resolved:?}"));

    let elsewhere = Resolver::new(&values, &env).resolve_document("mcp-router.yml", document);
    // An input that can spell the token (its bytes, or a YAML escape) proves nothing here.
    let could_spell = data.contains(&b'\\') || data.contains(&0xE2);
    if let Ok(out) = &elsewhere
        && !could_spell
    {
        assert!(
            !any_string(out, &|s| s.contains(PORTAL_TOKEN)),
            "the portal token reached mcp-router.yml through a placeholder: {out}"
        );
    }
}

/// A temporary `config-defaults`, `config` and `config-cache` per thread.
struct Dirs {
    _root: tempfile::TempDir,
    dirs: ConfigDirs,
}

impl Dirs {
    fn new() -> Self {
        // tmpfs when there is one: a run writes three files.
        let root = tempfile::Builder::new()
            .prefix("light-gateway-fuzz-")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a temporary directory can be made");
        let dirs = ConfigDirs::under(root.path());
        for dir in [&dirs.defaults, &dirs.config, &dirs.cache] {
            std::fs::create_dir_all(dir).expect("the config directories can be made");
        }
        Self { _root: root, dirs }
    }
}

thread_local! {
    static DIRS: Dirs = Dirs::new();
}

/// Input: up to three `values.yml` texts between separator lines, for `config-defaults`,
/// `config` and `config-cache` (lowest precedence first); a missing part means no file.
pub fn values_layers(data: &[u8]) {
    let texts = input::parts(data, 3);
    DIRS.with(|Dirs { dirs, .. }| {
        for (i, dir) in [&dirs.defaults, &dirs.config, &dirs.cache].into_iter().enumerate() {
            let path = dir.join("values.yml");
            match texts.get(i) {
                Some(text) => std::fs::write(&path, text).expect("values.yml can be written"),
                None => std::fs::remove_file(&path)
                    .or_else(ignore_missing)
                    .expect("values.yml can be removed"),
            }
        }
        let runtime = Layers::new(dirs.clone(), Phase::Runtime).values();
        let bootstrap = Layers::new(dirs.clone(), Phase::Bootstrap).values();
        if let Ok(merged) = &runtime {
            assert_eq!(
                merged.sources.len(),
                1 + texts.len(),
                "embedded plus each file: {:?}",
                merged.sources
            );
            if let Some(cache) = texts.get(2).and_then(|t| parse(t)) {
                for (key, value) in &cache {
                    assert_eq!(merged.values.get(key), Some(value), "config-cache wins for {key}");
                }
            }
        }
        if let Ok(merged) = &bootstrap {
            let cache = dirs.cache.display().to_string();
            assert!(
                merged.sources.iter().all(|s| !s.starts_with(&cache)),
                "the bootstrap phase read the cache: {:?}",
                merged.sources
            );
            if let (Ok(runtime), true) = (&runtime, texts.len() < 3) {
                assert_eq!(runtime.values, merged.values, "without a cache both phases merge alike");
            }
        }
        if let Ok(merged) = runtime {
            let env = environment();
            let document = Value::Object(merged.values.clone());
            let _ = Resolver::new(&merged.values, &env).resolve_document("values.yml", document);
        }
    });
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn parse(text: &[u8]) -> Option<Values> {
    parse_values("values.yml", str::from_utf8(text).ok()?).ok()
}

/// The config-server client of one thread and the answer its loopback server gives.
struct ConfigServer {
    stage: Stage,
    client: ConfigServerClient,
}

impl ConfigServer {
    fn new() -> Self {
        let stage: Stage = Arc::new(Mutex::new(Canned::ok(b"application/yaml", Vec::new())));
        let shared = stage.clone();
        let server = Loopback::start(move |_| staged(&shared));
        let base = server.url("");
        let startup = serde_json::from_value(json!({
            "host": "h.example",
            "serviceId": "svc-1.0.0",
            "envTag": "dev",
            "timeout": 2000,
            "connectTimeout": 500,
            "configServerUri": base,
        }))
        .expect("the fuzz startup.yml is valid");
        let boot = BootstrapConfig {
            startup,
            client: serde_json::from_value(json!({})).expect("an empty client.yml is valid"),
            config_server_uri: Some(base.clone()),
            env_tag: "dev".into(),
            authorization: Some("Bearer fuzz".into()),
            value_sources: Vec::new(),
        };
        let client = ConfigServerClient::new(&boot, &base, super::tls()).expect("the config-server client builds");
        Self { stage, client }
    }
}

thread_local! {
    static CONFIG_SERVER: ConfigServer = ConfigServer::new();
}

/// Input: a first line `<status> <content type>`, then the body config-server answers with, to
/// `GET configs` and to `GET certs` alike.
pub fn config_server(data: &[u8]) {
    let (line, body) = input::first_line(data);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (status, content_type) = match line.iter().position(|&b| b == b' ') {
        Some(at) => (&line[..at], &line[at + 1..]),
        None => (line, &b""[..]),
    };
    let status = str::from_utf8(status)
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200)
        .clamp(200, 599);
    CONFIG_SERVER.with(|server| {
        stage(
            &server.stage,
            Canned {
                status,
                headers: vec![("content-type", content_type.to_vec())],
                body: body.to_vec(),
            },
        );
        let configs = block_on(server.client.configs());
        let certs = block_on(server.client.blobs("certs"));
        let success = (200..300).contains(&status);
        assert!(configs.is_err() || success, "HTTP {status} gave values: {configs:?}");
        match &certs {
            Ok(blobs) => assert!(
                success || (status == 404 && blobs.is_empty()),
                "HTTP {status} gave certs"
            ),
            Err(e) => assert!(status != 404, "a 404 means no certs, not {e}"),
        }
    });
}
