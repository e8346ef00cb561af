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

mod reload_judges {
    use serde_json::json;

    use super::super::{config_reload, controller_runtime_tools};

    #[test]
    fn the_runtime_tools_list_needs_reload_modules() {
        let full =
            json!({"tools": [{"name": "get_service_info"}, {"name": "get_modules"}, {"name": "reload_modules"}]});
        assert!(controller_runtime_tools::judge_list(&full).is_ok());
        let without = json!({"tools": [{"name": "get_service_info"}, {"name": "get_modules"}]});
        let failure = controller_runtime_tools::judge_list(&without).unwrap_err().0;
        assert!(failure.contains("lacks reload_modules"), "{failure}");
    }

    #[test]
    fn service_info_must_name_the_service_and_hide_the_token() {
        let info = json!({"service": {"serviceId": "svc-1"}, "component": {"portal-registry": {"portalToken": "*"}}, "modules": []});
        assert!(controller_runtime_tools::judge_info(&info, "svc-1", Some("tok.en.value")).is_ok());
        let other = controller_runtime_tools::judge_info(&info, "svc-2", None)
            .unwrap_err()
            .0;
        assert!(other.contains("svc-2"), "{other}");
        let leaked = json!({"service": {"serviceId": "svc-1"}, "note": "tok.en.value"});
        let failure = controller_runtime_tools::judge_info(&leaked, "svc-1", Some("tok.en.value"))
            .unwrap_err()
            .0;
        assert!(failure.contains("shows the portal token"), "{failure}");
        let unmasked =
            json!({"service": {"serviceId": "svc-1"}, "component": {"portal-registry": {"portalToken": "abc"}}});
        assert!(controller_runtime_tools::judge_info(&unmasked, "svc-1", None).is_err());
    }

    const VALUES: &str = "handler.handlers: [mcp]\nmcp-router.tools:\n  - {name: echo, apiType: mcp, targetHost: 'http://a', path: /mcp}\n  - {name: echo_b, endpointName: echo, apiType: mcp, targetHost: 'http://b', path: /mcp}\n";

    #[test]
    fn the_probe_is_backend_bs_echo_under_another_name_and_the_broken_tool_names_no_backend() {
        let probed: serde_json::Value =
            serde_saphyr::from_str(&config_reload::with_probe_tool(VALUES).unwrap()).unwrap();
        let tools = probed["mcp-router.tools"].as_array().unwrap();
        assert_eq!(tools.len(), 3);
        assert_eq!(
            tools[2],
            json!({"name": config_reload::PROBE_TOOL, "endpointName": "echo", "apiType": "mcp", "targetHost": "http://b", "path": "/mcp"})
        );
        assert_eq!(probed["handler.handlers"], json!(["mcp"]), "the rest is kept");
        let broken: serde_json::Value =
            serde_saphyr::from_str(&config_reload::with_broken_tool(VALUES).unwrap()).unwrap();
        let last = broken["mcp-router.tools"].as_array().unwrap().last().unwrap().clone();
        assert!(last.get("targetHost").is_none(), "{last}");
        assert!(
            config_reload::with_probe_tool("mcp-router.tools: []\n").is_err(),
            "no echo_b to copy"
        );
    }

    #[test]
    fn a_reload_passes_only_with_the_router_reloaded_and_nothing_failed() {
        let good = json!({"modules": ["light-pingora/mcp-router"], "reloaded": ["light-pingora/mcp-router"], "skipped": [], "failed": []});
        assert!(config_reload::judge_reloaded(&good).is_ok());
        let mut failed = good.clone();
        failed["failed"] = json!([{"moduleId": "light-pingora/security", "message": "bad"}]);
        assert!(config_reload::judge_reloaded(&failed).is_err());
        let refused = json!({"status": "error", "message": "no hot reload"});
        assert!(config_reload::judge_reloaded(&refused).is_err());
        let router_failed = json!({"modules": [], "reloaded": [], "skipped": [], "failed": [{"moduleId": "light-pingora/mcp-router", "message": "tools[4] has no targetHost"}]});
        assert_eq!(
            config_reload::judge_refused(&router_failed).unwrap(),
            "tools[4] has no targetHost"
        );
        assert!(
            config_reload::judge_refused(&good).is_err(),
            "a broken config that reloads fails the check"
        );
    }
}

mod metrics_judges {
    use super::super::metrics_exposed::judge;

    const TYPE: &str = "# TYPE light_gateway_tool_calls_total counter\n";

    fn text(ok: u32, other_tool: u32) -> String {
        format!(
            "{TYPE}light_gateway_tool_calls_total{{tool=\"echo_b\",backend=\"http://b:9000\",outcome=\"ok\"}} {ok}\n\
             light_gateway_tool_calls_total{{tool=\"echo_b\",backend=\"http://b:9000\",outcome=\"backend_failed\"}} 9\n\
             light_gateway_tool_calls_total{{tool=\"echo\",backend=\"http://a:9000\",outcome=\"ok\"}} {other_tool}\n"
        )
    }

