//! `apiType: http` tools: the arguments become a JSON body (POST/PUT/PATCH) or query parameters
//! (GET/DELETE); the answer becomes a tool result with the text and, for a JSON object,
//! `structuredContent` too. A non-2xx answer is a tool result with `isError: true`.

use futures_util::StreamExt;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};

use super::{Call, CallError, transport_error};
use crate::mcp::config::HttpMethod;

/// Calls the HTTP API at `url`.
///
/// # Errors
/// [`CallError::Backend`] when there is no usable answer.
pub async fn call(
    client: &reqwest::Client,
    max: usize,
    url: &url::Url,
    method: HttpMethod,
    call: &Call<'_>,
) -> Result<String, CallError> {
    let mut request = match method {
        HttpMethod::Get | HttpMethod::Delete => {
            let args: Map<String, Value> = serde_json::from_str(call.arguments.get()).unwrap_or_default();
            let verb = if method == HttpMethod::Get {
                reqwest::Method::GET
            } else {
                reqwest::Method::DELETE
            };
            client.request(verb, url.clone()).query(&query_pairs(&args))
        }
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch => {
            let verb = match method {
                HttpMethod::Post => reqwest::Method::POST,
                HttpMethod::Put => reqwest::Method::PUT,
                _ => reqwest::Method::PATCH,
            };
            client
                .request(verb, url.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(call.arguments.get().to_string())
        }
    };
    request = request.header(http::header::ACCEPT, "application/json");
    for (name, value) in call.forward {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| transport_error(url, &e))?;
    let status = response.status();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| transport_error(url, &e))?;
        if body.len() + chunk.len() > max {
            return Err(CallError::Backend(format!(
                "backend {url} answer exceeds maxResponseBodyBytes ({max})"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let result = to_result(status, &body);
    serde_json::to_string(&result).map_err(|e| CallError::Backend(e.to_string()))
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

fn to_result(status: reqwest::StatusCode, body: &[u8]) -> CallToolResult {
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
        let r = serde_json::to_value(to_result(reqwest::StatusCode::OK, br#"{"a":1}"#)).unwrap();
        assert_eq!(r["structuredContent"], serde_json::json!({"a": 1}));
        assert_eq!(r["content"][0]["text"], r#"{"a":1}"#);
        assert!(r.get("isError").is_none_or(|e| e == false));
    }

    #[test]
    fn failures_are_tool_errors_with_the_status() {
        let r = serde_json::to_value(to_result(reqwest::StatusCode::BAD_GATEWAY, b"down")).unwrap();
        assert_eq!(r["isError"], true);
        assert_eq!(r["content"][0]["text"], "HTTP 502: down");
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
