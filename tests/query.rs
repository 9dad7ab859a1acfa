//! `flowscope query` end to end on the incident (`incident.rs`).

use std::collections::BTreeSet;

use crate::incident::*;
use crate::util::*;

#[test]
fn query_filters_return_exactly_the_expected_lines() {
    let inc = incident();
    let q = |args: &[&str]| {
        let mut a = vec!["query"];
        a.extend_from_slice(args);
        line_set(&ok(&inc, &a))
    };
    assert_eq!(
        q(&["--addr", "198.51.100.0/24"]),
        set(inc.exfil.iter().chain(&inc.exfil_responses))
    );
    assert_eq!(
        q(&["--src", "10.0.3.7", "--dport", "3389", "--action", "reject"]),
        set(inc.sweep.iter().filter(|l| l.contains(" 3389 ")))
    );
    assert_eq!(q(&["--port", "8000-8100"]), set(&inc.alb_tasks));
    assert_eq!(
        q(&[
            "--addr",
            "10.0.1.10",
            "--since",
            "2025-11-20T10:22:00Z",
            "--until",
            "2025-11-20T10:22:59Z"
        ]),
        set([&inc.exfil[2], &inc.exfil_responses[2]])
    );
    let since = (T0 + 1320).to_string();
    assert_eq!(
        q(&[
            "--addr",
            "10.0.1.10",
            "--since",
            &since,
            "--until",
            "2025-11-20T12:22:59+02:00"
        ]),
        set([&inc.exfil[2], &inc.exfil_responses[2]])
    );
    assert_eq!(q(&["--eni", ENI_SWEEPER]), set(&inc.sweep));
    assert_eq!(
        q(&["--eni", ENI_SWEEPER, "--include-nodata"]),
        set(inc.sweep.iter().chain(&inc.nodata_sweeper))
    );
    // NODATA never matches an address filter.
    assert_eq!(
        q(&["--include-nodata", "--src", "10.0.3.7"]),
        set(&inc.sweep)
    );
    assert_eq!(
        q(&[
            "--src",
            "203.0.113.66",
            "--protocol",
            "tcp",
            "--dport",
            "443",
            "--dport",
            "1-2"
        ]),
        set(inc.scanner.iter().filter(|l| l.contains(" 61000 443 ")
            || l.contains(" 61000 1 ")
            || l.contains(" 61000 2 ")))
    );
    assert!(q(&["--protocol", "udp"]).is_empty());
}

#[test]
fn query_raw_column_filters_warn_once_for_formats_without_the_field() {
    let inc = incident();
    let out = ok(
        &inc,
        &["query", "--vpc", "vpc-0abc", "--dport", "22", "-j", "2"],
    );
    let expected: BTreeSet<String> = inc
        .sweep
        .iter()
        .chain(&inc.scanner)
        .filter(|l| l.contains(" 22 6 "))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 32);
    assert_eq!(line_set(&out), expected);
    let err = stderr(&out);
    // One warning, printed by the command after the run (workers never
    // print), naming both files in name order.
    assert_eq!(err.matches("have no vpc-id field").count(), 1, "{err}");
    assert!(
        err.contains("--vpc: 2 files have no vpc-id field (") && err.contains("benign-1.log.gz, "),
        "{err}"
    );
    let out = ok(
        &inc,
        &[
            "query",
            "--instance",
            "-",
            "--dport",
            "443",
            "--action",
            "reject",
        ],
    );
    assert_eq!(line_set(&out).len(), 1, "the scan of .11 on 443");
    let out = ok(&inc, &["query", "--subnet", "subnet-0c", "-o", "csv"]);
    assert_eq!(stdout(&out).lines().count(), 1 + 60);
}

#[test]
fn query_json_lines_use_aws_names() {
    let inc = incident();
    let out = ok(
        &inc,
        &[
            "query",
            "--src",
            "203.0.113.66",
            "--dport",
            "443",
            "-o",
            "json",
            "-j",
            "1",
        ],
    );
    let objs: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    let a = &objs[0];
    assert_eq!(a["interface_id"], ENI_10);
    assert_eq!(a["srcaddr"], "203.0.113.66");
    assert_eq!(a["dstaddr"], "10.0.1.10");
    assert_eq!(a["srcport"], 61000);
    assert_eq!(a["dstport"], 443);
    assert_eq!(a["protocol"], 6);
    assert_eq!(a["version"], 5);
    assert_eq!(a["account_id"], "123456789012");
    assert_eq!(a["vpc_id"], "vpc-0abc");
    assert_eq!(a["action"], "ACCEPT");
    assert_eq!(a["log_status"], "OK");
    assert_eq!(a["tcp_flags"], 2);
    assert_eq!(a["flow_direction"], "ingress");
    assert!(a["file"].as_str().unwrap().ends_with("incident.log"));
    // Line 1 is the header; 443 is the 211th port, two records per port.
    assert_eq!(a["line"], 1 + 420 + 1);
    let b = &objs[1];
    assert_eq!(b["instance_id"], serde_json::Value::Null);
    assert_eq!(b["action"], "REJECT");
    assert_eq!(b["line"], 1 + 420 + 2);
    // The field set, pinned (docs/json.md): the format's fields with
    // underscores, then file and line; no key with a hyphen anywhere.
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let want: Vec<String> = V5
        .split(' ')
        .map(|f| f.replace('-', "_"))
        .chain(["file".to_string(), "line".to_string()])
        .collect();
    assert_eq!(keys, want);

    // Default-format records have only the v2 keys; NODATA dashes are null.
    let out = ok(
        &inc,
        &[
            "query",
            "--eni",
            ENI_ALB,
            "--include-nodata",
            "--since",
            &(T0 + 3001).to_string(),
            "-o",
            "json",
        ],
    );
    let objs: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let nd = objs.iter().find(|o| o["log_status"] == "NODATA").unwrap();
    assert_eq!(nd["srcaddr"], serde_json::Value::Null);
    assert_eq!(nd["packets"], serde_json::Value::Null);
    assert_eq!(nd["start"], T0 + 3000);
    assert!(nd.get("vpc_id").is_none() && nd.get("vpc-id").is_none());
    assert_eq!(nd["line"], 3);
}

