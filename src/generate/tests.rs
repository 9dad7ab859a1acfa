//! Unit tests of the generator: determinism, headers, field counts, manifest counts and the
//! semantics of the records (direction, flags, pairs).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::{civil, run, FormatArg, GenerateOptions};

fn tmpdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("flowscope-gen-{name}-"))
        .tempdir()
        .unwrap()
}

fn small(out: &Path) -> GenerateOptions {
    GenerateOptions {
        records: 6000,
        files: 6,
        ..GenerateOptions::new(out)
    }
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read_text(p: &Path) -> String {
    let raw = fs::read(p).unwrap();
    if p.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        MultiGzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    }
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn civil_dates() {
    assert_eq!(civil(1_763_596_800), (2025, 11, 20, 0, 0));
    assert_eq!(civil(0), (1970, 1, 1, 0, 0));
    assert_eq!(civil(951_782_400 + 3600 + 60), (2000, 2, 29, 1, 1));
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tmpdir("a"), tmpdir("b"), tmpdir("c"));
    run(&small(a.path())).unwrap();
    run(&small(b.path())).unwrap();
    run(&GenerateOptions {
        seed: 2,
        ..small(c.path())
    })
    .unwrap();
    let fa = all_files(a.path());
    let fb = all_files(b.path());
    assert_eq!(fa.len(), 6 + 4);
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            x.strip_prefix(a.path()).unwrap(),
            y.strip_prefix(b.path()).unwrap()
        );
        assert_eq!(
            fs::read(x).unwrap(),
            fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    let fc = all_files(c.path());
    let logs = |v: &[PathBuf]| {
        v.iter()
            .filter(|p| p.to_string_lossy().ends_with(".gz"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_ne!(
        fs::read(&logs(&fa)[0]).unwrap(),
        fs::read(&logs(&fc)[0]).unwrap()
    );
}

#[test]
fn headers_field_counts_and_manifest_counts() {
    let d = tmpdir("counts");
    run(&small(d.path())).unwrap();
    let m = manifest(d.path());
    let mut total = 0u64;
    let mut members = 0;
    for f in m["files"].as_array().unwrap() {
        let text = read_text(&d.path().join(f["path"].as_str().unwrap()));
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert_eq!(header, f["header"].as_str().unwrap());
        assert!(header.starts_with("version "));
        let nf = header.split(' ').count();
        let (mut n, mut nodata, mut skip) = (0u64, 0u64, 0u64);
        for l in lines {
            assert_eq!(l.split(' ').count(), nf, "field count of {l}");
            n += 1;
            nodata += l.split(' ').any(|w| w == "NODATA") as u64;
            skip += l.split(' ').any(|w| w == "SKIPDATA") as u64;
        }
        assert_eq!(n, f["records"].as_u64().unwrap());
        assert_eq!(n + 1, f["lines"].as_u64().unwrap());
        assert_eq!(text.lines().count() as u64, f["lines"].as_u64().unwrap());
        assert_eq!(nodata, f["nodata_records"].as_u64().unwrap());
        assert_eq!(skip, f["skipdata_records"].as_u64().unwrap());
        members += (f["gzip_members"] == 2) as u32;
        total += n;
    }
    assert_eq!(members, 1, "exactly one multi-member file in mixed mode");
    assert_eq!(total, 6000);
    assert_eq!(m["totals"]["records"], 6000);
    assert_eq!(m["totals"]["header_lines"], 6);
    let formats: HashSet<_> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats.len(), 3);
}

/// Parse a v5 dataset into rows (field name -> value).
fn v5_rows(dir: &Path) -> Vec<HashMap<String, String>> {
    let m = manifest(dir);
    let mut rows = Vec::new();
    for f in m["files"].as_array().unwrap() {
        let text = read_text(&dir.join(f["path"].as_str().unwrap()));
        let mut lines = text.lines();
        let names: Vec<String> = lines.next().unwrap().split(' ').map(String::from).collect();
        for l in lines {
            rows.push(
                names
                    .iter()
                    .cloned()
                    .zip(l.split(' ').map(String::from))
                    .collect(),
            );
        }
    }
    rows
}

#[test]
fn record_semantics() {
    let d = tmpdir("sem");
    run(&GenerateOptions {
        format: FormatArg::V5,
        records: 20_000,
        files: 4,
        ..GenerateOptions::new(d.path())
    })
    .unwrap();
    let m = manifest(d.path());
    let mut own: HashMap<String, HashSet<String>> = HashMap::new();
    for e in m["network_interfaces"].as_array().unwrap() {
        let set = own
            .entry(e["id"].as_str().unwrap().to_string())
            .or_default();
        set.insert(e["private_ip"].as_str().unwrap().to_string());
        if let Some(v6) = e["ipv6"].as_str() {
            set.insert(v6.to_string());
        }
    }
    let bastion = m["network_interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["role"] == "bastion")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rows = v5_rows(d.path());
    let mut keys = HashSet::new();
    let mut nodata_enis = HashSet::new();
    let (mut v6, mut icmp) = (0, 0);
    for r in &rows {
        let start: u64 = r["start"].parse().unwrap();
        let end: u64 = r["end"].parse().unwrap();
        assert!(start <= end && end - start < 60, "window {start}-{end}");
        assert!(start >= 1_763_596_800 && end < 1_763_596_800 + 6 * 3600);
        let eni = &r["interface-id"];
        if r["log-status"] != "OK" {
            assert_eq!(r["srcaddr"], "-");
            nodata_enis.insert(eni.clone());
            continue;
        }
        assert_ne!(eni, &bastion, "bastion has no traffic");
        let ingress = r["flow-direction"] == "ingress";
        assert_eq!(
            ingress,
            own[eni].contains(&r["dstaddr"]),
            "direction of {r:?}"
        );
        assert_eq!(
            !ingress,
            own[eni].contains(&r["srcaddr"]),
            "direction of {r:?}"
        );
        if r["action"] == "REJECT" {
            assert!(ingress);
        }
        if r["protocol"] == "1" {
            icmp += 1;
            assert_eq!((r["srcport"].as_str(), r["dstport"].as_str()), ("0", "0"));
        }
        if r["type"] == "IPv6" {
            v6 += 1;
            assert!(r["srcaddr"].contains(':'));
        }
        keys.insert((
            eni.clone(),
            r["srcaddr"].clone(),
            r["srcport"].clone(),
            r["dstaddr"].clone(),
            r["dstport"].clone(),
            r["start"].clone(),
        ));
    }
    assert!(v6 > 0 && icmp > 0);
    assert_eq!(nodata_enis.len(), own.len(), "every ENI has NODATA records");
    // Every accepted SYN record has its SYN-ACK response on the same ENI in the same window.
    for r in &rows {
        if r["log-status"] != "OK" || r["action"] != "ACCEPT" {
            continue;
        }
        let flags: u8 = r["tcp-flags"].parse().unwrap();
        if flags & 2 != 0 && flags & 16 == 0 {
            let rev = (
                r["interface-id"].clone(),
                r["dstaddr"].clone(),
                r["dstport"].clone(),
                r["srcaddr"].clone(),
                r["srcport"].clone(),
                r["start"].clone(),
            );
            assert!(keys.contains(&rev), "response of {r:?}");
        }
    }
}

#[test]
fn incidents_facts_match_records() {
    let d = tmpdir("inc");
    run(&GenerateOptions {
        format: FormatArg::V5,
        records: 15_000,
        incidents: true,
        ..GenerateOptions::new(d.path())
    })
    .unwrap();
    let m = manifest(d.path());
    let inc = &m["incidents"];
    let rows = v5_rows(d.path());
    let scan: Vec<_> = rows
        .iter()
        .filter(|r| r["srcaddr"] == "203.0.113.66")
        .collect();
    let ports: HashSet<_> = scan.iter().map(|r| r["dstport"].clone()).collect();
    assert_eq!(
        ports.len() as u64,
        inc["port_scan"]["distinct_ports"].as_u64().unwrap()
    );
    assert!(ports.len() >= 200);
    let accepted: HashSet<_> = scan
        .iter()
        .filter(|r| r["action"] == "ACCEPT")
        .map(|r| r["dstport"].clone())
        .collect();
    assert_eq!(accepted, HashSet::from(["443".to_string()]));
    let (first, last) = (
        inc["port_scan"]["first_start"].as_u64().unwrap(),
        inc["port_scan"]["last_end"].as_u64().unwrap(),
    );
    assert!(last - first <= 130);
    let ex = &inc["exfiltration"];
    let bytes: u64 = rows
        .iter()
        .filter(|r| {
            r["interface-id"] == ex["source_eni_id"].as_str().unwrap()
                && r["dstaddr"] == "198.51.100.77"
        })
        .map(|r| r["bytes"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(bytes, ex["bytes_total"].as_u64().unwrap());
    assert!((1_800_000_000..2_200_000_000).contains(&bytes));
    let lat = &inc["lateral_movement"];
    let src = lat["source_ip"].as_str().unwrap();
    let targets: HashSet<_> = rows
        .iter()
        .filter(|r| r["srcaddr"] == src && (r["dstport"] == "22" || r["dstport"] == "3389"))
        .map(|r| r["dstaddr"].clone())
        .collect();
    assert_eq!(
        targets.len() as u64,
        lat["distinct_targets"].as_u64().unwrap()
    );
    assert!(targets.len() >= 30);
    assert_eq!(m["totals"]["records"], 15_000);
}

#[test]
fn plain_single_file_and_no_inventory() {
    let d = tmpdir("plain");
    run(&GenerateOptions {
        records: 500,
        single_file: true,
        no_gzip: true,
        no_inventory: true,
        ..GenerateOptions::new(d.path())
    })
    .unwrap();
    let files = all_files(d.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let log = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".log"))
        .unwrap();
    assert_eq!(read_text(log).lines().count(), 501);
}
