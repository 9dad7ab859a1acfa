//! `flowscope top` end to end on the incident (`incident.rs`).

use std::collections::BTreeSet;

use crate::incident::*;
use crate::util::*;

#[test]
fn top_by_dst_bytes_puts_the_exfiltration_first() {
    let inc = incident();
    let mut docs = Vec::new();
    for j in ["1", "2"] {
        let out = ok(
            &inc,
            &[
                "top", "--by", "dst", "--metric", "bytes", "-o", "json", "-j", j,
            ],
        );
        docs.push(json(&out));
    }
    assert_eq!(docs[0], docs[1]);
    assert_eq!(docs[0]["version"], 1);
    assert_eq!(docs[0]["exact"], true);
    let rows = docs[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0]["key"], "198.51.100.77");
    assert_eq!(rows[0]["bytes"], 10 * EXFIL_BYTES);
    assert_eq!(rows[0]["flows"], 10);
    assert_eq!(rows[0]["packets"], 900_000);
    assert_eq!(rows[0]["first_seen"], T0 + 1200);
    assert_eq!(rows[0]["last_seen"], T0 + 1200 + 9 * 60 + 59);
    let keys = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(
        keys.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        [
            "addr",
            "bytes",
            "error",
            "first_seen",
            "flows",
            "key",
            "last_seen",
            "packets"
        ]
        .into()
    );
    // Ties are broken by key: the 500 clients each got 3 × 5000 bytes.
    assert_eq!(rows[3]["bytes"], 15000);
    assert_eq!(rows[3]["key"], "198.18.0.1");
    assert_eq!(rows[4]["key"], "198.18.0.2");
}

