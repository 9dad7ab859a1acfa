//! Property tests: CIDR and port narrowing, aggregation merge order and
//! the engine's accounting identity (the line parser's are in parser.rs).

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use flowscope::aggregate::{Aggregate, Locals, RejectedKeys, Summary};
use flowscope::engine::{self, EngineOptions, Processor, RecordCtx};
use flowscope::flowlog::reader::Input;
use flowscope::flowlog::{EniId, FlowRecord, Format, Ip, Parser};
use flowscope::recommend::cidr;
use ipnet::IpNet;
use proptest::prelude::*;

pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn v4_in(net: u32, len: u8) -> impl Strategy<Value = IpAddr> {
    let host_bits = 32 - len as u32;
    let mask = if host_bits == 32 {
        u32::MAX
    } else {
        (1u32 << host_bits) - 1
    };
    any::<u32>().prop_map(move |h| IpAddr::V4(((net & !mask) | (h & mask)).into()))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn cidr_cover_covers_stays_inside_and_is_bounded(
        len in 8u8..=32,
        net in any::<u32>(),
        max in 1usize..8,
        seeds in prop::collection::vec(any::<u32>(), 1..60),
    ) {
        let within: IpNet = IpNet::V4(ipnet::Ipv4Net::new(net.into(), len).unwrap().trunc());
        let host_bits = 32 - len as u32;
        let mask = if host_bits == 32 { u32::MAX } else { (1u32 << host_bits) - 1 };
        let base = u32::from(match within.network() { IpAddr::V4(a) => a, _ => unreachable!() });
        let addrs: Vec<IpAddr> = seeds.iter().map(|h| IpAddr::V4((base | (h & mask)).into())).collect();
        let c = cidr::cover(&addrs, max, Some(&within));
        prop_assert!(c.len() <= max, "{} prefixes > {max}: {c:?}", c.len());
        for a in &addrs {
            prop_assert!(c.iter().any(|n| n.contains(a)), "{a} not covered by {c:?}");
        }
        for n in &c {
            prop_assert!(within.contains(n), "{n} outside {within}");
        }
    }

    #[test]
    fn cidr_cover_mixed_families(
        v4 in prop::collection::vec(v4_in(0x0a00_0000, 8), 0..20),
        v6 in prop::collection::vec(any::<u128>(), 0..20),
        max in 2usize..8,
    ) {
        let mut addrs = v4.clone();
        addrs.extend(v6.iter().map(|&x| IpAddr::V6(x.into())));
        prop_assume!(!addrs.is_empty());
        let c = cidr::cover(&addrs, max, None);
        prop_assert!(c.len() <= max);
        for a in &addrs {
            prop_assert!(c.iter().any(|n| n.contains(a)), "{a} not covered by {c:?}");
        }
    }

    #[test]
    fn port_ranges_cover_every_port_within_max(
        ports in prop::collection::vec(any::<u16>(), 0..80),
        max in 1usize..10,
    ) {
        let r = cidr::port_ranges(&ports, max);
        prop_assert!(r.len() <= max);
        for p in &ports {
            prop_assert!(r.iter().any(|(a, b)| a <= p && p <= b), "{p} not in {r:?}");
        }
        for w in r.windows(2) {
            prop_assert!(w[0].1 < w[1].0, "overlapping or unsorted {r:?}");
        }
        // Every range starts and ends on a used port: ranges only widen
        // to cover gaps between used ports.
        for (a, b) in &r {
            prop_assert!(ports.contains(a) && ports.contains(b));
        }
    }
}

/// Records on a few interfaces, addresses and ports, with directions known
/// (flow-direction or inventory), so any split must give the same rows.
fn record_strategy() -> impl Strategy<Value = String> {
    (
        0u8..3,
        0u8..6,
        0u8..6,
        prop::sample::select(vec![22u16, 443, 5432, 8080, 40000, 50001, 61000]),
        prop::sample::select(vec![22u16, 443, 5432, 8080, 40000, 50001, 61000]),
        prop::sample::select(vec![6u8, 17, 1, 255]),
        0u64..1000,
        0u64..100_000,
        1_700_000_000u64..1_700_000_600,
        0u64..120,
        prop::sample::select(vec!["ACCEPT", "REJECT"]),
        prop::sample::select(vec!["ingress", "egress"]),
    )
        .prop_map(|(e, s, d, sp, dp, proto, pk, by, start, dur, act, dir)| {
            format!(
                "eni-0{e}a 10.0.0.{s} 10.0.1.{d} {sp} {dp} {proto} {pk} {by} {start} {} {act} {dir}",
                start + dur
            )
        })
}

