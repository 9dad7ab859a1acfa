//! Rule matching as properties: a CIDR rule admits exactly the addresses
//! inside it, a port range exactly its ports, of its protocol.

use std::collections::HashMap;
use std::net::IpAddr;

use flowscope::inventory::{Protocol, RuleDirection, RuleTarget};
use flowscope::matching::{rule_allows, Match};
use ipnet::IpNet;
use proptest::prelude::*;

use crate::inventory::ip;

fn cidr_rule(
    net: IpNet,
    proto: Protocol,
    from: Option<u16>,
    to: Option<u16>,
) -> flowscope::inventory::Rule {
    flowscope::inventory::Rule {
        group_id: "sg-p".into(),
        direction: RuleDirection::Ingress,
        protocol: proto,
        from_port: from,
        to_port: to,
        icmp_type: None,
        icmp_code: None,
        target: RuleTarget::Cidr(net),
        description: None,
        rule_id: None,
    }
}

proptest! {
    #[test]
    fn v4_inside_matches_outside_does_not(addr in any::<u32>(), len in 0u8..=32, probe in any::<u32>()) {
        let net = IpNet::new(IpAddr::from(std::net::Ipv4Addr::from(addr)), len).unwrap().trunc();
        let r = cidr_rule(net, Protocol::All, None, None);
        let pl = HashMap::new();
        let probe = IpAddr::from(std::net::Ipv4Addr::from(probe));
        let want = if net.contains(&probe) { Match::Yes } else { Match::No };
        prop_assert_eq!(rule_allows(&r, 6, Some(1), probe, &[], &pl), want);
        // the network and broadcast ends are inside
        prop_assert_eq!(rule_allows(&r, 6, Some(1), net.network(), &[], &pl), Match::Yes);
        prop_assert_eq!(rule_allows(&r, 6, Some(1), net.broadcast(), &[], &pl), Match::Yes);
        // just outside each end
        if let IpAddr::V4(b) = net.broadcast() {
            if let Some(next) = u32::from(b).checked_add(1) {
                prop_assert_eq!(rule_allows(&r, 6, Some(1), IpAddr::from(std::net::Ipv4Addr::from(next)), &[], &pl), Match::No);
            }
        }
        // never an IPv6 peer
        prop_assert_eq!(rule_allows(&r, 6, Some(1), IpAddr::from(std::net::Ipv6Addr::from(u128::from(probe_v4(&probe)))), &[], &pl), Match::No);
    }

    #[test]
    fn v6_inside_matches_outside_does_not(addr in any::<u128>(), len in 0u8..=128, probe in any::<u128>()) {
        let net = IpNet::new(IpAddr::from(std::net::Ipv6Addr::from(addr)), len).unwrap().trunc();
        let r = cidr_rule(net, Protocol::All, None, None);
        let pl = HashMap::new();
        let probe = IpAddr::from(std::net::Ipv6Addr::from(probe));
        let want = if net.contains(&probe) { Match::Yes } else { Match::No };
        prop_assert_eq!(rule_allows(&r, 17, Some(1), probe, &[], &pl), want);
        prop_assert_eq!(rule_allows(&r, 17, Some(1), net.network(), &[], &pl), Match::Yes);
        prop_assert_eq!(rule_allows(&r, 17, Some(1), IpAddr::from(std::net::Ipv4Addr::from(addr as u32)), &[], &pl), Match::No);
    }

    #[test]
    fn port_ranges_inclusive(a in any::<u16>(), b in any::<u16>(), port in any::<u16>(), udp in any::<bool>()) {
        let (lo, hi) = (a.min(b), a.max(b));
        let (proto, num) = if udp { (Protocol::UDP, 17) } else { (Protocol::TCP, 6) };
        let r = cidr_rule("0.0.0.0/0".parse().unwrap(), proto, Some(lo), Some(hi));
        let pl = HashMap::new();
        let peer = ip("192.0.2.1");
        let want = if (lo..=hi).contains(&port) { Match::Yes } else { Match::No };
        prop_assert_eq!(rule_allows(&r, num, Some(port), peer, &[], &pl), want);
        prop_assert_eq!(rule_allows(&r, num, Some(lo), peer, &[], &pl), Match::Yes);
        prop_assert_eq!(rule_allows(&r, num, Some(hi), peer, &[], &pl), Match::Yes);
        if lo > 0 { prop_assert_eq!(rule_allows(&r, num, Some(lo - 1), peer, &[], &pl), Match::No); }
        if hi < u16::MAX { prop_assert_eq!(rule_allows(&r, num, Some(hi + 1), peer, &[], &pl), Match::No); }
        // the other transport protocol never matches
        prop_assert_eq!(rule_allows(&r, 23 - num, Some(port), peer, &[], &pl), Match::No);
    }
}

fn probe_v4(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(_) => 0,
    }
}
