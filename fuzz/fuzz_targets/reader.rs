//! The chunk reader over gzip (MultiGzDecoder and the reader's own
//! `GzMembers`), zstd (`ZstdFrames`), plain bytes and the CloudWatch Logs
//! forms' readers (`cloudwatch::JsonEvents`, `ExportLines`): never
//! panics, every line is seen once, numbered in order.
#![no_main]

use flate2::read::MultiGzDecoder;
use flowscope::flowlog::cloudwatch::{ExportLines, FlowLogs, Formats, JsonEvents};
use flowscope::flowlog::reader::{ChunkReader, FormatCtx};
use flowscope::flowlog::sniff::TimeShape;
use flowscope::flowlog::sniff::{GzMembers, ZstdFrames};
use flowscope::flowlog::Format;
use libfuzzer_sys::fuzz_target;

fn drain<R: std::io::Read>(r: R) {
    let mut cr = ChunkReader::new(r, FormatCtx::new(Format::default_v2()));
    let mut next = 1u64;
    loop {
        match cr.next_chunk() {
            Ok(Some(c)) => {
                assert!(c.first_line >= next);
                c.for_each_line(|n, line| {
                    assert!(n >= next);
                    next = n + 1;
                    let _ = c.format.parser.parse(line);
                });
            }
            Ok(None) | Err(_) => break,
        }
    }
    assert!(cr.lines() + 1 >= next);
}

fuzz_target!(|data: &[u8]| {
    drain(data);
    drain(MultiGzDecoder::new(data));
    drain(GzMembers::new(data));
    drain(ZstdFrames::new(data));
    let formats = Formats {
        default: Format::default_v2(),
        flow_logs: Default::default(),
    };
    drain(JsonEvents::new(
        data,
        formats.default.clone(),
        formats.default.clone(),
        &formats,
        Default::default(),
    ));
    drain(ExportLines::new(data, TimeShape::Export));
    // The describe-flow-logs reader: an error or flow logs, never a panic.
    let _ = FlowLogs::from_json(data);
});
