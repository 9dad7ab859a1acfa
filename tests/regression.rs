//! Regressions: each crash found by the damaged-input tests or the fuzzers,
//! reduced to the smallest input that showed it. (The fuzzers found none
//! in their first runs; the crashes below came from tests/damaged.rs.)

use flowscope::aggregate::Aggregate;
use flowscope::flowlog::reader::{ChunkReader, FormatCtx};
use flowscope::flowlog::{Format, Parser};
use flowscope::investigate::Timeline;

const MAX: u64 = u64::MAX;

/// `Timeline::write_text` added the bucket width to the last bucket
/// (overflow at u64::MAX) and `span_buckets` added 1 to a full span.
#[test]
fn timeline_with_times_at_the_ends_of_u64() {
    for width in [1, 60, 3600] {
        let mut t = Timeline::new(width);
        t.add_at(0, 1, MAX, MAX);
        t.add_at(MAX, 1, MAX, MAX);
        t.add_at(MAX - 1, 1, 1, 1);
        let mut out = Vec::new();
        t.write_text(&mut out, None).unwrap();
        assert!(t.span_buckets() >= 2);
    }
}

/// Sums of counters past u64 (hostile input) wrapped or panicked; now
/// they saturate. A record whose start is after its end kept first > last
/// (`recommend` then underflowed computing the window's length).
#[test]
fn counters_saturate_and_spans_are_ordered() {
    let p = Parser::new(&Format::default_v2());
    let mut a = Aggregate::new(None);
    for line in [
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 18446744073709551615 18446744073709551615 200 100 ACCEPT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 18446744073709551615 18446744073709551615 300 250 ACCEPT OK",
    ] {
        a.add(&p.parse(line.as_bytes()).unwrap());
    }
    let s = a.finish();
    assert_eq!(s.rows.len(), 1);
    assert_eq!((s.rows[0].packets, s.rows[0].bytes), (MAX, MAX));
    assert_eq!(
        (s.rows[0].first_seen, s.rows[0].last_seen),
        (Some(100), Some(300))
    );
    assert_eq!(s.window, Some((100, 300)));
}

/// The piece of a line where a gzip stream broke off was parsed as a
/// record (`...1700000060 ACC` fails, but `... 4249` cut to `42` parses).
#[test]
fn the_line_cut_by_damage_is_not_parsed() {
    struct Broken<'a>(&'a [u8]);
    impl std::io::Read for Broken<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "cut",
                ));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let data = b"2 1 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 10 1 2 ACCEPT OK\n2 1 eni-0a 10.0.0.1 10.0.0.2 1 2 6 1 10 1 2";
    let mut r = ChunkReader::new(Broken(data), FormatCtx::new(Format::default_v2()));
    let mut lines = 0;
    let err = loop {
        match r.next_chunk() {
            Ok(Some(c)) => {
                c.for_each_line(|_, _| lines += 1);
            }
            Ok(None) => panic!("the error must be reported"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(lines, 1);
    assert_eq!(r.counts.truncated, 1);
    assert_eq!(r.truncated_line, Some(2));
    assert_eq!(r.lines(), 2);
}
