use std::fs;

use serde_json::json;

use super::*;

fn dirs() -> (tempfile::TempDir, ConfigDirs) {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = ConfigDirs::under(tmp.path());
    for d in [&dirs.config, &dirs.cache, &dirs.defaults] {
        fs::create_dir_all(d).unwrap();
    }
    (tmp, dirs)
}

#[test]
fn values_merge_key_by_key_with_cache_highest() {
    let (_tmp, dirs) = dirs();
    fs::write(
        dirs.defaults.join("values.yml"),
        "a: defaults\nb: defaults\nc: defaults\nd: defaults\n",
    )
    .unwrap();
    fs::write(dirs.config.join("values.yml"), "b: config\nc: config\nd: config\n").unwrap();
    fs::write(dirs.cache.join("values.yml"), "c: cache\n").unwrap();
    let merged = Layers::new(dirs, Phase::Runtime).values().unwrap();
    assert_eq!(merged.values["a"], json!("defaults"));
    assert_eq!(merged.values["b"], json!("config"));
    assert_eq!(merged.values["c"], json!("cache"));
    assert_eq!(merged.sources.len(), 4, "embedded + three dirs: {:?}", merged.sources);
}

#[test]
fn bootstrap_phase_never_reads_the_cache() {
    let (_tmp, dirs) = dirs();
    fs::write(dirs.config.join("values.yml"), "a: config\n").unwrap();
    fs::write(dirs.cache.join("values.yml"), "a: cache\n").unwrap();
    fs::write(dirs.cache.join("startup.yml"), "host: cache\n").unwrap();
    let layers = Layers::new(dirs, Phase::Bootstrap);
    assert_eq!(layers.values().unwrap().values["a"], json!("config"));
    assert_eq!(layers.file("startup.yml").unwrap().unwrap().source, Source::Embedded);
}

#[test]
fn other_files_come_whole_from_the_highest_source() {
    let (_tmp, dirs) = dirs();
    fs::write(dirs.config.join("server.yml"), "ip: 1.2.3.4\n").unwrap();
    fs::write(dirs.cache.join("server.yml"), "httpPort: 1\n").unwrap();
    let layers = Layers::new(dirs.clone(), Phase::Runtime);
    let file = layers.file("server.yml").unwrap().unwrap();
    assert_eq!(file.source, Source::Cache);
    assert_eq!(file.text, "httpPort: 1\n", "no deep merge with config/server.yml");
    let file = Layers::new(dirs, Phase::Bootstrap).file("server.yml").unwrap().unwrap();
    assert_eq!(file.source, Source::Config);
}

#[test]
fn embedded_defaults_serve_when_no_dir_has_the_file() {
    let (_tmp, dirs) = dirs();
    let file = Layers::new(dirs, Phase::Runtime)
        .file("portal-registry.yml")
        .unwrap()
        .unwrap();
    assert_eq!(file.source, Source::Embedded);
    assert!(file.text.contains("portalUrl"));
}

#[test]
fn invalid_yaml_names_the_file() {
    let (_tmp, dirs) = dirs();
    fs::write(dirs.config.join("values.yml"), "a: [unclosed\n").unwrap();
    let err = Layers::new(dirs, Phase::Runtime).values().unwrap_err().to_string();
    assert!(err.contains("config/values.yml"), "{err}");
}

#[test]
fn values_that_are_not_a_map_are_refused() {
    let (_tmp, dirs) = dirs();
    fs::write(dirs.config.join("values.yml"), "- a\n- b\n").unwrap();
    let err = Layers::new(dirs, Phase::Runtime).values().unwrap_err().to_string();
    assert!(err.contains("must be a map"), "{err}");
}

#[test]
fn empty_or_comment_only_values_file_is_an_empty_map() {
    let (_tmp, dirs) = dirs();
    fs::write(dirs.config.join("values.yml"), "# nothing yet\n").unwrap();
    assert!(Layers::new(dirs, Phase::Runtime).values().unwrap().values.is_empty());
}

#[rstest::rstest]
#[case::nested_under_a_file_name("mcp-router:\n  maxSessions: 5\n", Some("mcp-router.maxSessions"))]
#[case::dotted_key_with_a_map("handler.chains: {a: [mcp]}\n", None)]
#[case::other_key_with_a_map("myTable: {a: 1}\n", None)]
#[case::file_name_with_a_scalar("server: 1\n", None)]
fn values_nested_under_a_file_name_are_refused(#[case] text: &str, #[case] hint: Option<&str>) {
    match (parse_values("config/values.yml", text), hint) {
        (Ok(_), None) => {}
        (Err(e), Some(hint)) => {
            let e = e.to_string();
            assert!(e.contains("config/values.yml") && e.contains(hint), "{e}");
        }
        (outcome, _) => panic!("{text:?}: {outcome:?}"),
    }
}
