//! The tool table: what tools/list shows and where tools/call goes. Built once per config (and
//! per aggregation refresh) and swapped atomically, so lookups take no lock.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CacheScope, JsonObject, ListToolsResult};
use serde_json::Value;

use super::config::{ApiType, BackendProtocol, HttpMethod, ToolConfig};

/// Where a tool's calls go.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An MCP server speaking `protocol`.
    Mcp {
        /// Its Streamable HTTP endpoint.
        url: url::Url,
        /// Its era.
        protocol: BackendProtocol,
    },
    /// A JSON HTTP API.
    Http {
        /// The endpoint.
        url: url::Url,
        /// The method.
        method: HttpMethod,
    },
}

/// A callable tool.
#[derive(Debug, Clone)]
pub struct Tool {
    /// The name clients call.
    pub name: String,
    /// The name sent to the backend.
    pub backend_name: String,
    /// Where calls go.
    pub target: Target,
    /// Call timeout.
    pub timeout: Duration,
    /// Whether loopback and private addresses may be dialled.
    pub allow_private: bool,
    /// The key of its access-control rules: `endpoint`, else `<name>@call`.
    pub endpoint: String,
    /// Its target's origin (`http://host:port`): the backend as metrics and the audit log name
    /// it (no path or credentials).
    pub backend: String,
    /// Its metrics series, when metrics are on.
    pub series: Option<crate::metrics::ToolSeries>,
}

/// The metrics series of a tool named `name` on `backend`, when metrics are on.
pub fn series(name: &str, backend: &str) -> Option<crate::metrics::ToolSeries> {
    crate::metrics::get().map(|m| m.tool_series(name, backend))
}

/// A target URL's origin, the backend's name in metrics and the audit log.
pub fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// The endpoint key a tool without an explicit `endpoint` gets.
pub fn default_endpoint(name: &str) -> String {
    format!("{name}@call")
}

/// What tools/list needs of a tool.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The offered name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Input schema (an object).
    pub input_schema: JsonObject,
    /// Output schema, if any.
    pub output_schema: Option<JsonObject>,
}

/// Tools by their exact names, and the serialised tools/list results. Names are matched
/// exactly, as the MCP spec has them: a loose match (case, `-` or `_`) would let `DeleteUser`
/// reach `delete_user` past an exact-name rule in front of the gateway (an `Mcp-Name` filter).
#[derive(Debug, Default)]
pub struct ToolTable {
    by_name: HashMap<String, Arc<Tool>>,
    /// Each tool with its listing, in order (for listings filtered per caller).
    listed: Vec<(Arc<Tool>, rmcp::model::Tool)>,
    legacy_list: String,
    stateless_list: String,
}

/// The tools/list result of `tools` for an era.
fn list_result(tools: Vec<rmcp::model::Tool>, stateless: bool) -> String {
    let mut result = ListToolsResult::with_all_items(tools);
    result.result_type = None;
    if stateless {
        result.result_type = Some(rmcp::model::ResultType::COMPLETE);
        result = result.with_ttl_ms(0).with_cache_scope(CacheScope::Private);
    }
    serde_json::to_string(&result).unwrap_or_else(|_| r#"{"tools":[]}"#.into())
}

impl ToolTable {
    /// A table of `tools` in order.
    pub fn new(tools: Vec<(Tool, Listing)>) -> Self {
        let mut table = Self::default();
        let mut listed = Vec::with_capacity(tools.len());
        for (tool, listing) in tools {
            let tool = Arc::new(tool);
            table.by_name.insert(tool.name.clone(), tool.clone());
            let mut rmcp_tool =
                rmcp::model::Tool::new(listing.name, listing.description, Arc::new(listing.input_schema));
            if let Some(output) = listing.output_schema {
                rmcp_tool = rmcp_tool.with_raw_output_schema(Arc::new(output));
            }
            listed.push(rmcp_tool.clone());
            table.listed.push((tool, rmcp_tool));
        }
        table.legacy_list = list_result(listed.clone(), false);
        table.stateless_list = list_result(listed, true);
        table
    }

    /// The tools/list result for an era, of the tools `keep` accepts (the precomputed one when
    /// it accepts all).
    pub fn list_json_filtered(&self, stateless: bool, mut keep: impl FnMut(usize, &Tool) -> bool) -> Cow<'_, str> {
        let kept: Vec<&rmcp::model::Tool> = self
            .listed
            .iter()
            .enumerate()
            .filter(|(i, (tool, _))| keep(*i, tool))
            .map(|(_, (_, listing))| listing)
            .collect();
        if kept.len() == self.listed.len() {
            return Cow::Borrowed(self.list_json(stateless));
        }
        Cow::Owned(list_result(kept.into_iter().cloned().collect(), stateless))
    }

    /// The tool called exactly `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.by_name.get(name)
    }

    /// The serialised tools/list result for an era.
    pub fn list_json(&self, stateless: bool) -> &str {
        if stateless {
            &self.stateless_list
        } else {
            &self.legacy_list
        }
    }

    /// How many tools.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The tool and listing for a configured (non-aggregate) entry; the URL was validated.
