//! The record parser under several formats: never panics, a line either
//! parses or names a skip reason, and the fast paths (the v2 decoder, the
//! SIMD IPv4 reader) agree with the general parser on every input.
#![no_main]

use std::sync::OnceLock;

use flowscope::flowlog::{Format, Parser, SkipReason};
use libfuzzer_sys::fuzz_target;

fn parsers() -> &'static [Parser] {
    static P: OnceLock<Vec<Parser>> = OnceLock::new();
    P.get_or_init(|| {
        [
            flowscope::flowlog::format::DEFAULT_V2,
            "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status",
            "interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action flow-direction tcp-flags",
            "srcaddr",
            "log-status action next-hop-vpc-id",
        ]
        .iter()
        .map(|f| Parser::new(&Format::parse(f).unwrap()))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for p in parsers() {
        let parsed = p.parse(data);
        if let Err(e) = &parsed {
            assert!(SkipReason::ALL.contains(&e.reason));
        }
        assert_eq!(parsed, p.parse_general(data), "{:?}", String::from_utf8_lossy(data));
    }
});
