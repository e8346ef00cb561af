use rstest::rstest;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::config::{ClientConfig, ClientTls, StartupConfig};
use crate::tls::{ClientTlsSettings, client_config};

fn boot(uri: &str, token: Option<&str>) -> BootstrapConfig {
    BootstrapConfig {
        startup: StartupConfig {
            host: "h.example".into(),
            service_id: Some("svc-1.0.0".into()),
            env_tag: Some("dev".into()),
            accept_header: "application/yaml".into(),
            timeout: 2000,
            connect_timeout: 500,
            config_server_uri: Some(uri.into()),
            authorization: token.map(str::to_string),
            bootstrap_ca_cert_path: None,
            product_id: None,
            product_version: Some("2.0".into()),
            api_id: Some("api".into()),
            api_version: None,
        },
        client: ClientConfig {
            tls: ClientTls::default(),
            require_tls: false,
        },
        config_server_uri: Some(uri.into()),
        env_tag: "dev".into(),
        authorization: token.map(str::to_string),
        value_sources: vec![],
    }
}

fn client(boot: &BootstrapConfig) -> ConfigServerClient {
    let tls = client_config(&ClientTlsSettings {
        ca_cert_path: None,
        ca_cert_key: "CA bundle",
        verify_hostname: true,
        client_identity: None,
        identity_keys: crate::tls::CLIENT_YML_IDENTITY,
        min_version: None,
    })
    .unwrap();
    ConfigServerClient::new(boot, boot.config_server_uri.as_deref().unwrap(), tls).unwrap()
}

#[rstest]
#[case(Some("Bearer abc"), "Bearer abc")]
#[case(Some("bearer abc"), "Bearer abc")]
#[case(Some("BEARER   abc"), "Bearer abc")]
#[case(Some("abc"), "Bearer abc")]
#[case(Some("Basic dXNlcg=="), "Basic dXNlcg==")]
#[case(Some("   "), "")]
#[case(None, "")]
fn authorization_is_normalised_to_a_bearer_header(#[case] token: Option<&str>, #[case] expected: &str) {
    assert_eq!(normalize_authorization(token), expected);
}

#[test]
fn query_keeps_upstream_order_and_skips_unset_optionals() {
    let q = tuple_query(&boot("http://x", None));
    assert_eq!(
        q,
        "host=h.example&serviceId=svc-1.0.0&productVersion=2.0&apiId=api&envTag=dev"
    );
}

#[tokio::test]
async fn configs_sends_accept_and_authorization_and_parses_yaml() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/config-server/configs"))
        .and(query_param("host", "h.example"))
        .and(header("accept", "application/yaml"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("server.httpPort: 9090\na.b: x\n", "application/yaml"))
        .expect(1)
        .mount(&server)
        .await;
    let values = client(&boot(&server.uri(), Some("tok"))).configs().await.unwrap();
    assert_eq!(values["server.httpPort"], json!(9090));
}

#[tokio::test]
async fn json_configs_are_accepted() {
    let server = MockServer::start().await;
    Mock::given(path("/config-server/configs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"a": 1})))
        .mount(&server)
        .await;
    let values = client(&boot(&server.uri(), None)).configs().await.unwrap();
    assert_eq!(values["a"], json!(1));
}

/// The error `configs` returns when config-server answers `answer`.
async fn configs_error(answer: ResponseTemplate) -> String {
    let server = MockServer::start().await;
    Mock::given(path("/config-server/configs"))
        .respond_with(answer)
        .mount(&server)
        .await;
    client(&boot(&server.uri(), None))
        .configs()
        .await
        .unwrap_err()
        .to_string()
}

#[rstest]
#[case(ResponseTemplate::new(403).set_body_string("sid mismatch"), "HTTP 403: sid mismatch")]
#[case(ResponseTemplate::new(200).set_body_raw("<html>", "text/html"), "neither YAML nor JSON")]
#[case(ResponseTemplate::new(200).set_body_raw("- a\n", "application/yaml"), "expected a map")]
#[tokio::test]
async fn unusable_configs_answers_are_failures(#[case] answer: ResponseTemplate, #[case] expected: &str) {
    let err = configs_error(answer).await;
    assert!(err.contains(expected), "{err}");
}

/// An answer over the cap is refused, whether or not it declares its length (chunked, it can
/// only be counted as it arrives), and so is a long error page.
#[rstest]
#[case::declared(false)]
#[case::chunked(true)]
#[tokio::test]
async fn answers_over_the_cap_are_refused(#[case] chunked: bool) {
    let server = MockServer::start().await;
    let big = "a: b\n".repeat(MAX_ANSWER_BYTES / 5 + 1);
    let mut answer = ResponseTemplate::new(200).set_body_raw(big, "application/yaml");
    if chunked {
        answer = answer.insert_header("transfer-encoding", "chunked");
    }
    Mock::given(path("/config-server/configs"))
        .respond_with(answer)
        .mount(&server)
        .await;
    let err = client(&boot(&server.uri(), None))
        .configs()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("the answer exceeds {MAX_ANSWER_BYTES} bytes")),
        "{err}"
    );
}

#[tokio::test]
async fn a_long_error_page_is_cut_to_its_start() {
    let page = format!("denied {}", "x".repeat(1 << 20));
    let err = configs_error(ResponseTemplate::new(403).set_body_string(page)).await;
    assert!(err.contains("HTTP 403: denied xxx"), "{err}");
    assert!(err.len() < 600, "{} characters", err.len());
}

#[tokio::test]
async fn missing_token_sends_an_empty_authorization_header() {
    let server = MockServer::start().await;
    Mock::given(path("/config-server/configs"))
        .and(header("authorization", ""))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client(&boot(&server.uri(), None)).configs().await.is_err());
}

#[tokio::test]
async fn blobs_decode_base64_and_treat_404_as_none() {
    let server = MockServer::start().await;
    Mock::given(path("/config-server/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"a.txt": "aGk="})))
        .mount(&server)
        .await;
    Mock::given(path("/config-server/certs"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(&boot(&server.uri(), None));
    assert_eq!(
        c.blobs("files").await.unwrap(),
        vec![("a.txt".to_string(), b"hi".to_vec())]
    );
    assert!(c.blobs("certs").await.unwrap().is_empty());
}

#[tokio::test]
async fn total_timeout_applies() {
    let server = MockServer::start().await;
    Mock::given(path("/config-server/configs"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut b = boot(&server.uri(), None);
    b.startup.timeout = 200;
    let err = client(&b).configs().await.unwrap_err().to_string();
    assert!(err.contains("failed to reach"), "{err}");
}
