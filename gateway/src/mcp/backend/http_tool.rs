//! `apiType: http` tools: the arguments become a JSON body (POST/PUT/PATCH) or query parameters
//! (GET/DELETE); the answer becomes a tool result with the text and, for a JSON object,
//! `structuredContent` too. A non-2xx answer is a tool result with `isError: true`.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};

use super::pool::{Pool, ReadError};
use super::{Call, CallError, Failure, Redacted, transport_error};
use crate::mcp::config::HttpMethod;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Calls the HTTP API at `url`.
///
/// # Errors
/// [`CallError::Backend`] when there is no usable answer.
pub async fn call(
    pool: &Pool,
    max: usize,
    url: &url::Url,
    method: HttpMethod,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let (verb, target, body) = match method {
        HttpMethod::Get | HttpMethod::Delete => {
            let args: Map<String, Value> = serde_json::from_str(call.arguments.get()).unwrap_or_default();
            let verb = if method == HttpMethod::Get {
                Method::GET
            } else {
                Method::DELETE
            };
            let mut target = url.clone();
            let pairs = query_pairs(&args);
            if !pairs.is_empty() {
                target.query_pairs_mut().extend_pairs(pairs);
            }
            (verb, Some(target), Bytes::new())
        }
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch => {
            let verb = match method {
                HttpMethod::Post => Method::POST,
                HttpMethod::Put => Method::PUT,
                _ => Method::PATCH,
            };
            (verb, None, Bytes::copy_from_slice(call.arguments.get().as_bytes()))
        }
    };
    let has_body = !body.is_empty();
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = verb;
    let headers = request.headers_mut();
    if has_body {
        headers.insert(http::header::CONTENT_TYPE, JSON);
    }
    headers.insert(http::header::ACCEPT, JSON);
    for (name, value) in call.forward {
        headers.append(name.clone(), value.clone());
    }
    let target = target.as_ref().unwrap_or(url);
    let answer = pool.send(target, request).await.map_err(|e| transport_error(url, &e))?;
    let status = answer.status;
    let body = answer.read_capped(max).await.map_err(|e| match e {
        ReadError::TooLarge(_) => CallError::backend(
            Failure::TooLarge,
            format!("backend {} answer exceeds maxResponseBodyBytes ({max})", Redacted(url)),
        ),
        ReadError::Body(e) => CallError::backend(
            Failure::Unusable,
            format!("backend {} answer broke off: {e}", Redacted(url)),
        ),
    })?;
    let result = if status.is_server_error() {
        withheld(status, url, &body)
    } else {
        to_result(status, &body)
    };
    serde_json::to_string(&result).map_err(|e| CallError::backend(Failure::Unusable, e.to_string()))
}

fn query_pairs(args: &Map<String, Value>) -> Vec<(String, String)> {
    args.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// A 5xx answer: its body (stack traces, internal names) goes to the log under an incident id;
/// the caller learns the status and the id. A 4xx body is the API's answer to the arguments
/// and reaches the caller.
fn withheld(status: StatusCode, url: &url::Url, body: &[u8]) -> CallToolResult {
    let incident = crate::mcp::incident::new_id();
    let excerpt: String = String::from_utf8_lossy(&body[..body.len().min(4096)])
        .trim()
        .chars()
        .take(300)
        .collect();
    tracing::warn!(backend = %Redacted(url), status = status.as_u16(), incident, body = excerpt, "HTTP tool answered a server error");
    CallToolResult::error(vec![ContentBlock::text(format!(
        "HTTP {}: the API failed (incident {incident} in the gateway log)",
        status.as_u16()
    ))])
}

fn to_result(status: StatusCode, body: &[u8]) -> CallToolResult {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let text = match &parsed {
        Some(v) => v.to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    if !status.is_success() {
        return CallToolResult::error(vec![ContentBlock::text(format!("HTTP {}: {text}", status.as_u16()))]);
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    if let Some(object @ Value::Object(_)) = parsed {
        result.structured_content = Some(object);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_object_answers_carry_structured_content() {
        let r = serde_json::to_value(to_result(StatusCode::OK, br#"{"a":1}"#)).unwrap();
        assert_eq!(r["structuredContent"], serde_json::json!({"a": 1}));
        assert_eq!(r["content"][0]["text"], r#"{"a":1}"#);
        assert!(r.get("isError").is_none_or(|e| e == false));
    }

    #[test]
    fn client_errors_are_tool_errors_with_the_status_and_the_apis_answer() {
        let r = serde_json::to_value(to_result(StatusCode::UNPROCESSABLE_ENTITY, b"field q is required")).unwrap();
        assert_eq!(r["isError"], true);
        assert_eq!(r["content"][0]["text"], "HTTP 422: field q is required");
    }

    #[test]
    fn server_errors_are_tool_errors_whose_body_stays_in_the_log() {
        let url = url::Url::parse("http://orders.internal:8080/api?key=secret").unwrap();
        let r = serde_json::to_value(withheld(
            StatusCode::BAD_GATEWAY,
            &url,
            b"upstream db-7.internal refused: password=hunter2",
        ))
        .unwrap();
        assert_eq!(r["isError"], true);
        let text = r["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("HTTP 502: the API failed (incident "), "{text}");
        for secret in ["db-7", "hunter2", "orders.internal", "secret"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn scalar_arguments_become_query_text() {
        let args: Map<String, Value> = serde_json::from_str(r#"{"q":"x y","n":2,"skip":null}"#).unwrap();
        assert_eq!(
            query_pairs(&args),
            vec![("n".into(), "2".into()), ("q".into(), "x y".into())]
        );
    }
}
