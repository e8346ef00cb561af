//! Where config files come from and how they layer (docs/protocols.md#bootstrap-config).
//!
//! `values.yml` merges key by key: embedded < `config-defaults` < `config` < `config-cache`.
//! Every other file comes whole from the highest source that has it. The bootstrap phase never
//! reads `config-cache`, so a stale cache cannot redirect the gateway to another config-server.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ConfigError;

/// Defaults compiled into the binary: the templates of the upstream deployment guide.
const EMBEDDED: &[(&str, &str)] = &[
    ("values.yml", include_str!("../../config-defaults/values.yml")),
    ("startup.yml", include_str!("../../config-defaults/startup.yml")),
    ("server.yml", include_str!("../../config-defaults/server.yml")),
    (
        "portal-registry.yml",
        include_str!("../../config-defaults/portal-registry.yml"),
    ),
    ("client.yml", include_str!("../../config-defaults/client.yml")),
    ("handler.yml", include_str!("../../config-defaults/handler.yml")),
    ("mcp-router.yml", include_str!("../../config-defaults/mcp-router.yml")),
    ("security.yml", include_str!("../../config-defaults/security.yml")),
    (
        "unified-security.yml",
        include_str!("../../config-defaults/unified-security.yml"),
    ),
    ("apikey.yml", include_str!("../../config-defaults/apikey.yml")),
    ("basic-auth.yml", include_str!("../../config-defaults/basic-auth.yml")),
    (
        "access-control.yml",
        include_str!("../../config-defaults/access-control.yml"),
    ),
    ("rule.yml", include_str!("../../config-defaults/rule.yml")),
    ("metrics.yml", include_str!("../../config-defaults/metrics.yml")),
    ("correlation.yml", include_str!("../../config-defaults/correlation.yml")),
    ("mcp-audit.yml", include_str!("../../config-defaults/mcp-audit.yml")),
];

/// The flat values map (`server.httpPort` -> 8080).
pub type Values = Map<String, Value>;

/// The directories the gateway reads and writes.
#[derive(Debug, Clone)]
pub struct ConfigDirs {
    /// Read-only bootstrap config (`config`, a symlink to `/config` in the image).
    pub config: PathBuf,
    /// Writable cache of what config-server sent (`config-cache`).
    pub cache: PathBuf,
    /// Defaults shipped next to the binary (`config-defaults`).
    pub defaults: PathBuf,
    /// Directory that relative paths inside config files (`config/ca.pem`) are relative to.
    pub base: PathBuf,
}

impl ConfigDirs {
    /// The upstream layout: `config`, `config-cache`, `config-defaults` under `base`.
    pub fn under(base: &Path) -> Self {
        Self {
            config: base.join("config"),
            cache: base.join("config-cache"),
            defaults: base.join("config-defaults"),
            base: base.to_path_buf(),
        }
    }

    /// Resolves a path written in a config file against [`ConfigDirs::base`].
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}

/// One source of config files, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Compiled into the binary.
    Embedded,
    /// `config-defaults/`.
    Defaults,
    /// `config/`.
    Config,
    /// `config-cache/`.
    Cache,
}

/// A config file's text and where it came from.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// How the file is named to an operator: `config/server.yml` or `embedded:server.yml`.
    pub label: String,
    /// Which source it came from.
    pub source: Source,
    /// The file's text.
    pub text: String,
}

/// Which sources a phase may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reaching config-server: embedded, `config-defaults`, `config`.
    Bootstrap,
    /// Everything after: the cache too.
    Runtime,
}

/// The layered view of the config sources for one phase.
#[derive(Debug, Clone)]
pub struct Layers {
    dirs: ConfigDirs,
    phase: Phase,
}

/// The merged values map and the files it came from, lowest first.
#[derive(Debug, Clone, Default)]
pub struct MergedValues {
    /// The merged map.
    pub values: Values,
    /// Labels of the sources that contributed, lowest precedence first.
    pub sources: Vec<String>,
}

