//! Clients for the fixtures' admin APIs (what the mock config-server and controller saw) and a
//! plain HTTP client for the gateway.

use std::time::Duration;

use serde_json::{Value, json};

use crate::outcome::Failure;

/// A reqwest client with the ring crypto provider installed.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// GET `base` + `path` as JSON.
///
/// # Errors
/// No answer, a non-2xx answer, or not JSON.
pub async fn get_json(http: &reqwest::Client, base: &url::Url, path: &str) -> Result<Value, Failure> {
    let url = base.join(path)?;
    let response = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| Failure(format!("GET {url}: {e}")))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        return Err(Failure(format!("GET {url}: HTTP {status}: {body}")));
    }
    serde_json::from_str(&body).map_err(|e| Failure(format!("GET {url}: not JSON: {e}")))
}

/// POST JSON to `base` + `path`, returning the JSON answer (or null).
///
/// # Errors
/// No answer or a non-2xx answer.
pub async fn post_json(http: &reqwest::Client, base: &url::Url, path: &str, body: Value) -> Result<Value, Failure> {
    let url = base.join(path)?;
    let response = http
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .map_err(|e| Failure(format!("POST {url}: {e}")))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(Failure(format!("POST {url}: HTTP {status}: {text}")));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The controller's registrations, newest last.
///
/// # Errors
/// The admin API did not answer.
pub async fn registrations(http: &reqwest::Client, controller: &url::Url) -> Result<Vec<Value>, Failure> {
    Ok(get_json(http, controller, "/__admin/registrations")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// The config-server's recorded requests.
///
/// # Errors
/// The admin API did not answer.
pub async fn config_requests(http: &reqwest::Client, config_server: &url::Url) -> Result<Vec<Value>, Failure> {
    Ok(get_json(http, config_server, "/__admin/requests")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Sets a fixture's outage mode (`off`, `unavailable`, `refuse`).
///
/// # Errors
/// The admin API did not answer.
pub async fn outage(http: &reqwest::Client, admin: &url::Url, mode: &str) -> Result<(), Failure> {
    post_json(http, admin, "/__admin/outage", json!({ "mode": mode }))
        .await
        .map(|_| ())
}

/// A token from the mock key service: `body` is its `POST /__admin/tokens` request (`claims`,
/// `expiresIn`, `kid`, ...).
///
/// # Errors
/// The admin API did not answer or answered no token.
pub async fn mint_token(http: &reqwest::Client, key_service: &url::Url, body: Value) -> Result<String, Failure> {
    let answer = post_json(http, key_service, "/__admin/tokens", body).await?;
    answer["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure(format!("the key service minted no token: {answer}")))
}

/// A new key at the mock key service, every other key retired from its JWKS (a rotation): its kid.
///
/// # Errors
/// The admin API did not answer or answered no kid.
pub async fn rotate_key(http: &reqwest::Client, key_service: &url::Url, alg: &str) -> Result<String, Failure> {
    let answer = post_json(
        http,
        key_service,
        "/__admin/keys",
        json!({"alg": alg, "retireOthers": true}),
    )
    .await?;
    answer["kid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure(format!("the key service made no key: {answer}")))
}

/// The value of header `name` in a recorded request (`[[name, value], ...]`).
pub fn recorded_header<'a>(request: &'a Value, name: &str) -> Option<&'a str> {
    request["headers"].as_array()?.iter().find_map(|pair| {
        let key = pair.get(0)?.as_str()?;
        key.eq_ignore_ascii_case(name).then(|| pair.get(1)?.as_str()).flatten()
    })
}

/// The newest connected registration of `service_id`.
pub fn newest_connected<'a>(records: &'a [Value], service_id: &str) -> Option<&'a Value> {
    records
        .iter()
        .rev()
        .find(|r| r["serviceId"] == service_id && r["connected"] == true)
}
