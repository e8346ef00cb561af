//! The repository's docs hold together: every `docs/<page>.md#<anchor>` cited anywhere in the
//! repo names a page and a heading that exist, and `docs/conformance.md` names every check and
//! no check that does not exist. Lives in the suite's crate because the check registry is here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the conformance crate sits in the workspace root")
        .to_path_buf()
}

/// Folders that are build output, tool installs or history, not the repo's text.
const SKIPPED_DIRS: &[&str] = &[
    "target",
    ".git",
    ".venv",
    ".tools",
    "results",
    "corpus",
    "artifacts",
    "reports",
];

fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_ref()) {
                text_files(&path, out);
            }
        } else if [".rs", ".md", ".sh", ".yaml", ".yml", ".toml", ".tpl", ".txt"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || name == "Makefile"
        {
            out.push(path);
        }
    }
}

/// GitHub's heading anchors: lower case, spaces as `-`, everything but letters, digits, `-`
/// and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(page: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(page).unwrap_or_default();
    let mut in_code = false;
    let mut found = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.insert(slug(line.trim_start_matches('#')));
        }
    }
    found
}

/// Every `<page>.md#<anchor>` in `text`, with the page name as written (a path or a bare name).
fn cited_anchors(text: &str) -> Vec<(String, String)> {
    let mut cites = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(".md#") {
        let dot = from + at;
        let page_start = text[..dot]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "-_/.".contains(c)))
            .map_or(0, |i| i + 1);
        let anchor_start = dot + 4;
        let anchor_len = bytes[anchor_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
            .count();
        cites.push((
            text[page_start..dot + 3].to_string(),
            text[anchor_start..anchor_start + anchor_len].to_string(),
        ));
        from = anchor_start;
    }
    cites
}

#[test]
fn every_cited_docs_anchor_exists() {
    let root = repo_root();
    let mut files = Vec::new();
    text_files(&root, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under {}",
        files.len(),
        root.display()
    );
    let mut broken = Vec::new();
    let mut seen = 0;
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else { continue };
        let in_docs = file.parent() == Some(&root.join("docs"));
        for (page, anchor) in cited_anchors(&text) {
            // Outside docs/ only citations of docs/ pages count (others are other projects').
            let target = if let Some(name) = page.rsplit_once("docs/").map(|(_, n)| n) {
                root.join("docs").join(name)
            } else if in_docs && !page.contains('/') {
                root.join("docs").join(&page)
            } else {
                continue;
            };
            seen += 1;
            if !target.is_file() {
                broken.push(format!("{}: {page}#{anchor}: no such page", file.display()));
            } else if !anchors(&target).contains(&anchor) {
                broken.push(format!("{}: {page}#{anchor}: no such heading", file.display()));
            }
        }
    }
    assert!(
        seen > 20,
        "only {seen} docs anchors cited: the scan is not finding them"
    );
    assert!(broken.is_empty(), "broken docs citations:\n{}", broken.join("\n"));
}

#[test]
fn no_citation_names_a_file_outside_the_repo() {
    let root = repo_root();
    let mut files = Vec::new();
    text_files(&root, &mut files);
    // Spelled in pieces so that a grep for them does not find this test.
    let outside = [
        concat!("..", "/shared"),
        concat!("DESIGN", ".md"),
        concat!("shared", "/design"),
    ];
    let mut found = Vec::new();
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else { continue };
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations of files outside the repo:\n{}",
        found.join("\n")
    );
}

#[test]
fn conformance_page_names_every_check_and_only_checks() {
    let page = fs::read_to_string(repo_root().join("docs/conformance.md")).expect("docs/conformance.md");
    let ids: BTreeSet<&str> = crate::checks::ALL.iter().map(|c| c.id).collect();
    let missing: Vec<&&str> = ids.iter().filter(|id| !page.contains(&format!("`{id}`"))).collect();
    assert!(missing.is_empty(), "docs/conformance.md does not name {missing:?}");
    // Every backticked check-like id in a table's Check column must be a real check.
    let named: BTreeSet<&str> = page
        .lines()
        .filter(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(2))
        .filter_map(|cell| cell.trim().strip_prefix('`')?.strip_suffix('`'))
        .collect();
    let unknown: Vec<&&str> = named.iter().filter(|id| !ids.contains(**id)).collect();
    assert!(
        unknown.is_empty(),
        "docs/conformance.md names checks that do not exist: {unknown:?}"
    );
}

#[test]
fn slug_matches_the_forge() {
    assert_eq!(slug(" Health and admission"), "health-and-admission");
    assert_eq!(slug("Config-server"), "config-server");
    assert_eq!(slug("MCP `tools/call`"), "mcp-toolscall");
}

#[test]
fn cited_anchors_reads_paths_and_bare_names() {
    let cites = cited_anchors("see `docs/protocols.md#auth`, and (conformance.md#faults).");
    assert_eq!(
        cites,
        vec![
            ("docs/protocols.md".to_string(), "auth".to_string()),
            ("conformance.md".to_string(), "faults".to_string())
        ]
    );
}

#[test]
fn readme_layout_lists_every_folder_of_the_repo() {
    let root = repo_root();
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let layout = readme
        .split("\n## Layout")
        .nth(1)
        .expect("README.md has a Layout section");
    let layout = layout.split("\n## ").next().unwrap_or(layout);
    let listed: BTreeSet<&str> = layout
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .map(|p| p.trim_end_matches('/'))
        .collect();
    let mut missing = Vec::new();
    for entry in fs::read_dir(&root).expect("the repo root").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Build output and tool installs are not the repo's (.gitignore keeps them out).
        if entry.path().is_dir() && !SKIPPED_DIRS.contains(&name.as_str()) && !listed.contains(name.as_str()) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "README's Layout does not list {missing:?}");
}