#[test]
fn query_limit_sort_csv_and_filename() {
    let inc = incident();
    for j in ["1", "2"] {
        let out = ok(&inc, &["query", "--limit", "5", "-j", j]);
        assert_eq!(stdout(&out).lines().count(), 5, "threads {j}");
    }
    let out = ok(&inc, &["query", "--limit", "0"]);
    assert_eq!(stdout(&out), "");

    let out = ok(
        &inc,
        &[
            "query",
            "--dst",
            "198.51.100.77",
            "--sort",
            "start",
            "-j",
            "2",
        ],
    );
    assert_eq!(stdout(&out), inc.exfil.join("\n") + "\n");
    let out = ok(
        &inc,
        &[
            "query", "--addr", "10.0.0.5", "--sort", "start", "--limit", "3",
        ],
    );
    let starts: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| l.split(' ').nth(10).unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts, vec![T0, T0, T0], "the three earliest");

    let out = ok(
        &inc,
        &[
            "query",
            "--dst",
            "198.51.100.77",
            "-o",
            "csv",
            "--sort",
            "start",
        ],
    );
    let csv = stdout(&out);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "file,line,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log_status,tcp_flags,flow_direction"
    );
    assert_eq!(rows.len(), 11);
    assert!(rows[1].ends_with(&format!(
        ",{ENI_10},10.0.1.10,198.51.100.77,50123,443,6,90000,{EXFIL_BYTES},{},{},ACCEPT,OK,3,egress",
        T0 + 1200,
        T0 + 1259
    )), "{}", rows[1]);

    let out = ok(
        &inc,
        &[
            "query",
            "--dst",
            "198.51.100.77",
            "--with-filename",
            "--sort",
            "start",
        ],
    );
    let first = stdout(&out).lines().next().unwrap().to_string();
    let incident_file = format!("{}/incident.log", inc.root);
    assert_eq!(
        first,
        format!("{incident_file}:{}:{}", 1 + 423 + 1, inc.exfil[0])
    );
}

#[test]
fn query_timeline_goes_to_stderr() {
    let inc = incident();
    let out = ok(
        &inc,
        &[
            "query",
            "--src",
            "203.0.113.66",
            "--bucket",
            "1m",
            "-o",
            "json",
        ],
    );
    assert_eq!(stdout(&out).lines().count(), 422);
    let err = stderr(&out);
    assert!(
        err.contains("timeline: 1m buckets from 2025-11-20T10:04:00Z to 2025-11-20T10:06:00Z"),
        "{err}"
    );
    assert!(err.contains("flows  "), "{err}");
}

#[test]
fn query_usage_errors() {
    let inc = incident();
    for bad in [
        vec!["query", "--addr", "10.0.0.0/33"],
        vec!["query", "--port", "9000-8000"],
        vec!["query", "--since", "yesterday"],
        vec!["query", "--action", "drop"],
        vec!["query", "--protocol", "tcpx"],
        vec!["query", "--since", "2025-11-21", "--until", "2025-11-20"],
        vec!["query", "--bucket", "0m"],
        vec!["top", "--by", "nothing"],
    ] {
        let mut a = bad.clone();
        a.push(&inc.root);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

/// `--sort start --limit N` keeps only N records per worker (a bounded
/// heap) and prints exactly what sorting everything and taking the first
/// N prints, ties (same start) broken by file then line, at any thread
/// count.
#[test]
fn query_sort_limit_equals_full_sort_then_head() {
    let dir = tempfile::tempdir().unwrap();
    // Three files, many records sharing a start time.
    for f in 0..3u64 {
        let mut text = String::new();
        for i in 0..400u64 {
            let start = T0 + (i * 7 + f * 3) % 50;
            text.push_str(&format!(
                "2 1 eni-0aaa 10.0.{f}.{} 10.0.1.10 40000 443 6 1 40 {start} {} ACCEPT OK\n",
                i % 250 + 1,
                start + 5
            ));
        }
        write(dir.path(), &format!("logs/f{f}.log"), text.as_bytes());
    }
    let root = dir.path().join("logs").to_string_lossy().into_owned();
    let all = run(&[
        "query",
        "--sort",
        "start",
        "--with-filename",
        "-j",
        "1",
        &root,
    ]);
    assert!(all.status.success());
    let all: Vec<String> = stdout(&all).lines().map(str::to_string).collect();
    assert_eq!(all.len(), 1200);
    for n in ["1", "7", "100", "1199", "5000"] {
        for j in ["1", "2", "3"] {
            let out = run(&[
                "query",
                "--sort",
                "start",
                "--limit",
                n,
                "--with-filename",
                "-j",
                j,
                &root,
            ]);
            assert!(out.status.success(), "{}", stderr(&out));
            let got: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
            let n: usize = n.parse().unwrap();
            assert_eq!(got, all[..n.min(all.len())], "--limit {n} -j {j}");
        }
    }
}
