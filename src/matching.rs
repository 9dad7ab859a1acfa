//! Does a security-group rule admit a flow? Pure functions, no I/O (DOMAIN.md 2.1).
//!
//! * Protocol `-1` matches every protocol and port.
//! * tcp (6) / udp (17): the port range is inclusive at both ends; `None` = unbounded.
//! * icmp (1) / icmpv6 (58): flow logs carry no ICMP type/code (ports are 0), so every rule of
//!   the right ICMP protocol matches whatever its type/code.
//! * any other protocol number: all ports.
//! * CIDR targets never match a peer of the other address family.
//! * Group targets match when the peer's interface has that group (`peer_groups`, which the
//!   caller fills only for private/IPv6 peer addresses).
//! * Prefix-list targets match an entry; unknown lists are [`Match::Unresolvable`].

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::inventory::{Protocol, Rule, RuleDirection, RuleTarget, SecurityGroup, TCP, UDP};

/// Result of matching one rule against one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Match {
    Yes,
    No,
    /// The rule's target can't be evaluated (prefix list with unknown entries).
    Unresolvable,
}

impl Match {
    pub fn is_yes(self) -> bool {
        self == Match::Yes
    }
}

/// Whether the rule's protocol/port part admits `protocol`/`port`.
pub fn protocol_allows(rule: &Rule, protocol: u8, port: Option<u16>) -> bool {
    match rule.protocol {
        Protocol::All => true,
        Protocol::Number(p) if p != protocol => false,
        Protocol::Number(TCP | UDP) => match port {
            Some(port) => {
                rule.from_port.is_none_or(|f| port >= f) && rule.to_port.is_none_or(|t| port <= t)
            }
            // no port known: only an all-ports rule is sure to admit it
            None => {
                rule.from_port.is_none_or(|f| f == 0) && rule.to_port.is_none_or(|t| t == u16::MAX)
            }
        },
        Protocol::Number(_) => true,
    }
}

/// Whether the rule's target admits `peer`.
pub fn target_allows(
    target: &RuleTarget,
    peer: IpAddr,
    peer_groups: &[String],
    prefix_lists: &HashMap<String, Vec<IpNet>>,
) -> Match {
    let yes = |b: bool| if b { Match::Yes } else { Match::No };
    match target {
        RuleTarget::Cidr(net) => yes(net.contains(&peer)),
        RuleTarget::Group { group_id, .. } => yes(peer_groups.iter().any(|g| g == group_id)),
        RuleTarget::PrefixList(id) => match prefix_lists.get(id) {
            Some(nets) => yes(nets.iter().any(|n| n.contains(&peer))),
            None => Match::Unresolvable,
        },
    }
}

/// Does `rule` admit a flow with `protocol`/`port` to or from `peer`?
/// `port` is the destination port of the initiating packet (ignored for non-tcp/udp).
pub fn rule_allows(
    rule: &Rule,
    protocol: u8,
    port: Option<u16>,
    peer: IpAddr,
    peer_groups: &[String],
    prefix_lists: &HashMap<String, Vec<IpNet>>,
) -> Match {
    if !protocol_allows(rule, protocol, port) {
        return Match::No;
    }
    target_allows(&rule.target, peer, peer_groups, prefix_lists)
}

/// Every rule of `groups` in `direction` that admits the flow (union semantics: all of them
/// get the hit). Unresolvable rules are not included; see [`evaluate`].
pub fn matching_rules<'a>(
    groups: impl Iterator<Item = &'a SecurityGroup>,
    direction: RuleDirection,
    protocol: u8,
    port: Option<u16>,
    peer: IpAddr,
    peer_groups: &[String],
    prefix_lists: &HashMap<String, Vec<IpNet>>,
) -> Vec<&'a Rule> {
    groups
        .flat_map(|g| g.rules.iter())
        .filter(|r| {
            r.direction == direction
                && rule_allows(r, protocol, port, peer, peer_groups, prefix_lists).is_yes()
        })
        .collect()
}

/// Matching and unresolvable rules, for callers that must say "can't tell".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Evaluation<'a> {
    pub matched: Vec<&'a Rule>,
    pub unresolvable: Vec<&'a Rule>,
}

