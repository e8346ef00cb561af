//! The registry and the check files stay in step.

use std::collections::HashSet;

use super::ALL;

#[test]
fn ids_are_unique_and_every_check_file_is_registered() {
    let ids: HashSet<&str> = ALL.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), ALL.len(), "duplicate check ids");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
    let files: HashSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs") && n != "mod.rs" && n != "tests.rs")
        .map(|n| n.trim_end_matches(".rs").replace('_', "-"))
        .collect();
    let registered: HashSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(files, registered, "check files and ALL differ");
}

#[test]
fn checks_needing_kubernetes_are_marked() {
    for id in ["rollout", "pods-ready", "service-health"] {
        let check = ALL.iter().find(|c| c.id == id).unwrap();
        assert!(!check.features.is_empty(), "{id} must declare what it needs");
    }
}
