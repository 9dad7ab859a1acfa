//! Unit tests of the aggregate: direction, learning, folding, merging.

use super::front::Front;
use super::keys::{CellDir, CellKey, Side};
use super::learn::{own_addresses, Own, Sides};
use super::*;
use crate::flowlog::record::{Action, PacketDirection};
use crate::flowlog::{Format, Parser};

fn agg(lines: &[&str], format: &str, locals: Option<Locals>) -> Summary {
    let p = Parser::new(&Format::parse(format).unwrap());
    let mut a = Aggregate::new(locals.map(Arc::new));
    for l in lines {
        a.add(&p.parse(l.as_bytes()).unwrap());
    }
    a.finish()
}

const V2: &str = crate::flowlog::format::DEFAULT_V2;

fn ip(s: &str) -> Ip {
    let a: std::net::IpAddr = s.parse().unwrap();
    Ip::from(a)
}

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

fn find(s: &Summary, eni: &str, dir: Direction, port: Option<u16>) -> Row {
    s.rows
        .iter()
        .find(|r| r.interface_id.as_deref() == Some(eni) && r.direction == dir && r.port == port)
        .unwrap_or_else(|| panic!("no row {eni} {dir:?} {port:?} in {:#?}", s.rows))
        .clone()
}

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
fn cell_keys_give_back_what_they_pack() {
    let ports = [None, Some(0), Some(1), Some(443), Some(65535)];
    let dirs = [
        CellDir::Known(Direction::Ingress),
        CellDir::Known(Direction::Egress),
        CellDir::Known(Direction::Unknown),
        CellDir::Unresolved(Side::Server),
        CellDir::Unresolved(Side::Client),
        CellDir::PublicPeer(Side::Server),
        CellDir::PublicPeer(Side::Client),
    ];
    let mut seen = hashbrown::HashSet::new();
    for port in ports {
        for alt in ports {
            for proto in [0, 6, 17, 255] {
                for action in [Action::Accept, Action::Reject, Action::Unknown] {
                    for dir in dirs {
                        let k = CellKey::new(EniId(7), Ip::v4(1), port, alt, proto, action, dir);
                        assert_eq!(
                            (k.port(), k.alt(), k.proto(), k.action(), k.dir()),
                            (port, alt, proto, action, dir)
                        );
                        assert!(seen.insert(k), "distinct fields, distinct keys");
                    }
                }
            }
        }
    }
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

/// Rows as comparable text, peers sorted (the exact set is a hash
/// map).
fn view(s: &Summary) -> Vec<String> {
    s.rows
        .iter()
        .map(|r| {
            let mut peers = r.peers.exact().unwrap_or_default();
            peers.sort_by_key(|p| p.0);
            format!(
                "{:?} {:?} {} {:?} {:?} {} {} {} {:?} {:?} {} {:?}",
                r.eni,
                r.direction,
                r.protocol,
                r.port,
                r.action,
                r.flows,
                r.packets,
                r.bytes,
                r.first_seen,
                r.last_seen,
                r.peers.count(),
                peers
            )
        })
        .collect()
}

#[test]
fn front_table_changes_nothing() {
    // Records from small pools, so that conversations repeat and are
    // summed in the front table, then a run of one new client per
    // record (the table pushes entries out, then is bypassed), then
    // the pools again. Every field `add` reads varies.
    let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
    let mut next = |n: u64| rng.next() % n;
    let enis = [b"eni-0aaa".as_slice(), b"eni-0bbb", b"eni-0ccc"].map(EniId::from_bytes);
    let addrs = [
        0x0a00_0005,
        0x0a00_0006,
        0x0a00_0107,
        0x0a00_0108,
        0x3400_0001,
        0xc0a8_0001,
    ];
    let ports = [22, 443, 8080, 5432, 40000, 49152, 50001, 1552];
    let mut recs = Vec::new();
    for phase in 0..3 {
        for i in 0..30_000u32 {
            let fresh = phase == 1;
            let src = if fresh {
                Ip::v4(0x6400_0000 + i)
            } else {
                Ip::v4(addrs[next(6) as usize])
            };
            recs.push(FlowRecord {
                interface: enis[next(3) as usize],
                srcaddr: Some(src),
                dstaddr: Some(Ip::v4(addrs[next(6) as usize])),
                srcport: Some(ports[next(8) as usize]),
                dstport: Some(ports[next(8) as usize]),
                protocol: Some([6, 6, 17, 1][next(4) as usize]),
                packets: next(50),
                bytes: next(100_000),
                start: Some(1_000 + next(600)),
                end: Some(1_000 + next(600)),
                action: [Action::Accept, Action::Reject][(next(5) == 0) as usize],
                status: [LogStatus::Ok, LogStatus::NoData][(next(50) == 0) as usize],
                tcp_flags: [None, Some(0), Some(2), Some(18)][next(4) as usize],
                flow_direction: [
                    None,
                    None,
                    Some(PacketDirection::Ingress),
                    Some(PacketDirection::Egress),
                ][next(4) as usize],
                ..Default::default()
            });
        }
    }
    let mut locals = Locals::new();
    locals.insert(enis[0], vec![Ip::v4(0x0a00_0005)]);
    let locals = Some(Arc::new(locals));
    let mut with = Aggregate::new(locals.clone());
    let mut without = Aggregate::new(locals);
    without.front = Front::passthrough();
    for r in &recs {
        with.add(r);
        without.add(r);
    }
    let (a, b) = (with.finish(), without.finish());
    assert_eq!(view(&a), view(&b));
    let ifaces = |s: &Summary| format!("{:?} {:?}", s.interfaces, s.window);
    assert_eq!(ifaces(&a), ifaces(&b));
    let records = recs.iter().filter(|r| r.status == LogStatus::Ok).count() as u64;
    assert_eq!(a.rows.iter().map(|r| r.flows).sum::<u64>(), records);
    assert!(a.rows.len() > 20, "{}", a.rows.len());
}

#[test]
fn record_order_does_not_change_rows() {
    // Adjacent records of one cell find it as the last one; the
    // interleaved order looks every record's cell up.
    let grouped = [
        "2 1 eni-0ccc 10.0.1.10 10.0.0.5 49152 8080 6 5 500 100 110 ACCEPT OK",
        "2 1 eni-0ccc 10.0.0.5 10.0.1.10 8080 49152 6 5 5000 100 120 ACCEPT OK",
        "2 1 eni-0ccc 10.0.1.11 10.0.0.5 49153 8080 6 5 500 90 110 ACCEPT OK",
        "2 1 eni-0ddd 10.0.0.6 10.0.3.3 40000 5432 6 2 300 95 130 ACCEPT OK",
        "2 1 eni-0ddd 10.0.3.3 10.0.0.6 5432 40000 6 2 900 95 130 ACCEPT OK",
        "2 1 eni-0ccc 10.0.1.12 10.0.0.5 49154 22 6 1 40 80 80 REJECT OK",
    ];
    let interleaved = [
        grouped[0], grouped[3], grouped[1], grouped[5], grouped[2], grouped[4],
    ];
    let mut locals = Locals::new();
    locals.insert(EniId::from_bytes(b"eni-0ccc"), vec![Ip::v4(0x0a000005)]);
    locals.insert(EniId::from_bytes(b"eni-0ddd"), vec![Ip::v4(0x0a000006)]);
    let a = agg(&grouped, V2, Some(locals.clone()));
    let b = agg(&interleaved, V2, Some(locals));
    assert_eq!(view(&a), view(&b));
    assert_eq!(a.rows.len(), 3);
    let r = find(&a, "eni-0ccc", Direction::Ingress, Some(8080));
    assert_eq!((r.flows, r.bytes), (3, 6000));
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
fn nodata_counts_and_merge_equals_single_pass() {
    let lines = [
        "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
        "2 1 eni-0aaa - - - - - - - 100 160 - NODATA",
        "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
        "2 1 eni-0aaa 203.0.113.9 10.0.1.10 51515 22 6 1 40 150 150 REJECT OK",
    ];
    let p = Parser::new(&Format::default_v2());
    let mut whole = Aggregate::new(None);
    let mut a = Aggregate::new(None);
    let mut b = Aggregate::new(None);
    for (i, l) in lines.iter().enumerate() {
        let r = p.parse(l.as_bytes()).unwrap();
        whole.add(&r);
        if i % 2 == 0 {
            a.add(&r)
        } else {
            b.add(&r)
        }
    }
    b.merge_from(a);
    let (w, m) = (whole.finish(), b.finish());
    assert_eq!(w.rows.len(), m.rows.len());
    for (x, y) in w.rows.iter().zip(m.rows.iter()) {
        assert_eq!(
            (x.flows, x.bytes, x.direction, x.port),
            (y.flows, y.bytes, y.direction, y.port)
        );
    }
    assert_eq!(w.interfaces[0].nodata, 1);
    assert_eq!(w.window, Some((100, 160)));
    let rej = find(&w, "eni-0aaa", Direction::Ingress, Some(22));
    assert_eq!(rej.action, Action::Reject);
}

fn rows_of(s: &Summary) -> Vec<(String, Direction, Option<u16>, Action, u64)> {
    s.rows
        .iter()
        .map(|r| {
            let id = r.interface_id.clone().unwrap_or_default();
            (id, r.direction, r.port, r.action, r.flows)
        })
        .collect()
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

/// Records of a busy estate in miniature: servers with private and
/// public clients (IPv4 and IPv6), probes of random ports, rejected
/// service ports. `seed` varies them.
fn busy_records(n: usize, seed: u64) -> Vec<FlowRecord> {
    let mut rng = crate::XorShift(seed | 1);
    let mut next = |m: u64| rng.next() % m;
    let mut recs = Vec::new();
    for _ in 0..n {
        let e = next(6) as u32;
        let eni = EniId::from_bytes(format!("eni-0{e:x}").as_bytes());
        let v6 = e.is_multiple_of(3) && next(4) == 0;
        let own = if v6 {
            Ip(0x2600_0000_0000_0000_0000_0000_0000_0000 | e as u128)
        } else {
            Ip::v4(0x0a00_0100 | e)
        };
        let peer = match (v6, next(3)) {
            (true, _) => Ip(0x2001_0db8_0000_0000_0000_0000_0000_0000 | next(50) as u128),
            (false, 0) => Ip::v4(0x0a00_0200 | next(40) as u32),
            _ => Ip::v4(0xc633_6400 | next(200) as u32),
        };
        let (svc, eph) = (
            [443, 8080, 22][next(3) as usize],
            32768 + next(28000) as u16,
        );
        let mut r = FlowRecord {
            interface: eni,
            protocol: Some(6),
            packets: 1 + next(5),
            bytes: 40 + next(1000),
            start: Some(100 + next(50)),
            end: Some(160 + next(50)),
            action: Action::Accept,
            ..Default::default()
        };
        match next(4) {
            // A probe of a random port from a random port, or of SSH.
            0 => {
                let port = if next(2) == 0 {
                    22
                } else {
                    1024 + next(64000) as u16
                };
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(peer), Some(own), Some(next(65536) as u16), Some(port));
                r.action = Action::Reject;
            }
            // A request to the interface, or its response.
            1 => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(peer), Some(own), Some(eph), Some(svc))
            }
            2 => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(own), Some(peer), Some(svc), Some(eph))
            }
            // The interface calling the peer.
            _ => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(own), Some(peer), Some(eph), Some(svc))
            }
        }
        recs.push(r);
    }
    recs
}