#[test]
fn top_by_port_src_eni_pair_and_filters() {
    let inc = incident();
    let out = ok(&inc, &["top", "--by", "port", "-o", "json", "-n", "0"]);
    let doc = json(&out);
    let get = |k: &str| {
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing in {doc:#}"))
    };
    // Requests and responses both count for the service port.
    assert_eq!(get("8080/tcp")["flows"], 120);
    assert_eq!(get("8080/tcp")["port"], 8080);
    assert_eq!(get("8080/tcp")["protocol"], 6);
    assert_eq!(get("8080/tcp")["protocol_name"], "tcp");
    assert_eq!(get("443/tcp")["flows"], 3000 + 20 + 3);
    assert_eq!(get("22/tcp")["flows"], 30 + 2);
    assert!(
        doc["rows"].as_array().unwrap().iter().all(|r| {
            let p: u32 = r["key"]
                .as_str()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            p < 40000
        }),
        "no ephemeral port ranks"
    );

    let out = ok(
        &inc,
        &[
            "top", "--by", "src", "--action", "REJECT", "-n", "1", "-o", "json",
        ],
    );
    let doc = json(&out);
    assert_eq!(doc["rows"][0]["key"], "203.0.113.66");
    assert_eq!(doc["rows"][0]["flows"], 421);

    let out = ok(&inc, &["top", "--by", "eni", "-n", "1", "-o", "json"]);
    assert_eq!(json(&out)["rows"][0]["key"], ENI_ALB);
    assert_eq!(json(&out)["rows"][0]["interface_id"], ENI_ALB);
    assert_eq!(json(&out)["rows"][0]["flows"], 3000);

    let out = ok(
        &inc,
        &[
            "top", "--by", "pair", "--metric", "bytes", "-n", "1", "-o", "csv",
        ],
    );
    assert_eq!(
        stdout(&out),
        format!(
            "key,flows,packets,bytes,first_seen,last_seen,error\n10.0.1.10 -> 198.51.100.77,10,900000,{},{},{},0\n",
            10 * EXFIL_BYTES,
            T0 + 1200,
            T0 + 1200 + 599
        )
    );
}

#[test]
fn top_timeline_shows_the_spike() {
    let inc = incident();
    let out = ok(
        &inc,
        &[
            "top", "--by", "dst", "--metric", "bytes", "--bucket", "5m", "-n", "3",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("198.51.100.77"), "{text}");
    assert!(
        text.contains("timeline: 5m buckets from 2025-11-20T10:00:00Z"),
        "{text}"
    );
    assert!(
        text.contains("peak 618 MB at 2025-11-20T10:20:00Z"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("bytes  ") && l.contains('█')),
        "{text}"
    );

    let out = ok(
        &inc,
        &["top", "--by", "dst", "--bucket", "10m", "-o", "json"],
    );
    let doc = json(&out);
    assert!(doc["rows"].is_array());
    let buckets = doc["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(doc["timeline"]["bucket_seconds"], 600);
    assert_eq!(buckets[0]["start"], T0);
    let flows: u64 = buckets.iter().map(|b| b["flows"].as_u64().unwrap()).sum();
    let total = 423 + 20 + 60 + 120 + 3000;
    assert_eq!(flows, total);
    let b2 = buckets.iter().find(|b| b["start"] == T0 + 1200).unwrap();
    assert!(b2["bytes"].as_u64().unwrap() > 10 * EXFIL_BYTES);
}

/// `top -o json` has one shape with and without `--bucket` (the timeline
/// is null without it), for every `--by`: pinned field sets.
/// See docs/json.md.
#[test]
fn top_json_shape_is_pinned() {
    let inc = incident();
    let top_keys: BTreeSet<&str> = [
        "version",
        "by",
        "metric",
        "exact",
        "unlisted_max",
        "distinct_keys",
        "total",
        "without_key",
        "rows",
        "timeline",
    ]
    .into();
    let common = [
        "key",
        "flows",
        "packets",
        "bytes",
        "first_seen",
        "last_seen",
        "error",
    ];
    for (by, typed) in [
        ("src", &["addr"][..]),
        ("dst", &["addr"][..]),
        ("eni", &["interface_id"][..]),
        ("pair", &["src", "dst"][..]),
        ("port", &["port", "protocol", "protocol_name"][..]),
    ] {
        for bucket in [None, Some("5m")] {
            let mut args = vec!["top", "--by", by, "-o", "json", "-n", "3"];
            args.extend(bucket.map(|b| ["--bucket", b]).into_iter().flatten());
            let doc = json(&ok(&inc, &args));
            let keys: BTreeSet<&str> = doc
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(keys, top_keys, "{args:?}");
            assert_eq!(doc["version"], 1);
            assert_eq!(doc["by"], by);
            assert_eq!(doc["timeline"].is_null(), bucket.is_none(), "{args:?}");
            let want: BTreeSet<&str> = common.iter().chain(typed).copied().collect();
            for row in doc["rows"].as_array().unwrap() {
                let got: BTreeSet<&str> = row
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| k.as_str())
                    .collect();
                assert_eq!(got, want, "{args:?}");
            }
            if by == "port" {
                assert!(doc["rows"][0]["protocol"].is_u64(), "protocol is a number");
            }
        }
    }
}

/// `top --by port` books each record to the service port summarize
/// gives (tcp-flags, then service vs ephemeral ports), at any thread
/// count: the sums per (protocol, port) are summarize's rows.
#[test]
fn top_by_port_agrees_with_summarize() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        // Flags decide: a SYN-ACK from 443 to a low client port.
        "2 1 eni-0aaa 10.0.1.10 10.0.0.5 443 1000 6 5 5000 100 110 ACCEPT OK 18 egress",
        "2 1 eni-0aaa 10.0.0.5 10.0.1.10 1000 443 6 5 500 100 110 ACCEPT OK 2 ingress",
        // Ports decide: 5432 (a service port) against an ephemeral port.
        "2 1 eni-0aaa 10.0.1.10 10.0.2.7 41000 5432 6 5 500 120 130 ACCEPT OK 0 egress",
        "2 1 eni-0aaa 10.0.2.7 10.0.1.10 5432 41000 6 5 5000 120 130 ACCEPT OK 0 ingress",
        "2 1 eni-0aaa 203.0.113.9 10.0.1.10 40001 22 6 1 40 150 150 REJECT OK 2 ingress",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.2 53000 53 17 1 80 150 150 ACCEPT OK 0 egress",
        "2 1 eni-0aaa 10.0.0.2 10.0.1.10 53 53000 17 1 120 150 150 ACCEPT OK 0 ingress",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.9 0 0 1 1 84 160 160 ACCEPT OK 0 egress",
    ];
    let fmt = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction";
    let path = write(
        dir.path(),
        "a.log",
        format!("{fmt}\n{}\n", lines.join("\n")).as_bytes(),
    );
    let sum = json(&run(&["summarize", "-o", "json", &path]));
    let mut by_port = std::collections::BTreeMap::new();
    for r in sum["rows"].as_array().unwrap() {
        *by_port
            .entry((r["protocol"].as_u64().unwrap(), r["port"].as_u64()))
            .or_insert(0) += r["flows"].as_u64().unwrap();
    }
    for j in ["1", "2"] {
        let top = json(&run(&[
            "top", "--by", "port", "-o", "json", "-n", "0", "-j", j, &path,
        ]));
        let got: std::collections::BTreeMap<(u64, Option<u64>), u64> = top["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    (r["protocol"].as_u64().unwrap(), r["port"].as_u64()),
                    r["flows"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, by_port, "-j {j}");
        assert_eq!(got[&(6, Some(443))], 2);
        assert_eq!(got[&(6, Some(5432))], 2);
        assert_eq!(got[&(17, Some(53))], 2);
        assert_eq!(got[&(1, None)], 1);
    }
}

/// Many distinct sources and a small key budget: memory stays bounded,
/// the heavy hitter is still first with its exact count, and the output
/// says the counts are approximate (table footer, JSON fields, stderr).
#[test]
fn top_many_keys_is_bounded_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3000u32 {
        text.push_str(&format!(
            "2 1 eni-0aaa 100.{}.{}.{} 10.0.1.10 40000 443 6 1 40 {} {} ACCEPT OK\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255,
            T0 + i as u64,
            T0 + i as u64
        ));
        if i % 3 == 0 {
            text.push_str(&format!(
                "2 1 eni-0aaa 203.0.113.9 10.0.1.10 40000 22 6 1 40 {} {} REJECT OK\n",
                T0 + i as u64,
                T0 + i as u64
            ));
        }
    }
    let path = write(dir.path(), "a.log", text.as_bytes());
    for j in ["1", "2"] {
        let out = run_env(
            &[
                "top", "--by", "src", "-o", "json", "-n", "1", "-j", j, &path,
            ],
            &[("FLOWSCOPE_TOP_COUNTERS", "64")],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["exact"], false);
        assert!(doc["distinct_keys"].is_null());
        assert_eq!(doc["rows"][0]["key"], "203.0.113.9");
        assert_eq!(doc["rows"][0]["flows"], 1000);
        assert_eq!(doc["rows"][0]["error"], 0, "tracked from its first record");
        let floor = doc["unlisted_max"].as_u64().unwrap();
        assert!((1..1000).contains(&floor), "{floor}");
        assert!(
            stderr(&out).contains("counts are approximate"),
            "{}",
            stderr(&out)
        );
        let out = run_env(
            &["top", "--by", "src", "-n", "1", "-j", j, &path],
            &[("FLOWSCOPE_TOP_COUNTERS", "64")],
        );
        let text = stdout(&out);
        assert!(text.contains("Approximate: more than"), "{text}");
        assert!(text.contains("ERROR"), "{text}");
    }
    // Without the small budget: exact.
    let doc = json(&run(&[
        "top", "--by", "src", "-o", "json", "-n", "1", &path,
    ]));
    assert_eq!(doc["exact"], true);
    assert_eq!(doc["distinct_keys"], 3001);
}

