//! The fast path for the default format (v2), the layout of nearly every
//! S3 export: its 14 columns decoded in straight-line code from the
//! line's window (`flowlog::window`), with no per-token dispatch. Same
//! contract as `fast::parse`: a record only where the general parser
//! gives the same one, `None` otherwise.

use super::cols::V2;
use super::digits::number;
#[cfg(target_arch = "x86_64")]
use super::digits::{digit_word, token_len, two_bytes, two_digits};
use super::fast::{address, field, parse};
#[cfg(target_arch = "x86_64")]
use super::ipv4::ssse3;
use super::scalar::times_need_general;
use crate::flowlog::record::{AwsService, EniId, FlowRecord, Ip};
use crate::flowlog::window::{Window, WINDOW};

/// `parse` for the `V2` columns, the layout of nearly every S3 export, in
/// straight-line code, for lines of up to 128 bytes (IPv4 records; longer
/// ones, as IPv6 records are, take `parse_v2_long` up to 256 bytes, and
/// `parse` past that). It reads `WINDOW` bytes from the line's start:
/// from `window`, the line and whatever follows it in its buffer, or,
/// where there is no such window, from a zeroed copy of the line. Copying
/// every line cost little in instructions but much in time: the copy's
/// stores overlap the 16-byte loads that follow, which then cannot be
/// forwarded and wait for the stores to retire.
///
/// The line's spaces and its digits form two 128-bit masks
/// (unconditional SIMD compares over all 128 bytes, `window_masks`,
/// then cut at the line's end), the 13 spaces come out of the first
/// (`v2_layout`, or 13 unrolled trailing-zero steps), one test on the
/// second validates all seven numeric columns, and every eight-byte load
/// stays inside the window: no branch depends on where the tokens end.
/// Each column is then decoded with its kind known at compile time.
/// Same contract as `parse`: a record only where the general parser gives
/// the same one.
///
/// Writes into `rec` (all of it) instead of returning a record: see
/// `Parser::parse_into`. On `None`, `rec` holds a partial record.
///
/// `V3` is true only in code compiled for x86-64-v3 CPUs, run on one
/// (`Parser::parse_into_for`): the masks are then built with AVX2 and the
/// addresses decoded inline.
#[inline(always)]
pub(super) fn parse_v2<const V3: bool>(
    line: &[u8],
    window: Option<Window<'_>>,
    rec: &mut FlowRecord,
) -> Option<()> {
    let n = line.len();
    if n > 128 {
        if n > LONG_LINE {
            *rec = parse(&V2, line)?;
            return Some(());
        }
        return match window {
            Some(w) => parse_v2_long::<V3>(line, w, rec),
            None => parse_v2_long_copied(line, rec),
        };
    }
    if n < 2 * V2.len() - 1 {
        return None;
    }
    let Some(Window { buf, masks, .. }) = window else {
        return parse_v2_copied(line, rec);
    };
    let (mask, digits) = (masks.spaces, masks.digits);
    // Bytes past the line's end are not its own.
    let live = u128::MAX >> (128 - n);
    let (mask, digits) = (mask & live, digits & live);
    // No space leading, trailing or next to another (an empty token).
    let edges = 1 | (1u128 << (n - 1));
    if mask & ((mask >> 1) | edges) != 0 {
        return None;
    }
    // Nearly every line has the fixed-width head and tail of `v2_layout`:
    // its spaces are then known but for the six between the addresses
    // and the byte count, and the decoder is specialised to the constant
    // positions.
    if let Some(bounds) = v2_layout(mask, n) {
        return v2_columns::<V3, true, true, WINDOW>(rec, buf, &bounds, mask, digits);
    }
    // Token i is buf[bounds[i] + 1 .. bounds[i + 1]], with bounds[0] = -1
    // (as a wrapping usize) and bounds[14] = the line's length.
    let mut bounds = [usize::MAX; 15];
    let mut m = mask;
    for b in bounds.iter_mut().take(14).skip(1) {
        *b = m.trailing_zeros() as usize; // 128 once the spaces run out
        m &= m.wrapping_sub(1);
    }
    // Exactly thirteen spaces: none left over, and the thirteenth inside
    // the line. (Counting them with `count_ones` first cost ~30
    // instructions: x86_64's baseline has no POPCNT.)
    if m != 0 || bounds[13] >= n {
        return None;
    }
    bounds[14] = n;
    v2_columns::<V3, false, true, WINDOW>(rec, buf, &bounds, mask, digits)
}

