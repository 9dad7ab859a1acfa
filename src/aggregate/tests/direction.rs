//! Rule direction and service port per record: requests and responses,
//! flow-direction, inventory addresses, rejected probes and responses,
//! a NAT gateway's transit.

use super::*;

#[test]
fn request_and_response_are_one_ingress_service() {
    // Task 10.0.1.10 serves 8080 to the ALB (10.0.0.5, 10.0.0.6); the
    // response records must not become egress to ephemeral ports.
    let lines = [
        "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
        "2 1 eni-0aaa 10.0.0.6 10.0.1.10 50001 8080 6 5 500 120 130 ACCEPT OK",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.6 8080 50001 6 5 5000 120 130 ACCEPT OK",
    ];
    let s = agg(&lines, V2, None);
    assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
    let r = find(&s, "eni-0aaa", Direction::Ingress, Some(8080));
    assert_eq!((r.flows, r.bytes, r.peers.count()), (4, 11000, 2));
    assert_eq!((r.first_seen, r.last_seen), (Some(100), Some(130)));
    assert_eq!(s.interfaces[0].addresses, vec![Ip::v4(0x0a00010a)]);
}

#[test]
fn egress_to_a_database_via_flow_direction() {
    let f = "interface-id srcaddr dstaddr srcport dstport protocol bytes action flow-direction tcp-flags";
    let lines = [
        "eni-0bbb 10.0.1.10 10.0.2.20 40000 5432 6 100 ACCEPT egress 2",
        "eni-0bbb 10.0.2.20 10.0.1.10 5432 40000 6 900 ACCEPT ingress 18",
    ];
    let s = agg(&lines, f, None);
    assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
    let r = find(&s, "eni-0bbb", Direction::Egress, Some(5432));
    assert_eq!(r.peers.top(1)[0].0.to_string(), "10.0.2.20");
    assert_eq!(s.interfaces[0].address_source, AddressSource::FlowDirection);
}

#[test]
fn a_record_and_its_mirror_give_the_same_rows() {
    // `add` keys a response as its request; that is right only because
    // every placement rule gives a record and its mirror one row. Random
    // accepted records (no flags, no flow-direction, two different ports)
    // and their mirrors, with and without an inventory, public and
    // private peers, IPv6.
    let recs: Vec<FlowRecord> = busy_records(4_000, 11)
        .into_iter()
        .filter(|r| r.action == Action::Accept && r.srcport != r.dstport)
        .collect();
    let mirrored: Vec<FlowRecord> = recs
        .iter()
        .map(|r| FlowRecord {
            srcaddr: r.dstaddr,
            dstaddr: r.srcaddr,
            srcport: r.dstport,
            dstport: r.srcport,
            ..*r
        })
        .collect();
    let mut locals = Locals::new();
    locals.insert(EniId::from_bytes(b"eni-01"), vec![Ip::v4(0x0a00_0101)]);
    for l in [None, Some(Arc::new(locals))] {
        let run = |recs: &[FlowRecord]| {
            let mut a = Aggregate::new(l.clone());
            recs.iter().for_each(|r| a.add(r));
            a.finish()
        };
        let (a, b) = (run(&recs), run(&mirrored));
        assert_eq!(view(&a), view(&b));
        assert!(a.rows.len() > 10, "{}", a.rows.len());
    }
}

#[test]
fn inventory_addresses_decide_direction() {
    let mut locals = Locals::new();
    locals.insert(EniId::from_bytes(b"eni-0ccc"), vec![Ip::v4(0x0a000005)]);
    let lines = [
        "2 1 eni-0ccc 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
        "2 1 eni-0ccc 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
    ];
    let s = agg(&lines, V2, Some(locals));
    let r = find(&s, "eni-0ccc", Direction::Egress, Some(8080));
    assert_eq!(r.flows, 2);
    assert_eq!(s.interfaces[0].address_source, AddressSource::Inventory);
}