pub(crate) const FD_FORMAT: &str =
    "interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action flow-direction";

type RowKey = (
    Option<String>,
    String,
    u8,
    Option<u16>,
    String,
    u64,
    u64,
    u64,
    Option<u64>,
    Option<u64>,
    u64,
);

fn rows(s: Summary) -> Vec<RowKey> {
    let mut v: Vec<RowKey> = s
        .rows
        .into_iter()
        .map(|r| {
            (
                r.interface_id,
                r.direction.as_str().to_string(),
                r.protocol,
                r.port,
                format!("{:?}", r.action),
                r.flows,
                r.packets,
                r.bytes,
                r.first_seen,
                r.last_seen,
                r.peers.count(),
            )
        })
        .collect();
    v.sort();
    v
}

fn agg_of(recs: &[FlowRecord], locals: &Option<Arc<Locals>>) -> Aggregate {
    let mut a = Aggregate::new(locals.clone());
    for r in recs {
        a.add(r);
    }
    a
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn aggregate_merge_in_any_partition_equals_one_pass(
        lines in prop::collection::vec(record_strategy(), 1..120),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        order in any::<u64>(),
        with_inventory in any::<bool>(),
    ) {
        // With an inventory the direction column is dropped: the
        // interfaces' addresses decide instead.
        let (format, lines): (String, Vec<String>) = if with_inventory {
            let f = FD_FORMAT.trim_end_matches(" flow-direction").to_string();
            let l = lines.iter().map(|l| l.rsplit_once(' ').unwrap().0.to_string()).collect();
            (f, l)
        } else {
            (FD_FORMAT.to_string(), lines)
        };
        let locals = with_inventory.then(|| {
            let mut l = Locals::new();
            for e in 0..3u8 {
                let id = format!("eni-0{e}a");
                l.insert(EniId::from_bytes(id.as_bytes()), vec![Ip::v4(0x0a00_0100 | e as u32)]);
            }
            Arc::new(l)
        });
        let p = Parser::new(&Format::parse(&format).unwrap());
        let recs: Vec<FlowRecord> = lines.iter().map(|l| p.parse(l.as_bytes()).unwrap()).collect();
        let whole = rows(agg_of(&recs, &locals).finish());
        // Cut into parts, merge them in a shuffled order.
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(recs.len() + 1)).collect();
        at.push(0);
        at.push(recs.len());
        at.sort_unstable();
        let mut parts: Vec<Aggregate> = at.windows(2).map(|w| agg_of(&recs[w[0]..w[1]], &locals)).collect();
        let n = parts.len();
        parts.rotate_left((order % n as u64) as usize);
        if order & 1 == 1 {
            parts.reverse();
        }
        let mut it = parts.into_iter();
        let mut total = it.next().unwrap();
        for part in it {
            total.merge_from(part);
        }
        prop_assert_eq!(whole, rows(total.finish()));
    }
}

#[derive(Default)]
struct Count(u64);
impl Processor for Count {
    fn record(&mut self, _: &FlowRecord, _: &RecordCtx<'_>) {
        self.0 += 1;
    }
    fn merge(&mut self, o: Self) {
        self.0 += o.0;
    }
}

fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 10 1 2 ACCEPT OK".to_vec()),
        1 => Just(b"2 1 eni-0a - - - - - - - 1 2 - NODATA".to_vec()),
        1 => Just(b"2 1 eni-0a - - - - - - - 1 2 - SKIPDATA".to_vec()),
        1 => Just(HEADER_V2.trim_end().as_bytes().to_vec()),
        1 => Just(b"interface-id srcaddr dstaddr srcport dstport protocol action".to_vec()),
        1 => Just(b"eni-0b 10.0.0.9 10.0.0.8 1 2 17 REJECT".to_vec()),
        1 => Just(Vec::new()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"2 1 eni-0a 10.0.0.1 10.0.0.2 70000 443 6 1 10 1 2 ACCEPT OK".to_vec()),
        1 => Just(b"\xff\xfe garbage".to_vec()),
        2 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..80),
    ]
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn accounting_identity_over_random_line_mixes(
        files in prop::collection::vec(
            (prop::collection::vec(line_strategy(), 0..60), any::<bool>(), any::<bool>(), 0usize..4),
            1..4,
        ),
        threads in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        let mut total_lines = 0u64;
        for (i, (lines, gzip, final_newline, cut)) in files.iter().enumerate() {
            let mut text = lines.join(&b'\n');
            if *final_newline && !lines.is_empty() {
                text.push(b'\n');
            }
            let mut n = lines.len() as u64;
            if !*final_newline && lines.last().is_some_and(|l| l.is_empty()) {
                n -= 1; // a trailing empty piece is not a line
            }
            let mut data = if *gzip {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&text).unwrap();
                e.finish().unwrap()
            } else {
                text
            };
            let damaged = *gzip && *cut > 0 && data.len() > 20;
            if damaged {
                let keep = data.len() * *cut / 4;
                data.truncate(keep);
            } else {
                total_lines += n;
            }
            let p = dir.path().join(format!("f{i}.log"));
            std::fs::write(&p, &data).unwrap();
            inputs.push(Input::Path(p));
        }
        let opts = EngineOptions { threads, ..EngineOptions::default() };
        let out = engine::run(&inputs, &opts, Count::default);
        let a = &out.accounting;
        prop_assert!(a.is_balanced(), "{a:?}");
        prop_assert_eq!(a.files, files.len() as u64);
        prop_assert_eq!(out.processor.0, a.records + a.nodata + a.skipdata);
        if out.file_errors.is_empty() {
            prop_assert_eq!(a.lines, total_lines, "{:?}", a);
        }
    }
}

