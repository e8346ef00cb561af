//! `${key}` / `${key:default}` resolution (docs/protocols.md#bootstrap-config).
//!
//! Lookup order: the environment under the upper-cased name with `.` and `-` turned into `_`,
//! the environment under the exact name, the merged values map, then the default. A
//! placeholder that is the whole scalar is typed; one inside a longer string expands as text.
//! Expansion recurses into what it finds, at most [`MAX_DEPTH`] levels, and refuses cycles.
//!
//! Secrets: the variables in [`SECRET_VARIABLES`] may be read only where that secret belongs
//! (a placeholder in a tool description could otherwise publish the portal token), and every
//! secret a resolution read or decrypted is remembered so errors can withhold it
//! ([`Resolver::withhold`]).

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{ConfigError, Values, crypt};

/// How deep placeholders may nest through the values they resolve to.
pub const MAX_DEPTH: usize = 16;

/// Where environment variables come from (the process, or a map in tests).
pub trait Env {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The environment variable name a key maps to: `client.verifyHostname` -> `CLIENT_VERIFYHOSTNAME`.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Variables that hold secrets, each with the only sites (file name, key) whose placeholders
/// may read it: the config password decrypts `CRYPT:` values and is read by no placeholder;
/// the portal token authenticates to config-server and the controller.
pub const SECRET_VARIABLES: &[(&str, &[(&str, &str)])] = &[
    (crypt::PASSWORD_ENV, &[]),
    (
        "light_portal_authorization",
        &[("startup.yml", "authorization"), ("portal-registry.yml", "portalToken")],
    ),
];

/// Resolves placeholders against one environment and one values map.
pub struct Resolver<'a> {
    values: &'a Values,
    env: &'a dyn Env,
    /// Secrets read or decrypted so far, withheld from error messages.
    secrets: RefCell<Vec<String>>,
}

/// Which file and key a resolution is for, so errors can name them.
struct Site<'s> {
    file: &'s str,
    key: &'s str,
}

impl<'a> Resolver<'a> {
    /// A resolver over `values` and `env`.
    pub fn new(values: &'a Values, env: &'a dyn Env) -> Self {
        Self {
            values,
            env,
            secrets: RefCell::default(),
        }
    }

