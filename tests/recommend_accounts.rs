//! `flowscope recommend` on small hand-made accounts (one group, one
//! interface, the log lines each test needs): rules it cannot evaluate,
//! changes withdrawn as unsafe, several accounts, YAML inventory, ICMP
//! rules, and CIDRs and port ranges narrowed to what was used.

use crate::recommend::{recommend_json, recs_of};
use crate::util::*;

/// An account of one group and one interface (10.0.1.10) with the given ingress permissions,
/// and v2 log lines, in `dir` as recommend finds them next to the logs.
pub fn small_account(dir: &std::path::Path, permissions: serde_json::Value, lines: &[String]) {
    let sgs = serde_json::json!({"SecurityGroups": [{
        "GroupId": "sg-0a", "GroupName": "app", "OwnerId": "111111111111", "VpcId": "vpc-1",
        "IpPermissions": permissions,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]});
    let enis = serde_json::json!({"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-0a1", "InterfaceType": "interface", "VpcId": "vpc-1",
         "PrivateIpAddress": "10.0.1.10", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10"}],
         "Groups": [{"GroupId": "sg-0a"}]},
        {"NetworkInterfaceId": "eni-0a2", "InterfaceType": "interface", "VpcId": "vpc-1",
         "PrivateIpAddress": "10.0.1.11", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.11"}],
         "Groups": [{"GroupId": "sg-0a"}]}]});
    write(dir, "security-groups.json", sgs.to_string().as_bytes());
    write(dir, "network-interfaces.json", enis.to_string().as_bytes());
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    write(dir, "flows.log", text.as_bytes());
}

/// `n` accepted tcp flows from `peer` to `eni`'s `local` address, port `port`.
fn accepted(eni: &str, peer: &str, local: &str, port: u16, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "2 111111111111 {eni} {peer} {local} {} {port} 6 5 500 1763596800 1763596860 ACCEPT OK",
                40000 + i
            )
        })
        .collect()
}

#[test]
fn rules_that_cannot_be_evaluated_are_unobservable_and_never_revoked() {
    // The issue's repro: a prefix list without its entries and another account's group.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for peer in ["192.168.1.5", "172.31.5.5"] {
        lines.extend(accepted("eni-0a1", peer, "10.0.1.10", 22, 50));
        lines.extend(accepted("eni-0a1", peer, "10.0.1.10", 443, 50));
    }
    small_account(
        dir.path(),
        serde_json::json!([
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": "pl-1"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "UserIdGroupPairs": [{"GroupId": "sg-f", "UserId": "999999999999"}]}]),
        &lines,
    );
    let d = dir.path().to_str().unwrap();
    let out = run(&["recommend", "-o", "cli", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cli = stdout(&out);
    assert!(
        !cli.contains("revoke-security-group-ingress"),
        "revokes a rule it cannot evaluate:\n{cli}"
    );
    let doc = recommend_json(&[d]);
    for r in doc["rules"].as_array().unwrap() {
        if r["direction"] == "ingress" {
            assert_eq!(r["status"], "unobservable", "{r}");
            assert_eq!(r["hits"]["unattributed_flows"], 100, "{r}");
        }
    }
    assert!(
        doc["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["direction"] != "ingress"),
        "{}",
        doc["recommendations"]
    );
    assert_eq!(
        doc["safety"]["unattributed_flows"], 200,
        "{}",
        doc["safety"]
    );
    assert_eq!(doc["findings"]["unattributed_flows"], 200);
    assert_eq!(doc["findings"]["unexplained_flows"], 0);
    let table = stdout(&run(&["recommend", d]));
    assert!(
        table.contains("200 accepted flows could not be attributed to a rule"),
        "{table}"
    );
    assert!(
        table.contains("unobservable (prefix-list entries unknown"),
        "{table}"
    );
    // With the prefix list's entries the ssh rule is evaluated again: used by 192.168.1.5.
    let pl = write(
        dir.path(),
        "pl.json",
        br#"{"PrefixLists": {"pl-1": ["192.168.1.0/24"]}}"#,
    );
    let doc = recommend_json(&["--prefix-lists", &pl, d]);
    let ssh = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix_list_id"] == "pl-1")
        .unwrap();
    assert_eq!(ssh["status"], "used", "{ssh}");
    assert_eq!(ssh["hits"]["flows"], 50);
}

#[test]
fn a_change_that_could_deny_flows_from_too_many_peers_is_withdrawn() {
    // eni-0a2 sees three peers on 443 (enough to narrow 10.0.0.0/8 to them), eni-0a1 more
    // peers than are counted one by one: narrowing would deny those, so it is withdrawn.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for i in 0..3 {
        lines.extend(accepted(
            "eni-0a2",
            &format!("10.9.0.{i}"),
            "10.0.1.11",
            443,
            20,
        ));
    }
    for i in 0..2100u32 {
        let peer = format!("10.{}.{}.{}", 20 + i / 65536, (i / 256) % 256, i % 256);
        lines.extend(accepted("eni-0a1", &peer, "10.0.1.10", 443, 1));
    }
    small_account(
        dir.path(),
        serde_json::json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]),
        &lines,
    );
    let d = dir.path().to_str().unwrap();
    let doc = recommend_json(&[d]);
    let narrowing: Vec<_> = doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["direction"] == "ingress")
        .collect();
    assert!(narrowing.is_empty(), "{narrowing:?}");
    let withdrawn = doc["safety"]["withdrawn"].as_array().unwrap();
    assert_eq!(withdrawn.len(), 1, "{}", doc["safety"]);
    assert!(
        withdrawn[0]
            .as_str()
            .unwrap()
            .contains("eni-0a1 ingress 6 443 (many peers)"),
        "{withdrawn:?}"
    );
    assert!(doc["safety"]["violations"].as_array().unwrap().is_empty());
    assert_eq!(doc["safety"]["unattributed_flows"], 2100);
    let cli = stdout(&run(&["recommend", "-o", "cli", d]));
    assert!(!cli.contains("revoke-security-group-ingress"), "{cli}");
}

