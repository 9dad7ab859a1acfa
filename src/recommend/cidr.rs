//! CIDR and port-range narrowing: the smallest covering sets that stay
//! inside the original rule.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Covers every address with at most `max` prefixes, each inside
/// `within` (when given), greedily merging the two neighbours whose
/// common supernet is smallest. Addresses of both families are handled
/// separately (each family needs at least one prefix).
pub fn cover(addrs: &[IpAddr], max: usize, within: Option<&IpNet>) -> Vec<IpNet> {
    let mut v4: Vec<u32> = Vec::new();
    let mut v6: Vec<u128> = Vec::new();
    for a in addrs {
        match a {
            IpAddr::V4(x) => v4.push(u32::from(*x)),
            IpAddr::V6(x) => v6.push(u128::from(*x)),
        }
    }
    let families = (!v4.is_empty()) as usize + (!v6.is_empty()) as usize;
    let budget = max.max(families);
    let (b4, b6) = if v4.is_empty() {
        (0, budget)
    } else if v6.is_empty() {
        (budget, 0)
    } else {
        (budget - budget / 2, budget / 2)
    };
    let mut out: Vec<IpNet> = Vec::new();
    if !v4.is_empty() {
        let nets = merge_family(v4.iter().map(|&x| x as u128).collect(), 32, b4.max(1));
        out.extend(
            nets.into_iter()
                .map(|(a, l)| IpNet::V4(Ipv4Net::new((a as u32).into(), l).expect("valid prefix"))),
        );
    }
    if !v6.is_empty() {
        let nets = merge_family(v6, 128, b6.max(1));
        out.extend(
            nets.into_iter()
                .map(|(a, l)| IpNet::V6(Ipv6Net::new(a.into(), l).expect("valid prefix"))),
        );
    }
    if let Some(w) = within {
        // A cover wider than the rule would open more than the rule did:
        // clamp to the rule itself.
        for n in out.iter_mut() {
            let cur = *n;
            if !w.contains(&cur) && cur.prefix_len() < w.prefix_len() && w.contains(&cur.network())
            {
                *n = *w;
            }
        }
        out.sort();
        out.dedup();
    }
    out
}

/// Prefixes as (network, length) over `bits`-bit addresses.
fn merge_family(mut addrs: Vec<u128>, bits: u8, max: usize) -> Vec<(u128, u8)> {
    addrs.sort_unstable();
    addrs.dedup();
    let mut nets: Vec<(u128, u8)> = addrs.into_iter().map(|a| (a, bits)).collect();
    // First collapse prefixes contained in neighbours, then merge greedily.
    loop {
        nets = collapse(nets, bits);
        if nets.len() <= max {
            return nets;
        }
        // The adjacent pair with the longest common prefix merges first.
        let mut best = 0;
        let mut best_len = 0u8;
        for i in 0..nets.len() - 1 {
            let l = common_len(nets[i], nets[i + 1], bits);
            if i == 0 || l > best_len {
                best = i;
                best_len = l;
            }
        }
        let net = mask(nets[best].0, best_len, bits);
        nets[best] = (net, best_len);
        nets.remove(best + 1);
    }
}

fn mask(a: u128, len: u8, bits: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let host = bits - len;
    if host >= 128 {
        0
    } else {
        (a >> host) << host
    }
}

fn common_len(a: (u128, u8), b: (u128, u8), bits: u8) -> u8 {
    let x = (a.0 ^ b.0) << (128 - bits as u32);
    let diff = if x == 0 {
        bits
    } else {
        x.leading_zeros() as u8
    };
    diff.min(a.1).min(b.1)
}

/// Drops the prefixes that lie inside another (`nets` sorted). Not
/// `IpNet::aggregate`: that also joins two sibling prefixes into their
/// parent (10.0.1.10/32 and 10.0.1.11/32 into 10.0.1.10/31), which covers
/// the same addresses but changes the rules proposed and spends none of
/// the `max` budget the greedy merge is meant to spend; on prefixes
/// without siblings both give the same result (tested).
fn collapse(nets: Vec<(u128, u8)>, bits: u8) -> Vec<(u128, u8)> {
    let mut out: Vec<(u128, u8)> = Vec::with_capacity(nets.len());
    for n in nets {
        if let Some(last) = out.last() {
            if mask(n.0, last.1, bits) == last.0 {
                continue; // inside the previous prefix
            }
        }
        while let Some(last) = out.last() {
            if mask(last.0, n.1, bits) == n.0 {
                out.pop();
            } else {
                break;
            }
        }
        out.push(n);
    }
    out
}

/// Number of addresses a set of prefixes spans, as a fraction of `of`.
pub fn share_of(nets: &[IpNet], of: &IpNet) -> f64 {
    let size = |n: &IpNet| -> f64 {
        let host = match n {
            IpNet::V4(x) => 32 - x.prefix_len() as i32,
            IpNet::V6(x) => 128 - x.prefix_len() as i32,
        };
        2f64.powi(host)
    };
    nets.iter().map(size).sum::<f64>() / size(of)
}