impl Evaluation<'_> {
    /// `Yes` if any rule matched, `Unresolvable` if none did but some could not be
    /// evaluated, else `No`.
    pub fn verdict(&self) -> Match {
        if !self.matched.is_empty() {
            Match::Yes
        } else if !self.unresolvable.is_empty() {
            Match::Unresolvable
        } else {
            Match::No
        }
    }
}

/// Like [`matching_rules`] but also collects the rules that could not be evaluated.
pub fn evaluate<'a>(
    groups: impl Iterator<Item = &'a SecurityGroup>,
    direction: RuleDirection,
    protocol: u8,
    port: Option<u16>,
    peer: IpAddr,
    peer_groups: &[String],
    prefix_lists: &HashMap<String, Vec<IpNet>>,
) -> Evaluation<'a> {
    let mut e = Evaluation::default();
    for r in groups.flat_map(|g| g.rules.iter()) {
        if r.direction != direction {
            continue;
        }
        match rule_allows(r, protocol, port, peer, peer_groups, prefix_lists) {
            Match::Yes => e.matched.push(r),
            Match::Unresolvable => e.unresolvable.push(r),
            Match::No => {}
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{ICMP, ICMPV6};

    fn rule(p: Protocol, from: Option<u16>, to: Option<u16>, target: RuleTarget) -> Rule {
        Rule {
            group_id: "sg-1".into(),
            direction: RuleDirection::Ingress,
            protocol: p,
            from_port: from,
            to_port: to,
            icmp_type: None,
            icmp_code: None,
            target,
            description: None,
            rule_id: None,
        }
    }
    fn cidr(s: &str) -> RuleTarget {
        RuleTarget::Cidr(s.parse().unwrap())
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn none() -> HashMap<String, Vec<IpNet>> {
        HashMap::new()
    }

    #[test]
    fn ports_inclusive() {
        let r = rule(Protocol::TCP, Some(80), Some(443), cidr("0.0.0.0/0"));
        let a = ip("1.2.3.4");
        for (port, want) in [
            (79, Match::No),
            (80, Match::Yes),
            (443, Match::Yes),
            (444, Match::No),
        ] {
            assert_eq!(
                rule_allows(&r, TCP, Some(port), a, &[], &none()),
                want,
                "{port}"
            );
        }
        assert_eq!(rule_allows(&r, UDP, Some(80), a, &[], &none()), Match::No);
        assert_eq!(rule_allows(&r, TCP, None, a, &[], &none()), Match::No);
        let all_tcp = rule(Protocol::TCP, None, None, cidr("0.0.0.0/0"));
        assert!(rule_allows(&all_tcp, TCP, None, a, &[], &none()).is_yes());
        assert!(rule_allows(&all_tcp, TCP, Some(65535), a, &[], &none()).is_yes());
    }

    #[test]
    fn all_other_and_icmp_protocols() {
        let a = ip("10.0.0.1");
        let all = rule(Protocol::All, None, None, cidr("10.0.0.0/8"));
        for p in [TCP, UDP, ICMP, 47, 50] {
            assert!(rule_allows(&all, p, Some(1234), a, &[], &none()).is_yes());
        }
        let gre = rule(Protocol::Number(47), None, None, cidr("10.0.0.0/8"));
        assert!(rule_allows(&gre, 47, Some(0), a, &[], &none()).is_yes());
        assert!(!rule_allows(&gre, 50, Some(0), a, &[], &none()).is_yes());
        let mut echo = rule(Protocol::ICMP, None, None, cidr("10.0.0.0/8"));
        echo.icmp_type = Some(8);
        assert!(rule_allows(&echo, ICMP, Some(0), a, &[], &none()).is_yes());
        assert!(!rule_allows(&echo, ICMPV6, Some(0), ip("fd00::1"), &[], &none()).is_yes());
        let v6 = rule(Protocol::ICMPV6, None, None, cidr("::/0"));
        assert!(rule_allows(&v6, ICMPV6, Some(0), ip("fd00::1"), &[], &none()).is_yes());
    }

    #[test]
    fn address_families() {
        let r4 = rule(Protocol::All, None, None, cidr("0.0.0.0/0"));
        let r6 = rule(Protocol::All, None, None, cidr("::/0"));
        assert!(rule_allows(&r4, TCP, Some(1), ip("8.8.8.8"), &[], &none()).is_yes());
        assert_eq!(
            rule_allows(&r4, TCP, Some(1), ip("2001:db8::1"), &[], &none()),
            Match::No
        );
        assert!(rule_allows(&r6, TCP, Some(1), ip("2001:db8::1"), &[], &none()).is_yes());
        assert_eq!(
            rule_allows(&r6, TCP, Some(1), ip("8.8.8.8"), &[], &none()),
            Match::No
        );
        // IPv4-mapped IPv6 is not IPv4
        assert_eq!(
            rule_allows(&r4, TCP, Some(1), ip("::ffff:8.8.8.8"), &[], &none()),
            Match::No
        );
    }

    #[test]
    fn groups_and_prefix_lists() {
        let g = rule(
            Protocol::TCP,
            Some(5432),
            Some(5432),
            RuleTarget::Group {
                group_id: "sg-app".into(),
                user_id: None,
            },
        );
        let a = ip("10.0.0.9");
        let groups = vec!["sg-x".to_string(), "sg-app".to_string()];
        assert!(rule_allows(&g, TCP, Some(5432), a, &groups, &none()).is_yes());
        assert_eq!(
            rule_allows(&g, TCP, Some(5432), a, &groups[..1], &none()),
            Match::No
        );
        let pl = rule(
            Protocol::TCP,
            Some(443),
            Some(443),
            RuleTarget::PrefixList("pl-1".into()),
        );
        assert_eq!(
            rule_allows(&pl, TCP, Some(443), a, &[], &none()),
            Match::Unresolvable
        );
        let mut lists = none();
        lists.insert("pl-1".to_string(), vec!["10.0.0.0/24".parse().unwrap()]);
        assert!(rule_allows(&pl, TCP, Some(443), a, &[], &lists).is_yes());
        assert_eq!(
            rule_allows(&pl, TCP, Some(443), ip("10.0.1.1"), &[], &lists),
            Match::No
        );
        // port mismatch beats unresolvable
        assert_eq!(rule_allows(&pl, TCP, Some(80), a, &[], &none()), Match::No);
    }

    #[test]
    fn union_over_groups() {
        let mut g1 = SecurityGroup {
            group_id: "sg-1".into(),
            ..Default::default()
        };
        g1.rules
            .push(rule(Protocol::TCP, Some(443), Some(443), cidr("0.0.0.0/0")));
        g1.rules
            .push(rule(Protocol::TCP, Some(22), Some(22), cidr("10.0.0.0/8")));
        let mut egress = rule(Protocol::All, None, None, cidr("0.0.0.0/0"));
        egress.direction = RuleDirection::Egress;
        g1.rules.push(egress);
        let mut g2 = SecurityGroup {
            group_id: "sg-2".into(),
            ..Default::default()
        };
        g2.rules
            .push(rule(Protocol::All, None, None, cidr("10.1.0.0/16")));
        g2.rules.push(rule(
            Protocol::TCP,
            Some(443),
            Some(443),
            RuleTarget::PrefixList("pl-x".into()),
        ));
        let gs = [g1, g2];
        let m = matching_rules(
            gs.iter(),
            RuleDirection::Ingress,
            TCP,
            Some(443),
            ip("10.1.2.3"),
            &[],
            &none(),
        );
        assert_eq!(m.len(), 2);
        let e = evaluate(
            gs.iter(),
            RuleDirection::Ingress,
            TCP,
            Some(443),
            ip("10.1.2.3"),
            &[],
            &none(),
        );
        assert_eq!((e.matched.len(), e.unresolvable.len()), (2, 1));
        let e = evaluate(
            gs.iter(),
            RuleDirection::Ingress,
            TCP,
            Some(443),
            ip("2001:db8::1"),
            &[],
            &none(),
        );
        assert_eq!(e.verdict(), Match::Unresolvable);
        let e = evaluate(
            gs.iter(),
            RuleDirection::Ingress,
            UDP,
            Some(53),
            ip("2001:db8::1"),
            &[],
            &none(),
        );
        assert_eq!(e.verdict(), Match::No);
    }
}
