//! The scrape listener: `GET <prometheusPath>` answers the Prometheus text; anything else 404
//! (or 405 for another method on the path). It is its own Pingora service on its own port, so
//! the NetworkPolicy can let the scraper in without opening the MCP port to it, and so it
//! answers while the gateway is not ready or drains, when the numbers matter most.

use async_trait::async_trait;
use http::{Method, Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use super::Metrics;

/// The Prometheus text format's content type (version 0.0.4).
const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The scrape app.
pub struct Endpoint {
    path: String,
    metrics: &'static Metrics,
}

impl Endpoint {
    /// Serves `metrics` on `path`.
    pub fn new(path: String, metrics: &'static Metrics) -> Self {
        Self { path, metrics }
    }

    /// The answer to `method` on `path`.
    pub fn answer(&self, method: &Method, path: &str) -> Response<Vec<u8>> {
        let (status, content_type, body) = if path != self.path {
            (StatusCode::NOT_FOUND, "text/plain", b"not found\n".to_vec())
        } else if method != Method::GET && method != Method::HEAD {
            (StatusCode::METHOD_NOT_ALLOWED, "text/plain", b"GET only\n".to_vec())
        } else {
            (StatusCode::OK, CONTENT_TYPE, self.metrics.render().into_bytes())
        };
        let mut builder = Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, body.len());
        if status == StatusCode::METHOD_NOT_ALLOWED {
            builder = builder.header(http::header::ALLOW, "GET, HEAD");
        }
        // Every part above is a valid header; an error here would be a bug in this function.
        builder.body(body).unwrap_or_default()
    }
}

#[async_trait]
impl ServeHttp for Endpoint {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        // A scrape has no body; whatever was sent is read and dropped to keep the connection.
        while let Ok(Some(_)) = session.read_request_body().await {}
        let head = session.req_header();
        self.answer(&head.method, head.uri.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_on_the_path_answers_text_else_404_or_405() {
        let endpoint = Endpoint::new("/metrics".into(), super::super::install());
        let ok = endpoint.answer(&Method::GET, "/metrics");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()[http::header::CONTENT_TYPE], CONTENT_TYPE);
        assert!(String::from_utf8_lossy(ok.body()).contains("light_gateway_build_info"));
        assert_eq!(endpoint.answer(&Method::GET, "/other").status(), 404);
        let post = endpoint.answer(&Method::POST, "/metrics");
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()[http::header::ALLOW], "GET, HEAD");
    }
}