/// Longest line `parse_v2_long` reads: the masks of two windows.
const LONG_LINE: usize = 256;
/// Bytes `parse_v2_long` reads from a line's start: its 256 bytes of
/// masks, and as many past them as `WINDOW` reads past its 128.
const LONG_WINDOW: usize = LONG_LINE + WINDOW - 128;

/// `parse_v2` for a line of 129 to 256 bytes: a v2 record with IPv6
/// addresses (150 to 170 bytes as AWS writes them; 2.6% of the busy
/// profile's lines), or an IPv4 one with long counts. The spaces of its
/// first 128 bytes are the window's the chunk loop made; those of the
/// next 128 come from a second window, and the thirteen spaces are walked
/// in both (the fixed head and tail of `v2_layout` are not assumed). The
/// columns are then decoded as in `parse_v2`, but for the numeric
/// columns, which test their own digits (the digit masks would be two
/// words here). Such lines took the generic fast path (`fast::parse`),
/// ~4,100 instructions with its byte-wise IPv6 reader.
#[inline(always)]
fn parse_v2_long<const V3: bool>(
    line: &[u8],
    window: Window<'_>,
    rec: &mut FlowRecord,
) -> Option<()> {
    let n = line.len();
    debug_assert!((129..=LONG_LINE).contains(&n));
    let Some(buf) = window.rest.get(..LONG_WINDOW) else {
        return parse_v2_long_copied(line, rec);
    };
    let buf: &[u8; LONG_WINDOW] = buf.try_into().expect("LONG_WINDOW bytes");
    // SAFETY: passed on from the caller.
    let second = unsafe { Window::at::<V3>(&buf[128..]) }?;
    let lo = window.masks.spaces;
    // Bytes past the line's end are not its own.
    let hi = second.masks.spaces & (u128::MAX >> (LONG_LINE - n));
    // No space leading, trailing or next to another (an empty token).
    let paired = (lo & ((lo >> 1) | (hi << 127))) | (hi & (hi >> 1));
    if paired | (lo & 1) | ((hi >> (n - 129)) & 1) != 0 {
        return None;
    }
    if let Some(bounds) = v2_long_layout(lo, hi, n) {
        return v2_columns::<V3, true, false, LONG_WINDOW>(rec, buf, &bounds, 0, 0);
    }
    // Token i is buf[bounds[i] + 1 .. bounds[i + 1]], as in `parse_v2`.
    let mut bounds = [usize::MAX; 15];
    let mut k = 1;
    for (base, mut m) in [(0, lo), (128, hi)] {
        while m != 0 {
            if k == 14 {
                return None;
            }
            bounds[k] = base + m.trailing_zeros() as usize;
            m &= m - 1;
            k += 1;
        }
    }
    if k != 14 {
        return None;
    }
    bounds[14] = n;
    v2_columns::<V3, false, false, LONG_WINDOW>(rec, buf, &bounds, 0, 0)
}

/// `v2_layout` for `parse_v2_long`: the token bounds of a line of `n`
/// (129..=256) bytes whose spaces are `lo` (bytes 0..128) and `hi`
/// (128..256, none at or past `n`, and none next to another), when its
/// head and tail have the widths of every record AWS writes. The six
/// spaces between them are found in three 64-bit words of the mask: the
/// one after each address, then the four after the ports, the protocol
/// and the packets (a 13-step walk over two 128-bit words cost ~150
/// instructions). `None` for any other shape.
#[inline(always)]
fn v2_long_layout(lo: u128, hi: u128, n: usize) -> Option<[usize; 15]> {
    const HEAD: u128 = (1 << 1) | (1 << 14) | (1 << 36);
    const TAIL: u64 = 1 | (1 << 11) | (1 << 22) | (1 << 29);
    let words = [
        lo as u64,
        (lo >> 64) as u64,
        hi as u64,
        (hi >> 64) as u64,
        0,
    ];
    // The mask's bits from `at` (below 256) on, 64 of them.
    let bits = |at: usize| -> u64 {
        let (w, b) = ((at >> 6) & 3, at & 63);
        (words[w] >> b) | ((words[w + 1] << 1) << (63 - b))
    };
    if lo & ((1 << 37) - 1) != HEAD || bits(n - 32) != TAIL {
        return None;
    }
    // The end of each address: the first space after its start (no
    // address is 64 bytes long).
    let src_end = 37 + bits(37).trailing_zeros() as usize;
    let dst_end = src_end + 1 + bits(src_end + 1).trailing_zeros() as usize;
    // Four spaces between the addresses and the tail, none other; the
    // numbers there fit in 64 bytes (ports, protocol, 20-digit counts).
    let from = dst_end + 1;
    let room = (n - 32).checked_sub(from)?;
    if room >= 64 {
        return None;
    }
    let mut m = bits(from) & ((1 << room) - 1);
    let mut mid = [0usize; 4];
    for b in &mut mid {
        *b = from + m.trailing_zeros() as usize; // past `n - 32` once they run out
        m &= m.wrapping_sub(1);
    }
    if m != 0 || mid[3] >= n - 32 {
        return None;
    }
    Some([
        usize::MAX,
        1,
        14,
        36,
        src_end,
        dst_end,
        mid[0],
        mid[1],
        mid[2],
        mid[3],
        n - 32,
        n - 21,
        n - 10,
        n - 3,
        n,
    ])
}

