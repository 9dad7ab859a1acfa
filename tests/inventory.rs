//! Integration tests for the inventory layer on real public samples (tests/data/inventory,
//! see ORIGIN.md there) and on deliberately broken inputs; templates are in templates.rs,
//! matching properties in matching.rs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use flowscope::inventory::{
    InterfaceKind, Inventory, InventoryPaths, Protocol, RuleDirection, RuleTarget, SecurityGroup,
};
use flowscope::matching::{matching_rules, rule_allows, Match};
use serde_json::json;

pub(crate) fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/inventory")
        .join(rel)
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn load(paths: InventoryPaths) -> Inventory {
    Inventory::load(&paths).unwrap_or_else(|e| panic!("{e}"))
}

fn cloudmapper() -> Inventory {
    load(InventoryPaths {
        groups: vec![data("cloudmapper-demo/ec2-describe-security-groups.json")],
        interfaces: vec![data(
            "cloudmapper-demo/ec2-describe-network-interfaces.json",
        )],
        ..Default::default()
    })
}

fn group_target(id: &str) -> RuleTarget {
    RuleTarget::Group {
        group_id: id.into(),
        user_id: Some("123456789012".into()),
    }
}

#[test]
fn cloudmapper_groups_expand_per_source() {
    let inv = cloudmapper();
    assert_eq!(inv.groups.len(), 8);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let web = inv.group("sg-00000004").unwrap();
    assert_eq!(web.group_name, "Internal web");
    // one IpPermission with two UserIdGroupPairs → two rules
    let ingress: Vec<_> = web
        .rules
        .iter()
        .filter(|r| r.direction == RuleDirection::Ingress)
        .collect();
    assert_eq!(ingress.len(), 2);
    assert_eq!(ingress[0].target, group_target("sg-00000003"));
    assert_eq!(ingress[1].target, group_target("sg-00000002"));
    assert!(ingress.iter().all(|r| r.protocol == Protocol::TCP
        && r.from_port == Some(8000)
        && r.to_port == Some(8000)));
    let bastion = inv.group("sg-00000002").unwrap();
    let cidrs: Vec<_> = bastion
        .rules
        .iter()
        .filter_map(|r| match r.target {
            RuleTarget::Cidr(n) if r.direction == RuleDirection::Ingress => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(cidrs, ["1.1.1.1/32", "2.2.2.2/28"]);
    // default SG self reference
    let default = inv.group("sg-00000001").unwrap();
    assert_eq!(default.rules[0].protocol, Protocol::All);
    assert_eq!(default.rules[0].target, group_target("sg-00000001"));
    let total: usize = inv.groups.iter().map(|g| g.rules.len()).sum();
    assert_eq!(total, 19);
}

#[test]
fn cloudmapper_interfaces_and_address_index() {
    let inv = cloudmapper();
    assert_eq!(inv.interfaces.len(), 1);
    let eni = inv.interface("eni-00000001").unwrap();
    assert_eq!(eni.kind, InterfaceKind::EcsTask);
    assert_eq!(eni.kind.to_string(), "ecs-task");
    assert_eq!(eni.requester_id.as_deref(), Some("578734482556"));
    assert_eq!(eni.private_ips, vec![ip("172.31.48.168")]);
    assert_eq!(eni.public_ips, vec![ip("3.80.3.41")]);
    assert_eq!(
        inv.interface_by_addr(ip("172.31.48.168")).unwrap().id,
        "eni-00000001"
    );
    assert_eq!(
        inv.interface_by_addr(ip("3.80.3.41")).unwrap().id,
        "eni-00000001"
    );
    assert_eq!(inv.groups_of_addr(ip("172.31.48.168")), ["sg-00000008"]);
    // SG references never match public addresses
    assert!(inv.groups_of_addr(ip("3.80.3.41")).is_empty());
    assert!(inv.groups_of_addr(ip("10.9.9.9")).is_empty());
    assert_eq!(inv.local_addrs("eni-00000001"), [ip("172.31.48.168")]);
    assert!(inv.local_addrs("eni-nope").is_empty());
    let groups: Vec<_> = inv.groups_of_interface("eni-00000001").collect();
    assert_eq!(groups[0].group_name, "Public");
}

#[test]
fn cloudmapper_matching_union_of_groups() {
    let inv = cloudmapper();
    let pl = HashMap::new();
    // an instance in "Bastion" (sg-00000002) reaching "Internal web" on 8000
    let peer_groups = vec!["sg-00000002".to_string()];
    let web = inv.group("sg-00000004").unwrap();
    let hits = matching_rules(
        std::iter::once(web),
        RuleDirection::Ingress,
        6,
        Some(8000),
        ip("172.31.0.5"),
        &peer_groups,
        &pl,
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].target, group_target("sg-00000002"));
    assert!(matching_rules(
        std::iter::once(web),
        RuleDirection::Ingress,
        6,
        Some(8001),
        ip("172.31.0.5"),
        &peer_groups,
        &pl,
    )
    .is_empty());
    // SSH from 2.2.2.5 (inside 2.2.2.2/28 = 2.2.2.0/28) but not from 2.2.2.17
    let bastion = inv.group("sg-00000002").unwrap();
    let ssh = &bastion.rules[1];
    assert_eq!(
        rule_allows(ssh, 6, Some(22), ip("2.2.2.5"), &[], &pl),
        Match::Yes
    );
    assert_eq!(
        rule_allows(ssh, 6, Some(22), ip("2.2.2.17"), &[], &pl),
        Match::No
    );
    // egress -1 to 0.0.0.0/0 from any group: every ENI group hit at once
    let all: Vec<&SecurityGroup> = inv.groups.iter().collect();
    let hits = matching_rules(
        all.into_iter(),
        RuleDirection::Egress,
        17,
        Some(53),
        ip("8.8.8.8"),
        &[],
        &pl,
    );
    assert_eq!(hits.len(), 8);
}

#[test]
fn aws_cli_security_group_rules_carry_ids() {
    let inv = load(InventoryPaths {
        group_rules: vec![data(
            "aws-cli-examples/describe-security-group-rules.output1.json",
        )],
        ..Default::default()
    });
    assert_eq!(inv.groups.len(), 1);
    let g = &inv.groups[0];
    assert_eq!(g.group_id, "sg-1234567890abcdef0");
    assert_eq!(g.owner_id.as_deref(), Some("111122223333"));
    let ids: Vec<_> = g
        .rules
        .iter()
        .map(|r| r.rule_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "sgr-abcdef01234567890",
            "sgr-bcdef01234567890a",
            "sgr-cdef01234567890ab"
        ]
    );
    assert_eq!(g.rules[0].direction, RuleDirection::Ingress);
    assert_eq!(
        g.rules[0].target,
        RuleTarget::Group {
            group_id: "sg-1234567890abcdef0".into(),
            user_id: Some("111122223333".into())
        }
    );
    assert_eq!(g.rules[1].target, RuleTarget::Cidr("::/0".parse().unwrap()));
    assert!(g
        .rules
        .iter()
        .all(|r| r.protocol == Protocol::All && r.from_port.is_none()));
    let pl = HashMap::new();
    assert_eq!(
        rule_allows(&g.rules[1], 6, Some(443), ip("2001:db8::1"), &[], &pl),
        Match::Yes
    );
    assert_eq!(
        rule_allows(&g.rules[1], 6, Some(443), ip("192.0.2.1"), &[], &pl),
        Match::No
    );
    assert_eq!(
        rule_allows(&g.rules[2], 6, Some(443), ip("192.0.2.1"), &[], &pl),
        Match::Yes
    );
}

