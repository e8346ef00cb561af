//! rmcp's own client (an implementation we did not write) through the real gateway binary to
//! the real mock MCP servers: both lifecycles, tools/list, tools/call, aggregation.
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService};
use rstest::rstest;
use serde_json::{Value, json};
use support::mcp::{deploy, first_text, rmcp_client};

type Client = RunningService<RoleClient, ClientConfig>;

async fn call(client: &Client, tool: &str, arguments: Value) -> Value {
    let Value::Object(arguments) = arguments else {
        panic!("object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .expect("tools/call");
    serde_json::to_value(result).unwrap()
}

#[rstest]
#[case::legacy(false)]
#[case::stateless(true)]
#[tokio::test(flavor = "multi_thread")]
async fn rmcp_client_lists_and_calls_through_the_gateway(#[case] stateless: bool) {
    let deployment = deploy("");
    let client = rmcp_client(&deployment.url, stateless, None).await;

    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add", "b_add", "b_echo", "b_fail", "b_slow", "down", "echo", "echo_b", "fail", "slow"
        ]
    );

    let echo = call(&client, "echo", json!({"msg": "hi"})).await;
    assert_eq!(echo["structuredContent"]["instance"], "backend-a", "{echo}");
    assert_eq!(echo["structuredContent"]["arguments"]["msg"], "hi");
    let echo_b = call(&client, "echo_b", json!({"n": 1})).await;
    assert_eq!(echo_b["structuredContent"]["instance"], "backend-b", "{echo_b}");
    let sum = call(&client, "add", json!({"a": 2, "b": 3})).await;
    assert_eq!(sum["structuredContent"]["sum"], 5);
    let failed = call(&client, "fail", json!({})).await;
    assert_eq!(failed["isError"], true, "backend's tool error passed through: {failed}");
    assert_eq!(first_text(&failed), "failed on purpose");
    client.cancel().await.unwrap();
    deployment.gateway.assert_no_token_in_output();
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregated_tools_are_listed_and_called_with_their_prefix() {
    let deployment = deploy("");
    let client = rmcp_client(&deployment.url, false, None).await;
    let added = call(&client, "b_add", json!({"a": 40, "b": 2})).await;
    assert_eq!(added["structuredContent"]["sum"], 42, "{added}");
    let echoed = call(&client, "b_echo", json!({})).await;
    assert_eq!(echoed["structuredContent"]["instance"], "backend-b");
    let tools = client.list_all_tools().await.unwrap();
    let b_add = tools.iter().find(|t| t.name == "b_add").unwrap();
    assert!(
        b_add.input_schema.contains_key("properties"),
        "the backend's schema is offered"
    );
}