impl Layers {
    /// The sources of `phase` in `dirs`.
    pub fn new(dirs: ConfigDirs, phase: Phase) -> Self {
        Self { dirs, phase }
    }

    /// The directories behind these layers.
    pub fn dirs(&self) -> &ConfigDirs {
        &self.dirs
    }

    fn disk_sources(&self) -> Vec<(Source, &Path)> {
        let mut sources = vec![
            (Source::Defaults, self.dirs.defaults.as_path()),
            (Source::Config, self.dirs.config.as_path()),
        ];
        if self.phase == Phase::Runtime {
            sources.push((Source::Cache, self.dirs.cache.as_path()));
        }
        sources
    }

    /// Every source that has `name`, lowest precedence first.
    ///
    /// # Errors
    /// A file that exists but cannot be read.
    pub fn all(&self, name: &str) -> Result<Vec<ConfigFile>, ConfigError> {
        let mut found = Vec::new();
        if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) {
            found.push(ConfigFile {
                label: format!("embedded:{name}"),
                source: Source::Embedded,
                text: (*text).to_string(),
            });
        }
        for (source, dir) in self.disk_sources() {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => found.push(ConfigFile {
                    label: path.display().to_string(),
                    source,
                    text,
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(ConfigError::Read { path, source }),
            }
        }
        Ok(found)
    }

    /// The file `name` from the highest source that has it (no deep merge).
    ///
    /// # Errors
    /// A file that exists but cannot be read.
    pub fn file(&self, name: &str) -> Result<Option<ConfigFile>, ConfigError> {
        Ok(self.all(name)?.pop())
    }

    /// `values.yml` from every source, merged key by key.
    ///
    /// # Errors
    /// A values file that cannot be read, is not YAML, or is not a map.
    pub fn values(&self) -> Result<MergedValues, ConfigError> {
        let mut merged = MergedValues::default();
        for file in self.all("values.yml")? {
            let map = parse_values(&file.label, &file.text)?;
            merged.values.extend(map);
            merged.sources.push(file.label);
        }
        Ok(merged)
    }
}

/// Parses a YAML document into a generic value; an empty document is an empty map.
///
/// # Errors
/// Text that is not YAML, with the parser's line and column.
pub fn parse_yaml(label: &str, text: &str) -> Result<Value, ConfigError> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Value::Object(Map::new()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| ConfigError::Parse {
        file: label.to_string(),
        message: e.to_string(),
    })
}

/// Parses a flat `values.yml` map.
///
/// # Errors
/// Text that is not YAML or a document that is not a map.
pub fn parse_values(label: &str, text: &str) -> Result<Values, ConfigError> {
    match parse_yaml(label, text)? {
        Value::Object(map) => {
            check_values(label, &map)?;
            Ok(map)
        }
        Value::Null => Ok(Values::new()),
        other => Err(ConfigError::Parse {
            file: label.to_string(),
            message: format!("values.yml must be a map of keys to values, found {}", kind(&other)),
        }),
    }
}

/// Refuses a values key named after a config file that holds a map (`mcp-router: {tools:
/// ...}`): placeholders read dotted keys (`${mcp-router.tools}`), so such a map would reach no
/// setting and be silently unused.
///
/// # Errors
/// The first such key, with the dotted spelling to use.
pub fn check_values(label: &str, values: &Values) -> Result<(), ConfigError> {
    for (key, value) in values {
        let Value::Object(map) = value else { continue };
        let names_a_file = EMBEDDED
            .iter()
            .any(|(name, _)| name.strip_suffix(".yml") == Some(key.as_str()));
        if names_a_file {
            let inner = map.keys().next().map_or("<setting>", String::as_str);
            return Err(ConfigError::invalid(
                label,
                key,
                format!(
                    "a map under '{key}' reaches no setting: values are read by dotted keys; write '{key}.{inner}: ...' for each setting"
                ),
            ));
        }
    }
    Ok(())
}

/// A short name for a value's YAML type, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Embedded => "embedded",
            Source::Defaults => "config-defaults",
            Source::Config => "config",
            Source::Cache => "config-cache",
        })
    }
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