#[test]
fn groups_and_rules_outputs_merge() {
    // the rules output for a group also listed by describe-security-groups replaces its
    // rules (gaining sgr- ids) and keeps the group's name
    let dir = tempfile::tempdir().unwrap();
    let groups = dir.path().join("security-groups.json");
    std::fs::write(
        &groups,
        json!({"SecurityGroups": [{"GroupId": "sg-1234567890abcdef0", "GroupName": "default",
            "Description": "default VPC security group",
            "IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1234567890abcdef0"}]}]}]})
        .to_string(),
    )
    .unwrap();
    std::fs::copy(
        data("aws-cli-examples/describe-security-group-rules.output1.json"),
        dir.path().join("security-group-rules.json"),
    )
    .unwrap();
    let paths = Inventory::from_dir(dir.path()).unwrap().unwrap();
    assert!(paths.groups.len() == 1 && paths.group_rules.len() == 1 && paths.interfaces.is_empty());
    let inv = load(paths);
    let g = inv.group("sg-1234567890abcdef0").unwrap();
    assert_eq!(g.group_name, "default");
    assert_eq!(g.rules.len(), 3);
    assert!(g.rules.iter().all(|r| r.rule_id.is_some()));
    assert!(Inventory::from_dir(&data("bad")).unwrap().is_none());
}

