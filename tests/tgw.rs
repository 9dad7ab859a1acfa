//! Transit Gateway flow logs (issue 21): the default format with and
//! without its header, custom formats, the attachment rows of
//! `summarize`, `query`/`top`/`scans`, `recommend` leaving them out, and
//! errors naming file and line. Data: tests/data/tgw (SOURCES.md).

use crate::util::*;

const DIR: &str = "tests/data/tgw";

fn data(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn summarize_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["summarize", "-o", "json"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(out.status.success(), "{:?}: {}", args, stderr(&out));
    json(&out)
}

/// The rows and interfaces: what must not depend on the form the records
/// came in (the input accounting does: header lines, bytes).
fn aggregate(doc: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (doc["rows"].clone(), doc["interfaces"].clone())
}

#[test]
fn the_default_format_is_read_with_or_without_its_header_to_the_same_rows() {
    let with = summarize_json(&[&data("constructed/tgw-default.s3-with-header.log")]);
    let gz = summarize_json(&[&data("constructed/tgw-default.s3-with-header.log.gz")]);
    let without = summarize_json(&[&data("constructed/tgw-default.headerless.log")]);
    for doc in [&with, &gz, &without] {
        assert_eq!(doc["input"]["records"], 5);
        assert_eq!(doc["input"]["skipped"], serde_json::json!({}));
        assert_balanced(&doc["input"]);
        assert_eq!(sum_flows(doc), 5);
    }
    assert_eq!(with["input"]["headers"], 1);
    assert_eq!(without["input"]["headers"], 0);
    assert_eq!(aggregate(&with), aggregate(&without));
    assert_eq!(aggregate(&with), aggregate(&gz));
}

/// Read as VPC records (as they once were), every record sat on interface
/// `-` with action `-`: each row must be an attachment's.
#[test]
fn records_are_their_attachments_not_vpc_records_on_interface_dash() {
    let doc = summarize_json(&[&data("constructed/tgw-default.s3-with-header.log")]);
    let rows = doc["rows"].as_array().unwrap();
    let key = |r: &serde_json::Value| {
        (
            r["interface_id"].as_str().unwrap().to_string(),
            r["direction"].as_str().unwrap().to_string(),
            r["port"].as_u64().unwrap(),
            r["action"].as_str().map(str::to_string),
            r["flows"].as_u64().unwrap(),
        )
    };
    let mut got: Vec<_> = rows.iter().map(key).collect();
    got.sort();
    let a = "tgw-attach-0aaaaaaaaaaaaaaa1".to_string();
    let b = "tgw-attach-0bbbbbbbbbbbbbbb2".to_string();
    // The attachment stands for the VPC behind it: A's clients call out
    // (egress) to B's server, which B receives (ingress); the record that
    // lost its packets (no route) is a drop.
    assert_eq!(
        got,
        vec![
            (a.clone(), "egress".into(), 22, Some("DROP".into()), 1),
            (a.clone(), "egress".into(), 443, None, 2),
            (b.clone(), "ingress".into(), 443, None, 2),
        ]
    );
    for r in rows {
        assert_eq!(r["kind"], "tgw-attachment");
        assert_eq!(r["vpcs"].as_array().unwrap().len(), 1, "{r}");
    }
    let ifaces = doc["interfaces"].as_array().unwrap();
    assert_eq!(ifaces.len(), 2);
    let ia = ifaces
        .iter()
        .find(|i| i["interface_id"] == a.as_str())
        .unwrap();
    assert_eq!(ia["kind"], "tgw-attachment");
    assert_eq!(
        ia["tgw"]["vpcs"],
        serde_json::json!(["vpc-0aaaaaaaaaaaaaaa1"])
    );
    assert_eq!(
        ia["tgw"]["subnets"],
        serde_json::json!(["subnet-0aaaaaaaaaaaaaaa1"])
    );
    assert_eq!(
        ia["tgw"]["peer_vpcs"],
        serde_json::json!(["vpc-0bbbbbbbbbbbbbbb2"])
    );
    assert_eq!(ia["tgw"]["packets_lost"]["no_route"], 3);
    // The addresses learned are the VPC's own side.
    assert_eq!(ia["addresses"], serde_json::json!(["10.1.0.10"]));

    let table = stdout(&run(&[
        "summarize",
        &data("constructed/tgw-default.headerless.log"),
    ]));
    assert!(
        table.contains("tgw attachment: vpc-0aaaaaaaaaaaaaaa1"),
        "{table}"
    );
    assert!(
        table.contains("Transit Gateway: 5 flows on 2 attachments"),
        "{table}"
    );
    let csv = stdout(&run(&[
        "summarize",
        "-o",
        "csv",
        &data("constructed/tgw-default.headerless.log"),
    ]));
    assert!(csv.lines().next().unwrap().ends_with(",kind,vpcs"), "{csv}");
    assert!(
        csv.contains(",DROP,1,3,180,") && csv.contains(",tgw-attachment,vpc-0aaaaaaaaaaaaaaa1"),
        "{csv}"
    );
}

/// The format AWS documents, given as `--format` (its `${...}` LogFormat
/// string), reads the headerless records as the header does.
#[test]
fn the_documented_log_format_as_format_reads_the_headerless_file() {
    let spec = std::fs::read_to_string(
        repo()
            .join(DIR)
            .join("aws-docs/default-format.log-format.txt"),
    )
    .unwrap();
    let typed = summarize_json(&[
        "--format",
        spec.trim(),
        &data("constructed/tgw-default.headerless.log"),
    ]);
    let header = summarize_json(&[&data("constructed/tgw-default.s3-with-header.log")]);
    assert_eq!(aggregate(&typed), aggregate(&header));
}

/// OpenTelemetry's test file: a custom order (31 fields), no trailing
/// newline; and the same record headerless under `--format`.
#[test]
fn a_custom_format_is_read_from_its_header_or_from_format() {
    let file = data("otel-contrib/valid_tgw_flow_log.22323b81.log");
    let doc = summarize_json(&[&file]);
    assert_eq!(doc["input"]["records"], 1);
    let row = &doc["rows"][0];
    assert_eq!(row["interface_id"], "tgw-attach-0abc12345def67890");
    assert_eq!(row["kind"], "tgw-attachment");
    assert_eq!(
        (row["port"].as_u64(), row["bytes"].as_u64()),
        (Some(443), Some(1000))
    );
    // packets-lost-* are 1 2 3 4 there.
    assert_eq!(row["action"], "DROP");
    let lost = &doc["interfaces"][0]["tgw"]["packets_lost"];
    assert_eq!(
        (
            &lost["no_route"],
            &lost["blackhole"],
            &lost["mtu_exceeded"],
            &lost["ttl_expired"]
        ),
        (&1.into(), &2.into(), &3.into(), &4.into())
    );

    let text = std::fs::read_to_string(repo().join(&file)).unwrap();
    let (header, record) = text.split_once('\n').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let headerless = write(dir.path(), "custom.log", record.as_bytes());
    let typed = summarize_json(&["--format", header, &headerless]);
    assert_eq!(aggregate(&typed), aggregate(&doc));

    // flowlogs-reader's file: a header starting `resource-type`, odd ids.
    let doc = summarize_json(&[&data(
        "flowlogs-reader-transcribed/V6_FILE.s3-with-header.log",
    )]);
    assert_eq!(doc["input"]["records"], 1);
    assert_eq!(doc["rows"][0]["interface_id"], "00000001");
    assert_eq!(doc["rows"][0]["kind"], "tgw-attachment");
}

#[test]
fn a_scan_across_vpcs_through_the_gateway_is_found() {
    let file = data("constructed/tgw-scan.s3-with-header.log");
    let out = run(&["scans", "-o", "json", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(f["source"], "10.1.0.99");
    // 12 addresses in VPC B (each logged on both attachments: one
    // attempt) and 12 without a route (dropped by the gateway).
    assert_eq!(f["distinct_targets"], 24);
    assert_eq!(f["ports"], serde_json::json!([22]));
    assert_eq!(
        (f["attempts"].as_u64(), f["rejected"].as_u64()),
        (Some(24), Some(12))
    );
    assert!(
        stderr(&out).contains("Transit Gateway attachments: they carry no ACCEPT/REJECT"),
        "{}",
        stderr(&out)
    );

    // `top` by attachment; `query` by attachment and by drop.
    let top = json(&run(&["top", "--by", "eni", "-o", "json", &file]));
    let rows = top["rows"].as_array().unwrap();
    let flows: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["interface_id"].as_str().unwrap(),
                r["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flows,
        vec![
            ("tgw-attach-0aaaaaaaaaaaaaaa1", 27),
            ("tgw-attach-0bbbbbbbbbbbbbbb2", 14)
        ]
    );
    let q = stdout(&run(&[
        "query",
        "--eni",
        "tgw-attach-0bbbbbbbbbbbbbbb2",
        "--dst",
        "10.2.0.0/24",
        &file,
    ]));
    assert_eq!(q.lines().count(), 13, "{q}");
    assert!(q
        .lines()
        .all(|l| l.contains(" tgw-attach-0bbbbbbbbbbbbbbb2 ")));
    let drops = stdout(&run(&["query", "--action", "REJECT", &file]));
    assert_eq!(drops.lines().count(), 13, "{drops}");
}

/// The records of `file` (header first) whose `src` or `dst` column is
/// `value`, counted from the text alone.
fn records_naming(file: &str, src: &str, dst: &str, value: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (s, d) = (col(src), col(dst));
    lines
        .filter(|l| {
            let t: Vec<&str> = l.split(' ').collect();
            t[s] == value || t[d] == value
        })
        .map(String::from)
        .collect()
}

#[test]
fn vpc_and_subnet_filters_match_either_side_of_a_gateway_record() {
    let file = data("constructed/tgw-scan.s3-with-header.log");
    for (flag, src, dst, values) in [
        (
            "--vpc",
            "tgw-src-vpc-id",
            "tgw-dst-vpc-id",
            ["vpc-0aaaaaaaaaaaaaaa1", "vpc-0bbbbbbbbbbbbbbb2"],
        ),
        (
            "--subnet",
            "tgw-src-subnet-id",
            "tgw-dst-subnet-id",
            ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
        ),
    ] {
        for value in values {
            let expected = records_naming(&file, src, dst, value);
            // Both sides count: B is the source of only a few records.
            assert!(!expected.is_empty());
            let out = run(&["query", flag, value, &file]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(!stderr(&out).contains("match nothing"), "{}", stderr(&out));
            let mut got: Vec<String> = stdout(&out).lines().map(String::from).collect();
            let mut expected = expected;
            assert_eq!(got.len(), expected.len(), "{flag} {value}");
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{flag} {value}");
        }
        let out = run(&["query", flag, "nowhere", &file]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "", "{flag}");
    }
}

#[test]
fn recommend_leaves_attachments_out_with_a_note() {
    const SAMPLE: &str = "sample-logs/retail-store";
    let alone = run(&["recommend", "-o", "json", SAMPLE]);
    let with = run(&[
        "recommend",
        "-o",
        "json",
        SAMPLE,
        &data("constructed/tgw-default.headerless.log"),
    ]);
    assert!(with.status.success(), "{}", stderr(&with));
    assert!(
        stderr(&with).contains("3 rows of Transit Gateway attachments (5 flows) ignored"),
        "{}",
        stderr(&with)
    );
    let (a, w) = (json(&alone), json(&with));
    assert_eq!(a["recommendations"], w["recommendations"]);
}

/// Errors name the file and the line: a bad drop counter, and a VPC
/// record in a file the first line of which made it a TGW one.
#[test]
fn bad_lines_are_named_by_file_and_line() {
    let text = std::fs::read_to_string(
        repo()
            .join(DIR)
            .join("constructed/tgw-default.headerless.log"),
    )
    .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replace(" IPv4 0 0 0 0 ", " IPv4 0 x 0 0 ");
    lines.insert(
        3,
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK".into(),
    );
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "mixed.log",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let out = run(&["summarize", "-o", "json", &f]);
    let doc = json(&out);
    assert_eq!(doc["input"]["records"], 4);
    assert_eq!(doc["input"]["skipped"]["bad_number"], 1);
    assert_eq!(doc["input"]["skipped"]["field_count"], 1);
    assert_balanced(&doc["input"]);
    let err = stderr(&out);
    assert!(err.contains(&format!("{f}:3")), "{err}");
    assert!(err.contains(&format!("{f}:4")), "{err}");
    assert!(err.contains("packets-lost-blackhole"), "{err}");
}
