//! Integration tests of `flowscope::generate::run`: the files it writes decode, the manifest
//! tells the truth and the inventory has the shapes of the AWS CLI outputs.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flowscope::generate::{run, FormatArg, GenerateArgs};
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
    run(&GenerateArgs {
        records: 12_000,
        ..GenerateArgs::new(out)
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
    run(&GenerateArgs {
        records: 2_000,
        files: 2,
        ..GenerateArgs::new(out)
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
    run(&GenerateArgs {
        records: 15_000,
        format: FormatArg::V5,
        incidents: true,
        ..GenerateArgs::new(out)
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