#[test]
fn aws_cli_and_botocore_interfaces() {
    let inv = load(InventoryPaths {
        interfaces: vec![data(
            "aws-cli-examples/describe-network-interfaces.output1.json",
        )],
        ..Default::default()
    });
    assert_eq!(inv.interfaces.len(), 2);
    let a = inv.interface("eni-e5aa89a3").unwrap();
    assert_eq!(a.kind, InterfaceKind::Instance);
    assert_eq!(a.instance_id.as_deref(), Some("i-1234567890abcdef0"));
    assert_eq!(a.public_ips, [ip("203.0.113.12")]);
    assert_eq!(
        inv.interface_by_addr(ip("10.0.1.149")).unwrap().id,
        "eni-f9ba99bf"
    );
    assert_eq!(
        inv.interface_by_addr(ip("198.51.100.0")).unwrap().id,
        "eni-f9ba99bf"
    );
    assert_eq!(inv.groups_of_addr(ip("10.0.1.17")), ["sg-8637d3e3"]);
    // no groups file: no dangling warnings
    assert!(inv.warnings.is_empty());

    let inv = load(InventoryPaths {
        interfaces: vec![data(
            "aws-cli-examples/describe-network-interfaces.output2.json",
        )],
        ..Default::default()
    });
    let e = inv.interface("eni-b9a5ac93").unwrap();
    assert_eq!(e.status.as_deref(), Some("available"));
    assert_eq!(e.kind, InterfaceKind::Other);
    assert_eq!(e.private_ips, [ip("10.0.1.55"), ip("10.0.1.117")]);
    assert_eq!(inv.groups_of_addr(ip("10.0.1.117")), ["sg-905002f5"]);

    let inv = load(InventoryPaths {
        interfaces: vec![data(
            "botocore-examples/describe-network-interfaces.output.json",
        )],
        ..Default::default()
    });
    assert_eq!(
        inv.interface("eni-e5aa89a3").unwrap().subnet_id.as_deref(),
        Some("subnet-b61f49f0")
    );
}

#[test]
fn botocore_permissions() {
    let inv = load(InventoryPaths {
        groups: vec![data(
            "botocore-examples/authorize-inputs-as-security-groups.json",
        )],
        ..Default::default()
    });
    // sg-1a2b3c4d appears twice: merged, with a warning
    assert_eq!(inv.groups.len(), 4);
    assert!(inv
        .warnings
        .iter()
        .any(|w| w.contains("sg-1a2b3c4d listed more than once")));
    // upstream id with a trailing space is trimmed
    let rdp = inv.group("sg-123abc12").unwrap();
    assert_eq!(
        rdp.rules[0].target,
        RuleTarget::Cidr("2001:db8:1234:1a00::/64".parse().unwrap())
    );
    assert_eq!(
        rdp.rules[0].description.as_deref(),
        Some("RDP access from the NY office")
    );
    let e = inv.group("sg-1a2b3c4d").unwrap();
    assert_eq!(e.rules.len(), 2);
    assert!(e.rules.iter().all(|r| r.direction == RuleDirection::Egress));
    // sg-111aaa22 references sg-1a2b3c4d (present) and sg-1a2b3c4d references sg-4b51a32f (absent)
    assert!(inv.warnings.iter().any(|w| w.contains("sg-4b51a32f")));
    assert!(!inv
        .warnings
        .iter()
        .any(|w| w.contains("references sg-1a2b3c4d")));
}

