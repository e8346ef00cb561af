//! Aggregation: a tool entry with `aggregate` offers its backend's own tools as
//! `<prefix>_<tool>`, listed from the backend and refreshed on an interval.

use std::time::Duration;

use serde_json::Value;

use super::backend::Backends;
use super::backend::mcp_client;
use super::config::{BackendProtocol, ToolConfig, valid_tool_name};
use super::tools::{Listing, Target, Tool};

/// One aggregated backend.
#[derive(Debug, Clone)]
pub struct Source {
    /// The entry's name (for logs).
    pub entry: String,
    /// Prefix of the offered names.
    pub prefix: String,
    /// The backend endpoint.
    pub url: url::Url,
    /// Its era.
    pub protocol: BackendProtocol,
    /// Refresh interval.
    pub refresh: Duration,
    /// Whether private targets are allowed.
    pub allow_private: bool,
    /// Call timeout for the offered tools.
    pub timeout: Duration,
}

impl Source {
    /// The source for an entry with `aggregate` (URL already validated).
    pub fn from_config(tool: &ToolConfig, url: url::Url, default_timeout: Duration) -> Option<Self> {
        let aggregate = tool.aggregate.as_ref()?;
        Some(Self {
            entry: tool.name.clone(),
            prefix: aggregate.prefix.clone(),
            url,
            protocol: tool.backend_mcp_protocol.unwrap_or_default(),
            refresh: Duration::from_millis(aggregate.refresh_interval_ms),
            allow_private: tool.allow_private_target(),
            timeout: tool.timeout_ms().map_or(default_timeout, Duration::from_millis),
        })
    }

    /// Lists the backend's tools as prefixed gateway tools, within the entry's timeout.
    ///
    /// # Errors
    /// The backend's tools/list failed or did not finish in time.
    pub async fn fetch(&self, backends: &Backends) -> Result<Vec<(Tool, Listing)>, String> {
        let pool = backends.pool_for(self.allow_private);
        let listing = mcp_client::list_tools(pool, backends.max_response(), &self.url, self.protocol);
        let listed = tokio::time::timeout(self.timeout, listing)
            .await
            .map_err(|_| format!("no tools/list answer within {} ms", self.timeout.as_millis()))?
            .map_err(|e| match e {
                super::backend::CallError::Backend { detail, .. } => detail,
                super::backend::CallError::JsonRpc(raw) => raw.get().to_string(),
            })?;
        let tools = listed
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for item in tools {
            let Some(backend_name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            let name = prefixed(&self.prefix, backend_name);
            if !valid_tool_name(&name) {
                tracing::warn!(entry = %self.entry, tool = backend_name, "aggregated tool name cannot be offered; skipped");
                continue;
            }
            let tool = Tool {
                name: name.clone(),
                backend_name: backend_name.to_string(),
                backend: super::tools::origin(&self.url),
                series: super::tools::series(&name, &super::tools::origin(&self.url)),
                target: Target::Mcp {
                    url: self.url.clone(),
                    protocol: self.protocol,
                },
                timeout: self.timeout,
                allow_private: self.allow_private,
                endpoint: super::tools::default_endpoint(&name),
            };
            let listing = Listing {
                name,
                description: item
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                input_schema: item
                    .get("inputSchema")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                output_schema: item.get("outputSchema").and_then(Value::as_object).cloned(),
            };
            out.push((tool, listing));
        }
        Ok(out)
    }
}

/// Lists every source at once, each within its own timeout: a stalled backend delays neither
/// the others nor the gateway's first table (and so its readiness) past that timeout.
pub async fn fetch_all(sources: &[Source], backends: &Backends) -> Vec<Result<Vec<(Tool, Listing)>, String>> {
    futures_util::future::join_all(sources.iter().map(|source| source.fetch(backends))).await
}

/// `<prefix>_<tool>` with characters outside `[A-Za-z0-9_.-]` replaced by `_`, cut to 128.
pub fn prefixed(prefix: &str, tool: &str) -> String {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{prefix}_{clean}");
    name.truncate(128);
    name
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A backend that reads one request and answers a stateless tools/list with one tool, or
    /// (`stalled`) never answers at all.
    async fn backend(stalled: bool) -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // The body is small and the test sends one request: read until it parses.
                    let body: serde_json::Value = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&chunk[..n]);
                        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        if let Ok(body) = serde_json::from_slice(&request[end + 4..]) {
                            break body;
                        }
                    };
                    if stalled {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let answer = serde_json::json!({
                        "jsonrpc": "2.0", "id": body["id"],
                        "result": {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
                    })
                    .to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        answer.len()
                    );
                    let _ = socket.write_all(format!("{head}{answer}").as_bytes()).await;
                });
            }
        });
        url
    }

    fn source(url: url::Url, prefix: &str, timeout: Duration) -> Source {
        Source {
            entry: prefix.into(),
            prefix: prefix.into(),
            url,
            protocol: BackendProtocol::Stateless,
            refresh: Duration::from_secs(60),
            allow_private: true,
            timeout,
        }
    }

    use crate::mcp::backend::backends_for_tests as backends;

    #[tokio::test]
    async fn a_stalled_backend_fails_its_listing_within_the_timeout() {
        let stalled = source(backend(true).await, "s", Duration::from_millis(200));
        // The outer bound only keeps a regression from hanging the test run.
        let outcome = tokio::time::timeout(Duration::from_secs(10), stalled.fetch(&backends()))
            .await
            .expect("fetch ignored its timeout");
        assert_eq!(outcome.unwrap_err(), "no tools/list answer within 200 ms");
    }

    #[tokio::test]
    async fn a_stalled_backend_does_not_hold_up_the_others() {
        let timeout = Duration::from_millis(500);
        let sources = [
            source(backend(true).await, "s1", timeout),
            source(backend(false).await, "ok", timeout),
            source(backend(true).await, "s2", timeout),
        ];
        let started = Instant::now();
        let outcomes = tokio::time::timeout(Duration::from_secs(10), fetch_all(&sources, &backends()))
            .await
            .expect("fetch_all ignored the timeouts");
        // Listed one after another, two stalled sources would take two timeouts.
        assert!(started.elapsed() < timeout * 2, "took {:?}", started.elapsed());
        assert!(outcomes[0].is_err() && outcomes[2].is_err());
        let listed = outcomes[1].as_ref().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0.name, "ok_echo");
    }

    #[test]
    fn prefixed_names_keep_to_the_spec_alphabet_and_length() {
        assert_eq!(prefixed("b1", "echo"), "b1_echo");
        assert_eq!(prefixed("b1", "say hi/now"), "b1_say_hi_now");
        let long = prefixed("p", &"x".repeat(300));
        assert_eq!(long.len(), 128);
        assert!(valid_tool_name(&long));
    }
}
