//! Every committed input of `corpus/<target>/` run through its target: the seeds and the
//! reproducers of past findings, so a fixed crash stays fixed. Runs in seconds; `make fuzz`
//! is where new inputs are searched for.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use light_gateway_fuzz::TARGETS;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target`, then fails naming each input that panicked.
fn replay(target: &str) {
    let run = light_gateway_fuzz::target(target).expect("a known target").run;
    let files = inputs(target);
    assert!(!files.is_empty(), "corpus/{target} holds no input");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).expect("a corpus file is readable");
            catch_unwind(AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked (their messages are above): {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn every_corpus_folder_is_a_target_and_every_target_has_one() {
    let mut folders: Vec<String> = std::fs::read_dir(corpus_root())
        .expect("fuzz/corpus exists")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    folders.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(folders, names);
}

#[test]
fn placeholder() {
    replay("placeholder");
}

#[test]
fn values_layers() {
    replay("values_layers");
}

#[test]
fn config_server() {
    replay("config_server");
}

#[test]
fn jsonrpc() {
    replay("jsonrpc");
}

#[test]
fn mcp_request() {
    replay("mcp_request");
}

#[test]
fn backend_reply() {
    replay("backend_reply");
}

#[test]
fn controller_frame() {
    replay("controller_frame");
}

#[test]
fn jwt_header() {
    replay("jwt_header");
}
