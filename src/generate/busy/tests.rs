//! Unit tests of the busy profile's estate and records.

use super::estate::{Estate, Role};

#[test]
fn estate_has_the_issue_shape() {
    let e = Estate::build();
    assert_eq!(e.accounts.len(), 4);
    assert_eq!(e.ifaces.len(), 200);
    let dual = e.ifaces.iter().filter(|f| !f.ipv6.is_empty()).count();
    assert!((45..=55).contains(&dual), "a quarter dual-stack: {dual}");
    assert!(e.ifaces.iter().any(|f| !f.secondary.is_empty()));
    assert!(e
        .ifaces
        .iter()
        .any(|f| f.role == Role::Nat { transit: true }));
    assert_eq!(e.public_v4.len() + e.public_v6.len(), 20_000);
    assert_eq!(e.scanners.len(), 3_000);
}

use super::super::format::Status;
use super::super::rng::Rng;
use super::traffic::{FileGen, Rec};

/// Records of many events of every account.
fn records(n: usize) -> (Estate, Vec<Rec>) {
    let e = Estate::build();
    let mut out = Vec::new();
    {
        let mut tmp = Vec::new();
        for a in 0..4 {
            let mut g = FileGen {
                estate: &e,
                account: a,
                rng: Rng::new(a as u64),
                t_max: 1_763_596_800 + 3600,
            };
            for k in 0..n {
                g.event(1_763_596_800 + k as u64 % 3000, 1000, &mut tmp);
                out.append(&mut tmp);
            }
        }
    }
    (e, out)
}

/// The true row of every record agrees with what the record shows: the service port is
/// the destination port of packets towards the service side and the source port of
/// packets from it; records carry the interface's own address (the primary IPv4 for
/// arriving packets, whatever secondary they were sent to) except on transit NAT gateways.
#[test]
fn true_rows_agree_with_the_records() {
    let (e, recs) = records(20_000);
    let (mut transit, mut secondary_out, mut v6) = (0, 0, 0);
    for r in recs.iter().filter(|r| r.status == Status::Ok) {
        let f = &e.ifaces[r.iface as usize];
        let ctx = || format!("{r:?} on {} ({})", f.id, f.role.name());
        // Towards the service: arriving at its server, or leaving its client.
        let towards_service = r.arriving == r.rule_ingress;
        match r.port {
            Some(p) => assert_eq!(
                p,
                if towards_service { r.dport } else { r.sport },
                "{}",
                ctx()
            ),
            None => assert!(!matches!(r.proto, 6 | 17), "{}", ctx()),
        }
        let own_in = r.dst == f.ip || f.ipv6.contains(&r.dst);
        let own_out = r.src == f.ip || f.ipv6.contains(&r.src) || f.secondary.contains(&r.src);
        assert!(
            !f.secondary.contains(&r.dst),
            "secondary in dstaddr: {}",
            ctx()
        );
        secondary_out += usize::from(f.secondary.contains(&r.src));
        v6 += usize::from(e.addr(r.src).v6);
        let own = if r.arriving { own_in } else { own_out };
        if !own {
            assert_eq!(f.role, Role::Nat { transit: true }, "{}", ctx());
            transit += 1;
        }
        if r.proto == 6 && !r.accept && r.arriving && r.rule_ingress {
            assert_eq!(
                r.flags & 18,
                2,
                "a rejected request carries SYN, not ACK: {}",
                ctx()
            );
        }
    }
    assert!(transit > 0 && secondary_out > 0 && v6 > 0);
}
