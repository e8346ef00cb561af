//! The strict client: reading the script's lines, finding the interpreter, running it (a fake
//! interpreter with canned lines), and the real SDK against a stand-in server that can leave
//! out `resultType`, which the SDK refuses in the 2026-07-28 era and rmcp accepts.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rstest::rstest;
use serde_json::json;

use super::*;

#[path = "../../tests/support/mcp_stand_in.rs"]
mod mcp_stand_in;
use mcp_stand_in::stand_in;

const LIMIT: Duration = Duration::from_secs(60);

fn call(tool: &str) -> Step {
    Step::Call {
        tool: tool.into(),
        arguments: json!({"probe": "conformance"}),
    }
}

fn handshake(version: &str) -> String {
    json!({"op": "initialize", "protocolVersion": version, "result": {}}).to_string()
}

// --- parse ---

#[test]
fn parse_reads_every_page_and_each_call_in_order() {
    let stdout = [
        json!({"op": "server/discover", "protocolVersion": "2026-07-28", "result": {"supportedVersions": ["2026-07-28"]}}),
        json!({"op": "tools/list", "pages": [{"tools": [{"name": "echo"}], "nextCursor": "2"}, {"tools": [{"name": "slow"}]}]}),
        json!({"op": "tools/call", "tool": "echo", "result": {"content": [], "structuredContent": {"instance": "backend-a"}}}),
    ]
    .map(|l| l.to_string())
    .join("\n");
    let transcript = parse("python-sdk", Era::Stateless, &stdout, &[Step::ListTools, call("echo")]).unwrap();
    assert_eq!(transcript.protocol_version, "2026-07-28");
    assert_eq!(
        transcript.answers,
        [
            Answer::Tools(vec!["echo".into(), "slow".into()]),
            Answer::Called(json!({"content": [], "structuredContent": {"instance": "backend-a"}})),
        ]
    );
}

#[rstest]
#[case::no_handshake(Era::Legacy, vec![json!({"op": "tools/list", "pages": []}).to_string()], "handshake first")]
#[case::legacy_got_modern(Era::Legacy, vec![handshake("2026-07-28"), json!({"op": "tools/list", "pages": []}).to_string()], "negotiated 2026-07-28")]
#[case::stateless_got_legacy(Era::Stateless, vec![handshake("2025-11-25"), json!({"op": "tools/list", "pages": []}).to_string()], "negotiated 2025-11-25")]
#[case::missing_answer(Era::Legacy, vec![handshake("2025-11-25")], "ListTools was answered by None")]
#[case::wrong_answer(Era::Legacy, vec![handshake("2025-11-25"), json!({"op": "tools/call", "tool": "echo", "result": {}}).to_string()], "ListTools was answered by Some(Called")]
#[case::extra_line(Era::Legacy, vec![handshake("2025-11-25"), json!({"op": "tools/list", "pages": []}).to_string(), json!({"op": "tools/list", "pages": []}).to_string()], "no step asked for")]
fn parse_refuses_lines_that_do_not_answer_the_steps(
    #[case] era: Era,
    #[case] lines: Vec<String>,
    #[case] expected: &str,
) {
    let error = parse("python-sdk", era, &lines.join("\n"), &[Step::ListTools]).unwrap_err();
    assert!(matches!(error, StrictError::Transcript { .. }), "{error:?}");
    assert!(error.to_string().contains(expected), "{error}");
}

#[rstest]
#[case::not_json("Traceback (most recent call last):")]
#[case::unknown_op(r#"{"op": "resources/list"}"#)]
fn parse_keeps_the_cause_of_an_unreadable_line(#[case] line: &str) {
    let error = parse("python-sdk", Era::Legacy, line, &[]).unwrap_err();
    let StrictError::Output { line: seen, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(seen, line);
    assert!(std::error::Error::source(&error).is_some(), "the serde error is kept");
}

// --- the interpreter search ---

fn touch(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "").unwrap();
}

