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

#[test]
fn every_values_key_has_a_doc_comment() {
    let schema = schema();
    let text = std::fs::read_to_string(common::chart().join("values.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut undocumented = Vec::new();
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
        let path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        let Some((_, strict)) = property(&schema, &path) else {
            continue;
        };
        let documented = lines[..n]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with('#'))
            .any(|l| l.trim_start().starts_with("# --"));
        if strict && !documented {
            undocumented.push(format!("line {}: {}", n + 1, path.join(".")));
        }
    }
    assert!(
        undocumented.is_empty(),
        "keys without a `# --` comment: {undocumented:#?}"
    );
}
