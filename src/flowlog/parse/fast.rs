//! The fast path of the line parser: branch-light code for well-formed
//! records, with everything unusual left to the general parser.
//!
//! The general parser walks each line byte by byte, and its loops exit
//! on data (the end of a number, of an address): about 1,500
//! instructions and many mispredicted branches per record, 300 ns of a
//! 570 ns record. Here a line's spaces are found 16 bytes at a time (32
//! with AVX2) as one bitmask, so every token's length is known before it
//! is read; numbers are then read eight digits at a time (SWAR), IPv4
//! addresses from the positions of their dots, and interface ids sixteen
//! hex digits at a time. Lines with the column widths of every record AWS
//! writes today skip most of the search (`v2::v2_layout`).
//!
//! The contract is narrow on purpose: `parse` returns a record only for
//! a line the general parser would accept with the same values, and
//! `None` for anything else (a `-` where a data field is required, a
//! repeated space, an overlong number, an error of any kind). The caller
//! then runs the general parser, which alone knows how to report errors,
//! so skip reasons and their columns are unchanged. A differential
//! property test (tests/properties.rs) holds the two paths together.

use super::cols::Col;
use super::digits::{load8, number};
use super::ipv4::ipv4;
use super::ipv6::ipv6;
use super::scalar::{parse_ip, times_need_general};
use crate::flowlog::record::{
    Action, AwsService, EniId, FlowRecord, Ip, LogStatus, PacketDirection,
};
use crate::simd::eq_mask16;

/// Lines longer than this take the general path (v2 lines are ~110
/// bytes; long custom formats with ECS fields exceed it).
const MAX_FAST_LINE: usize = 256;

/// Parses a line (no `\n`, no trailing `\r`, known to be ASCII) of the
/// given columns, or returns `None` to hand it to the general parser.
#[inline]
pub(super) fn parse(cols: &[Col], line: &[u8]) -> Option<FlowRecord> {
    if line.len() > MAX_FAST_LINE || line.is_empty() {
        return None;
    }
    let masks = space_masks(line);
    let mut rec = FlowRecord::default();
    let mut cols_iter = cols.iter();
    let mut start = 0usize;
    for (w, &word) in masks.iter().enumerate() {
        let mut m = word;
        while m != 0 {
            let end = w * 64 + m.trailing_zeros() as usize;
            m &= m - 1;
            // An empty token is a repeated, leading or trailing space.
            if end == start {
                return None;
            }
            field(&mut rec, *cols_iter.next()?, line, start, end)?;
            start = end + 1;
        }
    }
    if start >= line.len() {
        return None;
    }
    field(&mut rec, *cols_iter.next()?, line, start, line.len())?;
    if cols_iter.next().is_some() {
        return None;
    }
    Some(rec)
}

/// One column, `line[start..end]`. `None` for anything the general parser
/// must look at. The whole line is passed so that numbers can be loaded
/// eight bytes at a time past the token's end.
#[inline(always)]
pub(super) fn field(
    rec: &mut FlowRecord,
    col: Col,
    line: &[u8],
    start: usize,
    end: usize,
) -> Option<()> {
    let tok = &line[start..end];
    let dash = tok == b"-";
    let num = || number::<true>(line, start, end - start);
    match col {
        Col::Skip => {}
        Col::Interface => {
            if !dash {
                rec.interface = EniId::from_bytes(tok);
            }
        }
        Col::Src => rec.srcaddr = Some(address(line, start, end)?),
        Col::Dst => rec.dstaddr = Some(address(line, start, end)?),
        Col::PktSrc if dash => {}
        Col::PktSrc => rec.pkt_srcaddr = Some(address(line, start, end)?),
        Col::PktDst if dash => {}
        Col::PktDst => rec.pkt_dstaddr = Some(address(line, start, end)?),
        Col::SrcPort | Col::DstPort | Col::TcpFlags if dash => {}
        Col::SrcPort => rec.srcport = Some(u16::try_from(num()?).ok()?),
        Col::DstPort => rec.dstport = Some(u16::try_from(num()?).ok()?),
        Col::TcpFlags => rec.tcp_flags = Some(u16::try_from(num()?).ok()?),
        Col::Protocol => rec.protocol = Some(u8::try_from(num()?).ok()?),
        Col::Packets | Col::Bytes | Col::Start | Col::End if dash => {}
        Col::Packets => rec.packets = num()?,
        Col::Bytes => rec.bytes = num()?,
        Col::Start => rec.start = Some(time(num()?)?),
        Col::End => rec.end = Some(time(num()?)?),
        Col::Action => rec.action = action(line, start, end)?,
        // `-` and 0 are errors: the general parser reports them.
        Col::Flows => rec.flows = num().filter(|&n| n != 0)?,
        Col::Status => {
            rec.status = match tok {
                b"OK" => LogStatus::Ok,
                // NODATA/SKIPDATA records carry `-` in required fields,
                // which only the general parser excuses; they reach here
                // only if every field was present, which is still right.
                b"NODATA" => LogStatus::NoData,
                b"SKIPDATA" => LogStatus::SkipData,
                _ => return None,
            }
        }
        Col::Direction => {
            rec.flow_direction = match tok {
                b"ingress" => Some(PacketDirection::Ingress),
                b"egress" => Some(PacketDirection::Egress),
                b"-" => None,
                _ => return None,
            }
        }
        Col::SrcService => rec.pkt_src_aws_service = AwsService::from_bytes(tok),
        Col::DstService => rec.pkt_dst_aws_service = AwsService::from_bytes(tok),
    }
    Some(())
}

