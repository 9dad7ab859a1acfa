//! The safety invariant on random topologies: whatever the groups,
//! rules and traffic, applying every proposal keeps every accepted
//! initiating flow allowed, and keeps every rule that may admit an accepted
//! flow no rule visibly admits (a prefix list without entries, another
//! account's group). Checked flow by flow, independently of `simulate`,
//! against the rules `applied_rules` produces.
use super::*;
use crate::aggregate::{Aggregate, Locals};
use crate::flowlog::record::{has_ports, Action, EniId, FlowRecord, Ip, PacketDirection};
use crate::inventory::{InterfaceKind, NetworkInterface, RuleDirection, SecurityGroup};
use crate::matching::{rule_allows, Match};
use std::sync::Arc;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PORTS: [u16; 6] = [22, 443, 5432, 8080, 8081, 9000];

fn random_rule(rng: &mut Rng, group: &str, groups: usize, dir: RuleDirection) -> Rule {
    let protocol = match rng.below(6) {
        0 => Protocol::All,
        1 => Protocol::UDP,
        2 => Protocol::ICMP,
        _ => Protocol::TCP,
    };
    let (from, to) = if protocol.has_ports() {
        let a = PORTS[rng.below(6) as usize];
        let b = if rng.below(3) == 0 {
            a + rng.below(200) as u16
        } else {
            a
        };
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let target = match rng.below(7) {
        5 => RuleTarget::PrefixList("pl-unknown".into()),
        6 => RuleTarget::Group {
            group_id: "sg-foreign".into(),
            user_id: Some("999999999999".into()),
        },
        0 => RuleTarget::Cidr("0.0.0.0/0".parse().unwrap()),
        1 => RuleTarget::Cidr("10.0.0.0/16".parse().unwrap()),
        2 => RuleTarget::Cidr(format!("10.0.{}.0/24", rng.below(4)).parse().unwrap()),
        3 => RuleTarget::Cidr("203.0.113.0/24".parse().unwrap()),
        _ => RuleTarget::Group {
            group_id: format!("sg-{}", rng.below(groups as u64)),
            user_id: None,
        },
    };
    Rule {
        group_id: group.into(),
        direction: dir,
        protocol,
        from_port: from,
        to_port: to,
        icmp_type: None,
        icmp_code: None,
        target,
        description: None,
        rule_id: None,
    }
}

fn topology(rng: &mut Rng) -> Inventory {
    let ng = 2 + rng.below(4) as usize;
    let groups: Vec<SecurityGroup> = (0..ng)
        .map(|g| {
            let id = format!("sg-{g}");
            let mut rules = Vec::new();
            for _ in 0..1 + rng.below(4) {
                rules.push(random_rule(rng, &id, ng, RuleDirection::Ingress));
            }
            for _ in 0..rng.below(3) {
                rules.push(random_rule(rng, &id, ng, RuleDirection::Egress));
            }
            if rng.below(2) == 0 {
                rules.push(Rule {
                    protocol: Protocol::All,
                    from_port: None,
                    to_port: None,
                    target: RuleTarget::Cidr("0.0.0.0/0".parse().unwrap()),
                    ..random_rule(rng, &id, ng, RuleDirection::Egress)
                });
            }
            SecurityGroup {
                group_id: id.clone(),
                group_name: format!("g{g}"),
                rules,
                ..Default::default()
            }
        })
        .collect();
    let enis: Vec<NetworkInterface> = (0..3 + rng.below(6))
        .map(|i| NetworkInterface {
            id: format!("eni-{:017x}", i + 1),
            kind: InterfaceKind::Instance,
            interface_type: "interface".into(),
            description: String::new(),
            requester_id: None,
            status: None,
            vpc_id: None,
            subnet_id: None,
            instance_id: None,
            private_ips: vec![format!("10.0.{}.{}", rng.below(4), 10 + i).parse().unwrap()],
            ipv6: Vec::new(),
            public_ips: Vec::new(),
            prefixes: Vec::new(),
            group_ids: (0..ng)
                .filter(|_| rng.below(3) == 0)
                .map(|g| format!("sg-{g}"))
                .collect(),
        })
        .collect();
    Inventory::new(groups, enis, Default::default())
}

/// Rules of `eni`'s groups (as `rules`) that admit the flow, and those
/// that may: the ones whose source the topology leaves unknown.
fn admits(
    inv: &Inventory,
    rules: &[Vec<Rule>],
    eni: &NetworkInterface,
    dir: RuleDirection,
    proto: u8,
    port: Option<u16>,
    peer: IpAddr,
) -> (bool, Vec<Rule>) {
    let pg = inv.groups_of_addr(peer);
    let mut yes = false;
    let mut maybe = Vec::new();
    for gi in eni
        .group_ids
        .iter()
        .filter_map(|g| inv.groups.iter().position(|x| &x.group_id == g))
    {
        for r in rules[gi].iter().filter(|r| r.direction == dir) {
            let unknown = match &r.target {
                RuleTarget::PrefixList(p) => p == "pl-unknown",
                RuleTarget::Group { group_id, .. } => group_id == "sg-foreign",
                RuleTarget::Cidr(_) => false,
            };
            if rule_allows(r, proto, port, peer, pg, &inv.prefix_lists) == Match::Yes {
                yes = true;
            } else if unknown && crate::matching::protocol_allows(r, proto, port) {
                maybe.push(r.clone());
            }
        }
    }
    (yes, maybe)
}

#[test]
fn proposals_never_deny_accepted_initiating_flows() {
    let mut rng = Rng(7);
    let mut checked = 0;
    let mut unattributed = 0;
    let mut changes = 0;
    let mut pinned = 0;
    for case in 0..300 {
        let mut inv = topology(&mut rng);
        // Every other case knows where the public peers (203.0.113.0-49) are stable: half in a
        // declared range, half in an AWS-managed list, so proposals pin them through those.
        let mut settings = Settings::default();
        if case % 2 == 1 {
            let list: ipnet::IpNet = "203.0.113.32/27".parse().unwrap();
            inv.prefix_lists.insert("pl-aws".into(), vec![list]);
            settings.known = Arc::new(destinations::KnownRanges {
                stable: vec![("203.0.113.0/27".parse().unwrap(), String::new())],
                aws: Vec::new(),
                lists: vec![destinations::ManagedList {
                    id: "pl-aws".into(),
                    name: "com.amazonaws.test-1.s3".into(),
                    cidrs: vec![list],
                }],
                observed: Default::default(),
            });
        }
        let locals: Locals = inv
            .interfaces
            .iter()
            .map(|i| {
                (
                    EniId::from_bytes(i.id.as_bytes()),
                    i.private_ips.iter().map(|a| Ip::from(*a)).collect(),
                )
            })
            .collect();
        let mut agg = Aggregate::new(Some(Arc::new(locals)));
        let mut flows = Vec::new();
        for _ in 0..200 {
            let eni = &inv.interfaces[rng.below(inv.interfaces.len() as u64) as usize];
            let local: IpAddr = eni.private_ips[0];
            let peer: IpAddr = match rng.below(3) {
                0 => inv.interfaces[rng.below(inv.interfaces.len() as u64) as usize].private_ips[0],
                1 => format!("203.0.113.{}", rng.below(50)).parse().unwrap(),
                _ => format!("10.0.{}.{}", rng.below(4), 100 + rng.below(50))
                    .parse()
                    .unwrap(),
            };
            if peer == local {
                continue;
            }
            let proto = [6u8, 6, 6, 17, 1][rng.below(5) as usize];
            let port = if has_ports(proto) {
                Some(PORTS[rng.below(6) as usize] + rng.below(3) as u16)
            } else {
                None
            };
            let dir = if rng.below(2) == 0 {
                RuleDirection::Ingress
            } else {
                RuleDirection::Egress
            };
            let before: Vec<Vec<Rule>> = inv.groups.iter().map(|g| g.rules.clone()).collect();
            let (yes, maybe) = admits(&inv, &before, eni, dir, proto, port, peer);
            // A rule whose source is unknown may have let it through.
            let accept = yes || !maybe.is_empty();
            let (src, dst, sp, dp, pd) = match dir {
                RuleDirection::Ingress => {
                    (peer, local, Some(40000), port, PacketDirection::Ingress)
                }
                RuleDirection::Egress => (local, peer, Some(40000), port, PacketDirection::Egress),
            };
            let rec = FlowRecord {
                interface: EniId::from_bytes(eni.id.as_bytes()),
                srcaddr: Some(src.into()),
                dstaddr: Some(dst.into()),
                srcport: if has_ports(proto) { sp } else { Some(0) },
                dstport: if has_ports(proto) { dp } else { Some(0) },
                protocol: Some(proto),
                packets: 1,
                bytes: 100,
                start: Some(1000),
                end: Some(1060),
                action: if accept {
                    Action::Accept
                } else {
                    Action::Reject
                },
                tcp_flags: if proto == 6 { Some(2) } else { None },
                flow_direction: Some(pd),
                ..Default::default()
            };
            agg.add(&rec);
            if accept {
                flows.push((eni.clone(), dir, proto, port, peer, yes, maybe));
            }
        }
        let summary = agg.finish();
        let a = analyse(&inv, &summary, &settings);
        pinned += a
            .recommendations
            .iter()
            .flat_map(|r| &r.proposed)
            .filter(|p| matches!(&p.target, RuleTarget::PrefixList(id) if id == "pl-aws"))
            .count();
        assert!(a.safety.violations.is_empty(), "{:?}", a.safety.violations);
        let after = applied_rules(&inv, &a.recommendations);
        changes += a
            .recommendations
            .iter()
            .filter(|r| r.kind.changes_rules())
            .count();
        for (eni, dir, proto, port, peer, yes, maybe) in &flows {
            checked += 1;
            let (yes_after, _) = admits(&inv, &after, eni, *dir, *proto, *port, *peer);
            let kept = |r: &Rule| after.iter().any(|g| g.contains(r));
            if !yes {
                unattributed += 1;
            }
            assert!(
                yes_after || (!yes && maybe.iter().all(kept)),
                "denied after the proposals: {} {dir} {proto} {port:?} {peer}\nrules: {:#?}\nrecs: {:#?}",
                eni.id,
                after,
                a.recommendations.iter().map(|r| (&r.kind, &r.rule, &r.proposed)).collect::<Vec<_>>()
            );
        }
    }
    assert!(checked > 10_000, "{checked}");
    // Not vacuous: flows only an unknown source may admit, and changes.
    assert!(unattributed > 1_000, "{unattributed}");
    assert!(changes > 1_000, "{changes}");
    // The known-range cases pinned public peers through the managed list, and stayed safe.
    assert!(pinned > 50, "{pinned}");
}

/// Rejected probes folded by the aggregator (no one port) are not reported
/// as rejected traffic that an open rule admits: `port: None` would read as
/// "any port" and match every all-ports rule.
#[test]
fn folded_rejected_rows_are_not_taken_for_open_rules() {
    let dir = tempfile::tempdir().unwrap();
    let groups = dir.path().join("sg.json");
    let enis = dir.path().join("eni.json");
    std::fs::write(
        &groups,
        r#"{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"all","OwnerId":"111111111111",
        "IpPermissions":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"192.168.0.0/16"}]}],
        "IpPermissionsEgress":[]}]}"#,
    )
    .unwrap();
    std::fs::write(
        &enis,
        r#"{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","InterfaceType":"interface",
        "PrivateIpAddress":"10.0.0.5","PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.5","Primary":true}],
        "Groups":[{"GroupId":"sg-1","GroupName":"all"}]}]}"#,
    )
    .unwrap();
    let inv = Inventory::load(&crate::inventory::InventoryPaths {
        groups: vec![groups],
        interfaces: vec![enis],
        ..Default::default()
    })
    .unwrap();
    let local: Ip = "10.0.0.5".parse::<IpAddr>().unwrap().into();
    let locals: Locals = [(EniId::from_bytes(b"eni-1"), vec![local])]
        .into_iter()
        .collect();
    let keys = Arc::new(crate::aggregate::RejectedKeys::with_limit(4));
    let mut agg = Aggregate::sharing(Some(Arc::new(locals)), keys);
    for p in 0..3000u16 {
        agg.add(&FlowRecord {
            interface: EniId::from_bytes(b"eni-1"),
            srcaddr: Some("198.51.100.7".parse::<IpAddr>().unwrap().into()),
            dstaddr: Some(local),
            srcport: Some(50000),
            dstport: Some(20000 + p),
            protocol: Some(6),
            packets: 1,
            bytes: 40,
            start: Some(1000),
            end: Some(1060),
            action: Action::Reject,
            ..Default::default()
        });
    }
    let summary = agg.finish();
    assert!(
        summary.rows.iter().any(|r| r.ports_folded.is_some()),
        "the test needs folded rows"
    );
    let analysis = attribute::attribute(&inv, &summary);
    assert!(
        analysis.rejected_open.iter().all(|r| r.port.is_some()),
        "{:?}",
        analysis
            .rejected_open
            .iter()
            .map(|r| (&r.interface_id, r.port))
            .collect::<Vec<_>>()
    );
}