    /// `text` with every secret this resolver read or decrypted replaced by `***`: for error
    /// messages that echo a value (a type error, a bad URL).
    pub fn withhold(&self, text: &str) -> String {
        let mut out = text.to_string();
        let secrets = self.secrets.borrow();
        let mut longest_first: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
        longest_first.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in longest_first {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    fn remember(&self, value: &Value) {
        if let Value::String(s) = value
            && !s.is_empty()
        {
            self.secrets.borrow_mut().push(s.clone());
        }
    }

    /// A `CRYPT:` value decrypted (and remembered as a secret); anything else as it is.
    fn decrypt(&self, site: &Site, value: Value) -> Result<Value, ConfigError> {
        let encrypted = matches!(&value, Value::String(s) if s.starts_with(crypt::PREFIX));
        let value = decrypt_if_needed(site, value, self.env)?;
        if encrypted {
            self.remember(&value);
        }
        Ok(value)
    }

    /// Refuses a placeholder that reads a secret variable outside the sites allowed to.
    fn check_secret(&self, site: &Site, key: &str) -> Result<bool, ConfigError> {
        let wanted = env_name(key);
        let Some((name, sites)) = SECRET_VARIABLES.iter().find(|(name, _)| env_name(name) == wanted) else {
            return Ok(false);
        };
        let file = site.file.rsplit(['/', ':']).next().unwrap_or(site.file);
        if sites.iter().any(|(f, k)| *f == file && *k == site.key) {
            return Ok(true);
        }
        let allowed = if sites.is_empty() {
            "no placeholder may read it".to_string()
        } else {
            let list: Vec<String> = sites.iter().map(|(f, k)| format!("{f} {k}")).collect();
            format!("only {} may read it", list.join(" and "))
        };
        Err(ConfigError::invalid(
            site.file,
            site.key,
            format!("placeholder ${{{key}}} reads the secret {name}: {allowed}"),
        ))
    }

    /// Resolves every string scalar of a parsed document; `file` names it in errors.
    ///
    /// # Errors
    /// An unresolvable placeholder, a cycle, too deep a nesting, or an undecryptable value.
    pub fn resolve_document(&self, file: &str, doc: Value) -> Result<Value, ConfigError> {
        self.walk(file, String::new(), doc)
    }

    fn walk(&self, file: &str, key: String, value: Value) -> Result<Value, ConfigError> {
        match value {
            Value::String(text) => {
                let site = Site { file, key: &key };
                let resolved = self.scalar(&site, &text, &mut Vec::new())?;
                self.decrypt(&site, resolved)
            }
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| self.walk(file, format!("{key}[{i}]"), item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let path = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    out.insert(k, self.walk(file, path, v)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other),
        }
    }

    /// A scalar: typed when it is exactly one placeholder, else expanded as text.
    fn scalar(&self, site: &Site, text: &str, chain: &mut Vec<String>) -> Result<Value, ConfigError> {
        match split(text).as_slice() {
            [Piece::Placeholder(inner)] => self.placeholder(site, inner, chain),
            _ => self.expand(site, text, chain).map(Value::String),
        }
    }

    /// Expands every placeholder in `text` as text.
    fn expand(&self, site: &Site, text: &str, chain: &mut Vec<String>) -> Result<String, ConfigError> {
        let mut out = String::new();
        for piece in split(text) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(inner) => out.push_str(&as_text(&self.placeholder(site, inner, chain)?)),
            }
        }
        Ok(out)
    }

    /// Resolves the inside of one `${...}`.
    fn placeholder(&self, site: &Site, inner: &str, chain: &mut Vec<String>) -> Result<Value, ConfigError> {
        let (key, default) = match inner.split_once(':') {
            Some((k, d)) => (k.trim(), Some(d)),
            None => (inner.trim(), None),
        };
        if chain.iter().any(|k| k == key) {
            chain.push(key.to_string());
            return Err(loop_error(site, format!("placeholder cycle: {}", chain.join(" -> "))));
        }
        if chain.len() >= MAX_DEPTH {
            return Err(loop_error(
                site,
                format!("placeholders nest deeper than {MAX_DEPTH} levels at ${{{key}}}"),
            ));
        }
        chain.push(key.to_string());
        let result = self.lookup(site, key, default, chain);
        chain.pop();
        result
    }

    fn lookup(
        &self,
        site: &Site,
        key: &str,
        default: Option<&str>,
        chain: &mut Vec<String>,
    ) -> Result<Value, ConfigError> {
        let secret = self.check_secret(site, key)?;
        let from_env = self.env.var(&env_name(key)).or_else(|| self.env.var(key));
        if let Some(text) = from_env {
            if secret {
                self.remember(&Value::String(text.clone()));
            }
            let text = self.expand(site, &text, chain)?;
            return self.decrypt(site, type_text(&text));
        }
        if let Some(value) = self.values.get(key) {
            let value = match value {
                Value::String(s) if s.contains("${") => type_text(&self.expand(site, s, chain)?),
                other => other.clone(),
            };
            if secret {
                self.remember(&value);
            }
            return self.decrypt(site, value);
        }
        match default {
            Some(text) => Ok(type_text(&self.expand(site, text, chain)?)),
            None => Err(ConfigError::Unresolved {
                file: site.file.to_string(),
                key: site.key.to_string(),
                placeholder: key.to_string(),
            }),
        }
    }
}

fn loop_error(site: &Site, reason: String) -> ConfigError {
    ConfigError::PlaceholderLoop {
        file: site.file.to_string(),
        key: site.key.to_string(),
        reason,
    }
}

fn decrypt_if_needed(site: &Site, value: Value, env: &dyn Env) -> Result<Value, ConfigError> {
    match value {
        Value::String(s) if s.starts_with(crypt::PREFIX) => {
            let password = env.var(crypt::PASSWORD_ENV);
            crypt::decrypt(&s, password.as_deref())
                .map(Value::String)
                .map_err(|reason| ConfigError::Decrypt {
                    file: site.file.to_string(),
                    key: site.key.to_string(),
                    reason: reason.to_string(),
                })
        }
        other => Ok(other),
    }
}

/// A value as it reads inside a longer string.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Types environment or default text: bool, null, integer, float, YAML/JSON for `[`/`{`,
/// else a string. Text that starts with `[` or `{` but does not parse stays a string.
pub fn type_text(text: &str) -> Value {
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" | "~" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = text.parse::<f64>()
        && f.is_finite()
        && text.chars().any(|c| c.is_ascii_digit())
    {
        return Value::from(f);
    }
    if (text.starts_with('[') || text.starts_with('{'))
        && let Ok(v) = serde_saphyr::from_str::<Value>(text)
    {
        return v;
    }
    Value::String(text.to_string())
}

/// A piece of a scalar: literal text or the inside of a `${...}`.
#[derive(Debug, PartialEq)]
enum Piece<'t> {
    Text(&'t str),
    Placeholder(&'t str),
}

/// Splits text into literal pieces and placeholders; braces nest, so a default may itself hold
/// a placeholder. An unterminated `${` is literal text.
fn split(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'{' {
            if let Some(end) = closing_brace(bytes, i + 2) {
                if start < i {
                    pieces.push(Piece::Text(&text[start..i]));
                }
                pieces.push(Piece::Placeholder(&text[i + 2..end]));
                i = end + 1;
                start = i;
                continue;
            }
            break;
        }
        i += 1;
    }
    if start < text.len() {
        pieces.push(Piece::Text(&text[start..]));
    }
    pieces
}

fn closing_brace(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            // Any brace nests, so a default may be `{}` or hold a placeholder.
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[path = "placeholder_tests.rs"]
mod tests;