/// A start or end time the fast path keeps as it is (`None`: one the
/// general parser must convert, see `parse::epoch_seconds`).
#[inline(always)]
fn time(t: u64) -> Option<u64> {
    (!times_need_general(t, 0)).then_some(t)
}

/// The action at `line[start..end]`: a six-letter one compared as one
/// word (a byte-by-byte `match` cost ~10 instructions a record).
#[inline(always)]
fn action(line: &[u8], start: usize, end: usize) -> Option<Action> {
    const LOW6: u64 = (1 << 48) - 1;
    const ACCEPT: u64 = u64::from_le_bytes(*b"ACCEPT\0\0");
    const REJECT: u64 = u64::from_le_bytes(*b"REJECT\0\0");
    match end - start {
        6 => match load8(line, start) & LOW6 {
            ACCEPT => Some(Action::Accept),
            REJECT => Some(Action::Reject),
            _ => None,
        },
        1 if line[start] == b'-' => Some(Action::Unknown),
        _ => None,
    }
}

/// An address: IPv4 by its dots, IPv6 by its colons (`ipv6`), anything
/// else through the general `parse_ip` (IPv6 with an IPv4 tail, and the
/// shapes the fast readers decline, to be refused there).
#[inline(always)]
pub(super) fn address(line: &[u8], start: usize, end: usize) -> Option<Ip> {
    if let Some(v4) = ipv4(line, start, end - start) {
        return Some(Ip::v4(v4));
    }
    match ipv6(line, start, end - start) {
        Some(v6) => Some(Ip(v6)),
        None => parse_ip(&line[start..end]),
    }
}

/// Bit i set where `line[i]` is a space, for the first 256 bytes.
#[inline(always)]
fn space_masks(line: &[u8]) -> [u64; 4] {
    let mut masks = [0u64; 4];
    let mut i = 0;
    while i < line.len() {
        let m = match line.get(i..i + 16) {
            Some(block) => eq_mask16(block.try_into().expect("16 bytes"), b' '),
            // The tail: the line's last 16 bytes, shifted down past the
            // ones already seen (no copy; this was a memcpy call per line).
            None if line.len() >= 16 => {
                let block = &line[line.len() - 16..];
                eq_mask16(block.try_into().expect("16 bytes"), b' ') >> (i + 16 - line.len())
            }
            None => {
                let mut tail = [0u8; 16];
                let rest = &line[i..];
                tail[..rest.len()].copy_from_slice(rest);
                eq_mask16(&tail, b' ')
            }
        };
        masks[(i / 64) & 3] |= (m as u64) << (i % 64);
        i += 16;
    }
    masks
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_masks_find_every_space() {
        let line: Vec<u8> = (0..200)
            .map(|i| if i % 7 == 3 { b' ' } else { b'x' })
            .collect();
        let m = space_masks(&line);
        for (i, &b) in line.iter().enumerate() {
            assert_eq!(m[i / 64] >> (i % 64) & 1 == 1, b == b' ', "{i}");
        }
        for i in 200..256 {
            assert_eq!(m[i / 64] >> (i % 64) & 1, 0);
        }
    }
}
