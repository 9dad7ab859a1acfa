//! Deterministic v2 flow-log lines for the benchmarks: a small topology
//! (40 interfaces, a few services, clients on ephemeral ports, some
//! REJECTs, NODATA, IPv6) so that the parser and the aggregator see the
//! same shapes and key cardinalities as in `flowscope generate` output.

#![allow(dead_code)]

use std::fmt::Write;

/// xorshift64*: reproducible and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// An S3-style object's text: the header line, then `v2_lines(n, seed)`.
pub fn v2_object(n: usize, seed: u64) -> String {
    let mut text = String::from(HEADER);
    text.push('\n');
    text.push_str(&v2_lines(n, seed));
    text
}

/// `n` lines of v2 records (no header), each ending in `\n`.
pub fn v2_lines(n: usize, seed: u64) -> String {
    const PORTS: [u16; 6] = [443, 8080, 5432, 6379, 22, 53];
    let mut r = Rng::new(seed);
    let mut out = String::with_capacity(n * 120);
    let mut t = 1_763_596_800u64;
    for i in 0..n {
        let eni = r.below(40);
        let own = format!("10.0.{}.{}", eni / 8, 10 + eni);
        t += r.below(3);
        let eni_id = format!("eni-0{:016x}", 0x1a2b_3c4d_0000_0000u64 + eni * 7919);
        if i % 500 == 7 {
            writeln!(
                out,
                "2 123456789012 {eni_id} - - - - - - - {t} {} - NODATA",
                t + 59
            )
            .unwrap();
            continue;
        }
        let port = PORTS[r.below(PORTS.len() as u64) as usize];
        let peer = if r.below(50) == 0 {
            format!("2600:1f18:{:x}::{:x}", r.below(16), r.below(4096))
        } else {
            format!("10.{}.{}.{}", r.below(4), r.below(16), r.below(250) + 1)
        };
        let eph = 32768 + r.below(28000);
        let proto = if port == 53 { 17 } else { 6 };
        let action = if r.below(20) == 0 { "REJECT" } else { "ACCEPT" };
        let packets = 1 + r.below(200);
        let bytes = packets * (40 + r.below(1400));
        // Half the records are requests to the interface, half responses.
        let (src, dst, sp, dp) = if r.below(2) == 0 {
            (peer.as_str(), own.as_str(), eph as u16, port)
        } else {
            (own.as_str(), peer.as_str(), port, eph as u16)
        };
        if src.contains(':') || dst.contains(':') {
            // Keep both sides of one family.
            let own6 = format!("2600:1f18:ff::{eni:x}");
            let (s, d) = if src == own {
                (own6.as_str(), dst)
            } else {
                (src, own6.as_str())
            };
            writeln!(out, "2 123456789012 {eni_id} {s} {d} {sp} {dp} {proto} {packets} {bytes} {t} {} {action} OK", t + 60).unwrap();
        } else {
            writeln!(out, "2 123456789012 {eni_id} {src} {dst} {sp} {dp} {proto} {packets} {bytes} {t} {} {action} OK", t + 60).unwrap();
        }
    }
    out
}