#[test]
fn an_inventory_of_another_account_is_an_error_not_zero_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let lines = accepted("eni-0ff", "192.168.1.5", "10.0.1.10", 443, 5);
    small_account(
        dir.path(),
        serde_json::json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        &lines,
    );
    let out = run(&["recommend", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("none of the 1 interfaces in the logs (e.g. eni-0ff) is in the inventory"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

/// Two accounts, each a directory of logs with its inventory: `a` (sg-0a on eni-0a1) and `b`
/// (sg-0b on eni-0b1); both allow 443 from the world, used by one peer.
fn two_accounts(root: &std::path::Path) -> (String, String) {
    let a = root.join("a");
    let b = root.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let world443 = serde_json::json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    small_account(
        &a,
        world443.clone(),
        &accepted("eni-0a1", "198.51.100.7", "10.0.1.10", 443, 5),
    );
    small_account(
        &b,
        world443,
        &accepted("eni-0b1", "198.51.100.8", "10.1.1.10", 443, 5),
    );
    // Account b: its own group and interface ids and addresses.
    for name in ["security-groups.json", "network-interfaces.json"] {
        let p = b.join(name);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("sg-0a", "sg-0b")
            .replace("eni-0a", "eni-0b")
            .replace("10.0.1.", "10.1.1.")
            .replace("111111111111", "222222222222");
        std::fs::write(&p, text).unwrap();
    }
    (
        a.to_str().unwrap().to_string(),
        b.to_str().unwrap().to_string(),
    )
}

fn groups_with_rules(doc: &serde_json::Value) -> std::collections::BTreeSet<String> {
    doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "used")
        .map(|r| r["group_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn several_accounts_are_merged_from_directories_and_repeated_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_accounts(dir.path());
    let want: std::collections::BTreeSet<String> =
        ["sg-0a".to_string(), "sg-0b".to_string()].into();
    // Two directories of logs, each with its inventory.
    let doc = recommend_json(&[&a, &b]);
    assert_eq!(groups_with_rules(&doc), want, "{}", doc["rules"]);
    assert!(doc["findings"]["unknown_interfaces"]
        .as_array()
        .unwrap()
        .is_empty());
    // The flags, repeated.
    let f = |d: &str, n: &str| format!("{d}/{n}");
    let doc = recommend_json(&[
        "--groups",
        &f(&a, "security-groups.json"),
        "--groups",
        &f(&b, "security-groups.json"),
        "--interfaces",
        &f(&a, "network-interfaces.json"),
        "--interfaces",
        &f(&b, "network-interfaces.json"),
        &f(&a, "flows.log"),
        &f(&b, "flows.log"),
    ]);
    assert_eq!(groups_with_rules(&doc), want);
    // A directory as the flag's value: searched below for the conventional names.
    let root = dir.path().to_str().unwrap();
    let doc = recommend_json(&[
        "--groups",
        root,
        "--interfaces",
        root,
        &f(&a, "flows.log"),
        &f(&b, "flows.log"),
    ]);
    assert_eq!(groups_with_rules(&doc), want);
    // One account given twice is no conflict; the same group with other rules is.
    let doc = recommend_json(&["--groups", &a, "--groups", &a, &a]);
    assert_eq!(doc["rules"].as_array().unwrap().len(), 2);
    let sgs = std::fs::read_to_string(f(&a, "security-groups.json"))
        .unwrap()
        .replace("\"FromPort\":443", "\"FromPort\":80");
    let other = write(dir.path(), "other.json", sgs.as_bytes());
    let out = run(&["recommend", "--groups", &a, "--groups", &other, &a]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("other.json: security group sg-0a is also in")
            && err.contains("security-groups.json with different rules"),
        "{err}"
    );
}

#[test]
fn yaml_inventory_from_aws_output_yaml_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = two_accounts(dir.path());
    let yaml = "SecurityGroups:\n- Description: app\n  GroupId: sg-0a\n  GroupName: app\n  OwnerId: '111111111111'\n  VpcId: vpc-1\n  IpPermissions:\n  - FromPort: 443\n    IpProtocol: tcp\n    IpRanges:\n    - CidrIp: 0.0.0.0/0\n    ToPort: 443\n  IpPermissionsEgress:\n  - IpProtocol: '-1'\n    IpRanges:\n    - CidrIp: 0.0.0.0/0\n";
    // `aws … --output yaml > sgs.txt`: recognised by content, not only by extension.
    for name in ["sgs.yaml", "sgs.txt"] {
        let p = write(dir.path(), name, yaml.as_bytes());
        let doc = recommend_json(&["--groups", &p, &a]);
        assert_eq!(
            groups_with_rules(&doc),
            ["sg-0a".to_string()].into(),
            "{name}"
        );
        assert_eq!(doc["rules"].as_array().unwrap().len(), 2);
    }
    // Neither JSON nor YAML (the text output): say which output to give.
    let p = write(
        dir.path(),
        "sgs.text",
        b"SECURITYGROUPS\tapp\tsg-0a\tapp\t111\tvpc-1\n",
    );
    let out = run(&["recommend", "--groups", &p, &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--output json"), "{}", stderr(&out));
}

#[test]
fn icmp_rules_are_shown_by_type_and_code() {
    let dir = tempfile::tempdir().unwrap();
    small_account(
        dir.path(),
        serde_json::json!([
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]),
        &accepted("eni-0a1", "198.51.100.7", "10.0.1.10", 443, 1),
    );
    let table = stdout(&run(&["recommend", dir.path().to_str().unwrap()]));
    for want in ["icmp type 8 ", "icmp type 3 code 4 ", "icmp all "] {
        assert!(table.contains(want), "{want:?} in\n{table}");
    }
    assert!(!table.contains("icmp all ports"), "{table}");
}

#[test]
fn narrow_cidr_to_the_peers_and_narrow_ports_to_the_ports_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    // 5432 from 10.0.0.0/8, used by three addresses outside our groups.
    for i in 1..=3 {
        lines.extend(accepted(
            "eni-0a1",
            &format!("10.9.0.{i}"),
            "10.0.1.10",
            5432,
            10,
        ));
    }
    // 8000-8100 from the group itself, used on 8080 and 8081 only.
    for port in [8080, 8081] {
        lines.extend(accepted("eni-0a1", "10.0.1.11", "10.0.1.10", port, 10));
    }
    small_account(
        dir.path(),
        serde_json::json!([
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8100, "UserIdGroupPairs": [{"GroupId": "sg-0a"}]}]),
        &lines,
    );
    let doc = recommend_json(&[dir.path().to_str().unwrap()]);
    let recs = |kind: &str| recs_of(&doc, kind, "sg-0a");
    let narrow = recs("narrow-cidr");
    assert_eq!(narrow.len(), 1, "{}", doc["recommendations"]);
    assert_eq!(narrow[0]["rule"]["cidr"], "10.0.0.0/8");
    let proposed: Vec<(String, i64, i64)> = narrow[0]["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["cidr"].as_str().unwrap().to_string(),
                p["from_port"].as_i64().unwrap(),
                p["to_port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        proposed,
        ["10.9.0.1/32", "10.9.0.2/32", "10.9.0.3/32"]
            .map(|c| (c.to_string(), 5432, 5432))
            .to_vec()
    );
    let ports = recs("narrow-ports");
    assert_eq!(ports.len(), 1, "{}", doc["recommendations"]);
    assert_eq!(ports[0]["rule"]["from_port"], 8000);
    let proposed: Vec<(i64, i64, &str)> = ports[0]["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["from_port"].as_i64().unwrap(),
                p["to_port"].as_i64().unwrap(),
                p["group_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(proposed, vec![(8080, 8081, "sg-0a")]);
    assert!(doc["safety"]["violations"].as_array().unwrap().is_empty());
}
