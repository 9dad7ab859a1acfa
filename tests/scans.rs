//! `flowscope scans` end to end on the incident (`incident.rs`).

use std::collections::BTreeSet;

use crate::incident::*;
use crate::util::*;

#[test]
fn scans_finds_exactly_the_scanner_and_the_sweeper() {
    let inc = incident();
    let mut docs = Vec::new();
    for j in ["1", "2"] {
        let out = ok(&inc, &["scans", "-o", "json", "-j", j]);
        docs.push(json(&out));
    }
    assert_eq!(docs[0], docs[1], "same findings at any thread count");
    let f = docs[0]["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{:#}", docs[0]);

    let s = &f[0];
    assert_eq!(s["source"], "203.0.113.66");
    assert_eq!(s["distinct_ports"], 211);
    assert_eq!(s["distinct_targets"], 2);
    assert_eq!(s["targets"], serde_json::json!(["10.0.1.10", "10.0.1.11"]));
    assert_eq!(s["ports"].as_array().unwrap().len(), 211);
    assert_eq!(s["ports"][0], 1);
    assert_eq!(s["ports"][210], 443);
    assert_eq!(s["attempts"], 422);
    assert_eq!(s["accepted"], 1);
    assert_eq!(s["rejected"], 421);
    assert_eq!(s["unconfirmed"], 0);
    assert_eq!(s["accepted_ports"], serde_json::json!([443]));
    assert_eq!(s["accepted_targets"], serde_json::json!(["10.0.1.10"]));
    assert_eq!(
        s["accepted_pairs"],
        serde_json::json!([{"target": "10.0.1.10", "port": 443}])
    );
    assert_eq!(s["first_seen"], T0 + 240);
    assert_eq!(s["last_seen"], T0 + 240 + 421 * 120 / 422 + 1);
    assert_eq!(s["ports_capped"], false);

    let w = &f[1];
    assert_eq!(w["source"], "10.0.3.7");
    assert_eq!(w["distinct_targets"], 30);
    assert_eq!(w["distinct_ports"], 2);
    assert_eq!(w["ports"], serde_json::json!([22, 3389]));
    // The sweep is logged on the sweeper's interface only (egress): its two
    // ACCEPTs only say its own group let them out, nothing shows 10.0.2.5
    // or 10.0.2.9 answering, so they are unconfirmed, not accepted.
    assert_eq!(w["attempts"], 60);
    assert_eq!(w["accepted"], 0);
    assert_eq!(w["rejected"], 58);
    assert_eq!(w["unconfirmed"], 2);
    assert_eq!(
        (w["accept_records"].as_u64(), w["reject_records"].as_u64()),
        (Some(2), Some(58))
    );
    assert_eq!(w["accepted_ports"], serde_json::json!([]));
    assert_eq!(w["accepted_targets"], serde_json::json!([]));

    // Thresholds: the sweep needs 10 targets; asking for 31 drops it.
    let out = ok(&inc, &["scans", "-o", "json", "--min-targets", "31"]);
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 1);
    // Without the reject requirement the ALB's fan-out to 12 tasks shows,
    // but still not the tasks answering from 8080 nor the ALB answering clients.
    let out = ok(&inc, &["scans", "-o", "json", "--min-reject-pct", "0"]);
    let sources: Vec<String> = json(&out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap().to_string())
        .collect();
    // Findings with an accepted attempt come first.
    assert_eq!(sources, vec!["203.0.113.66", "10.0.0.5", "10.0.3.7"]);
}