/// `parse_v2_long` for a line with fewer than `LONG_WINDOW` bytes after
/// its start in its buffer: from a zeroed copy, out of line.
#[cold]
#[inline(never)]
fn parse_v2_long_copied(line: &[u8], rec: &mut FlowRecord) -> Option<()> {
    let mut copy = [0u8; LONG_WINDOW];
    copy[..line.len()].copy_from_slice(line);
    // SAFETY: without `V3` nothing is required.
    let window = unsafe { Window::at::<false>(&copy) }?;
    parse_v2_long::<false>(line, window, rec)
}

/// `parse_v2` for a line with fewer than `WINDOW` bytes after its start
/// in its buffer (the end of an input, a caller without a buffer): from a
/// zeroed copy. Out of line, so that the copy's buffer is not set up for
/// every line.
#[cold]
#[inline(never)]
fn parse_v2_copied(line: &[u8], rec: &mut FlowRecord) -> Option<()> {
    debug_assert!(line.len() <= 128);
    let mut copy = [0u8; WINDOW];
    copy[..line.len()].copy_from_slice(line);
    // SAFETY: without `V3` nothing is required.
    let window = unsafe { Window::at::<false>(&copy) };
    parse_v2::<false>(line, window, rec)
}

/// The token bounds of a v2 line of `n` bytes with spaces `mask` when its
/// head and tail have the widths of every record AWS writes today: a
/// one-digit version, a 12-digit account, `eni-` and 17 hex digits
/// (`2 123456789012 eni-0123456789abcdef0 `: spaces at 1, 14 and 36), and
/// ten-digit start and end, a six-letter action and a two-letter status
/// (` 1763596801 1763596833 ACCEPT OK`: spaces at n-32, n-21, n-10, n-3).
/// The six spaces left lie in bits 37 to 95, one 64-bit word, so they
/// take six `tzcnt`/`blsr` pairs instead of thirteen steps on a 128-bit
/// mask (~150 instructions). `None` for any other shape; the caller then
/// walks all thirteen. Only where the spaces are: the columns are checked
/// by `v2_columns` either way.
#[inline(always)]
fn v2_layout(mask: u128, n: usize) -> Option<[usize; 15]> {
    const HEAD: u128 = (1 << 1) | (1 << 14) | (1 << 36);
    const TAIL: u128 = 1 | (1 << 11) | (1 << 22) | (1 << 29);
    // 37 bytes of head, 32 of tail, and 13 at least between them (seven
    // tokens and six spaces).
    if n < 37 + 13 + 32 || mask & ((1 << 37) - 1) != HEAD || mask >> (n - 32) != TAIL {
        return None;
    }
    // Bits 37 .. n - 32 (at most 59 of them, as n <= 128).
    let mut m = (mask >> 37) as u64 & ((1u64 << (n - 32 - 37)) - 1);
    let mut bounds = [
        usize::MAX,
        1,
        14,
        36,
        0,
        0,
        0,
        0,
        0,
        0,
        n - 32,
        n - 21,
        n - 10,
        n - 3,
        n,
    ];
    for b in &mut bounds[4..10] {
        *b = 37 + m.trailing_zeros() as usize; // 101 once they run out
        m &= m.wrapping_sub(1);
    }
    // Exactly six: none left over, and the sixth found.
    (m == 0 && bounds[9] < n - 32).then_some(bounds)
}

