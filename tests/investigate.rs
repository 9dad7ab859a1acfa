//! `query`, `top` and `scans` end to end on an incident built here: a port
//! scanner, an exfiltration, a lateral sweep, and benign ALB traffic, in
//! gzip (multi-member) and plain files, default and custom formats.

use std::collections::BTreeSet;

use crate::util::*;

/// 2025-11-20T10:00:00Z.
const T0: u64 = 1763632800;
const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const V5: &str = "version account-id vpc-id subnet-id instance-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction";

const ENI_10: &str = "eni-0a1b2c3d4e5f60710";
const ENI_11: &str = "eni-0a1b2c3d4e5f60711";
const ENI_SWEEPER: &str = "eni-0a1b2c3d4e5f60737";
const ENI_ALB: &str = "eni-0a1b2c3d4e5f60705";
const EXFIL_BYTES: u64 = 123_456_789;

struct Incident {
    _dir: tempfile::TempDir,
    root: String,
    scanner: Vec<String>,
    exfil: Vec<String>,
    exfil_responses: Vec<String>,
    sweep: Vec<String>,
    alb_tasks: Vec<String>,
    nodata_sweeper: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn v5(
    instance: &str,
    eni: &str,
    src: &str,
    dst: &str,
    sp: u16,
    dp: u16,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: &str,
    flags: u16,
    dir: &str,
) -> String {
    format!(
        "5 123456789012 vpc-0abc subnet-0{} {instance} {eni} {src} {dst} {sp} {dp} 6 {packets} {bytes} {start} {end} {action} OK {flags} {dir}",
        if eni == ENI_SWEEPER { "c" } else { "a" }
    )
}

#[allow(clippy::too_many_arguments)]
fn v2(
    eni: &str,
    src: &str,
    dst: &str,
    sp: u16,
    dp: u16,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: &str,
) -> String {
    format!(
        "2 123456789012 {eni} {src} {dst} {sp} {dp} 6 {packets} {bytes} {start} {end} {action} OK"
    )
}

fn incident() -> Incident {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs").to_string_lossy().into_owned();

    // A scanner: 210 ports and 443 on two interfaces in two minutes
    // (10:04 to 10:06, across a 5-minute boundary); only 443 on .10 answers.
    let mut scanner = Vec::new();
    let ports: Vec<u16> = (1..=210).chain([443]).collect();
    let mut idx = 0u64;
    for &p in &ports {
        for (eni, dst, inst) in [
            (ENI_10, "10.0.1.10", "i-0abc10"),
            (ENI_11, "10.0.1.11", "-"),
        ] {
            let t = T0 + 240 + idx * 120 / 422;
            idx += 1;
            let ok = p == 443 && dst == "10.0.1.10";
            scanner.push(v5(
                inst,
                eni,
                "203.0.113.66",
                dst,
                61000,
                p,
                1,
                44,
                t,
                t + 1,
                if ok { "ACCEPT" } else { "REJECT" },
                2,
                "ingress",
            ));
        }
    }
    // The accepted connection's answer (SYN-ACK): not a scan by 10.0.1.10.
    scanner.push(v5(
        "i-0abc10",
        ENI_10,
        "10.0.1.10",
        "203.0.113.66",
        443,
        61000,
        1,
        44,
        T0 + 300,
        T0 + 301,
        "ACCEPT",
        18,
        "egress",
    ));

    // Exfiltration: 10 windows of 123,456,789 bytes to 198.51.100.77:443.
    let mut exfil = Vec::new();
    let mut exfil_responses = Vec::new();
    for i in 0..10u64 {
        let s = T0 + 1200 + i * 60;
        exfil.push(v5(
            "i-0abc10",
            ENI_10,
            "10.0.1.10",
            "198.51.100.77",
            50123,
            443,
            90_000,
            EXFIL_BYTES,
            s,
            s + 59,
            "ACCEPT",
            if i == 0 { 3 } else { 0 },
            "egress",
        ));
        exfil_responses.push(v5(
            "i-0abc10",
            ENI_10,
            "198.51.100.77",
            "10.0.1.10",
            443,
            50123,
            300,
            20_000,
            s,
            s + 59,
            "ACCEPT",
            if i == 0 { 18 } else { 0 },
            "ingress",
        ));
    }

    // Lateral sweep: 10.0.3.7 to 30 internal hosts on 22 and 3389; SSH on
    // 10.0.2.5 and 10.0.2.9 answers.
    let mut sweep = Vec::new();
    let mut k = 0u64;
    for host in 1..=30 {
        for port in [22u16, 3389] {
            let ok = port == 22 && (host == 5 || host == 9);
            let t = T0 + 2400 + k * 2;
            sweep.push(v5(
                "i-0def37",
                ENI_SWEEPER,
                "10.0.3.7",
                &format!("10.0.2.{host}"),
                45000 + k as u16,
                port,
                1,
                60,
                t,
                t + 1,
                if ok { "ACCEPT" } else { "REJECT" },
                2,
                "egress",
            ));
            k += 1;
        }
    }

    let mut incident = format!("{V5}\n");
    for l in scanner
        .iter()
        .chain(&exfil)
        .chain(&exfil_responses)
        .chain(&sweep)
    {
        incident.push_str(l);
        incident.push('\n');
    }
    write(dir.path(), "logs/incident.log", incident.as_bytes());

    // Benign: the ALB to 12 tasks on 8080, with the tasks' responses.
    let mut alb_tasks = Vec::new();
    for task in 20..=31u16 {
        let eni = format!("eni-0a1b2c3d4e5f607{task}");
        let addr = format!("10.0.1.{task}");
        for n in 0..5u16 {
            let s = T0 + 60 * n as u64;
            let sp = 40000 + task * 10 + n;
            alb_tasks.push(v2(
                &eni,
                "10.0.0.5",
                &addr,
                sp,
                8080,
                10,
                1500,
                s,
                s + 30,
                "ACCEPT",
            ));
            alb_tasks.push(v2(
                &eni,
                &addr,
                "10.0.0.5",
                8080,
                sp,
                8,
                4000,
                s,
                s + 30,
                "ACCEPT",
            ));
        }
    }
    let text = format!("{V2}\n{}\n", alb_tasks.join("\n"));
    write(dir.path(), "logs/benign-1.log.gz", &gz(text.as_bytes()));

    // Benign: 500 clients, 3 flows each, to the ALB on 443, with responses;
    // two gzip members, each with its header.
    let mut members = Vec::new();
    for half in 0..2 {
        let mut text = format!("{V2}\n");
        for c in (half * 250)..(half * 250 + 250) {
            let client = format!("198.18.{}.{}", c / 250, c % 250 + 1);
            for f in 0..3u64 {
                let s = T0 + (c as u64 * 7) % 3000 + f * 10;
                let sp = 50000 + f as u16;
                text.push_str(&v2(
                    ENI_ALB,
                    &client,
                    "10.0.0.5",
                    sp,
                    443,
                    6,
                    800,
                    s,
                    s + 5,
                    "ACCEPT",
                ));
                text.push('\n');
                text.push_str(&v2(
                    ENI_ALB,
                    "10.0.0.5",
                    &client,
                    443,
                    sp,
                    7,
                    5000,
                    s,
                    s + 5,
                    "ACCEPT",
                ));
                text.push('\n');
            }
        }
        members.extend(gz(text.as_bytes()));
    }
    write(dir.path(), "logs/benign-2.log.gz", &members);

    // NODATA records in the default format, no header.
    let nodata_sweeper = vec![
        format!(
            "2 123456789012 {ENI_SWEEPER} - - - - - - - {} {} - NODATA",
            T0 + 3000,
            T0 + 3060
        ),
        format!(
            "2 123456789012 {ENI_SWEEPER} - - - - - - - {} {} - NODATA",
            T0 + 3060,
            T0 + 3120
        ),
    ];
    let nodata = format!(
        "{}\n2 123456789012 {ENI_ALB} - - - - - - - {} {} - NODATA\n",
        nodata_sweeper.join("\n"),
        T0 + 3000,
        T0 + 3060
    );
    write(dir.path(), "logs/nodata.log", nodata.as_bytes());

    Incident {
        _dir: dir,
        root,
        scanner,
        exfil,
        exfil_responses,
        sweep,
        alb_tasks,
        nodata_sweeper,
    }
}

/// Runs a command over the incident; asserts success.
fn ok(inc: &Incident, args: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = args.to_vec();
    a.push(&inc.root);
    let out = run(&a);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

fn line_set(out: &std::process::Output) -> BTreeSet<String> {
    stdout(out).lines().map(str::to_string).collect()
}

fn set<'a>(parts: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    parts.into_iter().cloned().collect()
}

#[test]
fn scans_finds_exactly_the_scanner_and_the_sweeper() {
    let inc = incident();
    let mut docs = Vec::new();
    for j in ["1", "2"] {
        let out = ok(&inc, &["scans", "-o", "json", "-j", j]);
        docs.push(json(&out));
    }
    assert_eq!(docs[0], docs[1], "same findings at any thread count");
    let f = docs[0].as_array().unwrap();
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
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    // Without the reject requirement the ALB's fan-out to 12 tasks shows,
    // but still not the tasks answering from 8080 nor the ALB answering clients.
    let out = ok(&inc, &["scans", "-o", "json", "--min-reject-pct", "0"]);
    let sources: Vec<String> = json(&out)
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
    let f = doc.as_array().unwrap();
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
}

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
    let rows = docs[0].as_array().unwrap();
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
            "bytes",
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
        doc.as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing in {doc:#}"))
    };
    // Requests and responses both count for the service port.
    assert_eq!(get("8080/tcp")["flows"], 120);
    assert_eq!(get("443/tcp")["flows"], 3000 + 20 + 3);
    assert_eq!(get("22/tcp")["flows"], 30 + 2);
    assert!(
        doc.as_array().unwrap().iter().all(|r| {
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
    assert_eq!(doc[0]["key"], "203.0.113.66");
    assert_eq!(doc[0]["flows"], 421);

    let out = ok(&inc, &["top", "--by", "eni", "-n", "1", "-o", "json"]);
    assert_eq!(json(&out)[0]["key"], ENI_ALB);
    assert_eq!(json(&out)[0]["flows"], 3000);

    let out = ok(
        &inc,
        &[
            "top", "--by", "pair", "--metric", "bytes", "-n", "1", "-o", "csv",
        ],
    );
    assert_eq!(
        stdout(&out),
        format!(
            "key,flows,packets,bytes,first_seen,last_seen\n10.0.1.10 -> 198.51.100.77,10,900000,{},{},{}\n",
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
    assert!(doc["top"].is_array());
    let buckets = doc["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(doc["timeline"]["bucket_seconds"], 600);
    assert_eq!(buckets[0]["start"], T0);
    let flows: u64 = buckets.iter().map(|b| b["flows"].as_u64().unwrap()).sum();
    let total = 423 + 20 + 60 + 120 + 3000;
    assert_eq!(flows, total);
    let b2 = buckets.iter().find(|b| b["start"] == T0 + 1200).unwrap();
    assert!(b2["bytes"].as_u64().unwrap() > 10 * EXFIL_BYTES);
}

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
    assert_eq!(err.matches("has no vpc-id field").count(), 1, "{err}");
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
    assert_eq!(a["interface-id"], ENI_10);
    assert_eq!(a["srcaddr"], "203.0.113.66");
    assert_eq!(a["dstaddr"], "10.0.1.10");
    assert_eq!(a["srcport"], 61000);
    assert_eq!(a["dstport"], 443);
    assert_eq!(a["protocol"], 6);
    assert_eq!(a["version"], 5);
    assert_eq!(a["account-id"], "123456789012");
    assert_eq!(a["vpc-id"], "vpc-0abc");
    assert_eq!(a["action"], "ACCEPT");
    assert_eq!(a["log-status"], "OK");
    assert_eq!(a["tcp-flags"], 2);
    assert_eq!(a["flow-direction"], "ingress");
    assert!(a["file"].as_str().unwrap().ends_with("incident.log"));
    // Line 1 is the header; 443 is the 211th port, two records per port.
    assert_eq!(a["line"], 1 + 420 + 1);
    let b = &objs[1];
    assert_eq!(b["instance-id"], serde_json::Value::Null);
    assert_eq!(b["action"], "REJECT");
    assert_eq!(b["line"], 1 + 420 + 2);
    assert_eq!(a.as_object().unwrap().len(), 19 + 2);

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
    let nd = objs.iter().find(|o| o["log-status"] == "NODATA").unwrap();
    assert_eq!(nd["srcaddr"], serde_json::Value::Null);
    assert_eq!(nd["packets"], serde_json::Value::Null);
    assert_eq!(nd["start"], T0 + 3000);
    assert!(nd.get("vpc-id").is_none());
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
        "file,line,interface-id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log-status,tcp-flags,flow-direction"
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

/// Writes the incident to $FLOWSCOPE_INCIDENT_DIR (for docs/investigate.md):
/// `FLOWSCOPE_INCIDENT_DIR=/tmp/x cargo test --test tests write_incident -- --ignored`
#[test]
#[ignore]
fn write_incident_for_docs() {
    let inc = incident();
    let to = std::path::PathBuf::from(std::env::var("FLOWSCOPE_INCIDENT_DIR").unwrap());
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&inc.root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