#[test]
fn the_search_walks_up_from_the_current_directory_and_the_nearest_venv_wins() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().join("repo/conformance/src");
    std::fs::create_dir_all(&cwd).unwrap();
    touch(&root.path().join(".venv/bin/python"));
    assert_eq!(locate(None, &cwd).unwrap(), root.path().join(".venv/bin/python"));
    touch(&root.path().join("repo/.venv/bin/python"));
    assert_eq!(locate(None, &cwd).unwrap(), root.path().join("repo/.venv/bin/python"));
    assert_eq!(candidates(None, &cwd)[0], cwd.join(".venv/bin/python"));
}

#[test]
fn conformance_python_replaces_the_search() {
    let root = tempfile::tempdir().unwrap();
    touch(&root.path().join(".venv/bin/python"));
    let explicit = root.path().join("elsewhere/python3");
    assert_eq!(
        candidates(Some(explicit.clone()), root.path()),
        std::slice::from_ref(&explicit)
    );
    let error = locate(Some(explicit.clone()), root.path()).unwrap_err();
    assert!(matches!(&error, StrictError::NotFound { searched, explicit: true } if *searched == [explicit.clone()]));
    let text = error.to_string();
    assert!(
        text.contains(&explicit.display().to_string()) && text.contains("make venv") && text.contains(PYTHON_ENV),
        "{text}"
    );
}

#[test]
fn nothing_found_names_every_place_searched_and_the_fix() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().join("a/b");
    std::fs::create_dir_all(&cwd).unwrap();
    let text = locate(None, &cwd).unwrap_err().to_string();
    for dir in cwd.ancestors() {
        assert!(
            text.contains(&dir.join(".venv/bin/python").display().to_string()),
            "{text}"
        );
    }
    assert!(
        text.contains("make venv") && text.contains("up from the current directory"),
        "{text}"
    );
}

// --- a fake interpreter: canned lines, the argv and environment it was given ---

/// An executable standing in for python: the probe (`-c "import ..."`) prints `version`; a run
/// records its argv and `$CONFORMANCE_MCP_TOKEN` in `seen`, then runs `body`.
fn fake_python(dir: &Path, version: &str, body: &str) -> PathBuf {
    let path = dir.join("python");
    let seen = dir.join("seen");
    let script = format!(
        "#!/bin/bash\ncase \"$2\" in import*) echo '{version}'; exit 0;; esac\n\
         printf '%s\\n' \"$@\" > '{argv}'\nprintf '%s' \"${{{TOKEN_ENV}-unset}}\" > '{token}'\n{body}\n",
        argv = seen.with_extension("argv").display(),
        token = seen.with_extension("token").display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn url() -> url::Url {
    url::Url::parse("http://127.0.0.1:9/mcp").unwrap()
}

#[tokio::test]
async fn a_run_passes_the_token_in_the_environment_never_in_argv_and_reads_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let canned = [
        handshake("2025-11-25"),
        json!({"op": "tools/call", "tool": "echo", "result": {"structuredContent": {"instance": "backend-a"}}})
            .to_string(),
    ]
    .join("\n");
    let python = fake_python(dir.path(), "2.3.0", &format!("cat <<'EOF'\n{canned}\nEOF"));
    let client = StrictClient::probe(&python).await.unwrap();
    assert_eq!(client.name(), "python-sdk 2.3.0");
    let transcript = client
        .run(&url(), Era::Legacy, Some("s3cret-token"), &[call("echo")], LIMIT)
        .await
        .unwrap();
    assert_eq!(
        transcript.answers,
        [Answer::Called(json!({"structuredContent": {"instance": "backend-a"}}))]
    );
    let argv = std::fs::read_to_string(dir.path().join("seen.argv")).unwrap();
    assert!(!argv.contains("s3cret-token"), "the token is in argv: {argv}");
    assert!(
        argv.starts_with(&format!("-c\n{SCRIPT}")),
        "the embedded script runs: {argv}"
    );
    assert!(argv.contains("http://127.0.0.1:9/mcp\nlegacy\n"), "{argv}");
    assert!(argv.contains(r#"{"op":"tools/call","tool":"echo","arguments":{"probe":"conformance"}}"#));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("seen.token")).unwrap(),
        "s3cret-token"
    );

    client
        .run(&url(), Era::Legacy, None, &[call("echo")], LIMIT)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("seen.token")).unwrap(), "unset");
}

