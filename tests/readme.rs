//! The README's examples and the documented JSON shapes, checked against the
//! binary so neither can drift from what flowscope prints.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use crate::util::{bin, json, repo, run, stderr, stdout};

/// Runs `scripts/readme-examples.sh` with the test binary (FLOWSCOPE_BIN:
/// the script does not build) and `args`.
fn examples_script(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/readme-examples.sh"))
        .args(args)
        .env("FLOWSCOPE_BIN", bin())
        .current_dir(repo())
        .output()
        .expect("run scripts/readme-examples.sh")
}

#[test]
fn readme_examples_are_the_binarys_output() {
    let out = examples_script(&["--check"]);
    assert!(
        out.status.success(),
        "README.md examples differ from the binary; run scripts/readme-examples.sh\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("examples in README.md are up to date"));
}

/// A copy of README.md with `edit` applied, checked by the script.
fn check_copy(dir: &Path, edit: impl Fn(&str) -> String) -> Output {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let copy = dir.join("README.md");
    std::fs::write(&copy, edit(&readme)).unwrap();
    examples_script(&["--check", "--readme", copy.to_str().unwrap()])
}

#[test]
fn readme_check_fails_on_a_stale_example() {
    let dir = tempfile::tempdir().unwrap();
    // An output line as an older binary might have printed it.
    let out = check_copy(dir.path(), |s| {
        let line = s
            .lines()
            .find(|l| l.starts_with("Total: ") && l.contains(" flows ("))
            .expect("summarize example's Total line");
        s.replacen(line, "Total: 1 flow", 1)
    });
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("-Total: 1 flow"), "{}", stdout(&out));
    assert!(stderr(&out).contains("is stale"), "{}", stderr(&out));
}

#[test]
fn readme_check_refuses_an_unmarked_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_copy(dir.path(), |s| {
        format!("{s}\n```\n$ flowscope summarize sample-logs/retail-store\nold\n```\n")
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("without a <!-- example"),
        "{}",
        stderr(&out)
    );
}

fn keys(v: &serde_json::Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// The JSON document a successful run of `args` prints.
fn json_of(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)
}

/// The union of several key lists.
fn set_of<'a>(parts: &[&[&'a str]]) -> BTreeSet<&'a str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// The traffic every row, rule hit and piece of evidence counts.
const TRAFFIC: &[&str] = &[
    "flows",
    "bytes",
    "peers",
    "peers_exact",
    "first_seen",
    "last_seen",
];

/// What names a rule or a recommendation's rule.
const GROUP_RULE: &[&str] = &["group_id", "group_name", "direction"];

const INPUT: &[&str] = &[
    "files",
    "files_failed",
    "lines",
    "headers",
    "records",
    "flows",
    "nodata",
    "skipdata",
    "skipped",
    "bytes_read",
    "bytes_decompressed",
    "filtered",
];

/// The field sets documented in docs/json.md ("summarize -o json"). Only the
/// top level, `input`, `window` and the `rows` entries are pinned: entries of
/// `interfaces` are expected to gain fields (name, role, groups), so for them
/// only `interface_id` is required.
#[test]
fn summarize_json_fields_are_the_documented_ones() {
    let doc = json_of(&["summarize", "-o", "json", "sample-logs/retail-store"]);
    assert_eq!(
        keys(&doc),
        set(&[
            "version",
            "input",
            "overflow_records",
            "window",
            "rows",
            "interfaces"
        ])
    );
    assert_eq!(doc["version"], 1);
    assert_eq!(keys(&doc["input"]), set(INPUT));
    assert_eq!(
        keys(&doc["input"]["filtered"]),
        set(&["records", "nodata", "skipdata"])
    );
    assert_eq!(keys(&doc["window"]), set(&["start", "end"]));
    let rows = doc["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(
            keys(row),
            set_of(&[
                &[
                    "interface_id",
                    "direction",
                    "protocol",
                    "port",
                    "action",
                    "packets",
                    "kind"
                ],
                TRAFFIC
            ])
        );
    }
    let interfaces = doc["interfaces"].as_array().unwrap();
    assert!(!interfaces.is_empty());
    for i in interfaces {
        assert!(keys(i).contains("interface_id"), "{i}");
    }

    // `timeline` is there with --bucket only.
    let doc = json_of(&[
        "summarize",
        "-o",
        "json",
        "--bucket",
        "1h",
        "sample-logs/retail-store",
    ]);
    assert!(keys(&doc).contains("timeline"));
    assert_eq!(
        keys(&doc["timeline"]),
        set(&["bucket_seconds", "buckets", "untimed"])
    );
}

/// The field sets documented in docs/json.md ("recommend -o json").
#[test]
fn recommend_json_fields_are_the_documented_ones() {
    let doc = json_of(&["recommend", "-o", "json", "sample-logs/retail-store"]);
    assert_eq!(
        keys(&doc),
        set(&[
            "version",
            "window",
            "input",
            "rules",
            "recommendations",
            "findings",
            "safety",
        ])
    );
    assert_eq!(doc["version"], 1);
    assert_eq!(keys(&doc["input"]), set(INPUT));
    assert_eq!(keys(&doc["window"]), set(&["start", "end"]));
    // One of these names the rule's source or target.
    let source = set(&["cidr", "source_group_id", "prefix_list_id"]);
    let rules = doc["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    for rule in rules {
        let k = keys(rule);
        assert_eq!(k.intersection(&source).count(), 1, "{rule}");
        let rest: BTreeSet<&str> = k.difference(&source).copied().collect();
        assert_eq!(
            rest,
            set_of(&[
                GROUP_RULE,
                &[
                    "protocol",
                    "from_port",
                    "to_port",
                    "description",
                    "rule_id",
                    "status",
                    "hits",
                ]
            ])
        );
        assert_eq!(
            keys(&rule["hits"]),
            set_of(&[TRAFFIC, &["ports", "unattributed_flows"]])
        );
    }
    let recs = doc["recommendations"].as_array().unwrap();
    assert!(!recs.is_empty());
    for r in recs {
        assert_eq!(
            keys(r),
            set_of(&[
                GROUP_RULE,
                &[
                    "kind",
                    "rule",
                    "proposed",
                    "evidence",
                    "confidence",
                    "reason",
                    "headline",
                    "controls",
                ]
            ])
        );
        assert_eq!(
            keys(&r["evidence"]),
            set_of(&[
                TRAFFIC,
                &[
                    "top_peers",
                    "peer_groups",
                    "ports",
                    "window_start",
                    "window_end",
                    "interfaces",
                    "interfaces_logged",
                    "public_destinations",
                ]
            ])
        );
    }
    assert_eq!(
        keys(&doc["findings"]),
        set(&[
            "unexplained",
            "unexplained_flows",
            "unattributed",
            "unattributed_flows",
            "rejected_open",
            "unknown_interfaces",
            "unknown_direction_flows",
            "groups",
        ])
    );
    assert_eq!(
        keys(&doc["safety"]),
        set(&[
            "checked_flows",
            "checked_peers",
            "unattributed_flows",
            "withdrawn",
            "violations",
        ])
    );
}