/// Compresses sorted ports into at most `max` inclusive ranges, merging
/// the closest neighbours first. Ranges only ever widen to cover gaps
/// between used ports.
pub fn port_ranges(ports: &[u16], max: usize) -> Vec<(u16, u16)> {
    let mut p: Vec<u16> = ports.to_vec();
    p.sort_unstable();
    p.dedup();
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for x in p {
        match ranges.last_mut() {
            Some(r) if r.1 as u32 + 1 == x as u32 => r.1 = x,
            _ => ranges.push((x, x)),
        }
    }
    while ranges.len() > max.max(1) {
        let (i, _) = ranges
            .windows(2)
            .enumerate()
            .min_by_key(|(_, w)| w[1].0 - w[0].1)
            .expect("two ranges");
        ranges[i].1 = ranges[i + 1].1;
        ranges.remove(i + 1);
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(s: &[&str]) -> Vec<IpAddr> {
        s.iter().map(|x| x.parse().unwrap()).collect()
    }

    /// `collapse` against ipnet's `IpNet::aggregate`: the same on nested
    /// prefixes, different on siblings (which collapse keeps apart).
    #[test]
    fn collapse_is_aggregate_without_the_sibling_join() {
        let nets = |s: &[&str]| -> Vec<IpNet> { s.iter().map(|x| x.parse().unwrap()).collect() };
        let raw = |n: &[IpNet]| -> Vec<(u128, u8)> {
            n.iter()
                .map(|n| match n {
                    IpNet::V4(x) => (u32::from(x.network()) as u128, x.prefix_len()),
                    IpNet::V6(x) => (u128::from(x.network()), x.prefix_len()),
                })
                .collect()
        };
        let nested = nets(&[
            "10.0.0.0/16",
            "10.0.1.10/32",
            "10.1.0.0/24",
            "10.1.0.128/25",
            "10.2.0.1/32",
        ]);
        assert_eq!(collapse(raw(&nested), 32), raw(&IpNet::aggregate(&nested)));
        let nested6 = nets(&["2600:1f18::/56", "2600:1f18::1/128", "2600:1f19::7/128"]);
        assert_eq!(
            collapse(raw(&nested6), 128),
            raw(&IpNet::aggregate(&nested6))
        );
        let siblings = nets(&["10.0.1.10/32", "10.0.1.11/32"]);
        assert_eq!(collapse(raw(&siblings), 32), raw(&siblings));
        assert_eq!(IpNet::aggregate(&siblings), nets(&["10.0.1.10/31"]));
    }

    #[test]
    fn covers_with_hosts_when_few() {
        let c = cover(&ips(&["10.0.1.10", "10.0.1.11"]), 4, None);
        assert_eq!(
            c,
            vec![
                "10.0.1.10/32".parse().unwrap(),
                "10.0.1.11/32".parse().unwrap()
            ]
        );
    }

    #[test]
    fn merges_nearest_first() {
        let c = cover(
            &ips(&["10.0.1.10", "10.0.1.11", "10.0.9.1", "192.168.1.1"]),
            3,
            None,
        );
        let want: Vec<IpNet> = vec![
            "10.0.1.10/31".parse().unwrap(),
            "10.0.9.1/32".parse().unwrap(),
            "192.168.1.1/32".parse().unwrap(),
        ];
        assert_eq!(c, want);
        let c = cover(
            &ips(&["10.0.1.10", "10.0.1.11", "10.0.9.1", "10.0.9.7"]),
            1,
            None,
        );
        assert_eq!(c, vec!["10.0.0.0/20".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn every_address_is_covered_and_result_stays_inside() {
        let within: IpNet = "10.0.0.0/16".parse().unwrap();
        let addrs = ips(&[
            "10.0.0.1",
            "10.0.255.254",
            "10.0.128.3",
            "10.0.7.7",
            "10.0.7.8",
        ]);
        for max in 1..6 {
            let c = cover(&addrs, max, Some(&within));
            assert!(c.len() <= max, "{c:?}");
            for a in &addrs {
                assert!(c.iter().any(|n| n.contains(a)), "{a} not in {c:?}");
            }
            for n in &c {
                assert!(within.contains(n), "{n} outside {within}");
            }
        }
    }

    #[test]
    fn mixed_families() {
        let c = cover(&ips(&["10.0.0.1", "2600:1f18::1", "2600:1f18::2"]), 2, None);
        assert_eq!(c.len(), 2);
        assert!(c
            .iter()
            .any(|n| n.contains(&"2600:1f18::2".parse::<IpAddr>().unwrap())));
    }

    #[test]
    fn ports_compress() {
        assert_eq!(port_ranges(&[8080], 3), vec![(8080, 8080)]);
        assert_eq!(
            port_ranges(&[8080, 8081, 8082, 9000], 3),
            vec![(8080, 8082), (9000, 9000)]
        );
        assert_eq!(port_ranges(&[1, 3, 10, 11, 50], 2), vec![(1, 11), (50, 50)]);
    }

    #[test]
    fn share() {
        let of: IpNet = "10.0.0.0/16".parse().unwrap();
        assert_eq!(share_of(&["10.0.0.0/17".parse().unwrap()], &of), 0.5);
    }
}
