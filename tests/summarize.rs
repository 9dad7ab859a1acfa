//! `flowscope summarize` end to end: real samples, gzip variants, formats,
//! stdin, damaged input, direction, accounting and determinism.

use std::collections::HashMap;

use crate::util::*;

const HEADER: &str =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

fn summarize_json(args: &[&str]) -> (serde_json::Value, std::process::Output) {
    let mut a = vec!["summarize", "-o", "json"];
    a.extend_from_slice(args);
    let out = run(&a);
    (json(&out), out)
}

#[test]
fn real_sample_v2_without_header() {
    let (doc, out) = summarize_json(&["tests/data/real/V2_RECORDS.cwl-messages.log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let input = &doc["input"];
    assert_eq!(input["records"], 3);
    assert_eq!(input["nodata"], 1);
    assert_eq!(input["skipdata"], 1);
    assert_eq!(input["headers"], 0);
    assert_balanced(input);
    assert_eq!(sum_flows(&doc), 3);
    // Both records are about the service on 443, whichever side they were logged from.
    for r in doc["rows"].as_array().unwrap() {
        assert_eq!(r["port"], 443, "{r}");
    }
}

#[test]
fn real_sample_v3_alphabetical_header() {
    let (doc, out) = summarize_json(&["tests/data/real/V3_FILE.s3-with-header.log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(doc["input"]["headers"], 1);
    assert_eq!(doc["input"]["records"], 2);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    // tcp-flags 19 (SYN-ACK from 443) and 3 (SYN to 443): one service, port 443.
    assert_eq!(rows[0]["port"], 443);
    assert_eq!(rows[0]["bytes"], 6392 + 1698);
    assert_eq!(rows[0]["interface_id"], serde_json::Value::Null);
}

/// Every AWS documentation example (v2 to v11 formats, transcribed from
/// VRL's tests) parses with its format given as `--format`.
#[test]
fn real_samples_every_documented_format() {
    let cases: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/data/real/vrl-parse_aws_vpc_flow_log-cases.json"))
            .unwrap(),
    )
    .unwrap();
    for group in cases["must_parse_ok"].as_array().unwrap() {
        let lines: Vec<&str> = group["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let mut args = vec!["summarize", "-o", "json", "--strict"];
        let fmt;
        if let Some(f) = group["format"].as_str() {
            fmt = f.to_string();
            args.push("--format");
            args.push(&fmt);
        }
        args.push("-");
        let input = lines.join("\n") + "\n";
        let out = run_stdin(&args, input.as_bytes());
        assert!(
            out.status.success(),
            "format {:?}: {}",
            group["format"],
            stderr(&out)
        );
        let doc = json(&out);
        let acc = &doc["input"];
        assert_balanced(acc);
        assert_eq!(acc["lines"], lines.len() as u64);
        assert_eq!(
            acc["records"].as_u64().unwrap()
                + acc["nodata"].as_u64().unwrap()
                + acc["skipdata"].as_u64().unwrap(),
            lines.len() as u64
        );
        assert_eq!(sum_flows(&doc), acc["records"].as_u64().unwrap());
    }
}

#[test]
fn multi_member_gzip_reads_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let a = format!("{HEADER}2 1 eni-0a1 10.0.0.5 10.0.1.10 40001 8080 6 2 100 10 20 ACCEPT OK\n");
    let b = "2 1 eni-0a1 10.0.1.10 10.0.0.5 8080 40001 6 2 900 10 20 ACCEPT OK\n";
    let c = "2 1 eni-0a1 10.0.0.6 10.0.1.10 40002 8080 6 2 100 30 40 ACCEPT OK\n";
    let mut data = gz(a.as_bytes());
    data.extend(gz(b.as_bytes()));
    data.extend(gz(c.as_bytes()));
    let f = write(dir.path(), "multi.log.gz", &data);
    for j in ["1", "2"] {
        let (doc, out) = summarize_json(&["-j", j, &f]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(doc["input"]["records"], 3, "threads {j}");
        assert_eq!(doc["rows"][0]["bytes"], 1100);
        assert_eq!(doc["rows"][0]["direction"], "ingress");
        assert_eq!(doc["rows"][0]["port"], 8080);
    }
}

#[test]
fn truncated_gzip_is_reported_and_other_files_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(HEADER);
    for i in 0..5000 {
        text.push_str(&format!(
            "2 1 eni-0a1 10.0.0.5 10.0.1.10 {} 8080 6 2 100 10 20 ACCEPT OK\n",
            32768 + i
        ));
    }
    let data = gz(text.as_bytes());
    let bad = write(dir.path(), "a/bad.log.gz", &data[..data.len() * 2 / 3]);
    write(dir.path(), "b/good.log.gz", &data);
    let out = run(&["summarize", "-o", "json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&bad) && err.contains("compressed byte offset"),
        "{err}"
    );
    let doc = json(&out);
    assert_eq!(doc["input"]["files"], 2);
    assert_eq!(doc["input"]["files_failed"], 1);
    let records = doc["input"]["records"].as_u64().unwrap();
    assert!(
        records > 5000 && records < 10000,
        "records before the damage still count: {records}"
    );
    assert_balanced(&doc["input"]);
    assert_eq!(sum_flows(&doc), records);
}

#[test]
fn headerless_input_with_custom_format_on_stdin() {
    let fmt = "${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${bytes} ${action} ${tcp-flags}";
    let input = "eni-0b2 10.0.1.10 10.0.2.20 40000 5432 6 120 ACCEPT 2\n\
                 eni-0b2 10.0.2.20 10.0.1.10 5432 40000 6 900 ACCEPT 18\n";
    let out = run_stdin(
        &["summarize", "-o", "json", "--format", fmt, "-"],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{doc}");
    assert_eq!(rows[0]["port"], 5432);
    assert_eq!(rows[0]["flows"], 2);
}

#[test]
fn bad_lines_are_counted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}2 1 eni-0a1 10.0.0.5 10.0.1.10 40001 8080 6 2 100 10 20 ACCEPT OK\n\
         2 1 eni-0a1 10.0.0.500 10.0.1.10 40001 8080 6 2 100 10 20 ACCEPT OK\n\
         2 1 eni-0a1 10.0.0.5 10.0.1.10 40001 8080 6 2 100 10 20 ACCEPT\n\
         \n\
         2 1 eni-0a1 10.0.0.5 10.0.1.10 40001 99999 6 2 100 10 20 ACCEPT OK\r\n"
    );
    let f = write(dir.path(), "x.log", text.as_bytes());
    let (doc, out) = summarize_json(&[&f]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "malformed lines alone are not a failure"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{f}:3: skipped (bad_address): field 'srcaddr' = \"10.0.0.500\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:4: skipped (field_count)")),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:6: skipped (bad_port)")), "{err}");
    let skipped = &doc["input"]["skipped"];
    assert_eq!(skipped["bad_address"], 1);
    assert_eq!(skipped["field_count"], 1);
    assert_eq!(skipped["empty_line"], 1);
    assert_eq!(skipped["bad_port"], 1);
    assert_eq!(doc["input"]["records"], 1);
    assert_balanced(&doc["input"]);

    let strict = run(&["summarize", "--strict", &f]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stdout(&strict).is_empty(),
        "no report under --strict failure"
    );
}

#[test]
fn response_records_never_become_egress_to_ephemeral_ports() {
    // The task (10.0.1.10) answers the ALB from 8080 to ephemeral ports;
    // the ALB's interface sees the same connection as egress to 8080.
    let text = format!(
        "{HEADER}\
2 1 eni-0task 10.0.0.5 10.0.1.10 49152 8080 6 3 300 100 110 ACCEPT OK
2 1 eni-0task 10.0.1.10 10.0.0.5 8080 49152 6 3 3000 100 110 ACCEPT OK
2 1 eni-0task 10.0.0.6 10.0.1.10 61000 8080 6 3 300 100 110 ACCEPT OK
2 1 eni-0task 10.0.1.10 10.0.0.6 8080 61000 6 3 3000 100 110 ACCEPT OK
2 1 eni-0a1b 10.0.0.5 10.0.1.10 49152 8080 6 3 300 100 110 ACCEPT OK
2 1 eni-0a1b 10.0.1.10 10.0.0.5 8080 49152 6 3 3000 100 110 ACCEPT OK
2 1 eni-0a1b 198.51.100.7 10.0.0.5 50000 443 6 3 300 100 110 ACCEPT OK
2 1 eni-0a1b 10.0.0.5 198.51.100.7 443 50000 6 3 3000 100 110 ACCEPT OK
"
    );
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    let doc = json(&out);
    let rows: Vec<(String, String, u64, u64)> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["interface_id"].as_str().unwrap().to_string(),
                r["direction"].as_str().unwrap().to_string(),
                r["port"].as_u64().unwrap(),
                r["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("eni-0a1b".into(), "ingress".into(), 443, 2),
            ("eni-0a1b".into(), "egress".into(), 8080, 2),
            ("eni-0task".into(), "ingress".into(), 8080, 4),
        ]
    );
}