/// Runs flowscope with extra environment variables.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .expect("run flowscope")
}

/// Summarize's rows summed per (protocol, port, flows, packets, bytes,
/// first_seen, last_seen), and `top --by port`'s rows in the same form.
fn ports_of_summary(doc: &serde_json::Value) -> BTreeSet<(u64, Option<u64>, [u64; 5])> {
    let mut m: std::collections::BTreeMap<(u64, Option<u64>), [u64; 5]> = Default::default();
    for r in doc["rows"].as_array().unwrap() {
        assert!(r.get("ports_folded").is_none(), "no folded rows here");
        let e = m
            .entry((r["protocol"].as_u64().unwrap(), r["port"].as_u64()))
            .or_insert([0, 0, 0, u64::MAX, 0]);
        e[0] += r["flows"].as_u64().unwrap();
        e[1] += r["packets"].as_u64().unwrap();
        e[2] += r["bytes"].as_u64().unwrap();
        e[3] = e[3].min(r["first_seen"].as_u64().unwrap());
        e[4] = e[4].max(r["last_seen"].as_u64().unwrap());
    }
    m.into_iter().map(|(k, v)| (k.0, k.1, v)).collect()
}

fn ports_of_top(doc: &serde_json::Value) -> BTreeSet<(u64, Option<u64>, [u64; 5])> {
    assert_eq!(doc["exact"], true);
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (
                n("protocol"),
                r["port"].as_u64(),
                [
                    n("flows"),
                    n("packets"),
                    n("bytes"),
                    n("first_seen"),
                    n("last_seen"),
                ],
            )
        })
        .collect()
}