const HEADER_V2: &str =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

/// A v2 record (no flow-direction, no inventory) of a busy estate in
/// miniature: private, public and IPv6 addresses on either side, service
/// and random ports, rejected probes: every rule of direction and
/// learning, and folding, has something to decide.
fn busy_line() -> impl Strategy<Value = String> {
    let addr = prop::sample::select(vec![
        "10.0.1.1",
        "10.0.1.2",
        "10.0.1.3",
        "10.0.2.9",
        "10.0.3.7",
        "198.51.100.7",
        "203.0.113.9",
        "2600::1",
        "2600::2",
        "2001:db8::5",
        "2001:db8::6",
    ]);
    let port = prop_oneof![
        prop::sample::select(vec![22u16, 443, 5432, 8080, 15000]),
        1024u16..65535,
    ];
    (
        0u8..3,
        addr.clone(),
        addr,
        port.clone(),
        port,
        prop::sample::select(vec![6u8, 6, 17, 1]),
        0u64..1000,
        1_700_000_000u64..1_700_000_600,
        prop::sample::select(vec!["ACCEPT", "ACCEPT", "REJECT"]),
    )
        .prop_map(|(e, s, d, sp, dp, proto, by, start, act)| {
            format!(
                "2 1 eni-0{e}b {s} {d} {sp} {dp} {proto} 1 {by} {start} {} {act} OK",
                start + 30
            )
        })
}

fn view(s: &Summary) -> (Vec<RowKey>, Vec<String>, u64) {
    let ifaces = s
        .interfaces
        .iter()
        .map(|i| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                i.interface_id, i.addresses, i.address_source, i.ipv4, i.ipv6
            )
        })
        .collect();
    (rows(s.clone()), ifaces, s.overflow)
}

proptest! {
    #![proptest_config(config(96))]

    /// The same records in any order, read by any number of workers (each
    /// worker's records in its own order, merged in any order), give the
    /// same summary, folding included; every record is in one row.
    #[test]
    fn summary_does_not_depend_on_threads_or_order(
        lines in prop::collection::vec(busy_line(), 1..400),
        workers in 1usize..5,
        seed in any::<u64>(),
        limit in prop::sample::select(vec![4u64, 16, 1_000_000]),
    ) {
        let p = Parser::new(&Format::default_v2());
        let recs: Vec<FlowRecord> = lines.iter().map(|l| p.parse(l.as_bytes()).unwrap()).collect();
        let one = |recs: &[FlowRecord], workers: usize, seed: u64| {
            let keys = Arc::new(RejectedKeys::with_limit(limit));
            let mut aggs: Vec<Aggregate> =
                (0..workers).map(|_| Aggregate::sharing(None, keys.clone())).collect();
            let mut order: Vec<usize> = (0..recs.len()).collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            // Runs of records to one worker, as files and chunks are.
            for (n, i) in order.into_iter().enumerate() {
                aggs[(n / 7 + (seed as usize >> 3)) % workers].add(&recs[i]);
            }
            if seed & 1 == 1 {
                aggs.reverse();
            }
            let mut it = aggs.into_iter();
            let mut total = it.next().unwrap();
            for a in it {
                total.merge_from(a);
            }
            total.finish()
        };
        let base = one(&recs, 1, 0);
        let flows: u64 = base.rows.iter().map(|r| r.flows).sum();
        prop_assert_eq!(flows, recs.len() as u64);
        prop_assert_eq!(view(&base), view(&one(&recs, workers, seed)));
    }
}