/// The columns of a `parse_v2` line whose token bounds are known (see
/// `parse_v2`): inlined twice, so that the constant bounds of
/// `v2_layout` fold into the loads. `TEN_DIGIT_TIMES`: the bounds are
/// `v2_layout`'s, whose start and end have ten digits, so no time can be
/// one the general parser must convert (`parse::epoch_seconds`); the
/// other bounds leave that test in. `MASKED`: `mask` and `digits` are
/// the line's spaces and digits (not for `parse_v2_long`, whose numbers
/// test their own digits). `W`: the bytes of `buf`.
#[inline(always)]
fn v2_columns<const V3: bool, const TEN_DIGIT_TIMES: bool, const MASKED: bool, const W: usize>(
    rec: &mut FlowRecord,
    buf: &[u8; W],
    bounds: &[usize; 15],
    mask: u128,
    digits: u128,
) -> Option<()> {
    // The seven numeric columns (srcport .. end) are adjacent: one test
    // that their bytes are all digits or spaces replaces a check per
    // number (a `-` there, as in NODATA records, is left to the general
    // parser). `V3` code has no digits mask: `numbers_v3` tests the
    // bytes it decodes, and its fallback checks each number.
    if !V3 && MASKED {
        let numeric = (u128::MAX << (bounds[5] + 1)) & !(u128::MAX << bounds[12]);
        if numeric & !(digits | mask) != 0 {
            return None;
        }
    }
    // Every field but the six a v2 line lacks is written below (the
    // interface as well, as `field` leaves it alone for `-`): a whole
    // `FlowRecord::default()` first cost ~15 instructions a record.
    rec.interface = EniId::NONE;
    rec.tcp_flags = None;
    rec.flow_direction = None;
    rec.pkt_srcaddr = None;
    rec.pkt_dstaddr = None;
    rec.flows = 1;
    rec.pkt_src_aws_service = AwsService::NONE;
    rec.pkt_dst_aws_service = AwsService::NONE;
    macro_rules! col {
        ($i:literal) => {
            field(rec, V2[$i], buf, bounds[$i].wrapping_add(1), bounds[$i + 1])?
        };
    }
    macro_rules! num {
        ($i:literal) => {
            if V3 || !MASKED {
                number::<true>(buf, bounds[$i] + 1, bounds[$i + 1] - bounds[$i] - 1)?
            } else {
                number::<false>(buf, bounds[$i] + 1, bounds[$i + 1] - bounds[$i] - 1)?
            }
        };
    }
    col!(2);
    addresses::<V3, W>(rec, buf, bounds)?;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `V3` promises an x86-64-v3 CPU, and the code this inlines
    // into enables AVX2.
    let numbers = if V3 {
        unsafe { numbers_v3(buf, bounds) }
    } else {
        None
    };
    #[cfg(not(target_arch = "x86_64"))]
    let numbers: Option<[u64; 7]> = None;
    let [sp, dp, proto, packets, bytes, start, end] = match numbers {
        Some(n) => n,
        None => [
            num!(5),
            num!(6),
            num!(7),
            num!(8),
            num!(9),
            num!(10),
            num!(11),
        ],
    };
    if !TEN_DIGIT_TIMES && times_need_general(start, end) {
        return None;
    }
    rec.srcport = Some(u16::try_from(sp).ok()?);
    rec.dstport = Some(u16::try_from(dp).ok()?);
    rec.protocol = Some(u8::try_from(proto).ok()?);
    rec.packets = packets;
    rec.bytes = bytes;
    rec.start = Some(start);
    rec.end = Some(end);
    col!(12);
    col!(13);
    Some(())
}