#[test]
fn same_result_at_any_thread_count_and_file_order() {
    // Six files on three interfaces (file f on eni-0{f % 3}), the later
    // files holding the earlier times: rows, peers and first/last seen
    // come from several files, so a merge that kept one file's values
    // instead of combining them would change with the order or the split.
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for f in 0..6 {
        let mut text = String::from(HEADER);
        for i in 0..400 {
            let peer = (f * 7 + i) % 250;
            let start = 1000 + (5 - f) * 500 + i;
            text.push_str(&format!(
                "2 1 eni-0{:x} 10.0.{}.{} 10.0.9.9 {} 443 6 2 {} {} {} ACCEPT OK\n",
                f % 3,
                f,
                peer,
                33000 + i,
                100 + i,
                start,
                start + 10
            ));
        }
        files.push(write(
            dir.path(),
            &format!("f{f}.log.gz"),
            &gz(text.as_bytes()),
        ));
    }
    let summarize = |j: &str, order: &[usize]| {
        let mut args = vec!["summarize", "-o", "json", "-j", j];
        args.extend(order.iter().map(|&i| files[i].as_str()));
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let base = summarize("1", &[0, 1, 2, 3, 4, 5]);
    for j in ["1", "2", "4"] {
        for order in [[5, 4, 3, 2, 1, 0], [3, 0, 4, 1, 5, 2]] {
            assert_eq!(base, summarize(j, &order), "threads {j}, files {order:?}");
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&base).unwrap();
    assert_eq!(sum_flows(&doc), 2400);
    // eni-00 is in f0 (times 3500..3909) and f3 (2000..2409).
    let eni0 = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["interface_id"] == "eni-00" && r["port"] == 443)
        .expect("a row of eni-00");
    assert_eq!(
        (&eni0["first_seen"], &eni0["last_seen"]),
        (&2000.into(), &3909.into()),
        "{eni0}"
    );
}

#[test]
fn not_gzip_named_gz_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "plain.log.gz",
        format!("{HEADER}2 1 eni-0a1 10.0.0.5 10.0.1.10 40001 8080 6 2 100 10 20 ACCEPT OK\n")
            .as_bytes(),
    );
    write(dir.path(), "empty.log", b"");
    write(dir.path(), "security-groups.json", b"{}");
    let (doc, out) = summarize_json(&[dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        doc["input"]["files"], 2,
        "the .json beside the logs is not read"
    );
    assert_eq!(doc["input"]["records"], 1);
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["summarize", "does-not-exist.log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist.log"));
    let out = run(&["summarize", "--format", "version SRC", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["summarize", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no flow-log files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn csv_and_table_outputs() {
    let out = run(&[
        "summarize",
        "-o",
        "csv",
        "tests/data/real/V2_RECORDS.cwl-messages.log",
    ]);
    let text = stdout(&out);
    assert!(
        text.starts_with("interface_id,direction,protocol,port,action,flows,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3);
    let out = run(&["summarize", "tests/data/real/V2_RECORDS.cwl-messages.log"]);
    let text = stdout(&out);
    assert!(
        text.contains("INTERFACE") && text.contains("Input: 1 file "),
        "{text}"
    );
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.json");
    let out = run(&[
        "summarize",
        "-o",
        "json",
        "--output-file",
        target.to_str().unwrap(),
        "tests/data/real/V2_RECORDS.cwl-messages.log",
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(doc["input"]["records"], 3);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn bucket_timeline_counts_data_records_per_interval() {
    // 2025-11-20T10:00:00Z, a multiple of 300.
    const T0: u64 = 1763632800;
    let rec = |start: u64, bytes: u64| {
        format!(
            "2 123456789012 eni-0a1b2c3d4e5f60710 10.0.1.10 10.0.2.20 40000 443 6 2 {bytes} {start} {} ACCEPT OK\n",
            start + 5
        )
    };
    let mut text = String::from(HEADER);
    // Bucket T0: 3 records (the last one second before the boundary).
    for (s, b) in [(T0 + 10, 100), (T0 + 20, 200), (T0 + 299, 300)] {
        text.push_str(&rec(s, b));
    }
    // Bucket T0+300: 1 record, on the boundary.
    text.push_str(&rec(T0 + 300, 1000));
    // NODATA in an otherwise empty bucket: not a flow, no bucket.
    text.push_str(&format!(
        "2 123456789012 eni-0a1b2c3d4e5f60710 - - - - - - - {} {} - NODATA\n",
        T0 + 600,
        T0 + 660
    ));
    // Bucket T0+1200 after two empty ones: 2 records.
    text.push_str(&rec(T0 + 1200, 5));
    text.push_str(&rec(T0 + 1499, 7));
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.log", text.as_bytes());

    let (doc, out) = summarize_json(&["--bucket", "5m", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 6);
    assert_eq!(
        doc["timeline"],
        serde_json::json!({
            "bucket_seconds": 300,
            "buckets": [
                {"start": T0, "flows": 3, "packets": 6, "bytes": 600},
                {"start": T0 + 300, "flows": 1, "packets": 2, "bytes": 1000},
                {"start": T0 + 1200, "flows": 2, "packets": 4, "bytes": 12},
            ],
            "untimed": 0
        })
    );
    // Without --bucket there is no timeline key at all.
    let (doc, _) = summarize_json(&[&path]);
    assert!(doc.get("timeline").is_none(), "{doc:#}");

    // Table: the per-bucket table and sparklines after the traffic table;
    // empty buckets show as rows of zeros and as blanks in the sparkline.
    let out = run(&["summarize", "--bucket", "5m", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let tl = text.find("timeline: 5m buckets").expect(&text);
    assert!(tl > text.find("Input: 1 file ").unwrap(), "{text}");
    assert!(
        text.contains("from 2025-11-20T10:00:00Z to 2025-11-20T10:25:00Z (2 of them empty)"),
        "{text}"
    );
    assert!(
        text.contains("flows  █▃  ▆  peak 3 at 2025-11-20T10:00:00Z"),
        "{text}"
    );

    // CSV: unchanged rows, a note on stderr.
    let out = run(&["summarize", "-o", "csv", "--bucket", "5m", &path]);
    assert!(out.status.success());
    assert!(!stdout(&out).contains("timeline"));
    assert!(stderr(&out).contains("no timeline"), "{}", stderr(&out));

    // Bad durations are usage errors.
    for bad in ["0", "5x"] {
        let out = run(&["summarize", "--bucket", bad, &path]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

#[test]
fn simd_and_baseline_code_agree() {
    // On a CPU with AVX2 the engine runs a copy of the parser and the
    // aggregator compiled for it; FLOWSCOPE_NO_SIMD forces the baseline
    // copy. Both must give the same bytes (and the same bad-line report).
    for args in [
        vec!["sample-logs/retail-store"],
        vec!["sample-logs/incident"],
        vec!["tests/data/real"],
        vec!["-j", "1", "sample-logs"],
    ] {
        let mut a = vec!["summarize", "-o", "json"];
        a.extend_from_slice(&args);
        let simd = run(&a);
        let base = std::process::Command::new(bin())
            .args(&a)
            .current_dir(repo())
            .env("FLOWSCOPE_NO_SIMD", "1")
            .output()
            .expect("run flowscope");
        assert_eq!(simd.status.code(), base.status.code(), "{args:?}");
        assert!(!stdout(&simd).is_empty(), "{args:?}");
        assert_eq!(stdout(&simd), stdout(&base), "{args:?}");
        assert_eq!(stderr(&simd), stderr(&base), "{args:?}");
    }
}

#[test]
fn learned_addresses_are_exact_and_independent_of_threads() {
    // One large gzip file without `--interfaces` and without
    // flow-direction: chunks go to whichever worker is free, so anything
    // a worker decided from the chunks it happened to get would change
    // the output from run to run (it did, before addresses were learned
    // at the end from exact counts).
    let dir = tempfile::tempdir().unwrap();
    flowscope::generate::run(&flowscope::generate::GenerateOptions {
        records: 300_000,
        single_file: true,
        format: flowscope::generate::FormatArg::V2,
        ..flowscope::generate::GenerateOptions::new(dir.path())
    })
    .unwrap();
    let logs = dir.path().join("AWSLogs");
    let logs = logs.to_str().unwrap();
    let base = run(&["summarize", "-o", "json", "-j", "1", logs]);
    assert!(base.status.success(), "{}", stderr(&base));
    for j in ["2", "2", "2", "3"] {
        let other = run(&["summarize", "-o", "json", "-j", j, logs]);
        assert_eq!(stdout(&base), stdout(&other), "threads {j}");
    }
    // Every interface with data records learned exactly the addresses the
    // inventory gives it, dual-stack ones included.
    let inv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("network-interfaces.json")).unwrap(),
    )
    .unwrap();
    let mut truth: HashMap<String, Vec<String>> = HashMap::new();
    for n in inv["NetworkInterfaces"].as_array().unwrap() {
        let mut a: Vec<String> = n["PrivateIpAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["PrivateIpAddress"].as_str().unwrap().to_string())
            .chain(
                n["Ipv6Addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p["Ipv6Address"].as_str().unwrap().to_string()),
            )
            .collect();
        a.sort();
        truth.insert(n["NetworkInterfaceId"].as_str().unwrap().to_string(), a);
    }
    let doc = json(&base);
    let mut dual = 0;
    for i in doc["interfaces"].as_array().unwrap() {
        if i["records"].as_u64().unwrap() == 0 {
            continue;
        }
        let id = i["interface_id"].as_str().unwrap();
        let mut got: Vec<String> = i["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(i["address_source"], "learned", "{id}");
        assert_eq!(Some(&got), truth.get(id), "{id}");
        dual += usize::from(got.iter().any(|a| a.contains(':')) && got.len() > 1);
    }
    assert!(dual > 0, "the scenario has dual-stack interfaces");
}

/// The JSON says what the table's ROLE column says: each interface's kind
/// and groups from the inventory (null without one).
#[test]
fn json_interfaces_carry_role_and_groups_from_the_inventory() {
    let (doc, out) = summarize_json(&["sample-logs/retail-store"]);
    assert!(out.status.success());
    let alb = doc["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interface_id"] == "eni-0d34fec587304ff3d")
        .expect("the ALB interface");
    assert_eq!(alb["role"], "alb");
    assert_eq!(alb["groups"][0]["group_id"], "sg-07bd3821f6e3e3f19");
    assert_eq!(alb["groups"][0]["group_name"], "retail-store-alb");
    let logs = repo().join("sample-logs/retail-store/AWSLogs");
    let (doc, _) = summarize_json(&[logs.to_str().unwrap()]);
    let first = &doc["interfaces"][0];
    assert!(
        first["role"].is_null() && first["groups"].is_null(),
        "{first}"
    );
}
