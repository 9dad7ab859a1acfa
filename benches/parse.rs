//! Parser throughput: v2 lines → `FlowRecord`, in bytes/s and records/s.
//!
//! `cargo bench --bench parse`. Data is generated in-process (see
//! `common.rs`). `parse_v2` calls the parser line by line, as a library
//! user would; `engine_plain` runs the product's own path over a plain
//! file (chunks, each line read in place from its buffer, the copy of the
//! hot loop compiled for the CPU), once with a processor that only takes
//! each record and once with the aggregator: the two differ by the cost
//! of aggregating. The generated records have 16,000 distinct peers
//! spread over 40 interfaces, nearly a new conversation per record: the
//! aggregator's costly case (its front table passes such records
//! through), not the one of `benches/compare.sh`'s dataset.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use flowscope::aggregate::Aggregate;
use flowscope::engine::{run, EngineOptions, Processor, RecordCtx};
use flowscope::flowlog::reader::Input;
use flowscope::flowlog::{FlowRecord, Format, Parser};

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

/// Takes each record and does nothing else with it.
struct ParseOnly(u64);

impl Processor for ParseOnly {
    fn record(&mut self, rec: &FlowRecord, _: &RecordCtx<'_>) {
        self.0 = self.0.wrapping_add(black_box(rec).bytes);
    }

    fn merge(&mut self, other: Self) {
        self.0 = self.0.wrapping_add(other.0);
    }
}

fn bench_engine_plain(c: &mut Criterion) {
    let n = 200_000;
    let text = common::v2_object(n, 13);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.log");
    std::fs::write(&path, &text).expect("write");
    let inputs = [Input::Path(path)];
    let opts = EngineOptions {
        threads: 1,
        ..Default::default()
    };

    let mut g = c.benchmark_group("engine_plain");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("parse_j1", |b| {
        b.iter(|| {
            let out = run(&inputs, &opts, || ParseOnly(0));
            assert_eq!(out.accounting.records + out.accounting.nodata, n as u64);
            out.processor.0
        })
    });
    g.bench_function("summarize_j1", |b| {
        b.iter(|| {
            let out = run(&inputs, &opts, || Aggregate::new(None));
            assert_eq!(out.accounting.records + out.accounting.nodata, n as u64);
            out.processor.finish().rows.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_engine_plain);
criterion_main!(benches);