/// The seven numeric columns of a `parse_v2` line (srcport .. end) with
/// AVX2, four at a time, when the first five have at most eight digits
/// and the times ten (every record AWS writes until 2286), and all their
/// bytes are digits; `None` otherwise, for the scalar decoder. Each token
/// of up to eight digits is loaded as the eight bytes that end with it,
/// the bytes before it cleared: its digits, right-aligned behind leading
/// zeros. Pairs, quads and eights are then summed in all lanes at once
/// (~85 instructions against ~150 for the nine scalar eight-byte
/// decodes). With '0' xored out, a byte is a digit exactly when it is at
/// most 9: one test over the lanes replaces the digits mask of the
/// portable code (~40 instructions a record).
///
/// # Safety
/// The CPU must support AVX2, and the caller must be compiled with it
/// enabled (`engine::Worker::chunk_v3`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn numbers_v3<const W: usize>(buf: &[u8; W], bounds: &[usize; 15]) -> Option<[u64; 7]> {
    let l = |i: usize| token_len(bounds, i);
    let len = [l(5), l(6), l(7), l(8), l(9), l(10), l(11)];
    if (len[0] > 8) | (len[1] > 8) | (len[2] > 8) | (len[3] > 8) | (len[4] > 8) {
        return None;
    }
    if (len[5] != 10) | (len[6] != 10) {
        return None;
    }
    let (ends, t0, t1) = (&bounds[6..11], bounds[11], bounds[12]);
    let a = [
        digit_word(buf, ends[0], len[0]),
        digit_word(buf, ends[1], len[1]),
        digit_word(buf, ends[2], len[2]),
        digit_word(buf, ends[3], len[3]),
    ];
    // The times' last eight digits, and in the last lane their first two
    // (tested with the others; decoded apart, below).
    let (h0, h1) = (
        two_bytes(buf, bounds[10] + 1),
        two_bytes(buf, bounds[11] + 1),
    );
    let b = [
        digit_word(buf, ends[4], len[4]),
        digit_word(buf, t0, 8),
        digit_word(buf, t1, 8),
        h0 | h1 << 16,
    ];
    // SAFETY: passed on from the caller.
    let [[sp, dp, proto, packets], [bytes, start, end, _]] =
        unsafe { crate::simd::eight_digit_lanes(a, b)? };
    let start = two_digits(h0) * 100_000_000 + start;
    let end = two_digits(h1) * 100_000_000 + end;
    Some([sp, dp, proto, packets, bytes, start, end])
}

