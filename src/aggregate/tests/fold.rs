//! Cells, folding and merging: keys give back what they pack, the front
//! table and record order change nothing, merged parts equal one pass,
//! folding depends on the records only.

use super::*;

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