#[tokio::test]
async fn an_sdk_error_fails_the_run_with_the_sdks_words() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "2.3.0",
        "echo 'ValidationError: CallToolResult.resultType Field required' >&2; exit 1",
    );
    let client = StrictClient::probe(&python).await.unwrap();
    let error = client
        .run(&url(), Era::Stateless, None, &[call("echo")], LIMIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StrictError::Refused { era: "2026-07-28", .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("CallToolResult.resultType Field required"),
        "{error}"
    );
}

#[tokio::test]
async fn a_client_that_hangs_is_stopped_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), "2.3.0", "sleep 30");
    let client = StrictClient::probe(&python).await.unwrap();
    let limit = Duration::from_millis(300);
    let error = client.run(&url(), Era::Legacy, None, &[], limit).await.unwrap_err();
    assert!(
        matches!(error, StrictError::Timeout { after, .. } if after == limit),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_python_without_the_sdk_is_not_a_strict_client() {
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python");
    std::fs::write(
        &python,
        "#!/bin/bash\necho 'Traceback (most recent call last):' >&2\necho \"ModuleNotFoundError: No module named 'mcp'\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = StrictClient::probe(&python).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, StrictError::NoSdk { .. }), "{error:?}");
    assert!(
        text.contains("No module named 'mcp'") && text.contains("make venv"),
        "{text}"
    );

    let missing = StrictClient::probe(&dir.path().join("absent")).await.unwrap_err();
    assert!(matches!(missing, StrictError::Spawn { .. }), "{missing:?}");
    assert!(std::error::Error::source(&missing).is_some(), "the io error is kept");
}

// --- the real SDK against a stand-in server ---

/// The repo's `.venv` python with the SDK (`make venv`, which `make test` runs): these tests
/// are about the SDK itself, so without it they fail and say how to get it.
async fn sdk() -> StrictClient {
    StrictClient::detect().await.unwrap_or_else(|e| panic!("{e}"))
}

#[rstest]
#[case::legacy(Era::Legacy)]
#[case::stateless(Era::Stateless)]
#[tokio::test]
async fn the_sdk_lists_every_page_and_calls_each_tool_in_both_eras(#[case] era: Era) {
    let url = stand_in(false).await;
    let client = sdk().await;
    let transcript = client
        .run(&url, era, None, &[Step::ListTools, call("echo"), call("echo_b")], LIMIT)
        .await
        .unwrap();
    let Answer::Tools(names) = &transcript.answers[0] else {
        panic!("{transcript:?}")
    };
    assert_eq!(names, &["echo", "echo_b", "slow"]);
    for (answer, instance) in transcript.answers[1..].iter().zip(["backend-a", "backend-b"]) {
        let Answer::Called(result) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(result["structuredContent"]["instance"], instance, "{result}");
        assert_eq!(result["resultType"], "complete", "dumped by alias: {result}");
    }
}

#[tokio::test]
async fn the_sdk_refuses_a_2026_tools_call_result_without_result_type_that_rmcp_accepts() {
    let url = stand_in(true).await;
    let error = sdk()
        .await
        .run(&url, Era::Stateless, None, &[call("echo")], LIMIT)
        .await
        .unwrap_err();
    let StrictError::Refused { stderr, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        stderr.contains("resultType") && stderr.contains("Field required"),
        "{stderr}"
    );

    // The reason the suite needs the strict client: rmcp takes the same answer.
    let lenient = crate::mcp::connect(&url, Era::Stateless, None).await.unwrap();
    let answer = lenient.call("echo", json!({})).await;
    lenient.close().await;
    assert_eq!(answer.unwrap()["structuredContent"]["instance"], "backend-a");
}

#[tokio::test]
async fn the_sdk_takes_a_legacy_result_without_result_type() {
    // Before 2026-07-28 resultType does not exist, so its absence is no fault.
    let url = stand_in(true).await;
    let transcript = sdk()
        .await
        .run(&url, Era::Legacy, None, &[call("echo")], LIMIT)
        .await
        .unwrap();
    assert_eq!(transcript.protocol_version, "2025-11-25");
}