#[test]
fn full_load_with_template_and_prefix_lists() {
    let dir = tempfile::tempdir().unwrap();
    let pl = dir.path().join("prefix-lists.json");
    std::fs::write(
        &pl,
        json!({"PrefixLists": {"pl-0unknown": [{"Cidr": "10.20.0.0/16"}]}}).to_string(),
    )
    .unwrap();
    let inv = load(InventoryPaths {
        groups: vec![data("bad/dangling-groups.json")],
        prefix_lists: vec![pl],
        template: Some(data("aws-samples-ecs-refarch/security-groups.yaml")),
        ..Default::default()
    });
    assert_eq!(inv.prefix_lists["pl-0unknown"].len(), 1);
    assert!(inv.template.is_some());
    let r = pl_rule(&inv);
    assert_eq!(
        rule_allows(r, 6, Some(8080), ip("10.20.1.1"), &[], &inv.prefix_lists),
        Match::Yes
    );
    // template groups unresolved against this inventory → warnings
    assert!(inv
        .warnings
        .iter()
        .any(|w| w.contains("ECSHostSecurityGroup")));
}

fn err(paths: InventoryPaths) -> String {
    match Inventory::load(&paths) {
        Ok(_) => panic!("expected an error for {paths:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_inputs_name_file_and_object() {
    let e = err(InventoryPaths {
        groups: vec![data("bad/malformed.json")],
        ..Default::default()
    });
    assert!(e.contains("malformed.json: malformed JSON"), "{e}");
    let e = err(InventoryPaths {
        groups: vec![data("bad/wrong-shape.json")],
        ..Default::default()
    });
    assert!(
        e.contains("wrong-shape.json: expected an object with \"SecurityGroups\""),
        "{e}"
    );
    let e = err(InventoryPaths {
        groups: vec![data("bad/bad-cidr.json")],
        ..Default::default()
    });
    assert!(
        e.ends_with(
            "bad-cidr.json: SecurityGroups[1] (sg-0abc): IpPermissions[1]: IpRanges[0]: bad CidrIp \"10.0.0.300/24\""
        ),
        "{e}"
    );
    let e = err(InventoryPaths {
        interfaces: vec![data("bad/wrong-shape.json")],
        ..Default::default()
    });
    assert!(
        e.contains("wrong-shape.json: expected an object with \"NetworkInterfaces\""),
        "{e}"
    );
    let e = err(InventoryPaths {
        template: Some(data("bad/bad-template.yaml")),
        ..Default::default()
    });
    assert!(e.contains("bad-template.yaml: malformed YAML"), "{e}");
    let e = err(InventoryPaths {
        template: Some(data("cloudmapper-demo/ec2-describe-security-groups.json")),
        ..Default::default()
    });
    assert!(e.contains("not a CloudFormation template"), "{e}");
    let e = err(InventoryPaths {
        groups: vec![data("does-not-exist.json")],
        ..Default::default()
    });
    assert!(e.contains("does-not-exist.json"), "{e}");
    let e = err(InventoryPaths {
        prefix_lists: vec![data("bad/wrong-shape.json")],
        ..Default::default()
    });
    assert!(
        e.contains("wrong-shape.json: [0]: missing PrefixListId"),
        "{e}"
    );
}

#[test]
fn dangling_references_are_warnings() {
    let inv = load(InventoryPaths {
        groups: vec![data("bad/dangling-groups.json")],
        interfaces: vec![data("bad/dangling-enis.json")],
        ..Default::default()
    });
    let w = inv.warnings.join("\n");
    assert!(
        w.contains("sg-0app (app) ingress rule references sg-0gone, which is not in the inventory"),
        "{w}"
    );
    assert!(
        w.contains("references sg-0peer (account 444455556666)"),
        "{w}"
    );
    assert!(w.contains("prefix list pl-0unknown"), "{w}");
    assert!(
        w.contains("network interface eni-0aaa uses sg-0missing"),
        "{w}"
    );
    assert_eq!(
        inv.groups_of_addr(ip("10.0.0.10")),
        ["sg-0app", "sg-0missing"]
    );
    let r = pl_rule(&inv);
    assert_eq!(
        rule_allows(r, 6, Some(8080), ip("10.0.0.1"), &[], &inv.prefix_lists),
        Match::Unresolvable
    );
}

#[test]
fn prefix_delegation_and_ipv6_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("network-interfaces.json");
    std::fs::write(
        &p,
        json!({"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-node", "InterfaceType": "interface", "PrivateIpAddress": "10.0.0.10",
             "Ipv4Prefixes": [{"Ipv4Prefix": "10.0.8.16/28"}], "Ipv6Prefixes": [{"Ipv6Prefix": "2600:1f18::1:0:0:0/80"}],
             "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::10"}],
             "Groups": [{"GroupId": "sg-node"}], "Attachment": {"InstanceId": "i-1"}},
            {"NetworkInterfaceId": "eni-nat", "InterfaceType": "nat_gateway", "Description": "Interface for NAT Gateway nat-1",
             "PrivateIpAddress": "10.0.1.5", "Association": {"PublicIp": "54.0.0.1"}}]})
        .to_string(),
    )
    .unwrap();
    let inv = load(InventoryPaths {
        interfaces: vec![p],
        ..Default::default()
    });
    assert_eq!(
        inv.interface_by_addr(ip("10.0.8.20")).unwrap().id,
        "eni-node"
    );
    assert!(inv.interface_by_addr(ip("10.0.8.32")).is_none());
    assert_eq!(inv.groups_of_addr(ip("10.0.8.31")), ["sg-node"]);
    assert_eq!(inv.groups_of_addr(ip("2600:1f18::1:0:0:abcd")), ["sg-node"]);
    assert_eq!(inv.groups_of_addr(ip("2600:1f18::10")), ["sg-node"]);
    assert_eq!(
        inv.local_addrs("eni-node"),
        [ip("10.0.0.10"), ip("2600:1f18::10")]
    );
    let nat = inv.interface_by_addr(ip("54.0.0.1")).unwrap();
    assert_eq!(nat.kind, InterfaceKind::NatGateway);
    assert!(nat.group_ids.is_empty());
}

