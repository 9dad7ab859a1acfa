//! Learning which addresses are an interface's own, and resolving
//! direction through them: dual stack, secondary addresses, single-peer
//! interfaces, ambiguous ports.

use super::*;

fn sides(server: &str, clients: &[(&str, u64)]) -> Sides<'static> {
    let mut peers = PeerSet::default();
    for &(c, flows) in clients {
        peers.add(ip(c), flows, 0);
    }
    Sides {
        addr: ip(server),
        flows: clients.iter().map(|c| c.1).sum(),
        // (Leaked: a test's few sets live as long as the test.)
        others: Some(Box::leak(Box::new(peers))),
    }
}

#[test]
fn own_addresses_of_a_dual_stack_server_and_a_one_peer_client() {
    // A load balancer: 90% of its clients reach its IPv4 address, 10%
    // its IPv6 one, and it calls two targets.
    let alb = [
        sides("10.0.0.5", &[("198.51.100.1", 50), ("198.51.100.2", 40)]),
        sides("2600::5", &[("2001:db8::1", 6), ("2001:db8::2", 4)]),
        sides("10.0.1.9", &[("10.0.0.5", 30)]),
        sides("10.0.2.9", &[("10.0.0.5", 20)]),
    ];
    let want = Own::Certain(vec![ip("10.0.0.5"), ip("2600::5")]);
    assert_eq!(
        own_addresses(&alb, &Default::default()).map(|f| f.own),
        Some(want)
    );
    // The order of cells does not matter.
    let mut rev: Vec<Sides> = alb.into_iter().collect();
    rev.reverse();
    let want = Own::Certain(vec![ip("10.0.0.5"), ip("2600::5")]);
    assert_eq!(
        own_addresses(&rev, &Default::default()).map(|f| f.own),
        Some(want)
    );
    // Only one peer: either side may be the interface.
    let one = [sides("10.0.3.3", &[("10.0.1.1", 10)])];
    let want = Own::Either(vec![ip("10.0.1.1"), ip("10.0.3.3")]);
    assert_eq!(
        own_addresses(&one, &Default::default()).map(|f| f.own),
        Some(want)
    );
    // No address in most records: nothing learned.
    let spread = [
        sides("10.0.0.1", &[("10.9.0.1", 10)]),
        sides("10.0.0.2", &[("10.9.0.2", 10)]),
        sides("10.0.0.3", &[("10.9.0.3", 10)]),
    ];
    assert_eq!(own_addresses(&spread, &Default::default()), None);
}

#[test]
fn a_client_of_the_internet_keeps_few_cells_and_is_learned() {
    // A task calling 500 internet servers on 443 (request and response
    // records), and serving its ALB on 8080: without an inventory.
    let mut lines = Vec::new();
    for i in 0..500u32 {
        let server = format!("198.51.{}.{}", i / 250, i % 250 + 1);
        let port = 40000 + i;
        lines.push(format!(
            "2 1 eni-0ccc 10.0.1.10 {server} {port} 443 6 5 500 100 110 ACCEPT OK"
        ));
        lines.push(format!(
            "2 1 eni-0ccc {server} 10.0.1.10 443 {port} 6 5 900 100 110 ACCEPT OK"
        ));
        lines.push(format!(
            "2 1 eni-0ccc 10.0.0.5 10.0.1.10 {port} 8080 6 5 500 100 110 ACCEPT OK"
        ));
    }
    let p = Parser::new(&Format::parse(V2).unwrap());
    let mut a = Aggregate::new(None);
    for l in &lines {
        a.add(&p.parse(l.as_bytes()).unwrap());
    }
    // One cell per service, not one per internet server.
    a.drain_front();
    assert_eq!(a.cells.len(), 2);
    let s = a.finish();
    assert_eq!(s.interfaces[0].addresses, vec![Ip::v4(0x0a00_010a)]);
    let out = find(&s, "eni-0ccc", Direction::Egress, Some(443));
    assert_eq!((out.flows, out.peers.count()), (1000, 500));
    let inb = find(&s, "eni-0ccc", Direction::Ingress, Some(8080));
    assert_eq!((inb.flows, inb.peers.count()), (500, 1));
    assert_eq!(s.rows.len(), 2);
}

#[test]
fn single_peer_interface_is_resolved_through_the_other_side() {
    // eni-0ddd (RDS 10.0.2.20) only ever talks to 10.0.1.10, which is
    // eni-0eee's own address (it talks to several peers).
    let lines = [
        "2 1 eni-0ddd 10.0.1.10 10.0.2.20 40000 5432 6 1 100 1 2 ACCEPT OK",
        "2 1 eni-0ddd 10.0.2.20 10.0.1.10 5432 40000 6 1 900 1 2 ACCEPT OK",
        "2 1 eni-0eee 10.0.1.10 10.0.2.20 40000 5432 6 1 100 1 2 ACCEPT OK",
        "2 1 eni-0eee 10.0.2.20 10.0.1.10 5432 40000 6 1 900 1 2 ACCEPT OK",
        "2 1 eni-0eee 10.0.0.5 10.0.1.10 49152 8080 6 1 100 1 2 ACCEPT OK",
        "2 1 eni-0eee 10.0.1.10 10.0.0.5 8080 49152 6 1 900 1 2 ACCEPT OK",
    ];
    let s = agg(&lines, V2, None);
    find(&s, "eni-0ddd", Direction::Ingress, Some(5432));
    find(&s, "eni-0eee", Direction::Egress, Some(5432));
    find(&s, "eni-0eee", Direction::Ingress, Some(8080));
}

