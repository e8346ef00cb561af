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

mod mcp_judges {
    use rstest::rstest;
    use serde_json::json;

    use super::super::{mcp_tools_call, mcp_tools_list};
    use crate::check::Feature;
    use crate::mcp::Era;

    /// Both clients' shapes: rmcp's serialised result and the SDK's alias dump (which adds
    /// `resultType`).
    fn answer(instance: &str, strict: bool) -> serde_json::Value {
        let mut answer = json!({"content": [{"type": "text", "text": "{}"}], "structuredContent": {"arguments": {"probe": "conformance"}, "instance": instance}, "isError": false});
        if strict {
            answer["resultType"] = json!("complete");
        }
        answer
    }

    #[rstest]
    #[case::rmcp("rmcp", false)]
    #[case::python_sdk("python-sdk 2.3.0", true)]
    fn the_call_judge_holds_each_client_to_the_same_routing(#[case] client: &str, #[case] strict: bool) {
        let right = [answer("backend-a", strict), answer("backend-b", strict)];
        assert_eq!(
            mcp_tools_call::judge(client, Era::Stateless, &right).unwrap(),
            format!("{client} 2026-07-28: echo -> backend-a, echo_b -> backend-b")
        );
        let swapped = [answer("backend-b", strict), answer("backend-a", strict)];
        let failure = mcp_tools_call::judge(client, Era::Legacy, &swapped).unwrap_err().0;
        assert!(
            failure.starts_with(&format!("{client} legacy: echo answered from \"backend-b\"")),
            "{failure}"
        );
        let mut failed = right.clone();
        failed[1]["isError"] = json!(true);
        assert!(
            mcp_tools_call::judge(client, Era::Legacy, &failed)
                .unwrap_err()
                .0
                .contains("echo_b answered isError")
        );
        assert!(
            mcp_tools_call::judge(client, Era::Legacy, &right[..1])
                .unwrap_err()
                .0
                .contains("1 answers to 2 calls")
        );
    }

    #[rstest]
    #[case::rmcp("rmcp")]
    #[case::python_sdk("python-sdk 2.3.0")]
    fn the_list_judge_holds_each_client_to_the_same_tools(#[case] client: &str) {
        let names: Vec<String> = ["add", "echo", "echo_b", "slow"].map(String::from).to_vec();
        assert_eq!(
            mcp_tools_list::judge(client, Era::Legacy, &names).unwrap(),
            format!("{client} legacy: 4 tools")
        );
        let failure = mcp_tools_list::judge(client, Era::Stateless, &names[..3])
            .unwrap_err()
            .0;
        assert!(
            failure.starts_with(&format!("{client} 2026-07-28: tools/list lacks slow")),
            "{failure}"
        );
    }

    #[test]
    fn the_mcp_checks_need_the_strict_client_so_they_never_pass_on_rmcp_alone() {
        for check in [&mcp_tools_list::CHECK, &mcp_tools_call::CHECK] {
            assert_eq!(check.features, [Feature::StrictMcpClient], "{}", check.id);
        }
    }
}

#[test]
fn every_feature_is_named_as_reports_serialise_it_and_documented() {
    use crate::check::Feature;
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    for feature in Feature::ALL {
        assert_eq!(serde_json::to_value(feature).unwrap(), feature.name());
        assert!(
            readme.contains(&format!("`{}`", feature.name())),
            "README.md does not list {}",
            feature.name()
        );
    }
}
