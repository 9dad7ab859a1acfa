//! The engine's own tests: accounting across gzip members and damage,
//! at one and several threads.

use std::io::Write;

use super::*;
use crate::flowlog::reader::Input;
use crate::flowlog::record::FlowRecord;

#[derive(Default)]
struct Count(u64, u64);
impl Processor for Count {
    fn record(&mut self, rec: &FlowRecord, _: &RecordCtx<'_>) {
        self.0 += 1;
        self.1 += rec.bytes;
    }
    fn merge(&mut self, o: Self) {
        self.0 += o.0;
        self.1 += o.1;
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn multi_member_gzip_and_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let a = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 1 eni-1 10.0.0.1 10.0.0.2 5 6 6 1 100 1 2 ACCEPT OK\n";
    let b = b"2 1 eni-1 10.0.0.1 10.0.0.2 5 6 6 1 50 1 2 ACCEPT OK\nbad line\n2 1 eni-1 - - - - - - - 1 2 - NODATA\n";
    let mut data = gz(a);
    data.extend(gz(b));
    let p = dir.path().join("x.log.gz");
    std::fs::write(&p, &data).unwrap();
    for threads in [1, 2, 3] {
        let opts = EngineOptions {
            threads,
            ..Default::default()
        };
        let out = run(&[Input::Path(p.clone())], &opts, Count::default);
        assert_eq!(out.processor.1, 150, "threads {threads}");
        assert_eq!(out.accounting.records, 2);
        assert_eq!(out.accounting.nodata, 1);
        assert_eq!(out.accounting.headers, 1);
        assert_eq!(out.accounting.lines, 5);
        assert!(out.accounting.is_balanced());
        assert_eq!(out.bad_lines.len(), 1);
        assert_eq!(out.bad_lines[0].line, 4);
    }
}

#[test]
fn truncated_gzip_reports_offset_and_keeps_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..20000 {
        writeln!(
            text,
            "2 1 eni-1 10.0.0.1 10.0.0.2 {} 443 6 1 {} 1 2 ACCEPT OK",
            1024 + i % 60000,
            i
        )
        .unwrap();
    }
    let data = gz(&text);
    let cut = &data[..data.len() / 2];
    let p = dir.path().join("t.log.gz");
    std::fs::write(&p, cut).unwrap();
    for threads in [1, 2] {
        let opts = EngineOptions {
            threads,
            ..Default::default()
        };
        let out = run(&[Input::Path(p.clone())], &opts, Count::default);
        assert_eq!(out.file_errors.len(), 1);
        let msg = out.file_errors[0].to_string();
        assert!(
            msg.contains("t.log.gz") && msg.contains("compressed byte offset"),
            "{msg}"
        );
        assert!(
            out.accounting.records > 1000,
            "records before the damage count"
        );
        assert!(out.accounting.is_balanced());
        assert_eq!(out.accounting.files_failed, 1);
    }
}
