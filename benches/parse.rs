//! Parser throughput: v2 lines → `FlowRecord`, in bytes/s and records/s.
//!
//! `cargo bench --bench parse`. Data is generated in-process (see
//! `common.rs`), so the bench needs no files.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use flowscope::flowlog::{Format, Parser};

mod common;

fn bench_parse(c: &mut Criterion) {
    let text = common::v2_lines(20_000, 42);
    let lines: Vec<&[u8]> = text
        .as_bytes()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let parser = Parser::new(&Format::default_v2());
    assert!(
        lines.iter().all(|l| parser.parse(l).is_ok()),
        "generated lines parse"
    );

    let mut g = c.benchmark_group("parse_v2");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("bytes", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for l in &lines {
                if let Ok(r) = parser.parse(black_box(l)) {
                    sum = sum.wrapping_add(r.bytes);
                }
            }
            sum
        })
    });
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("records", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for l in &lines {
                n += parser.parse(black_box(l)).is_ok() as u64;
            }
            n
        })
    });
    // The engine's path: the chunk is known to be ASCII.
    g.bench_function("records_known_ascii", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for l in &lines {
                n += parser.parse_with(black_box(l), true).is_ok() as u64;
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
