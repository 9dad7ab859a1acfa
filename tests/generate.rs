//! Integration tests of `flowscope::generate::run`: the files it writes decode, the manifest
//! tells the truth and the inventory has the shapes of the AWS CLI outputs.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flowscope::generate::{run, FormatArg, GenerateOptions};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn gunzip(path: &Path) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Number of gzip members in a file (each member starts with the magic bytes and the
/// deflate method; counted by decoding member after member).
fn gzip_members(path: &Path) -> usize {
    let raw = fs::read(path).unwrap();
    let mut rest = &raw[..];
    let mut n = 0;
    while !rest.is_empty() {
        let mut d = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut d, &mut std::io::sink()).unwrap();
        rest = d.into_inner();
        n += 1;
    }
    n
}

#[test]
fn default_dataset_decodes_and_matches_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    run(&GenerateOptions {
        records: 12_000,
        ..GenerateOptions::new(out)
    })
    .unwrap();
    let m = json(&out.join("manifest.json"));
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), 24);
    let re_name = |name: &str| {
        name.starts_with("123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_2025112")
            && name.ends_with(".log.gz")
    };
    let (mut lines, mut records, mut nodata, mut skipdata, mut multi) = (0, 0, 0, 0, 0);
    for f in files {
        let rel = f["path"].as_str().unwrap();
        assert!(
            rel.starts_with("AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20/"),
            "{rel}"
        );
        let path = out.join(rel);
        assert!(re_name(path.file_name().unwrap().to_str().unwrap()));
        let members = gzip_members(&path);
        assert_eq!(members as u64, f["gzip_members"].as_u64().unwrap());
        multi += (members == 2) as usize;
        let text = gunzip(&path);
        let mut it = text.lines();
        let header = it.next().unwrap();
        assert!(header.starts_with("version ") && header.contains("interface-id"));
        assert!(!header.contains('$'));
        let n = header.split(' ').count();
        for l in it {
            assert_eq!(l.split(' ').count(), n);
            records += 1;
            nodata += l.contains(" NODATA") as u64;
            skipdata += l.contains(" SKIPDATA") as u64;
        }
        lines += text.lines().count() as u64;
    }
    assert_eq!(multi, 1, "one multi-member gzip file");
    let t = &m["totals"];
    assert_eq!(t["lines"].as_u64().unwrap(), lines);
    assert_eq!(t["records"].as_u64().unwrap(), records);
    assert_eq!(records, 12_000);
    assert_eq!(t["header_lines"].as_u64().unwrap(), 24);
    assert_eq!(t["nodata_records"].as_u64().unwrap(), nodata);
    assert_eq!(t["skipdata_records"].as_u64().unwrap(), skipdata);
    assert!(nodata > 0);
}