pub fn from_config(tool: &ToolConfig, url: url::Url, default_timeout: Duration) -> (Tool, Listing) {
    let target = match tool.api_type {
        ApiType::Mcp => Target::Mcp {
            url,
            protocol: tool.backend_mcp_protocol.unwrap_or_default(),
        },
        ApiType::Http => Target::Http {
            url,
            method: tool.method,
        },
    };
    let listing = Listing {
        name: tool.name.clone(),
        description: tool.description.clone(),
        input_schema: object(&tool.input_schema),
        output_schema: tool.output_schema.as_ref().map(object),
    };
    let backend = match &target {
        Target::Mcp { url, .. } | Target::Http { url, .. } => origin(url),
    };
    let tool = Tool {
        series: series(&tool.name, &backend),
        name: tool.name.clone(),
        backend_name: tool.backend_name().to_string(),
        backend,
        target,
        timeout: tool.timeout_ms().map_or(default_timeout, Duration::from_millis),
        allow_private: tool.allow_private_target(),
        endpoint: tool
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map_or_else(|| default_endpoint(&tool.name), str::to_string),
    };
    (tool, listing)
}

fn object(value: &Value) -> JsonObject {
    value.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> (Tool, Listing) {
        let url = url::Url::parse("http://b/mcp").unwrap();
        let t = Tool {
            name: name.into(),
            backend_name: name.into(),
            backend: origin(&url),
            series: None,
            target: Target::Mcp {
                url,
                protocol: BackendProtocol::Legacy,
            },
            timeout: Duration::from_secs(1),
            allow_private: false,
            endpoint: default_endpoint(name),
        };
        let l = Listing {
            name: name.into(),
            description: "d".into(),
            input_schema: JsonObject::new(),
            output_schema: None,
        };
        (t, l)
    }

    #[rstest::rstest]
    #[case("delete_user", Some("delete_user"))]
    #[case("a-b", Some("a-b"))]
    #[case("DeleteUser", None)]
    #[case("delete-user", None)]
    #[case("DELETE_USER", None)]
    #[case("deleteuser", None)]
    #[case("A-B", None)]
    #[case("nope", None)]
    fn tools_are_found_by_their_exact_names_only(#[case] asked: &str, #[case] found: Option<&str>) {
        let table = ToolTable::new(vec![tool("delete_user"), tool("a-b")]);
        assert_eq!(table.get(asked).map(|t| t.name.as_str()), found);
    }

    #[test]
    fn filtered_listings_keep_the_order_and_the_eras_shape() {
        let table = ToolTable::new(vec![tool("a"), tool("b"), tool("c")]);
        let all = table.list_json_filtered(true, |_, _| true);
        assert!(
            matches!(all, Cow::Borrowed(_)),
            "nothing filtered: the precomputed answer"
        );
        let some: Value = serde_json::from_str(&table.list_json_filtered(true, |_, t| t.name != "b")).unwrap();
        let names: Vec<&str> = some["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(some["resultType"], "complete");
        let legacy: Value = serde_json::from_str(&table.list_json_filtered(false, |i, _| i == 0)).unwrap();
        assert_eq!(legacy["tools"].as_array().unwrap().len(), 1);
        assert!(legacy.get("resultType").is_none());
    }

    #[test]
    fn list_results_differ_by_era() {
        let table = ToolTable::new(vec![tool("echo")]);
        let legacy: Value = serde_json::from_str(table.list_json(false)).unwrap();
        let stateless: Value = serde_json::from_str(table.list_json(true)).unwrap();
        assert_eq!(legacy["tools"][0]["name"], "echo");
        assert!(legacy.get("resultType").is_none());
        assert_eq!(stateless["resultType"], "complete");
    }
}