/// Columns 3 and 4 (srcaddr, dstaddr) of a `parse_v2` line. With
/// `V3` (see `parse_v2`) both are decoded inline; otherwise through
/// the run-time check and a call (`ssse3::ipv4_pair`).
#[inline(always)]
fn addresses<const V3: bool, const W: usize>(
    rec: &mut FlowRecord,
    buf: &[u8; W],
    bounds: &[usize; 15],
) -> Option<()> {
    let (s, d) = (bounds[3] + 1, bounds[4] + 1);
    let (ns, nd) = (bounds[4] - s, bounds[5] - d);
    #[cfg(target_arch = "x86_64")]
    if (7..=15).contains(&ns) && (7..=15).contains(&nd) {
        let block = |at: usize| -> &[u8; 16] { buf[at..at + 16].try_into().expect("16 bytes") };
        let pair = if V3 {
            // SAFETY: `V3` promises a CPU with SSSE3, and the code this
            // inlines into enables it (`engine::Worker::chunk_v3`).
            unsafe { ssse3::pair_inline(block(s), ns, block(d), nd) }
        } else if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: SSSE3 is present (checked just above).
            unsafe { ssse3::ipv4_pair(block(s), ns, block(d), nd) }
        } else {
            None
        };
        if let Some((a, b)) = pair {
            rec.srcaddr = Some(Ip::v4(a));
            rec.dstaddr = Some(Ip::v4(b));
            return Some(());
        }
    }
    rec.srcaddr = Some(address(buf, s, s + ns)?);
    rec.dstaddr = Some(address(buf, d, d + nd)?);
    Some(())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Format;
    use crate::flowlog::parse::Parser;

    #[test]
    fn long_lines_read_as_the_general_parser_reads_them() {
        // IPv6 records (and IPv4 ones made long), with bytes changed,
        // inserted or removed, read in place from a buffer of stale bytes
        // (`parse_v2_long`), from a copy (`parse_v2_long_copied`), and in
        // x86-64-v3 code, against the general parser.
        let general = Parser::new(&Format::default_v2());
        let bases: [&[u8]; 3] = [
            b"2 123456789012 eni-0e81c6eeeca1cd526 2a02:43cf:b0b2:8368:e25f:4821:3981:4e0d 2a05:d018:c00:1:0:c13c:ddb4:a351 54360 443 6 27 6939 1763605443 1763605486 ACCEPT OK",
            b"2 123456789012 eni-0e81c6eeeca1cd526 2A05:D018:0C00:0001::A351 fe80::1 443 54360 6 4200000000 18446744073709 1763605443 1763605486 REJECT OK",
            b"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.154 172.31.255.7 1552 8080 6 1234567890123456 1234567890123456 1763596801 1763596833 ACCEPT OK",
        ];
        let pick = b" 0123456789.-:aeFgOKx%";
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        let mut long = 0;
        for round in 0..30_000 {
            let mut line = bases[round % 3].to_vec();
            for _ in 0..(round / 3) % 4 {
                let at = (next() % line.len() as u64) as usize;
                let b = pick[(next() % pick.len() as u64) as usize];
                match next() % 3 {
                    0 => line[at] = b,
                    1 => line.insert(at, b),
                    _ => drop(line.remove(at)),
                }
            }
            if !(129..=LONG_LINE).contains(&line.len()) {
                continue;
            }
            long += 1;
            let want = general.parse_general(&line).ok();
            let mut buf = [0u8; LONG_WINDOW + 7];
            for b in buf.iter_mut() {
                *b = pick[(next() % pick.len() as u64) as usize];
            }
            buf[..line.len()].copy_from_slice(&line);
            let mut rec = FlowRecord::default();
            // SAFETY: without `V3` nothing is required.
            let w = unsafe { Window::at::<false>(&buf) };
            let in_place = parse_v2::<false>(&line, w, &mut rec).map(|()| rec);
            let text = String::from_utf8_lossy(&line);
            // The fast path may decline a line the general parser
            // accepts, never read one differently.
            if in_place.is_some() {
                assert_eq!(in_place, want, "{text}");
            }
            let copied = parse_v2::<false>(&line, None, &mut rec).map(|()| rec);
            assert_eq!(copied, in_place, "{text}");
            #[cfg(target_arch = "x86_64")]
            if crate::simd::x86_64_v3() {
                // SAFETY: the CPU is x86-64-v3 (checked just above).
                let w3 = unsafe { Window::at::<true>(&buf) };
                let v3 = parse_v2::<true>(&line, w3, &mut rec).map(|()| rec);
                assert_eq!(v3, in_place, "{text}");
            }
            // Unedited records are read here, not declined.
            if (round / 3) % 4 == 0 {
                assert!(in_place.is_some(), "{text}");
            }
        }
        assert!(long > 15_000, "{long}");
    }

    #[test]
    fn v3_and_portable_parse_v2_agree() {
        // The x86-64-v3 copy (AVX2 masks, inline address decoder) against
        // the portable one, on AWS-shaped lines with bytes changed, and
        // with stale bytes after the line in the window.
        #[cfg(target_arch = "x86_64")]
        if crate::simd::x86_64_v3() {
            let base = b"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.154 172.31.255.7 1552 8080 6 16 8128 1763596801 1763596833 ACCEPT OK";
            let pick = b" 0123456789.-:aeOKx";
            let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
            let mut next = || rng.next();
            for round in 0..20_000 {
                let mut window = [0u8; WINDOW];
                for b in window.iter_mut() {
                    *b = pick[(next() % pick.len() as u64) as usize];
                }
                let mut line = base.to_vec();
                for _ in 0..round % 4 {
                    let at = (next() % line.len() as u64) as usize;
                    let b = pick[(next() % pick.len() as u64) as usize];
                    // Replaced, inserted or removed: numbers of every
                    // length, and tokens that move.
                    match next() % 3 {
                        0 => line[at] = b,
                        1 => line.insert(at, b),
                        _ => drop(line.remove(at)),
                    }
                }
                // Now and then a number of 1 to 20 digits in a numeric
                // column (srcport .. end).
                if round % 3 == 0 {
                    let text = String::from_utf8(line.clone()).unwrap();
                    let mut tokens: Vec<String> = text.split(' ').map(String::from).collect();
                    if tokens.len() == 14 {
                        let col = 5 + (next() % 7) as usize;
                        let n = 1 + (next() % 20) as usize;
                        tokens[col] = (0..n)
                            .map(|_| (b'0' + (next() % 10) as u8) as char)
                            .collect();
                        line = tokens.join(" ").into_bytes();
                    }
                }
                if line.len() > 128 {
                    continue;
                }
                window[..line.len()].copy_from_slice(&line);
                let (mut a, mut b) = (FlowRecord::default(), FlowRecord::default());
                // SAFETY: the CPU is x86-64-v3 (checked above); called out
                // of line here, the intrinsics are still AVX2 code.
                let (wp, w3) =
                    unsafe { (Window::at::<false>(&window), Window::at::<true>(&window)) };
                let (mp, m3) = (wp.unwrap().masks, w3.unwrap().masks);
                assert_eq!((mp.spaces, mp.newlines), (m3.spaces, m3.newlines));
                let portable = parse_v2::<false>(&line, wp, &mut a).map(|()| a);
                let v3 = parse_v2::<true>(&line, w3, &mut b).map(|()| b);
                assert_eq!(portable, v3, "{}", String::from_utf8_lossy(&line));
            }
        }
    }
}
