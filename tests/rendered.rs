//! What people and scripts read, pinned whole on the sample logs: tables,
//! CSV, `-o cli` scripts and the patched CloudFormation template. A change
//! to any of them fails here with a diff; after checking it, accept it
//! with `INSTA_UPDATE=always cargo test rendered` (or `cargo insta review`)
//! and commit the files under tests/snapshots/. With CI set, insta never
//! writes a snapshot: a difference or a missing file only fails.

use crate::util::*;

const RETAIL: &str = "sample-logs/retail-store";
const INCIDENT: &str = "sample-logs/incident";

/// stdout of a successful run (tables are never coloured or narrowed into
/// a pipe; `--color never` and `--wide` say so in case a terminal is
/// attached to the test run).
fn rendered(args: &[&str]) -> String {
    let mut a = vec!["--color", "never", "--wide"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.is_empty(), "{args:?} printed nothing");
    text
}

#[test]
fn summarize_table() {
    insta::assert_snapshot!(rendered(&["summarize", RETAIL]));
}

#[test]
fn summarize_csv() {
    insta::assert_snapshot!(rendered(&["summarize", "-o", "csv", RETAIL]));
}

#[test]
fn recommend_table() {
    insta::assert_snapshot!(rendered(&["recommend", RETAIL]));
}

#[test]
fn recommend_cli_script() {
    insta::assert_snapshot!(rendered(&["recommend", "-o", "cli", RETAIL]));
}

#[test]
fn recommend_patched_cloudformation() {
    insta::assert_snapshot!(rendered(&["recommend", "-o", "cfn", RETAIL]));
}

/// The review page (`-o html`): what its structure and numbers are; a
/// browser loads it in tests/html.rs.
#[test]
fn recommend_html() {
    insta::assert_snapshot!(rendered(&["recommend", "-o", "html", RETAIL]));
}

#[test]
fn summarize_html() {
    insta::assert_snapshot!(rendered(&["summarize", "-o", "html", RETAIL]));
}

#[test]
fn recommend_table_incident() {
    insta::assert_snapshot!(rendered(&["recommend", INCIDENT]));
}

#[test]
fn top_sources_table() {
    insta::assert_snapshot!(rendered(&["top", "--by", "src", "-n", "10", INCIDENT]));
}

#[test]
fn top_ports_csv() {
    insta::assert_snapshot!(rendered(&[
        "top", "--by", "port", "-n", "15", "-o", "csv", INCIDENT
    ]));
}

#[test]
fn scans_table() {
    insta::assert_snapshot!(rendered(&["scans", INCIDENT]));
}

#[test]
fn scans_csv() {
    insta::assert_snapshot!(rendered(&["scans", "-o", "csv", INCIDENT]));
}

#[test]
fn query_csv() {
    insta::assert_snapshot!(rendered(&[
        "query",
        "--src",
        "203.0.113.66",
        "--sort",
        "start",
        "-n",
        "25",
        "-o",
        "csv",
        INCIDENT
    ]));
}
