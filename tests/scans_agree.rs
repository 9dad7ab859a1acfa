//! `scans` takes the side that initiated a record, and the port it
//! probed, from the same decision as summarize, end-of-run corrections
//! included (issue 19): a scan summarize books on 30 ports is a scan of
//! 30 ports for `scans` too.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flowscope::aggregate::{Aggregate, Direction, RejectedKeys, Summary};
use flowscope::engine::{self, EngineOptions};
use flowscope::source::input::{expand_inputs, Input};

use crate::util::*;

/// 2025-11-20T00:00:00Z.
const T: u64 = 1763596800;
const TARGET_ENI: &str = "eni-0a1b2c3d4e5f60718";
const SCANNER_ENI: &str = "eni-0a1b2c3d4e5f60737";

/// Thirty ports of nmap's top hundred above 1023, none a well-known
/// service port (`aggregate::direction`), so a rejected probe from port
/// 53 to one of them is what one record alone cannot tell from a
/// response a network ACL rejected.
const PORTS: [u16; 30] = [
    1025, 1026, 1027, 1028, 1029, 1110, 1720, 1723, 1755, 1900, 2000, 2001, 2121, 2717, 3128, 3986,
    4899, 5009, 5051, 5060, 5101, 5190, 5357, 5631, 5666, 5800, 6000, 6001, 6646, 7070,
];

/// The ports open on the target in the tcp-flags variant.
const OPEN: [u16; 2] = [5060, 7070];

/// One variant of an `nmap -sS -g 53` scan of 10.0.1.5: the log, and who
/// scans expects to find with how many rejected and accepted attempts.
struct Variant {
    name: &'static str,
    log: String,
    scanner: &'static str,
    rejected: u64,
    accepted: u64,
}

fn variants() -> Vec<Variant> {
    let mut out = Vec::new();
    // 1. No tcp-flags field (the v2 default format): the target's
    // interface logs each probe from the internet, REJECTed.
    let mut log = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for (i, p) in PORTS.iter().enumerate() {
        let t = T + i as u64;
        log += &format!(
            "2 123456789012 {TARGET_ENI} 203.0.113.50 10.0.1.5 53 {p} 6 1 44 {t} {} REJECT OK\n",
            t + 1
        );
    }
    out.push(Variant {
        name: "reject, no tcp-flags",
        log,
        scanner: "203.0.113.50",
        rejected: 30,
        accepted: 0,
    });
    // 2. Flow logs on both ends, with flow-direction and no tcp-flags: an
    // instance scanning a neighbour. Its own group lets every probe out
    // (egress ACCEPT on its interface), the target's group REJECTs them.
    let mut log = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction\n",
    );
    for (i, p) in PORTS.iter().enumerate() {
        let t = T + i as u64;
        for (eni, action, dir) in [
            (SCANNER_ENI, "ACCEPT", "egress"),
            (TARGET_ENI, "REJECT", "ingress"),
        ] {
            log += &format!(
                "5 123456789012 {eni} 10.0.3.7 10.0.1.5 53 {p} 6 1 44 {t} {} {action} OK {dir}\n",
                t + 1
            );
        }
    }
    out.push(Variant {
        name: "egress accept and ingress reject, no tcp-flags",
        log,
        scanner: "10.0.3.7",
        rejected: 30,
        accepted: 0,
    });
    // 3. With tcp-flags: SYNs, two of them ACCEPTed and answered with a
    // SYN-ACK, the others REJECTed. (Flags decide every record alone.)
    let mut log = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction\n",
    );
    for (i, p) in PORTS.iter().enumerate() {
        let t = T + i as u64;
        let action = if OPEN.contains(p) { "ACCEPT" } else { "REJECT" };
        log += &format!(
            "5 123456789012 {TARGET_ENI} 203.0.113.50 10.0.1.5 53 {p} 6 1 44 {t} {} {action} OK 2 ingress\n",
            t + 1
        );
        if OPEN.contains(p) {
            log += &format!(
                "5 123456789012 {TARGET_ENI} 10.0.1.5 203.0.113.50 {p} 53 6 1 44 {t} {} ACCEPT OK 18 egress\n",
                t + 1
            );
        }
    }
    out.push(Variant {
        name: "SYN scan with tcp-flags",
        log,
        scanner: "203.0.113.50",
        rejected: 28,
        accepted: 2,
    });
    out
}