    #[test]
    fn the_counter_must_rise_by_exactly_the_calls_made() {
        assert_eq!(judge(&text(2, 0), &text(5, 0), "echo_b", 3).unwrap(), 3.0);
        let short = judge(&text(2, 0), &text(4, 7), "echo_b", 3).unwrap_err().0;
        assert!(short.contains("rose by 2"), "{short}");
        let first_scrape_empty = judge(TYPE, &text(3, 0), "echo_b", 3);
        assert!(first_scrape_empty.is_ok(), "a series absent before counts from 0");
    }

    #[test]
    fn the_scrape_must_declare_the_counter() {
        let untyped = text(3, 0).replace(TYPE, "");
        let failure = judge("", &untyped, "echo_b", 3).unwrap_err().0;
        assert!(
            failure.contains("# TYPE light_gateway_tool_calls_total counter"),
            "{failure}"
        );
    }
}

mod fault_judges {
    use super::super::fault_controller_down_exit::judge;
    use crate::platform::Started;

    #[test]
    fn only_an_exit_with_a_non_zero_code_is_the_refusal() {
        assert!(judge(Started::Exited(Some(1))).is_ok());
        assert!(judge(Started::Exited(Some(0))).unwrap_err().0.contains("exited 0"));
        let killed = judge(Started::Exited(None)).unwrap_err().0;
        assert!(killed.contains("killed by a signal"), "{killed}");
        assert!(judge(Started::Ready).is_err());
    }
}

mod image_pinning {
    use rstest::rstest;

    use super::super::security_immutable_tag::pinned;

    #[rstest]
    #[case("light-gateway:0.1.0", true)]
    #[case("registry.internal/team/light-gateway:v2.2.2", true)]
    #[case("light-gateway:1.2.3-rc.1+build5", true)]
    #[case("light-gateway:20261201", true)]
    #[case(concat!("light-gateway@sha256:", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), true)]
    #[case("light-gateway:latest", false)]
    #[case("light-gateway:main", false)]
    #[case("light-gateway:dev", false)]
    #[case("light-gateway", false)]
    #[case("registry:5000/light-gateway", false)]
    #[case("light-gateway@sha256:abc", false)]
    fn only_a_digest_or_a_version_tag_pins_the_image(#[case] image: &str, #[case] expected: bool) {
        assert_eq!(pinned(image), expected, "{image}");
    }
}

mod wrong_token_judge {
    use super::super::fault_wrong_token::judge;
    use crate::platform::Started;

    const LINE: &str = "WARN config-server bootstrap failed event=\"bootstrap_failed\" reason=\"HTTP 403: wrong sid\"";

    #[test]
    fn the_milestone_must_name_the_403_and_the_start_must_end_as_documented() {
        assert!(judge(Started::Ready, LINE).is_ok());
        assert!(judge(Started::Exited(Some(1)), LINE).is_ok());
        let elsewhere =
            "INFO request id 403 served\nWARN config-server bootstrap failed event=\"bootstrap_failed\" reason=timeout";
        assert!(
            judge(Started::Ready, elsewhere)
                .unwrap_err()
                .0
                .contains("names the 403")
        );
        assert!(judge(Started::NotReady("stuck".into()), LINE).is_err());
        assert!(judge(Started::Exited(None), LINE).is_err());
        assert!(judge(Started::Exited(Some(0)), LINE).is_err());
    }
}

mod probe_reading {
    use k8s_openapi::api::core::v1::{HTTPGetAction, Probe, TCPSocketAction};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::super::probes::{Asks, asks};

    fn ports() -> Vec<(i32, String)> {
        vec![(8080, "http".into()), (8443, "https".into())]
    }

    #[test]
    fn a_probe_is_read_on_its_own_port_and_scheme() {
        let tcp = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("https".into()),
                ..TCPSocketAction::default()
            }),
            ..Probe::default()
        };
        assert_eq!(asks(&tcp, &ports()).unwrap(), Asks::Connect { port: 8443 });
        let get = Probe {
            http_get: Some(HTTPGetAction {
                port: IntOrString::String("http".into()),
                path: Some("/health".into()),
                ..HTTPGetAction::default()
            }),
            ..Probe::default()
        };
        assert_eq!(
            asks(&get, &ports()).unwrap(),
            Asks::Get {
                port: 8080,
                scheme: "http".into(),
                path: "/health".into()
            }
        );
        let unknown = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("admin".into()),
                ..TCPSocketAction::default()
            }),
            ..Probe::default()
        };
        assert!(asks(&unknown, &ports()).unwrap_err().0.contains("admin"));
        assert!(asks(&Probe::default(), &ports()).is_err());
    }
}