/// `top --by port` books every record on the port summarize books it on,
/// also where one record alone cannot tell (see the module doc of
/// `investigate::top`): a rejected packet from a service port (443) to
/// another port is a request to that port unless the interface called
/// that service on that peer; the per-record rule took it for a response
/// from 443.
#[test]
fn top_by_port_books_a_rejected_packet_from_a_service_port_as_summarize_does() {
    let dir = tempfile::tempdir().unwrap();
    let log = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
        2 123456789012 eni-0a1b2c3d4e5f60718 203.0.113.9 10.0.1.5 443 20000 6 1 40 1763596800 1763596860 REJECT OK\n\
        2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.5 198.51.100.7 40000 443 6 5 900 1763596800 1763596860 ACCEPT OK\n\
        2 123456789012 eni-0a1b2c3d4e5f60718 198.51.100.7 10.0.1.5 443 40000 6 4 1200 1763596800 1763596860 ACCEPT OK\n";
    let f = write(dir.path(), "a.log", log.as_bytes());
    let sum = json(&run(&["summarize", "-q", "-o", "json", &f]));
    let top = json(&run(&["top", "--by", "port", "-n", "0", "-o", "json", &f]));
    let ports = ports_of_top(&top);
    assert_eq!(ports, ports_of_summary(&sum));
    let listed: BTreeSet<Option<u64>> = ports.iter().map(|p| p.1).collect();
    assert_eq!(listed, [Some(443), Some(20000)].into());
}

/// On generated busy traffic (many services, ALB and NAT ports, scans),
/// `top --by port` gives exactly summarize's rows summed per port, at any
/// thread count (the per-record rule moved 70 of 20,000 records).
#[test]
fn top_by_port_agrees_with_summarize_on_busy_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    let out = out.to_str().unwrap();
    let g = run(&[
        "generate",
        "--profile",
        "busy",
        "--records",
        "20000",
        "--out",
        out,
    ]);
    assert!(g.status.success(), "{}", stderr(&g));
    // The inventory beside the logs gives both the interfaces' addresses.
    let sum = ports_of_summary(&json(&run(&["summarize", "-q", "-o", "json", out])));
    for j in ["1", "3"] {
        let top = json(&run(&[
            "top", "--by", "port", "-n", "0", "-o", "json", "-j", j, out,
        ]));
        assert_eq!(ports_of_top(&top), sum, "-j{j}");
    }
}