#[test]
fn ambiguous_ports_are_corrected_by_the_interface_s_other_traffic() {
    // The ALB picked 5601 (a service port) as its ephemeral port once;
    // the task is seen serving 8080 with clear evidence elsewhere.
    let lines = [
        "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
        "2 1 eni-0aaa 10.0.0.5 10.0.1.10 5601 8080 6 5 500 120 130 ACCEPT OK",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 5601 6 5 5000 120 130 ACCEPT OK",
        "2 1 eni-0aaa 10.0.0.6 10.0.1.10 50001 8080 6 5 500 120 130 ACCEPT OK",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.6 8080 50001 6 5 5000 120 130 ACCEPT OK",
    ];
    let mut locals = Locals::new();
    locals.insert(EniId::from_bytes(b"eni-0aaa"), vec![Ip::v4(0x0a00010a)]);
    for l in [None, Some(locals)] {
        let s = agg(&lines, V2, l);
        assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
        assert_eq!(
            find(&s, "eni-0aaa", Direction::Ingress, Some(8080)).flows,
            6
        );
    }
}

#[test]
fn dual_stack_addresses_are_learned_per_family() {
    // A database talks IPv4 to one application only (either address
    // could be its own) and IPv6 to three clients: judged together, the
    // two IPv4 addresses were in most records and nothing was learned;
    // per family, its IPv6 address is certain.
    let mut lines = Vec::new();
    for i in 0..7 {
        lines.push(format!(
            "2 1 eni-0db 10.0.1.10 10.0.2.20 {} 5432 6 1 40 100 110 ACCEPT OK",
            40000 + i
        ));
    }
    for c in 1..=3 {
        lines.push(format!(
            "2 1 eni-0db 2600::{c} 2600::20 {} 5432 6 1 40 100 110 ACCEPT OK",
            41000 + c
        ));
    }
    let lines: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
    let s = agg(&lines, V2, None);
    let i = &s.interfaces[0];
    let v6 = i.ipv6.as_ref().unwrap();
    assert_eq!(
        (v6.addresses.clone(), v6.source, v6.records),
        (vec![ip("2600::20")], AddressSource::Learned, 3)
    );
    let v4 = i.ipv4.as_ref().unwrap();
    assert_eq!(
        (v4.addresses.len(), v4.source, v4.records),
        (0, AddressSource::Unknown, 7)
    );
    assert_eq!(i.address_source, AddressSource::Learned);
    let r = find(&s, "eni-0db", Direction::Ingress, Some(5432));
    assert_eq!(r.flows, 3);
}

#[test]
fn a_secondary_address_is_learned_after_the_primary() {
    // Traffic to a secondary IPv4 shows the primary (10.0.1.10) in
    // dstaddr; traffic from it shows the secondary (10.0.1.11) in srcaddr.
    let mut lines = Vec::new();
    for c in 0..20 {
        lines.push(format!(
            "2 1 eni-05ec 10.0.0.{} 10.0.1.10 {} 8080 6 1 40 100 110 ACCEPT OK",
            c + 5,
            40000 + c
        ));
        lines.push(format!(
            "2 1 eni-05ec 10.0.1.10 10.0.0.{} 8080 {} 6 1 40 100 110 ACCEPT OK",
            c + 5,
            40000 + c
        ));
    }
    for d in 0..6 {
        lines.push(format!(
            "2 1 eni-05ec 10.0.1.11 10.0.3.{} {} 5432 6 1 40 100 110 ACCEPT OK",
            d + 1,
            50000 + d
        ));
        lines.push(format!(
            "2 1 eni-05ec 10.0.3.{} 10.0.1.11 5432 {} 6 1 40 100 110 ACCEPT OK",
            d + 1,
            50000 + d
        ));
    }
    let lines: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
    let s = agg(&lines, V2, None);
    assert_eq!(
        s.interfaces[0].addresses,
        vec![ip("10.0.1.10"), ip("10.0.1.11")]
    );
    assert_eq!(s.interfaces[0].ipv4.as_ref().unwrap().share, 1.0);
    let want = vec![
        (
            "eni-05ec".to_string(),
            Direction::Ingress,
            Some(8080),
            Action::Accept,
            40,
        ),
        (
            "eni-05ec".to_string(),
            Direction::Egress,
            Some(5432),
            Action::Accept,
            12,
        ),
    ];
    assert_eq!(rows_of(&s), want);
}