/// The generated incident in sample-logs/incident against its manifest:
/// flow logs on both ends, so the sweep's source-side records are ACCEPT
/// (its group allows all egress) while the targets' ingress records are
/// REJECT; only attempt-level outcomes show it.
#[test]
fn scans_on_the_sample_incident_match_the_manifest() {
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("sample-logs/incident/manifest.json")).unwrap(),
    )
    .unwrap();
    let scan = &m["incidents"]["port_scan"];
    let lat = &m["incidents"]["lateral_movement"];
    let out = run(&["scans", "-o", "json", "sample-logs/incident"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    let f = doc["findings"].as_array().unwrap();
    // Exactly the scanner and the sweep: nothing benign.
    let sources: Vec<&str> = f.iter().map(|x| x["source"].as_str().unwrap()).collect();
    assert_eq!(sources, vec!["203.0.113.66", "10.0.10.73"], "{doc:#}");

    let s = &f[0];
    assert_eq!(s["source"], scan["scanner_ip"]);
    assert_eq!(s["distinct_ports"], scan["distinct_ports"]);
    assert_eq!(s["ports"], scan["ports_tried"]);
    let scan_targets: BTreeSet<String> = scan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["private_ip"].as_str().unwrap().to_string())
        .collect();
    let got: BTreeSet<String> = s["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, scan_targets);
    assert_eq!(s["distinct_targets"], 2);
    assert_eq!(s["accepted_ports"], scan["accepted_ports"]);
    assert_eq!(s["accepted_targets"].as_array().unwrap().len(), 2);
    assert_eq!(s["rejected"], scan["reject_records"]);
    // 440 attempts (220 ports x 2 targets): 443 accepted on both.
    assert_eq!(s["attempts"], 440);
    assert_eq!(s["accepted"], 2);
    assert_eq!(s["first_seen"], scan["first_start"]);
    assert_eq!(s["last_seen"], scan["last_end"]);

    let w = &f[1];
    assert_eq!(w["source"], lat["source_ip"]);
    assert_eq!(w["ports"], lat["ports"]);
    assert_eq!(w["ports"], serde_json::json!([22, 3389]));
    assert_eq!(w["distinct_targets"], lat["distinct_targets"]);
    let lat_targets: BTreeSet<String> = lat["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ip"].as_str().unwrap().to_string())
        .collect();
    let got: BTreeSet<String> = w["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, lat_targets);
    assert_eq!(w["attempts"], lat["attempts"]);
    assert_eq!(w["rejected"], lat["target_side_reject_records"]);
    assert_eq!(w["accepted"], lat["accepted_attempts"]);
    // Targets without an interface (or flow logs): only seen leaving.
    assert_eq!(w["unconfirmed"], 34);
    assert_eq!(w["accepted_pairs"], serde_json::json!([]));
    assert_eq!(w["first_seen"], lat["first_start"]);
    assert_eq!(w["last_seen"], lat["last_end"]);
}

#[test]
fn scans_table_and_csv() {
    let inc = incident();
    let out = ok(&inc, &["scans"]);
    let text = stdout(&out);
    assert!(
        text.contains("203.0.113.66: tried ports 1-210,443 on 10.0.1.10, 10.0.1.11"),
        "{text}"
    );
    assert!(text.contains("ACCEPTED: ports 443 on 10.0.1.10"), "{text}");
    assert!(text.contains("10.0.1.10:443"), "{text}");
    assert!(text.contains("2 findings"), "{text}");
    let out = ok(&inc, &["scans", "-o", "csv"]);
    let csv = stdout(&out);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("source,first_seen,last_seen,distinct_ports"));
    assert!(rows[2].starts_with("10.0.3.7,"), "{csv}");
}

#[test]
fn scans_cell_cap_is_reported() {
    let inc = incident();
    let out = ok(&inc, &["scans", "-o", "json", "--max-cells", "50"]);
    assert!(
        stderr(&out).contains("(source, window) cells"),
        "{}",
        stderr(&out)
    );
    // And in the JSON, not only on stderr.
    let doc = json(&out);
    assert!(
        doc["cells_pruned"] == true || doc["records_ignored"].as_u64().unwrap() > 0,
        "{doc:#}"
    );
    let text = stdout(&ok(&inc, &["scans", "--max-cells", "50"]));
    assert!(
        text.contains("Approximate: the --max-cells cap (50) was reached"),
        "{text}"
    );
    let doc = json(&ok(&inc, &["scans", "-o", "json"]));
    assert_eq!(doc["cells_pruned"], false);
    assert_eq!(doc["records_ignored"], 0);
}

/// `scans -o json` field sets, pinned (docs/json.md).
#[test]
fn scans_json_shape_is_pinned() {
    let inc = incident();
    let doc = json(&ok(&inc, &["scans", "-o", "json"]));
    let keys: BTreeSet<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "version",
            "window_seconds",
            "min_ports",
            "min_targets",
            "min_reject_pct",
            "max_cells",
            "cells_pruned",
            "records_ignored",
            "findings"
        ]
        .into()
    );
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["window_seconds"], 300);
    let finding: BTreeSet<&str> = [
        "source",
        "first_seen",
        "last_seen",
        "distinct_ports",
        "distinct_targets",
        "ports",
        "targets",
        "ports_capped",
        "targets_capped",
        "attempts",
        "attempts_capped",
        "accepted",
        "rejected",
        "unconfirmed",
        "routine_attempts",
        "accept_records",
        "reject_records",
        "accepted_ports",
        "accepted_targets",
        "accepted_pairs",
    ]
    .into();
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    for x in f {
        let got: BTreeSet<&str> = x.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(got, finding);
    }
    let pair: BTreeSet<&str> = f[0]["accepted_pairs"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(pair, ["target", "port"].into());
}