#[test]
fn a_rejected_probe_is_a_request_to_the_port_it_hit() {
    // Scanners probing random ports from random source ports: the port
    // heuristics would take 20000 (outside the ephemeral range) and 80
    // (a service port) for the servers. A security group never rejects a
    // response, so each probe is ingress to the port it hit.
    let lines = [
        "2 1 eni-0aaa 198.51.100.7 10.0.1.10 20000 34896 6 1 40 100 110 REJECT OK",
        "2 1 eni-0aaa 198.51.100.8 10.0.1.10 80 40002 6 1 40 100 110 REJECT OK",
        "2 1 eni-0aaa 2001:db8::9 2600::10 1000 50505 6 1 40 100 110 REJECT OK",
        "2 1 eni-0aaa 2001:db8::7 2600::10 40000 443 6 1 40 100 110 ACCEPT OK",
        "2 1 eni-0aaa 2600::10 2001:db8::7 443 40000 6 1 40 100 110 ACCEPT OK",
    ];
    let s = agg(&lines, V2, None);
    let want = [
        ("eni-0aaa", Direction::Ingress, Some(443), Action::Accept, 2),
        (
            "eni-0aaa",
            Direction::Ingress,
            Some(34896),
            Action::Reject,
            1,
        ),
        (
            "eni-0aaa",
            Direction::Ingress,
            Some(40002),
            Action::Reject,
            1,
        ),
        (
            "eni-0aaa",
            Direction::Ingress,
            Some(50505),
            Action::Reject,
            1,
        ),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|w| (w.0.to_string(), w.1, w.2, w.3, w.4))
        .collect();
    assert_eq!(rows_of(&s), want);
}

#[test]
fn a_rejected_response_to_a_call_the_interface_made_stays_with_the_call() {
    // The task calls 203.0.113.9:443 and a network ACL rejects one of the
    // responses: that record belongs to egress 443. The same shape from a
    // peer the task never called is a probe (ingress to 40002).
    let lines = [
        "2 1 eni-0aaa 10.0.1.10 203.0.113.9 40001 443 6 1 40 100 110 ACCEPT OK",
        "2 1 eni-0aaa 203.0.113.9 10.0.1.10 443 40001 6 1 40 100 110 REJECT OK",
        "2 1 eni-0aaa 198.51.100.3 10.0.1.10 443 40002 6 1 40 100 110 REJECT OK",
    ];
    for locals in [
        None,
        Some(Locals::from([(
            EniId::from_bytes(b"eni-0aaa"),
            vec![ip("10.0.1.10")],
        )])),
    ] {
        let s = agg(&lines, V2, locals);
        let want = vec![
            (
                "eni-0aaa".to_string(),
                Direction::Ingress,
                Some(40002),
                Action::Reject,
                1,
            ),
            (
                "eni-0aaa".to_string(),
                Direction::Egress,
                Some(443),
                Action::Accept,
                1,
            ),
            (
                "eni-0aaa".to_string(),
                Direction::Egress,
                Some(443),
                Action::Reject,
                1,
            ),
        ];
        assert_eq!(rows_of(&s), want);
    }
}

#[test]
fn a_nat_gateway_keeps_its_rows_and_reports_its_transit_share() {
    // A NAT gateway (10.0.0.220): clients' packets arrive with its address
    // as destination and leave from it to the internet; some records
    // show neither side as its own (transit). Its address is still
    // learned, with the share of records that carry it.
    let mut lines = Vec::new();
    for c in 0..30u32 {
        let (client, server, port) = (
            format!("10.0.1.{}", c + 2),
            format!("203.0.113.{}", c % 7 + 1),
            40000 + c,
        );
        lines.push(format!(
            "2 1 eni-0a7 {client} 10.0.0.220 {port} 443 6 1 40 100 110 ACCEPT OK"
        ));
        lines.push(format!(
            "2 1 eni-0a7 10.0.0.220 {server} {port} 443 6 1 40 100 110 ACCEPT OK"
        ));
        lines.push(format!(
            "2 1 eni-0a7 {server} 10.0.0.220 443 {port} 6 1 40 100 110 ACCEPT OK"
        ));
        lines.push(format!(
            "2 1 eni-0a7 10.0.0.220 {client} 443 {port} 6 1 40 100 110 ACCEPT OK"
        ));
        if c % 3 == 0 {
            lines.push(format!(
                "2 1 eni-0a7 {client} {server} {port} 443 6 1 40 100 110 ACCEPT OK"
            ));
        }
    }
    let lines: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
    let s = agg(&lines, V2, None);
    let i = &s.interfaces[0];
    assert_eq!(i.addresses, vec![ip("10.0.0.220")]);
    let v4 = i.ipv4.as_ref().unwrap();
    assert_eq!((v4.records, v4.source), (130, AddressSource::Learned));
    assert!((v4.share - 120.0 / 130.0).abs() < 1e-9, "{}", v4.share);
    // It serves the clients' leg (transit records included: ingress)
    // and is the client of the translated leg.
    let want = vec![
        (
            "eni-0a7".to_string(),
            Direction::Ingress,
            Some(443),
            Action::Accept,
            70,
        ),
        (
            "eni-0a7".to_string(),
            Direction::Egress,
            Some(443),
            Action::Accept,
            60,
        ),
    ];
    assert_eq!(rows_of(&s), want);
}