#[test]
fn folding_depends_on_the_records_only_and_keeps_direction() {
    let recs = busy_records(20_000, 7);
    let run = |parts: usize, reverse: bool, limit: u64| {
        let keys = Arc::new(RejectedKeys::with_limit(limit));
        let mut aggs: Vec<Aggregate> = (0..parts)
            .map(|_| Aggregate::sharing(None, keys.clone()))
            .collect();
        let order: Vec<usize> = if reverse {
            (0..recs.len()).rev().collect()
        } else {
            (0..recs.len()).collect()
        };
        for (n, i) in order.into_iter().enumerate() {
            aggs[(n / 997) % parts].add(&recs[i]);
        }
        let mut first = aggs.remove(0);
        for a in aggs {
            first.merge_from(a);
        }
        first.finish()
    };
    let base = run(1, false, 300);
    assert!(base.overflow > 0, "the budget was passed");
    for (parts, rev) in [(2, false), (3, true), (5, false)] {
        let other = run(parts, rev, 300);
        assert_eq!(view(&base), view(&other), "{parts} parts, reversed {rev}");
        assert_eq!(base.overflow, other.overflow);
    }
    let flows: u64 = base.rows.iter().map(|r| r.flows).sum();
    assert_eq!(flows, recs.len() as u64);
    let folded: Vec<&Row> = base
        .rows
        .iter()
        .filter(|r| r.ports_folded.is_some())
        .collect();
    assert!(!folded.is_empty());
    for r in &folded {
        assert_eq!(
            (r.port, r.action, r.direction),
            (None, Action::Reject, Direction::Ingress)
        );
    }
    assert_eq!(folded.iter().map(|r| r.flows).sum::<u64>(), base.overflow);
    // Rejected SSH and accepted rows never fold; under the budget nothing does.
    assert!(base
        .rows
        .iter()
        .any(|r| r.port == Some(22) && r.action == Action::Reject));
    let roomy = run(2, true, 1_000_000);
    assert_eq!(roomy.overflow, 0);
    assert!(roomy.rows.iter().all(|r| r.ports_folded.is_none()));
    let accepted = |s: &Summary| -> Vec<String> {
        view(s)
            .into_iter()
            .filter(|v| v.contains("Accept"))
            .collect()
    };
    assert_eq!(accepted(&base), accepted(&roomy));
}

#[test]
fn a_cell_and_its_key_take_128_bytes() {
    // Hundreds of thousands of them are held at the end of a busy run:
    // 16-byte aligned `u128` addresses in the key and the one-peer set
    // made them 144.
    assert!(
        std::mem::size_of::<(CellKey, cells::Cell)>() <= 128,
        "{}",
        std::mem::size_of::<(CellKey, cells::Cell)>()
    );
}