#[test]
fn inventory_has_aws_cli_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    run(&GenerateOptions {
        records: 2_000,
        files: 2,
        ..GenerateOptions::new(out)
    })
    .unwrap();

    let sgs = json(&out.join("security-groups.json"));
    let groups = sgs["SecurityGroups"].as_array().unwrap();
    let by_name: HashMap<&str, &Value> = groups
        .iter()
        .map(|g| (g["GroupName"].as_str().unwrap(), g))
        .collect();
    for g in groups {
        assert!(g["GroupId"].as_str().unwrap().starts_with("sg-"));
        assert_eq!(g["GroupId"].as_str().unwrap().len(), 20);
        assert_eq!(g["OwnerId"], "123456789012");
        assert_eq!(g["VpcId"], "vpc-0a1b2c3d4e5f60718");
        for key in ["IpPermissions", "IpPermissionsEgress"] {
            for p in g[key].as_array().unwrap() {
                assert!(p["IpProtocol"].is_string());
                for k in [
                    "IpRanges",
                    "Ipv6Ranges",
                    "PrefixListIds",
                    "UserIdGroupPairs",
                ] {
                    assert!(p[k].is_array(), "{k}");
                }
            }
        }
    }
    let alb = by_name["retail-store-alb"];
    let p443 = alb["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["FromPort"] == 443)
        .unwrap();
    assert_eq!(p443["IpRanges"][0]["CidrIp"], "0.0.0.0/0");
    assert_eq!(p443["Ipv6Ranges"][0]["CidrIpv6"], "::/0");
    let orders = by_name["retail-store-ecs-orders-task"];
    assert!(orders["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["FromPort"] == 9000 && p["ToPort"] == 9100));
    let rds = by_name["retail-store-ecs-orders-rds"];
    assert_eq!(
        rds["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"],
        orders["GroupId"]
    );

    let enis = json(&out.join("network-interfaces.json"));
    let enis = enis["NetworkInterfaces"].as_array().unwrap();
    assert_eq!(enis.len(), 18);
    let group_ids: HashSet<&str> = groups
        .iter()
        .map(|g| g["GroupId"].as_str().unwrap())
        .collect();
    for e in enis {
        let id = e["NetworkInterfaceId"].as_str().unwrap();
        assert!(id.starts_with("eni-") && id.len() == 21, "{id}");
        for k in [
            "InterfaceType",
            "Description",
            "Status",
            "SubnetId",
            "VpcId",
            "PrivateIpAddress",
        ] {
            assert!(e[k].is_string(), "{id} {k}");
        }
        assert!(e["RequesterManaged"].is_boolean());
        assert!(e["PrivateIpAddresses"][0]["Primary"].as_bool().unwrap());
        assert!(e["Ipv6Addresses"].is_array() && e["Attachment"].is_object());
        for g in e["Groups"].as_array().unwrap() {
            assert!(group_ids.contains(g["GroupId"].as_str().unwrap()));
        }
    }
    let nat = enis
        .iter()
        .find(|e| e["InterfaceType"] == "nat_gateway")
        .unwrap();
    assert!(nat["Groups"].as_array().unwrap().is_empty());
    assert!(nat["Description"]
        .as_str()
        .unwrap()
        .starts_with("Interface for NAT Gateway nat-"));
    let albs: Vec<_> = enis
        .iter()
        .filter(|e| {
            e["Description"]
                .as_str()
                .unwrap()
                .starts_with("ELB app/retail-store-alb/")
        })
        .collect();
    assert_eq!(albs.len(), 2);
    for a in albs {
        assert_eq!(a["RequesterId"], "amazon-elb");
        assert!(a["Association"]["PublicIp"].is_string());
        assert_eq!(a["Ipv6Addresses"].as_array().unwrap().len(), 1);
    }

    let t = json(&out.join("template.json"));
    let res = t["Resources"].as_object().unwrap();
    let cfn_names: HashSet<&str> = res
        .values()
        .filter(|r| r["Type"] == "AWS::EC2::SecurityGroup")
        .map(|r| r["Properties"]["GroupName"].as_str().unwrap())
        .collect();
    for g in groups {
        let name = g["GroupName"].as_str().unwrap();
        assert_eq!(name == "default", !cfn_names.contains(name), "{name}");
    }
}

#[test]
fn incident_dataset_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    run(&GenerateOptions {
        records: 15_000,
        format: FormatArg::V5,
        incidents: true,
        ..GenerateOptions::new(out)
    })
    .unwrap();
    let m = json(&out.join("manifest.json"));
    let inc = &m["incidents"];
    assert_eq!(inc["port_scan"]["scanner_ip"], "203.0.113.66");
    assert!(inc["port_scan"]["distinct_ports"].as_u64().unwrap() >= 200);
    assert_eq!(inc["exfiltration"]["dst_ip"], "198.51.100.77");
    assert!(
        inc["lateral_movement"]["distinct_targets"]
            .as_u64()
            .unwrap()
            >= 30
    );
    let mut scan_lines = 0;
    for f in m["files"].as_array().unwrap() {
        assert_eq!(f["format"], "v5");
        let text = gunzip(&out.join(f["path"].as_str().unwrap()));
        scan_lines += text
            .lines()
            .filter(|l| l.contains(" 203.0.113.66 "))
            .count() as u64;
    }
    let ps = &inc["port_scan"];
    assert_eq!(
        scan_lines,
        ps["reject_records"].as_u64().unwrap() + ps["accept_records"].as_u64().unwrap()
    );
}

/// Every file of a generated directory, relative path → bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn busy(out: &Path, records: u64, seed: u64, format: FormatArg) {
    run(&GenerateOptions {
        profile: flowscope::generate::Profile::Busy,
        records,
        seed,
        format,
        ..GenerateOptions::new(out)
    })
    .unwrap();
}

