//! `recommend` never pins a third-party public address: egress to the internet is narrowed by
//! port, and pinned only through ranges that stay put (declared stable, published by AWS, or
//! an AWS-managed prefix list).

use crate::recommend::recommend_json;
use crate::recommend_accounts::small_account;
use crate::util::*;

const SAMPLE: &str = "sample-logs/retail-store";
const IP_RANGES: &str = "tests/data/aws/ip-ranges.json";
const LISTS: &str = "tests/data/aws/managed-prefix-lists.json";

fn fixture(p: &str) -> String {
    repo().join(p).to_str().unwrap().to_string()
}

/// Every proposed CIDR of every recommendation.
fn proposed_cidrs(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in doc["recommendations"].as_array().unwrap() {
        for p in r["proposed"].as_array().unwrap() {
            if let Some(c) = p["cidr"].as_str() {
                out.push((r["headline"].as_str().unwrap().to_string(), c.to_string()));
            }
        }
    }
    out
}

fn is_public_host(cidr: &str) -> bool {
    let net: ipnet::IpNet = cidr.parse().unwrap();
    let host = net.prefix_len() == net.max_prefix_len();
    let private = match net.addr() {
        std::net::IpAddr::V4(a) => a.is_private() || a.is_link_local(),
        std::net::IpAddr::V6(a) => (a.segments()[0] & 0xfe00) == 0xfc00,
    };
    host && !private
}

#[test]
fn the_retail_sample_pins_no_public_host_and_says_why() {
    let ranges = fixture(IP_RANGES);
    let lists = fixture(LISTS);
    for extra in [
        vec![],
        vec!["--aws-ip-ranges", &ranges, "--aws-prefix-lists", &lists],
    ] {
        let mut args = extra.clone();
        args.push(SAMPLE);
        let doc = recommend_json(&args);
        let pinned: Vec<_> = proposed_cidrs(&doc)
            .into_iter()
            .filter(|(_, c)| is_public_host(c))
            .collect();
        assert!(
            pinned.is_empty(),
            "{extra:?}: pins public hosts: {pinned:?}"
        );
        assert!(doc["safety"]["violations"].as_array().unwrap().is_empty());
        // The orders task's egress: 443 to the internet, with the reason and the evidence.
        let orders = doc["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["kind"] == "tighten-egress"
                    && r["group_name"] == "retail-store-ecs-orders-task"
                    && !r["proposed"].as_array().unwrap().is_empty()
            })
            .expect("orders egress");
        assert!(
            orders["proposed"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["cidr"] == "0.0.0.0/0" && p["from_port"] == 443 && p["to_port"] == 443),
            "{orders}"
        );
        assert!(orders["reason"].as_str().unwrap().contains("not pinned"));
        let public = orders["evidence"]["public_destinations"]
            .as_array()
            .unwrap();
        let cdn = public
            .iter()
            .find(|p| p["address"] == "104.18.12.33")
            .expect("the CDN address is in the evidence");
        assert_eq!(cdn["allowed_as"], "0.0.0.0/0");
        assert!(cdn["why"].as_str().unwrap().contains("third-party"));
        let amazon = public
            .iter()
            .find(|p| p["address"] == "52.94.236.248")
            .unwrap();
        if extra.is_empty() {
            // Named by the v5 logs' pkt-dst-aws-service; no range without ip-ranges.json.
            assert_eq!(amazon["aws_service"], "AMAZON");
            assert!(amazon["range"].is_null());
        } else {
            // Named, though not pinned: the service's other destinations are third-party.
            assert_eq!(amazon["aws_service"], "AMAZON");
            assert_eq!(amazon["range"], "52.94.236.248/29");
        }
    }
}

