//! values.yaml is the chart's documented API and values.schema.json keeps it strict.

use serde_json::Value;

use crate::common;

/// Objects whose keys are the user's, not the chart's: the gateway's own values.yml keys.
/// Objects open on purpose: bootstrap.values (any gateway key) and global (an umbrella chart
/// shares it with every subchart, so it holds the parent's keys too).
const OPEN_OBJECTS: [&str; 2] = ["/properties/bootstrap/properties/values", "/properties/global"];

fn schema() -> Value {
    let text = std::fs::read_to_string(common::chart().join("values.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Follows a local `$ref` (`#/$defs/port`).
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).expect("dangling $ref"),
        None => node,
    }
}

#[test]
fn schema_refuses_unknown_keys_in_every_chart_object() {
    fn walk(node: &Value, at: &str, loose: &mut Vec<String>) {
        if node.get("properties").is_some() && node["additionalProperties"] != false && !OPEN_OBJECTS.contains(&at) {
            loose.push(at.to_string());
        }
        if let Some(map) = node.as_object() {
            for (key, child) in map {
                walk(child, &format!("{at}/{key}"), loose);
            }
        }
    }
    let schema = schema();
    let mut loose = Vec::new();
    walk(&schema, "", &mut loose);
    assert!(loose.is_empty(), "objects that accept unknown keys: {loose:?}");
}

/// The schema node of the property at `path`, and whether its parent is a strict object.
fn property<'a>(root: &'a Value, path: &[String]) -> Option<(&'a Value, bool)> {
    let mut node = root;
    let mut strict = false;
    for key in path {
        let parent = resolve(root, node);
        strict = parent["additionalProperties"] == false;
        node = parent.get("properties")?.get(key)?;
    }
    Some((node, strict))
}

/// One key of values.yaml: its line (1-based), its path and its `# --` comment, if any.
struct Key {
    line: usize,
    path: Vec<String>,
    doc: Option<String>,
}

/// Every key of values.yaml outside list items, in file order.
fn values_keys(text: &str) -> Vec<Key> {
    let lines: Vec<&str> = text.lines().collect();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut keys = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        stack.retain(|(i, _)| *i < indent);
        let Some((key, _)) = body
            .split_once(':')
            .filter(|(k, _)| !k.starts_with("- ") && !k.contains(' '))
        else {
            // A list item: what follows belongs to the item, not to a documented key.
            stack.push((indent, "-".into()));
            continue;
        };
        stack.push((indent, key.to_string()));
        if stack.iter().any(|(_, k)| k == "-") {
            continue;
        }
        // The comment block right above the key, from its `# --` line down.
        let block: Vec<&str> = lines[..n]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with('#'))
            .map(|l| l.trim_start().trim_start_matches('#').trim())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let doc = block
            .iter()
            .position(|l| l.starts_with("--"))
            .map(|start| block[start..].join(" ").trim_start_matches("--").trim().to_string());
        keys.push(Key {
            line: n + 1,
            path: stack.iter().map(|(_, k)| k.clone()).collect(),
            doc,
        });
    }
    keys
}

#[test]
fn every_values_key_has_a_doc_comment() {
    let schema = schema();
    let text = std::fs::read_to_string(common::chart().join("values.yaml")).unwrap();
    let undocumented: Vec<String> = values_keys(&text)
        .into_iter()
        .filter(|key| key.doc.is_none() && property(&schema, &key.path).is_some_and(|(_, strict)| strict))
        .map(|key| format!("line {}: {}", key.line, key.path.join(".")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "keys without a `# --` comment: {undocumented:#?}"
    );
}

/// Every documented key of values.yaml with its default and its `# --` comment, in file order:
/// the table of chart/README.md's "Values" section.
fn values_table() -> String {
    let text = std::fs::read_to_string(common::chart().join("values.yaml")).unwrap();
    let values: Value = serde_saphyr::from_str(&text).unwrap();
    let mut rows = vec![
        "| key | default | what |".to_string(),
        "| --- | --- | --- |".to_string(),
    ];
    for key in values_keys(&text) {
        let Some(doc) = key.doc else { continue };
        let default = key
            .path
            .iter()
            .try_fold(&values, |at, k| at.get(k.as_str()))
            .map_or_else(String::new, |v| match v {
                // A map's keys have rows of their own; a long list stays in values.yaml.
                Value::Object(map) if !map.is_empty() => "{...}".to_string(),
                Value::Array(items) if v.to_string().len() > 80 => format!("[{} items]", items.len()),
                _ => v.to_string().replace('|', "\\|"),
            });
        rows.push(format!(
            "| `{}` | `{default}` | {} |",
            key.path.join("."),
            doc.replace('|', "\\|")
        ));
    }
    rows.join("\n")
}

const TABLE_START: &str = "<!-- values table: generated from values.yaml by the chart tests -->";
const TABLE_END: &str = "<!-- end of values table -->";

/// chart/README.md's values table is current; `REFRESH_GOLDEN=1` rewrites it.
#[test]
fn the_chart_readme_lists_every_value_as_values_yaml_documents_it() {
    let path = common::chart().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = readme
        .split_once(TABLE_START)
        .expect("chart/README.md has the table's start marker");
    let (_, after) = rest
        .split_once(TABLE_END)
        .expect("chart/README.md has the table's end marker");
    let table = values_table();
    assert!(table.lines().count() > 100, "{table}");
    let current = format!("{before}{TABLE_START}\n{table}\n{TABLE_END}{after}");
    if std::env::var("REFRESH_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    assert!(
        readme == current,
        "chart/README.md's values table is stale: run REFRESH_GOLDEN=1 make test-chart"
    );
}