/// The busy profile: files of 50,000 records under each account's S3 prefix, a truth file
/// that sums to the data records and agrees with the logs per (interface, protocol,
/// action), an inventory naming every logged interface, and byte-identical output for a
/// seed.
#[test]
fn busy_profile_truth_matches_logs_and_is_deterministic() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    busy(a.path(), 100_000, 3, FormatArg::Mixed);
    busy(b.path(), 100_000, 3, FormatArg::Mixed);
    busy(c.path(), 100_000, 4, FormatArg::Mixed);
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb[k] == *v,
            "{k} differs between two runs with the same seed"
        );
    }
    assert_ne!(
        ta["truth.csv"], tc["truth.csv"],
        "another seed, other traffic"
    );

    // Logs: per (interface, protocol, action), data records; and NODATA/SKIPDATA.
    let mut logged: HashMap<(String, String, String), u64> = HashMap::new();
    let (mut records, mut empty, mut files) = (0u64, 0u64, 0);
    let mut accounts = HashSet::new();
    for (rel, _) in ta.iter().filter(|(k, _)| k.ends_with(".log.gz")) {
        files += 1;
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(
            (parts[0], parts[2], parts[3]),
            ("AWSLogs", "vpcflowlogs", "eu-west-1")
        );
        accounts.insert(parts[1].to_string());
        let text = gunzip(&a.path().join(rel));
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets \
             bytes start end action log-status"
        );
        let mut n = 0;
        for l in lines {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 14, "{rel}: {l}");
            assert_eq!(f[1], parts[1], "{rel}: account of the file");
            n += 1;
            if f[13] == "OK" {
                *logged
                    .entry((f[2].into(), f[7].into(), f[12].into()))
                    .or_default() += 1;
            } else {
                empty += 1;
            }
        }
        assert!(n == 50_000, "{rel}: {n} records");
        records += n;
    }
    assert_eq!((files, records, accounts.len()), (2, 100_000, 2));

    let mut truth: HashMap<(String, String, String), u64> = HashMap::new();
    let csv = String::from_utf8(ta["truth.csv"].clone()).unwrap();
    let mut dirs = HashSet::new();
    for l in csv.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 6, "{l}");
        dirs.insert(f[1].to_string());
        assert_eq!(
            f[3].is_empty(),
            !matches!(f[2], "6" | "17"),
            "{l}: port iff TCP/UDP"
        );
        *truth
            .entry((f[0].into(), f[2].into(), f[4].into()))
            .or_default() += f[5].parse::<u64>().unwrap();
    }
    assert_eq!(
        truth, logged,
        "truth per (interface, protocol, action) = the logs"
    );
    assert_eq!(dirs.len(), 2);
    let meta = json(&a.path().join("truth.json"));
    let totals = &meta["totals"];
    assert_eq!(totals["records"], 100_000);
    assert_eq!(
        totals["data_records"].as_u64().unwrap(),
        truth.values().sum::<u64>()
    );
    assert_eq!(
        totals["nodata_records"].as_u64().unwrap() + totals["skipdata_records"].as_u64().unwrap(),
        empty
    );
    assert!(totals["ipv6_records"].as_u64().unwrap() > 0);
    assert!(totals["reject_records"].as_u64().unwrap() > 5_000);

    // Inventory: all 200 interfaces, every logged one among them; dual-stack and secondary
    // addresses present.
    let enis = json(&a.path().join("network-interfaces.json"));
    let enis = enis["NetworkInterfaces"].as_array().unwrap();
    assert_eq!(enis.len(), 200);
    let ids: HashSet<&str> = enis
        .iter()
        .map(|e| e["NetworkInterfaceId"].as_str().unwrap())
        .collect();
    assert!(logged.keys().all(|k| ids.contains(k.0.as_str())));
    let dual = enis
        .iter()
        .filter(|e| !e["Ipv6Addresses"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(dual, 52);
    assert!(enis
        .iter()
        .any(|e| e["PrivateIpAddresses"].as_array().unwrap().len() > 1));
    let sgs = json(&a.path().join("security-groups.json"));
    assert_eq!(sgs["SecurityGroups"].as_array().unwrap().len(), 56);
}

/// `--format v5` writes flow-direction and tcp-flags; every REJECTed TCP record arriving at
/// its interface is a probe with SYN set, or a response from 443/80 a network ACL dropped.
#[test]
fn busy_profile_v5_has_direction_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    busy(dir.path(), 30_000, 1, FormatArg::V5);
    let t = tree(dir.path());
    let (rel, _) = t.iter().find(|(k, _)| k.ends_with(".log.gz")).unwrap();
    let text = gunzip(&dir.path().join(rel));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (fd, fl, act, proto, status, sport) = (
        col("flow-direction"),
        col("tcp-flags"),
        col("action"),
        col("protocol"),
        col("log-status"),
        col("srcport"),
    );
    let mut rejects = 0;
    for l in lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), header.len());
        if f[status] == "OK" && f[act] == "REJECT" && f[proto] == "6" && f[fd] == "ingress" {
            rejects += 1;
            assert!(f[fl] == "2" || ["443", "80"].contains(&f[sport]), "{l}");
        }
    }
    assert!(rejects > 1_000);
}

#[test]
fn a_non_empty_out_directory_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("security-groups.json");
    fs::write(&keep, "my real inventory").unwrap();
    let out = crate::util::run(&["generate", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::util::stderr(&out));
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    // Nothing was written or removed.
    assert_eq!(fs::read_to_string(&keep).unwrap(), "my real inventory");
    assert!(!dir.path().join("AWSLogs").exists());
    // A file as --out is refused too.
    let out = crate::util::run(&["generate", "--out", keep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::util::stderr(&out).contains("not a directory"));
    // With --force the dataset is written there.
    let out = crate::util::run(&[
        "generate",
        "--force",
        "--records",
        "500",
        "--files",
        "2",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(dir.path().join("manifest.json").is_file());
    // An empty directory needs no --force.
    let empty = tempfile::tempdir().unwrap();
    let out = crate::util::run(&[
        "generate",
        "--records",
        "500",
        "--files",
        "2",
        "--out",
        empty.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
}