/// One dual-stack interface of sg-0a (10.0.1.10, 2600:1f18:aaaa::10) calling the given public
/// addresses on tcp 443.
fn egress_account(dir: &std::path::Path, dests: &[&str]) -> String {
    let mut lines = Vec::new();
    for d in dests {
        let src = if d.contains(':') {
            "2600:1f18:aaaa::10"
        } else {
            "10.0.1.10"
        };
        for i in 0..20 {
            lines.push(format!(
                "2 111111111111 eni-0a1 {src} {d} {} 443 6 5 500 1763596800 1763596860 ACCEPT OK",
                41000 + i
            ));
        }
    }
    small_account(dir, serde_json::json!([]), &lines);
    let enis = serde_json::json!({"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-0a1", "InterfaceType": "interface", "VpcId": "vpc-1",
         "PrivateIpAddress": "10.0.1.10", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10"}],
         "Ipv6Addresses": [{"Ipv6Address": "2600:1f18:aaaa::10"}],
         "Groups": [{"GroupId": "sg-0a"}]}]});
    write(dir, "network-interfaces.json", enis.to_string().as_bytes());
    let sgs = serde_json::json!({"SecurityGroups": [{
        "GroupId": "sg-0a", "GroupName": "app", "OwnerId": "111111111111", "VpcId": "vpc-1",
        "IpPermissions": [],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                                 "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]}]});
    write(dir, "security-groups.json", sgs.to_string().as_bytes());
    dir.to_str().unwrap().to_string()
}

fn egress_proposal(doc: &serde_json::Value) -> Vec<String> {
    // One per egress rule (0.0.0.0/0, and ::/0 for a dual-stack group).
    let recs: Vec<&serde_json::Value> = doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "tighten-egress")
        .collect();
    assert!(
        !recs.is_empty(),
        "no tighten-egress: {}",
        doc["recommendations"]
    );
    assert!(doc["safety"]["violations"].as_array().unwrap().is_empty());
    assert!(
        doc["safety"]["withdrawn"].as_array().unwrap().is_empty(),
        "{}",
        doc["safety"]
    );
    recs.iter()
        .flat_map(|r| r["proposed"].as_array().unwrap())
        .map(|p| {
            format!(
                "{} {} {}",
                p["protocol"].as_str().unwrap(),
                p["from_port"],
                p["cidr"].as_str().or(p["prefix_list_id"].as_str()).unwrap()
            )
        })
        .collect()
}

#[test]
fn aws_destinations_go_through_the_managed_list_then_the_published_range() {
    let dir = tempfile::tempdir().unwrap();
    let d = egress_account(
        dir.path(),
        &["3.218.180.11", "3.218.181.167", "3.218.183.9"],
    );
    let (ranges, lists) = (fixture(IP_RANGES), fixture(LISTS));
    // Nothing known: the internet on 443.
    assert_eq!(
        egress_proposal(&recommend_json(&[&d])),
        ["tcp 443 0.0.0.0/0"]
    );
    // Published ranges: DynamoDB's range, named.
    let doc = recommend_json(&["--aws-ip-ranges", &ranges, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 3.218.180.0/22"]);
    let ev = &doc["recommendations"][0]["evidence"]["public_destinations"][0];
    assert_eq!(ev["aws_service"], "DYNAMODB", "{ev}");
    assert_eq!(ev["aws_region"], "us-east-1");
    // And the managed list: the list, whose entries come from the published ranges.
    let doc = recommend_json(&["--aws-ip-ranges", &ranges, "--aws-prefix-lists", &lists, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 pl-02cd2c6b"]);
    assert!(doc["recommendations"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("(AWS DYNAMODB) through pl-02cd2c6b"));
    // describe-prefix-lists carries the entries itself.
    let side = tempfile::tempdir().unwrap();
    let pl = write(
        side.path(),
        "pl.json",
        br#"{"PrefixLists": [{"PrefixListName": "com.amazonaws.us-east-1.dynamodb", "Cidrs": ["3.218.180.0/22", "52.94.0.0/22"], "PrefixListId": "pl-02cd2c6b"}]}"#,
    );
    let doc = recommend_json(&["--aws-prefix-lists", &pl, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 pl-02cd2c6b"]);
}

#[test]
fn declared_stable_ranges_are_pinned_and_one_third_party_address_opens_the_port() {
    let dir = tempfile::tempdir().unwrap();
    // Beside the logs, not among them.
    let side = tempfile::tempdir().unwrap();
    let stable = write(
        side.path(),
        "stable.txt",
        b"# partner\n140.82.112.0/20 code host\n",
    );
    let d = egress_account(dir.path(), &["140.82.114.4", "140.82.113.3"]);
    let doc = recommend_json(&["--stable-cidrs", &stable, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 140.82.112.0/20"]);
    // One address outside it: the port to the internet, not the range plus a /32.
    let d = egress_account(dir.path(), &["140.82.114.4", "104.18.12.33"]);
    let doc = recommend_json(&["--stable-cidrs", &stable, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 0.0.0.0/0"]);
    // IPv6 destinations: ::/0 (from the ::/0 rule) beside 0.0.0.0/0.
    let d = egress_account(dir.path(), &["104.18.12.33", "2606:4700::6810:c21"]);
    let mut got = egress_proposal(&recommend_json(&[&d]));
    got.sort();
    assert_eq!(got, ["tcp 443 0.0.0.0/0", "tcp 443 ::/0"]);
}

#[test]
fn bad_range_files_are_named_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = egress_account(dir.path(), &["104.18.12.33"]);
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "stable.txt", b"10.0.0.0/8\nnot-a-cidr\n");
    let out = run(&["recommend", "--stable-cidrs", &bad, &d]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stable.txt: line 2:"),
        "{}",
        stderr(&out)
    );
    let bad = write(
        dir.path(),
        "ranges.json",
        b"{\"prefixes\": [\n{\"ip_prefix\": 5}]}",
    );
    let out = run(&["recommend", "--aws-ip-ranges", &bad, &d]);
    assert!(
        stderr(&out).contains("ranges.json: prefixes[0]"),
        "{}",
        stderr(&out)
    );
    let bad = write(dir.path(), "lists.json", b"{\"PrefixLists\": [");
    let out = run(&["recommend", "--aws-prefix-lists", &bad, &d]);
    assert!(
        stderr(&out).contains("lists.json: EOF while parsing"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("line 1 column"), "{}", stderr(&out));
}

/// `egress_account`'s logs as v5 would write them: `pkt-dst-aws-service` added, `S3` for the
/// addresses in `s3`.
fn with_services(dir: &str, s3: &[&str]) {
    let path = std::path::Path::new(dir).join("flows.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        let extra = if i == 0 {
            "pkt-dst-aws-service"
        } else if s3.contains(&l.split(' ').nth(4).unwrap()) {
            "S3"
        } else {
            "-"
        };
        out.push_str(&format!("{l} {extra}\n"));
    }
    std::fs::write(&path, out).unwrap();
}

/// (address, aws_service, allowed_as) of the egress evidence.
fn services(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "tighten-egress")
        .flat_map(|r| r["evidence"]["public_destinations"].as_array().unwrap())
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_string(),
                p["aws_service"].to_string(),
                p["allowed_as"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn v5_logs_name_the_aws_service_and_its_managed_list_is_proposed() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = ["52.216.8.9", "52.216.20.1"];
    let d = egress_account(dir.path(), &s3);
    let lists = fixture(LISTS);
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    // v2 logs and no ip-ranges.json: nothing says these are AWS's; the S3 list's entries are
    // unknown, so it cannot be proposed.
    let doc = recommend_json(&["--aws-prefix-lists", &lists, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 0.0.0.0/0"]);
    assert_eq!(
        services(&doc),
        [
            s("52.216.8.9", "null", "0.0.0.0/0"),
            s("52.216.20.1", "null", "0.0.0.0/0")
        ]
    );
    // The same flows from v5 logs: the service is named; still by port without its list.
    with_services(&d, &s3);
    let doc = recommend_json(&[&d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 0.0.0.0/0"]);
    assert_eq!(
        services(&doc),
        [
            s("52.216.8.9", "\"S3\"", "0.0.0.0/0"),
            s("52.216.20.1", "\"S3\"", "0.0.0.0/0")
        ]
    );
    let why = doc["recommendations"][0]["evidence"]["public_destinations"][0]["why"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("an AWS S3 address (named by the flow log)"),
        "{why}"
    );
    // With the managed lists: S3's list, checked by the safety simulation.
    let doc = recommend_json(&["--aws-prefix-lists", &lists, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 pl-63a5400a"]);
    assert_eq!(
        services(&doc),
        [
            s("52.216.8.9", "\"S3\"", "pl-63a5400a"),
            s("52.216.20.1", "\"S3\"", "pl-63a5400a")
        ]
    );
    // A third-party destination beside them: the port to the internet; S3's still named.
    let d = egress_account(dir.path(), &["52.216.8.9", "104.18.12.33"]);
    with_services(&d, &s3);
    let doc = recommend_json(&["--aws-prefix-lists", &lists, &d]);
    assert_eq!(egress_proposal(&doc), ["tcp 443 0.0.0.0/0"]);
    assert_eq!(
        services(&doc),
        [
            s("52.216.8.9", "\"S3\"", "0.0.0.0/0"),
            s("104.18.12.33", "null", "0.0.0.0/0")
        ]
    );
}