/// Summarize books every probe as a request to its own port, on the
/// target's interface; `scans` reports the scanner with all 30 ports
/// (it reported none: the per-record rule took each rejected probe for
/// a response from port 53), at any thread count.
#[test]
fn an_nmap_scan_from_source_port_53_is_found_on_every_port() {
    let dir = tempfile::tempdir().unwrap();
    for v in variants() {
        let file = write(dir.path(), "scan.log", v.log.as_bytes());
        let sum = json(&run(&["summarize", "-q", "-o", "json", &file]));
        let probed: BTreeSet<u64> = sum["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["interface_id"] == TARGET_ENI && r["direction"] == "ingress")
            .map(|r| r["port"].as_u64().unwrap())
            .collect();
        let ports: BTreeSet<u64> = PORTS.iter().map(|&p| p as u64).collect();
        assert_eq!(probed, ports, "{}: summarize's rows: {sum:#}", v.name);
        let mut docs = Vec::new();
        for j in ["1", "2"] {
            docs.push(json(&run(&["scans", "-q", "-o", "json", "-j", j, &file])));
        }
        assert_eq!(docs[0], docs[1], "{}: -j1 and -j2", v.name);
        let f = docs[0]["findings"].as_array().unwrap();
        assert_eq!(f.len(), 1, "{}: {:#}", v.name, docs[0]);
        let s = &f[0];
        assert_eq!(s["source"], v.scanner, "{}", v.name);
        let got: BTreeSet<u64> = s["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect();
        assert_eq!(got, ports, "{}", v.name);
        assert_eq!(s["targets"], serde_json::json!(["10.0.1.5"]), "{}", v.name);
        assert_eq!(s["attempts"], 30, "{}", v.name);
        assert_eq!(s["rejected"], v.rejected, "{}", v.name);
        assert_eq!(s["accepted"], v.accepted, "{}", v.name);
        assert_eq!(s["unconfirmed"], 0, "{}", v.name);
    }
}

/// Who initiated what, as a set of (client, port): the client an
/// interface (by the inventory's addresses) or an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Client {
    Interface(String),
    Addr(IpAddr),
}

type Owners = BTreeMap<IpAddr, String>;

fn client(owners: &Owners, a: IpAddr) -> Client {
    match owners.get(&a) {
        Some(e) => Client::Interface(e.clone()),
        None => Client::Addr(a),
    }
}

/// Summarize's rows as (client, port): an egress row's client is its
/// interface, an ingress row's its peers. Ports whose ingress rows
/// keep no exact peers (a sketch) are returned apart: their clients
/// cannot be listed.
fn summary_pairs(s: &Summary, owners: &Owners) -> (BTreeSet<(Client, u16)>, BTreeSet<u16>) {
    let (mut pairs, mut inexact) = (BTreeSet::new(), BTreeSet::new());
    for r in &s.rows {
        let Some(port) = r.port else { continue };
        let name = r.interface_id.clone().expect("named interfaces");
        match r.direction {
            Direction::Egress => {
                pairs.insert((Client::Interface(name), port));
            }
            Direction::Ingress => match r.peers.exact() {
                Some(peers) => {
                    for (ip, _) in peers {
                        pairs.insert((client(owners, ip.to_ip_addr()), port));
                    }
                }
                None => {
                    inexact.insert(port);
                }
            },
            Direction::Unknown => panic!("with an inventory every row has a direction: {r:?}"),
        }
    }
    (pairs, inexact)
}

/// The log files of some directories, in the order given.
fn files(dirs: &[&Path]) -> Vec<Input> {
    let args: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    let (inputs, problems) = expand_inputs(&args);
    assert!(problems.is_empty());
    inputs
}

/// On generated busy traffic (ALB and NAT ports, ambiguous service pairs,
/// 3,000 scanners), every source `scans` reports tried exactly the ports
/// summarize's rows say it called, no more, no fewer (thresholds at their
/// lowest, so every source is reported); the same at -j1 and -j2 and
/// with the files in reverse order.
#[test]
fn scans_and_summarize_agree_on_who_called_which_port_on_busy_traffic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (dir, seed) in [(&a, "1"), (&b, "2")] {
        let g = run(&[
            "generate",
            "--profile",
            "busy",
            "--records",
            "12000",
            "--seed",
            seed,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(g.status.success(), "{}", stderr(&g));
    }
    // The same topology whatever the seed: one inventory for both.
    let (locals, _) = flowscope::commands::interfaces_for(None, std::slice::from_ref(&a)).unwrap();
    let keys = Arc::new(RejectedKeys::default());
    let opts = EngineOptions {
        threads: 2,
        ..Default::default()
    };
    let summary = engine::run(&files(&[&a, &b]), &opts, || {
        Aggregate::sharing(locals.clone(), keys.clone())
    })
    .processor
    .finish();
    let mut owners = Owners::new();
    for i in &summary.interfaces {
        for ip in &i.addresses {
            owners.insert(ip.to_ip_addr(), i.interface_id.clone().unwrap());
        }
    }
    let (sum, inexact) = summary_pairs(&summary, &owners);

    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let scans = |j: &str, first: &str, second: &str| {
        let out = run(&[
            "scans",
            "-q",
            "-o",
            "json",
            "--min-ports",
            "1",
            "--min-targets",
            "1",
            "--min-reject-pct",
            "0",
            "--window",
            "1d",
            "-j",
            j,
            first,
            second,
        ]);
        json(&out)
    };
    let doc = scans("1", sa, sb);
    assert_eq!(doc, scans("2", sa, sb), "-j1 and -j2");
    assert_eq!(doc, scans("1", sb, sa), "files in reverse order");
    let mut got = BTreeSet::new();
    for f in doc["findings"].as_array().unwrap() {
        assert_eq!(f["ports_capped"], false);
        let src: IpAddr = f["source"].as_str().unwrap().parse().unwrap();
        for p in f["ports"].as_array().unwrap() {
            got.insert((client(&owners, src), p.as_u64().unwrap() as u16));
        }
    }
    let comparable = |s: &BTreeSet<(Client, u16)>| -> BTreeSet<(Client, u16)> {
        s.iter()
            .filter(|(c, p)| !(inexact.contains(p) && matches!(c, Client::Addr(_))))
            .cloned()
            .collect()
    };
    let (got, sum) = (comparable(&got), comparable(&sum));
    let extra: Vec<_> = got.difference(&sum).take(10).collect();
    let missing: Vec<_> = sum.difference(&got).take(10).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "scans reports {} (client, port) pairs summarize does not have, e.g. {extra:?}; \
         misses {}, e.g. {missing:?} (ports without exact peers: {})",
        got.difference(&sum).count(),
        sum.difference(&got).count(),
        inexact.len()
    );
    assert!(
        sum.len() > 3_000,
        "{} pairs: too few to say much",
        sum.len()
    );
}