#[test]
fn never_panics_on_odd_json() {
    let dir = tempfile::tempdir().unwrap();
    let odd = [
        "null",
        "1",
        "\"x\"",
        "{}",
        r#"{"SecurityGroups": null}"#,
        r#"{"SecurityGroups": [null]}"#,
        r#"{"SecurityGroups": [{"GroupId": 5}]}"#,
        r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1e99}]}]}"#,
        r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "IpRanges": [{}]}]}]}"#,
        r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": -7}]}]}"#,
        r#"{"SecurityGroupRules": [{"GroupId": "sg-1", "IpProtocol": "tcp", "ReferencedGroupInfo": {}}]}"#,
        r#"{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "Groups": "sg-1"}]}"#,
        r#"{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "Attachment": 3, "Association": []}]}"#,
        r#"{"PrefixLists": 3}"#,
        r#"{"Resources": {"A": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": 3}}}"#,
    ];
    for (i, text) in odd.iter().enumerate() {
        let p = dir.path().join(format!("f{i}.json"));
        std::fs::write(&p, text).unwrap();
        for paths in [
            InventoryPaths {
                groups: vec![p.clone()],
                ..Default::default()
            },
            InventoryPaths {
                interfaces: vec![p.clone()],
                ..Default::default()
            },
            InventoryPaths {
                prefix_lists: vec![p.clone()],
                ..Default::default()
            },
            InventoryPaths {
                template: Some(p.clone()),
                ..Default::default()
            },
        ] {
            // Only the last text is a template (a Properties that is not an object leaves its
            // rule unresolved); every other (text, kind) is refused, naming the file.
            let file = format!("f{i}.json");
            match Inventory::load(&paths) {
                Ok(inv) => {
                    let t = inv.template.as_ref().unwrap_or_else(|| {
                        panic!("{text} accepted as {paths:?}, which should be refused")
                    });
                    assert_eq!(i, odd.len() - 1, "{text} accepted as a template");
                    let _ = t.patched(&[]);
                    let rules = t.rules();
                    assert_eq!(rules.len(), 1);
                    assert!(!rules[0].1.unresolved.is_empty(), "{rules:?}");
                }
                Err(e) => assert!(e.to_string().contains(&file), "{text}: {e}"),
            }
        }
    }
}

fn pl_rule(inv: &Inventory) -> &flowscope::inventory::Rule {
    inv.group("sg-0app")
        .unwrap()
        .rules
        .iter()
        .find(|r| matches!(r.target, RuleTarget::PrefixList(_)))
        .unwrap()
}
