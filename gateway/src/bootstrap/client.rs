//! The config-server client (docs/protocols.md#config-server): three GETs with the tuple query, the normalised
//! Authorization header, connect and total timeouts and the configured TLS trust.

use std::time::Duration;

use base64::Engine;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};

use crate::config::{BootstrapConfig, Values};

/// A config-server request that did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No HTTP answer (connect, TLS, timeout).
    #[error("failed to reach {url}: {reason}")]
    Transport {
        /// The URL (no token in it).
        url: String,
        /// Why, with the causes.
        reason: String,
    },
    /// A non-2xx answer.
    #[error("failed to fetch {url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body (config-server explains 401/403 there).
        body: String,
    },
    /// A 2xx answer that is not what the endpoint must return.
    #[error("failed to use the answer of {url}: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A client for one config tuple.
pub struct ConfigServerClient {
    http: reqwest::Client,
    base: String,
    query: String,
    authorization: String,
    accept: String,
}

/// `Bearer x`/`bearer x` -> `Bearer x`; bare `x` -> `Bearer x`; another scheme unchanged;
/// none -> empty.
pub fn normalize_authorization(token: Option<&str>) -> String {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return String::new();
    };
    match token.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => format!("Bearer {}", rest.trim()),
        Some(_) => token.to_string(),
        None => format!("Bearer {token}"),
    }
}

/// The tuple query in upstream's order: host, serviceId, productId, productVersion, apiId,
/// apiVersion (each only when set), envTag.
pub fn tuple_query(boot: &BootstrapConfig) -> String {
    let s = &boot.startup;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("host", &s.host);
    let optional = [
        ("serviceId", &s.service_id),
        ("productId", &s.product_id),
        ("productVersion", &s.product_version),
        ("apiId", &s.api_id),
        ("apiVersion", &s.api_version),
    ];
    for (name, value) in optional {
        if let Some(v) = crate::config::files::non_blank(value) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("envTag", &boot.env_tag);
    query.finish()
}

impl ConfigServerClient {
    /// A client for `base` with the tuple and token of `boot`, over `tls`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(boot: &BootstrapConfig, base: &str, tls: rustls::ClientConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_millis(boot.startup.connect_timeout))
            .timeout(Duration::from_millis(boot.startup.timeout))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            query: tuple_query(boot),
            authorization: normalize_authorization(boot.authorization.as_deref()),
            accept: boot.startup.accept_header.clone(),
        })
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/config-server/{endpoint}?{}", self.base, self.query)
    }

    async fn get(&self, url: &str, accept: Option<&str>) -> Result<reqwest::Response, FetchError> {
        let mut request = self.http.get(url).header(AUTHORIZATION, &self.authorization);
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        request.send().await.map_err(|e| FetchError::Transport {
            url: url.to_string(),
            reason: transport_reason(&e),
        })
    }

    /// GET `configs`: the flat values map (YAML, or JSON converted).
    ///
    /// # Errors
    /// No answer, a non-2xx answer, another content type, or a body that is not a map.
    pub async fn configs(&self) -> Result<Values, FetchError> {
        let url = self.url("configs");
        let response = self.get(&url, Some(&self.accept)).await?;
        let response = success(&url, response).await?;
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = read_text(&url, response).await?;
        let parsed: Result<Value, String> = if content_type.contains("json") {
            serde_json::from_str(&body).map_err(|e| e.to_string())
        } else if content_type.contains("yaml") {
            crate::config::sources::parse_yaml(&url, &body).map_err(|e| e.to_string())
        } else {
            Err(format!("content type '{content_type}' is neither YAML nor JSON"))
        };
        match parsed.map_err(|reason| FetchError::Body {
            url: url.clone(),
            reason,
        })? {
            Value::Object(map) => match crate::config::sources::check_values(&url, &map) {
                Ok(()) => Ok(map),
                Err(e) => Err(FetchError::Body {
                    url,
                    reason: e.to_string(),
                }),
            },
            other => Err(FetchError::Body {
                url,
                reason: format!(
                    "expected a map of values, found {}",
                    crate::config::sources::kind(&other)
                ),
            }),
        }
    }

    /// GET `certs` or `files`: `(name, bytes)` pairs; 404 or an empty body means none.
    ///
    /// # Errors
    /// No answer, another non-2xx answer, or a body that is not `{name: base64}`.
    pub async fn blobs(&self, endpoint: &str) -> Result<Vec<(String, Vec<u8>)>, FetchError> {
        let url = self.url(endpoint);
        let response = self.get(&url, None).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let body = read_text(&url, success(&url, response).await?).await?;
        if body.trim().is_empty() {
            return Ok(Vec::new());
        }
        let bad = |reason: String| FetchError::Body {
            url: url.clone(),
            reason,
        };
        let map: Map<String, Value> =
            serde_json::from_str(&body).map_err(|e| bad(format!("not a JSON object: {e}")))?;
        map.into_iter()
            .map(|(name, value)| {
                let text = value
                    .as_str()
                    .ok_or_else(|| bad(format!("entry '{name}' is not a base64 string")))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| bad(format!("entry '{name}' is not base64: {e}")))?;
                Ok((name, bytes))
            })
            .collect()
    }
}

/// The most a config-server answer may hold. Config files, certificates and files for one
/// service are kilobytes; the cap keeps a broken or hostile server from filling memory.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// How much of an error answer is read (a few hundred characters of it are shown).
const MAX_ERROR_BYTES: usize = 4096;

async fn success(url: &str, mut response: reqwest::Response) -> Result<reqwest::Response, FetchError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    // The explanation is a courtesy: whatever could be read of it before a failure is shown.
    let (body, _) = read_at_most(&mut response, MAX_ERROR_BYTES).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    let body: String = body.trim().chars().take(300).collect();
    Err(FetchError::Status {
        url: url.to_string(),
        status: status.as_u16(),
        body,
    })
}

/// The body, at most `max` bytes, and whether more was left unread. Counted as the bytes
/// arrive, whatever the declared length says.
async fn read_at_most(response: &mut reqwest::Response, max: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

async fn read_text(url: &str, mut response: reqwest::Response) -> Result<String, FetchError> {
    let body_error = |reason: String| FetchError::Body {
        url: url.to_string(),
        reason,
    };
    if response.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Err(body_error(format!("the answer exceeds {MAX_ANSWER_BYTES} bytes")));
    }
    let (body, cut) = read_at_most(&mut response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| FetchError::Transport {
            url: url.to_string(),
            reason: transport_reason(&e),
        })?;
    if cut {
        return Err(body_error(format!("the answer exceeds {MAX_ANSWER_BYTES} bytes")));
    }
    String::from_utf8(body).map_err(|e| body_error(format!("the answer is not UTF-8: {e}")))
}

/// reqwest's top message repeats the URL; the causes say what happened.
fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out (startup.timeout / startup.connectTimeout)".to_string();
    }
    match std::error::Error::source(error) {
        Some(cause) => crate::logging::error_chain(cause),
        None => error.to_string(),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
