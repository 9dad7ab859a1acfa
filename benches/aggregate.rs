//! Aggregator throughput (records/s on pre-parsed records), and the whole
//! engine (read + parse + aggregate) over an in-memory-generated gzip file.
//!
//! `cargo bench --bench aggregate`.

use std::io::Write;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use flowscope::aggregate::Aggregate;
use flowscope::engine::{run, EngineOptions};
use flowscope::flowlog::reader::Input;
use flowscope::flowlog::{FlowRecord, Format, Parser};

mod common;

fn records(n: usize) -> Vec<FlowRecord> {
    let text = common::v2_lines(n, 7);
    let parser = Parser::new(&Format::default_v2());
    text.lines()
        .map(|l| parser.parse(l.as_bytes()).expect("generated lines parse"))
        .collect()
}

fn bench_aggregate(c: &mut Criterion) {
    let recs = records(50_000);
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(20);
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("add", |b| {
        b.iter(|| {
            let mut a = Aggregate::new(None);
            for r in &recs {
                a.add(black_box(r));
            }
            a
        })
    });
    g.bench_function("add_finish", |b| {
        b.iter(|| {
            let mut a = Aggregate::new(None);
            for r in &recs {
                a.add(r);
            }
            a.finish().rows.len()
        })
    });
    g.finish();
}

fn bench_engine(c: &mut Criterion) {
    let n = 100_000;
    let text = common::v2_object(n, 11);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(text.as_bytes()).expect("gzip");
    std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
    let inputs = [Input::Path(path)];

    let mut g = c.benchmark_group("engine_gzip");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    for threads in [1, 2] {
        let opts = EngineOptions {
            threads,
            ..Default::default()
        };
        g.bench_function(format!("summarize_j{threads}"), |b| {
            b.iter(|| {
                let out = run(&inputs, &opts, || Aggregate::new(None));
                assert_eq!(out.accounting.records + out.accounting.nodata, n as u64);
                out.processor.finish().rows.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_aggregate, bench_engine);
criterion_main!(benches);
