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
//! writes today skip most of the search (`v2_layout`).
//!
//! The contract is narrow on purpose: `parse` returns a record only for
//! a line the general parser would accept with the same values, and
//! `None` for anything else (a `-` where a data field is required, a
//! repeated space, an overlong number, an error of any kind). The caller
//! then runs the general parser, which alone knows how to report errors,
//! so skip reasons and their columns are unchanged. A differential
//! property test (tests/properties.rs) holds the two paths together.

use super::parse::{parse_ip, Col};
use super::record::{Action, EniId, FlowRecord, Ip, LogStatus, PacketDirection};
use crate::simd::{eq_mask16, eq_mask8};

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

/// The columns of the default format (v2: `version account-id
/// interface-id srcaddr dstaddr srcport dstport protocol packets bytes
/// start end action log-status`), which `parse_v2` decodes.
pub(super) const V2: [Col; 14] = [
    Col::Skip,
    Col::Skip,
    Col::Interface,
    Col::Src,
    Col::Dst,
    Col::SrcPort,
    Col::DstPort,
    Col::Protocol,
    Col::Packets,
    Col::Bytes,
    Col::Start,
    Col::End,
    Col::Action,
    Col::Status,
];

/// Bytes `parse_v2` reads from a line's start: 128 for the masks, and
/// 16 past them for the last loads.
pub(super) const WINDOW: usize = 144;

/// `parse` for the `V2` columns, the layout of nearly every S3 export, in
/// straight-line code, for lines of up to 128 bytes (IPv4 records; longer
/// ones take `parse`). It reads `WINDOW` bytes from the line's start:
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
        *rec = parse(&V2, line)?;
        return Some(());
    }
    if n < 2 * V2.len() - 1 {
        return None;
    }
    let Some(Window { buf, masks }) = window else {
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
        return v2_columns::<V3, true>(rec, buf, &bounds, mask, digits);
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
    v2_columns::<V3, false>(rec, buf, &bounds, mask, digits)
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
/// other bounds leave that test in.
#[inline(always)]
fn v2_columns<const V3: bool, const TEN_DIGIT_TIMES: bool>(
    rec: &mut FlowRecord,
    buf: &[u8; WINDOW],
    bounds: &[usize; 15],
    mask: u128,
    digits: u128,
) -> Option<()> {
    // The seven numeric columns (srcport .. end) are adjacent: one test
    // that their bytes are all digits or spaces replaces a check per
    // number (a `-` there, as in NODATA records, is left to the general
    // parser). `V3` code has no digits mask: `numbers_v3` tests the
    // bytes it decodes, and its fallback checks each number.
    if !V3 {
        let numeric = (u128::MAX << (bounds[5] + 1)) & !(u128::MAX << bounds[12]);
        if numeric & !(digits | mask) != 0 {
            return None;
        }
    }
    // Every field but the four a v2 line lacks is written below (the
    // interface as well, as `field` leaves it alone for `-`): a whole
    // `FlowRecord::default()` first cost ~15 instructions a record.
    rec.interface = EniId::NONE;
    rec.tcp_flags = None;
    rec.flow_direction = None;
    rec.pkt_srcaddr = None;
    rec.pkt_dstaddr = None;
    macro_rules! col {
        ($i:literal) => {
            field(rec, V2[$i], buf, bounds[$i].wrapping_add(1), bounds[$i + 1])?
        };
    }
    macro_rules! num {
        ($i:literal) => {
            number::<V3>(buf, bounds[$i] + 1, bounds[$i + 1] - bounds[$i] - 1)?
        };
    }
    col!(2);
    addresses::<V3>(rec, buf, bounds)?;
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
    if !TEN_DIGIT_TIMES && super::parse::times_need_general(start, end) {
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
unsafe fn numbers_v3(buf: &[u8; WINDOW], bounds: &[usize; 15]) -> Option<[u64; 7]> {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_cmpeq_epi8, _mm256_madd_epi16, _mm256_maddubs_epi16,
        _mm256_max_epu8, _mm256_movemask_epi8, _mm256_mul_epu32, _mm256_set1_epi16,
        _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_epi8, _mm256_set_epi64x,
        _mm256_srli_epi64, _mm256_storeu_si256,
    };
    // (No closures with intrinsics here, nor array `map`: a closure is
    // compiled without its caller's target features, and these were not
    // inlined.)
    let l = |i: usize| token_len(bounds, i);
    let len = [l(5), l(6), l(7), l(8), l(9), l(10), l(11)];
    if (len[0] > 8) | (len[1] > 8) | (len[2] > 8) | (len[3] > 8) | (len[4] > 8) {
        return None;
    }
    if (len[5] != 10) | (len[6] != 10) {
        return None;
    }
    let (ends, t0, t1) = (&bounds[6..11], bounds[11], bounds[12]);
    let a = _mm256_set_epi64x(
        digit_word(buf, ends[3], len[3]) as i64,
        digit_word(buf, ends[2], len[2]) as i64,
        digit_word(buf, ends[1], len[1]) as i64,
        digit_word(buf, ends[0], len[0]) as i64,
    );
    // The times' last eight digits, and in the last lane their first two
    // (tested with the others; decoded apart, below).
    let (h0, h1) = (
        two_bytes(buf, bounds[10] + 1),
        two_bytes(buf, bounds[11] + 1),
    );
    let b = _mm256_set_epi64x(
        (h0 | h1 << 16) as i64,
        digit_word(buf, t1, 8) as i64,
        digit_word(buf, t0, 8) as i64,
        digit_word(buf, ends[4], len[4]) as i64,
    );
    let nine = _mm256_set1_epi8(9);
    let top = _mm256_max_epu8(_mm256_max_epu8(a, b), nine);
    if _mm256_movemask_epi8(_mm256_cmpeq_epi8(top, nine)) != -1 {
        return None;
    }
    // Per 64-bit lane: 10·d0 + d1 per byte pair, 100·p0 + p1 per pair of
    // those, then 10000·q0 + q1.
    macro_rules! eights {
        ($v:expr) => {{
            let pairs = _mm256_maddubs_epi16($v, _mm256_set1_epi16(0x010a));
            let quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_0064));
            let high = _mm256_mul_epu32(quads, _mm256_set1_epi64x(10_000));
            _mm256_add_epi64(high, _mm256_srli_epi64(quads, 32))
        }};
    }
    let mut out = [[0u64; 4]; 2];
    _mm256_storeu_si256(out[0].as_mut_ptr() as *mut __m256i, eights!(a));
    _mm256_storeu_si256(out[1].as_mut_ptr() as *mut __m256i, eights!(b));
    let [[sp, dp, proto, packets], [bytes, start, end, _]] = out;
    let start = two_digits(h0) * 100_000_000 + start;
    let end = two_digits(h1) * 100_000_000 + end;
    Some([sp, dp, proto, packets, bytes, start, end])
}

/// The length of token `i` of a line split at `bounds` (see `parse_v2`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn token_len(bounds: &[usize; 15], i: usize) -> usize {
    bounds[i + 1] - bounds[i] - 1
}

/// The digit values of the `n` (1..=8) bytes that end at `end` (at least
/// 8), first digit lowest, zeros before it: the eight bytes that end
/// there, with '0' xored out and the bytes before the token cleared.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn digit_word(buf: &[u8; WINDOW], end: usize, n: usize) -> u64 {
    (load8(buf, end - 8) ^ ZEROS) & (u64::MAX << ((8 - n) * 8))
}

/// The two bytes at `buf[at..]`, '0' xored out of each: two digits'
/// values, first digit lowest, if they are digits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn two_bytes(buf: &[u8; WINDOW], at: usize) -> u64 {
    (u16::from_le_bytes([buf[at], buf[at + 1]]) ^ 0x3030) as u64
}

/// The number of two digit values from `two_bytes`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn two_digits(h: u64) -> u64 {
    (h & 0xff) * 10 + (h >> 8)
}

/// Columns 3 and 4 (srcaddr, dstaddr) of a `parse_v2` line. With
/// `V3` (see `parse_v2`) both are decoded inline; otherwise through
/// the run-time check and a call (`ssse3::ipv4_pair`).
#[inline(always)]
fn addresses<const V3: bool>(
    rec: &mut FlowRecord,
    buf: &[u8; WINDOW],
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

/// The spaces, the digits and the newlines of a line's first 128 bytes
/// (and of whatever follows the line in them), as bitmasks: bit i for
/// byte i. The chunk loop finds the line's end in `newlines`
/// (`reader::Chunk::for_each_line_with`), and the parser its tokens in
/// the other two, from one pass over the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    spaces: u128,
    /// Not built in `V3` code (`window_masks_v3`).
    digits: u128,
    newlines: u128,
}

/// A line's first `WINDOW` bytes in its buffer (the line, then whatever
/// follows it), with their masks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    buf: &'a [u8; WINDOW],
    masks: Masks,
}

impl<'a> Window<'a> {
    /// The window at the start of `padded` (a line and what follows it),
    /// if it holds `WINDOW` bytes; its masks with AVX2 in `V3` code.
    ///
    /// # Safety
    /// With `V3`, the CPU must be x86-64-v3 and the caller compiled for it
    /// (`engine::Worker::chunk_v3`). Without, nothing is required.
    #[inline(always)]
    pub(crate) unsafe fn at<const V3: bool>(padded: &'a [u8]) -> Option<Window<'a>> {
        let buf: &[u8; WINDOW] = padded.get(..WINDOW)?.try_into().ok()?;
        // SAFETY: passed on from the caller.
        let masks = unsafe { masks::<V3>(buf) };
        Some(Window { buf, masks })
    }

    /// The offset of the first `\n` in the window's first 128 bytes.
    #[inline(always)]
    pub(crate) fn newline(&self) -> Option<usize> {
        let n = self.masks.newlines;
        (n != 0).then(|| n.trailing_zeros() as usize)
    }
}

/// The masks of the first 128 bytes of `buf`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn window_masks(buf: &[u8; WINDOW]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    let mut m = Masks {
        spaces: 0,
        digits: 0,
        newlines: 0,
    };
    for (i, block) in buf[..128].chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned
        // load reads the 16 bytes of `block`.
        let (s, d, n) = unsafe {
            let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
            let s = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)));
            let n = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)));
            // A digit is a byte whose distance above '0' is at most 9.
            let nine = _mm_set1_epi8(9);
            let d = _mm_max_epu8(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), nine);
            (s, _mm_movemask_epi8(_mm_cmpeq_epi8(d, nine)), n)
        };
        m.spaces |= (s as u16 as u128) << (16 * i);
        m.digits |= (d as u16 as u128) << (16 * i);
        m.newlines |= (n as u16 as u128) << (16 * i);
    }
    m
}

/// `window_masks`, with AVX2 in `V3` code (see `parse_v2`).
///
/// # Safety
/// As for `Window::at`.
#[inline(always)]
unsafe fn masks<const V3: bool>(buf: &[u8; WINDOW]) -> Masks {
    #[cfg(target_arch = "x86_64")]
    if V3 {
        // SAFETY: passed on from the caller.
        return unsafe { window_masks_v3(buf) };
    }
    window_masks(buf)
}

/// `window_masks` 32 bytes at a time, but for the digits (left 0): the
/// code it is compiled into tests them where it decodes them
/// (`numbers_v3`).
///
/// # Safety
/// The CPU must support AVX2, and the caller must be compiled with it
/// enabled (`engine::Worker::chunk_v3`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn window_masks_v3(buf: &[u8; WINDOW]) -> Masks {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let mut words = [(0u32, 0u32); 4];
    for (i, w) in words.iter_mut().enumerate() {
        let v = _mm256_loadu_si256(buf[32 * i..].as_ptr() as *const __m256i);
        let s = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)));
        let n = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8)));
        *w = (s as u32, n as u32);
    }
    let join = |a: u32, b: u32, c: u32, d: u32| {
        (a as u128) | (b as u128) << 32 | (c as u128) << 64 | (d as u128) << 96
    };
    let [a, b, c, d] = words;
    Masks {
        spaces: join(a.0, b.0, c.0, d.0),
        digits: 0,
        newlines: join(a.1, b.1, c.1, d.1),
    }
}

/// The masks of the first 128 bytes of `buf` (portable version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn window_masks(buf: &[u8; WINDOW]) -> Masks {
    window_masks_swar(buf)
}

/// `window_masks` eight bytes at a time in plain integers (compiled
/// everywhere, so that x86_64 tests check it against the SIMD version).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn window_masks_swar(buf: &[u8; WINDOW]) -> Masks {
    let mut m = Masks {
        spaces: 0,
        digits: 0,
        newlines: 0,
    };
    for (i, word) in buf[..128].chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        m.spaces |= (eq_mask8(w, b' ') as u128) << (8 * i);
        m.digits |= (digit_mask(w) as u128) << (8 * i);
        m.newlines |= (eq_mask8(w, b'\n') as u128) << (8 * i);
    }
    m
}

/// Bit i set where byte i of `w` is an ASCII digit.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn digit_mask(w: u64) -> u8 {
    let digit = crate::simd::in_range8(w, b'0', b'9');
    ((digit >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// One column, `line[start..end]`. `None` for anything the general parser
/// must look at. The whole line is passed so that numbers can be loaded
/// eight bytes at a time past the token's end.
#[inline(always)]
fn field(rec: &mut FlowRecord, col: Col, line: &[u8], start: usize, end: usize) -> Option<()> {
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
    }
    Some(())
}

/// A start or end time the fast path keeps as it is (`None`: one the
/// general parser must convert, see `parse::epoch_seconds`).
#[inline(always)]
fn time(t: u64) -> Option<u64> {
    (!super::parse::times_need_general(t, 0)).then_some(t)
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

/// An address: IPv4 by its dots, anything else through the general
/// `parse_ip` (IPv6, and IPv4 shapes the fast reader declines).
#[inline(always)]
fn address(line: &[u8], start: usize, end: usize) -> Option<Ip> {
    match ipv4(line, start, end - start) {
        Some(v4) => Some(Ip::v4(v4)),
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

/// Eight bytes from `s[at..]` as a little-endian word, zero-padded past
/// the end of `s`. Inside a line the direct load is the rule.
#[inline(always)]
fn load8(s: &[u8], at: usize) -> u64 {
    match s.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        None => load8_tail(s, at),
    }
}

#[cold]
#[inline(never)]
fn load8_tail(s: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    let rest = s.get(at..).unwrap_or_default();
    let n = rest.len().min(8);
    b[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(b)
}

const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Eight digit values (0..=9, first digit in the lowest byte) as a number:
/// pairs, then quads, then the whole, in three multiplies.
#[inline(always)]
fn eight_digits(v: u64) -> u64 {
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let mask = 0x0000_00ff_0000_00ff;
    let mul1 = 100 + (1_000_000 << 32);
    let mul2 = 1 + (10_000 << 32);
    ((v & mask)
        .wrapping_mul(mul1)
        .wrapping_add(((v >> 16) & mask).wrapping_mul(mul2)))
        >> 32
}

/// The decimal number of 1 to 16 digits at `line[start..start + n]`;
/// `None` otherwise (the general parser handles longer ones and reports
/// errors). `CHECKED = false` skips the digit test, for `parse_v2`, which
/// tested all its numeric columns at once.
#[inline(always)]
fn number<const CHECKED: bool>(line: &[u8], start: usize, n: usize) -> Option<u64> {
    match n {
        1..=8 => digits::<CHECKED>(line, start, n),
        9..=16 => {
            let high = digits::<CHECKED>(line, start, n - 8)?;
            Some(high * 100_000_000 + digits::<CHECKED>(line, start + n - 8, 8)?)
        }
        _ => None,
    }
}

/// The `len` (1..=8) digits at `line[at..]`: xor '0' makes each its
/// value, with no borrow between bytes; the shift drops the bytes past
/// the token and brings in zeros, i.e. leading zeros.
#[inline(always)]
fn digits<const CHECKED: bool>(line: &[u8], at: usize, len: usize) -> Option<u64> {
    let w = load8(line, at);
    let pad = (8 - len) * 8;
    if CHECKED {
        // Every byte 0x30..=0x39 (the shifted-in ones made '0'): high
        // nibble 3, and still 3 after adding 6.
        const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
        let p = (w << pad) | (ZEROS & ((1u64 << pad) - 1));
        if ((p & HIGH) ^ ZEROS) | ((p.wrapping_add(0x0606_0606_0606_0606) & HIGH) ^ ZEROS) != 0 {
            return None;
        }
    }
    Some(eight_digits((w ^ ZEROS) << pad))
}

/// The four octet lengths (1..=3) of dotted-quad shape `i` (0..81):
/// `i` = Σ (len_k - 1)·3^(3-k).
const fn shape_lens(i: usize) -> [usize; 4] {
    [i / 27 + 1, (i / 9) % 3 + 1, (i / 3) % 3 + 1, i % 3 + 1]
}

/// The shape of each dotted quad, for both IPv4 decoders: indexed by the
/// dots' positions with the token's end as a fourth "dot" (bit `n`), it
/// holds the shape's index (`shape_lens`, `ssse3::SHUFFLES`), or
/// `NOT_IPV4` for any other pattern (two dots, an empty or four-digit
/// octet, ...). One load replaces finding and checking three dots and
/// four lengths (~40 instructions an address). 64 KiB, of which an
/// address space uses a few cache lines.
static SHAPES: [u8; 1 << 16] = shapes();
const NOT_IPV4: u8 = 0xff;

const fn shapes() -> [u8; 1 << 16] {
    let mut t = [NOT_IPV4; 1 << 16];
    let mut i = 0;
    while i < 81 {
        let lens = shape_lens(i);
        let d1 = lens[0];
        let d2 = d1 + 1 + lens[1];
        let d3 = d2 + 1 + lens[2];
        let end = d3 + 1 + lens[3];
        t[(1 << d1) | (1 << d2) | (1 << d3) | (1 << end)] = i as u8;
        i += 1;
    }
    t
}

/// The shape index of a token of `n` (7..=15) bytes whose dots are the
/// set bits of `dots` (bits at or past `n` ignored).
#[inline(always)]
fn shape(dots: u32, n: usize) -> Option<usize> {
    let end = 1u32 << (n & 15);
    let i = SHAPES[((dots & (end - 1)) | end) as usize];
    (i != NOT_IPV4).then_some(i as usize)
}

/// Dotted-quad IPv4 of 1-to-3-digit octets, each at most 255 (leading
/// zeros allowed, as in the general parser), at `line[start..start + n]`.
///
/// Where 16 bytes can be read from `start` and the CPU has SSSE3 (every
/// x86_64 of the last fifteen years; checked at run time, the answer is
/// cached), one shuffle decodes all four octets (`ssse3::ipv4`).
/// Otherwise, branch-light SWAR: each octet read from its right-aligned
/// three bytes (a per-octet helper with its own checks was 12% of a run).
#[inline(always)]
fn ipv4(line: &[u8], start: usize, n: usize) -> Option<u32> {
    if !(7..=15).contains(&n) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(block) = line.get(start..start + 16) {
        if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: SSSE3 is present (checked just above).
            return unsafe { ssse3::ipv4(block.try_into().expect("16 bytes"), n) };
        }
    }
    let lo = load8(line, start);
    let hi = load8(line, start + 8);
    let dots = eq_mask8(lo, b'.') as u32 | ((eq_mask8(hi, b'.') as u32) << 8);
    let lens = shape_lens(shape(dots, n)?);
    let at = [
        0,
        lens[0] + 1,
        lens[0] + lens[1] + 2,
        lens[0] + lens[1] + lens[2] + 3,
    ];
    let mut bad = 0u32;
    let v = (octet(line, start, lens[0], &mut bad) << 24)
        | (octet(line, start + at[1], lens[1], &mut bad) << 16)
        | (octet(line, start + at[2], lens[2], &mut bad) << 8)
        | octet(line, start + at[3], lens[3], &mut bad);
    (bad == 0).then_some(v)
}

/// The lengths (each 1..=3) and offsets of the four octets of an
/// `n`-byte token whose dots are the set bits of `dots` (bits at or past
/// `n` ignored); `None` unless there are exactly three dots and no octet
/// is empty or longer than three: the reference `SHAPES` is tested
/// against.
#[cfg(test)]
fn octets(dots: u16, n: usize) -> Option<([usize; 4], [usize; 4])> {
    // Three dots: three set bits to clear, then none (no POPCNT in the
    // x86_64 baseline, so no `count_ones`).
    let d = dots & ((1 << n) - 1);
    let (d1, d) = (d.trailing_zeros() as usize, d & d.wrapping_sub(1));
    let (d2, d) = (d.trailing_zeros() as usize, d & d.wrapping_sub(1));
    let (d3, d) = (d.trailing_zeros() as usize, d & d.wrapping_sub(1));
    if d != 0 || d3 >= n {
        return None;
    }
    let lens = [d1, d2 - d1 - 1, d3 - d2 - 1, n - d3 - 1];
    if lens.iter().any(|&l| !(1..=3).contains(&l)) {
        return None;
    }
    Some((lens, [0, d1 + 1, d2 + 1, d3 + 1]))
}

#[cfg(target_arch = "x86_64")]
mod ssse3 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmpgt_epi32, _mm_cvtsi128_si32, _mm_loadu_si128,
        _mm_madd_epi16, _mm_maddubs_epi16, _mm_max_epu8, _mm_movemask_epi8, _mm_packs_epi32,
        _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi32, _mm_set1_epi8, _mm_setr_epi8,
        _mm_shuffle_epi8, _mm_sub_epi8,
    };

    /// One shuffle per combination of octet lengths (3^4 = 81, indexed
    /// by Σ (len_k - 1)·3^(3-k)): it right-aligns octet k's digits in
    /// bytes 4k..4k+2 and puts zeros (index 0x80) everywhere else.
    static SHUFFLES: [[u8; 16]; 81] = shuffles();

    const fn shuffles() -> [[u8; 16]; 81] {
        let mut t = [[0x80u8; 16]; 81];
        let mut i = 0;
        while i < 81 {
            let lens = super::shape_lens(i);
            let mut from = 0;
            let mut k = 0;
            while k < 4 {
                let mut j = 0;
                while j < lens[k] {
                    t[i][4 * k + 3 - lens[k] + j] = (from + j) as u8;
                    j += 1;
                }
                from += lens[k] + 1;
                k += 1;
            }
            i += 1;
        }
        t
    }

    /// `super::ipv4` for a token of `n` (7..=15) bytes at the start of
    /// `block`.
    ///
    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    #[inline]
    pub(super) unsafe fn ipv4(block: &[u8; 16], n: usize) -> Option<u32> {
        decode(block, n)
    }

    /// Two addresses in one call: the call into SSSE3 code is not inlined
    /// into the parser's loop (it is too large for LLVM's inliner), and
    /// each call cost ~20 instructions. `None` unless both are IPv4.
    ///
    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    #[inline]
    pub(super) unsafe fn ipv4_pair(
        a: &[u8; 16],
        na: usize,
        b: &[u8; 16],
        nb: usize,
    ) -> Option<(u32, u32)> {
        pair_inline(a, na, b, nb)
    }

    /// `ipv4_pair` for callers compiled with SSSE3 enabled, into which
    /// it is inlined (`#[target_feature]` functions cannot be
    /// `#[inline(always)]`, and `ipv4_pair` was too large for LLVM to
    /// inline on its own).
    ///
    /// # Safety
    /// The CPU must support SSSE3, and the caller must be compiled with
    /// it enabled, or the intrinsics become calls.
    #[inline(always)]
    pub(super) unsafe fn pair_inline(
        a: &[u8; 16],
        na: usize,
        b: &[u8; 16],
        nb: usize,
    ) -> Option<(u32, u32)> {
        Some((decode(a, na)?, decode(b, nb)?))
    }

    /// The body of `ipv4`, inlined into its SSSE3 callers.
    ///
    /// # Safety
    /// The CPU must support SSSE3; callers are `#[target_feature]`
    /// functions that enable it, or inline into one (`pair_inline`).
    #[inline(always)]
    unsafe fn decode(block: &[u8; 16], n: usize) -> Option<u32> {
        debug_assert!((7..=15).contains(&n));
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let dots = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8))) as u32;
        let shuffle = _mm_loadu_si128(SHUFFLES[super::shape(dots, n)?].as_ptr() as *const __m128i);
        // Digit values, three bytes per octet (leading zeros, then a zero).
        let d = _mm_shuffle_epi8(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), shuffle);
        let nine = _mm_set1_epi8(9);
        let digits = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine)) == 0xffff;
        // 100·a + 10·b and c in 16-bit lanes, then summed into 32-bit lanes.
        let weights = _mm_setr_epi8(100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1, 0);
        let octets = _mm_madd_epi16(_mm_maddubs_epi16(d, weights), _mm_set1_epi16(1));
        let big = _mm_movemask_epi8(_mm_cmpgt_epi32(octets, _mm_set1_epi32(255)));
        if !digits || big != 0 {
            return None;
        }
        let bytes = _mm_packus_epi16(_mm_packs_epi32(octets, octets), octets);
        Some((_mm_cvtsi128_si32(bytes) as u32).swap_bytes())
    }
}

/// The octet of `len` (1..=3) digits at `line[at..]`; sets bits in `bad`
/// unless they are all digits and the value is at most 255. The bytes are
/// moved to the top of a three-byte word, leading zeros below; with '0'
/// xored out, a digit is a byte of at most 9 (the line is ASCII, so no
/// byte exceeds 0x7f, and adding 0x76 reaches bit 7 only above 9).
#[inline(always)]
fn octet(line: &[u8], at: usize, len: usize, bad: &mut u32) -> u32 {
    let x = (load8(line, at) as u32) ^ 0x3030_3030;
    let y = (x << ((3 - len) * 8)) & 0x00ff_ffff;
    let v = (y & 0xff) * 100 + ((y >> 8) & 0xff) * 10 + (y >> 16);
    *bad |= ((y + 0x0076_7676) & 0x0080_8080) | (v & !0xff);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_match_std() {
        for s in [
            "0",
            "7",
            "10",
            "255",
            "65535",
            "12345678",
            "123456789",
            "1418530010",
            "9999999999999999",
            "0000000000000001",
            "00",
        ] {
            assert_eq!(
                number::<true>(s.as_bytes(), 0, s.len()),
                s.parse().ok(),
                "{s}"
            );
        }
        for bad in [
            "",
            "1a",
            "-1",
            "+1",
            "1 2",
            "12345678901234567",
            "/",
            ":",
            "1\u{7f}",
        ] {
            assert_eq!(number::<true>(bad.as_bytes(), 0, bad.len()), None, "{bad}");
        }
    }

    #[test]
    fn ipv4_matches_the_general_reader() {
        for s in [
            "10.0.1.2",
            "255.255.255.255",
            "0.0.0.0",
            "1.2.3.4",
            "010.001.000.099",
            "172.31.16.139",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.1000",
            ".1.2.3",
            "1.2.3.",
            "a.b.c.d",
            "1.2.3.-4",
            "1234.1.1.1",
        ] {
            let want = match super::super::parse::parse_ip(s.as_bytes()) {
                Some(ip) if ip.is_v4() => Some(ip.0 as u32),
                _ => None,
            };
            assert_eq!(ipv4(s.as_bytes(), 0, s.len()), want, "{s}");
            // Inside a line, followed by more text.
            let line = format!("x {s} 8080 443");
            assert_eq!(ipv4(line.as_bytes(), 2, s.len()), want, "{s}");
        }
    }

    #[test]
    fn ipv4_paths_agree_on_random_tokens() {
        // Bare tokens take the SWAR path (fewer than 16 bytes to read),
        // tokens inside a line the SSSE3 one where the CPU has it.
        let alphabet = b"0123456789012345678901234567890123456789./a: ";
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |m: u64| rng.next() % m;
        for _ in 0..50_000 {
            let len = 7 + next(9) as usize;
            let tok: Vec<u8> = if next(2) == 0 {
                // A dotted quad with octets of 1 to 3 digits.
                let o: Vec<String> = (0..4).map(|_| next(1000).to_string()).collect();
                o.join(".").into_bytes()
            } else {
                (0..len)
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect()
            };
            let want = match super::super::parse::parse_ip(&tok) {
                Some(ip) if ip.is_v4() => Some(ip.0 as u32),
                _ => None,
            };
            let n = tok.len();
            if !(7..=15).contains(&n) {
                continue;
            }
            assert_eq!(
                ipv4(&tok, 0, n),
                want,
                "{:?}",
                String::from_utf8_lossy(&tok)
            );
            let mut line = b"2 ".to_vec();
            line.extend_from_slice(&tok);
            line.extend_from_slice(b" 49152 443 6 1 40");
            assert_eq!(
                ipv4(&line, 2, n),
                want,
                "{:?}",
                String::from_utf8_lossy(&tok)
            );
        }
    }

    #[test]
    fn shape_table_agrees_with_octets() {
        for n in 7..=15usize {
            for dots in 0..1u32 << n {
                let want = octets(dots as u16, n)
                    .map(|(l, _)| (l[0] - 1) * 27 + (l[1] - 1) * 9 + (l[2] - 1) * 3 + (l[3] - 1));
                // Bits past the token must not matter.
                for junk in [0, 0xffff << n] {
                    assert_eq!(shape(dots | junk, n), want, "{dots:b} {n}");
                }
            }
        }
    }

    #[test]
    fn window_masks_agree_with_the_bytes() {
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..2000 {
            let mut buf = [0u8; WINDOW];
            for b in buf.iter_mut() {
                let x = rng.next();
                // Mostly digits, spaces and newlines, with neighbours of
                // them and bytes above 0x7f.
                let pick = b" 0123456789/:-.\x1f!\n\x0b\t\xb0\xb9\xff";
                *b = if round % 2 == 0 {
                    pick[(x % pick.len() as u64) as usize]
                } else {
                    x as u8
                };
            }
            let mut want = Masks {
                spaces: 0,
                digits: 0,
                newlines: 0,
            };
            for (i, &b) in buf[..128].iter().enumerate() {
                want.spaces |= ((b == b' ') as u128) << i;
                want.digits |= (b.is_ascii_digit() as u128) << i;
                want.newlines |= ((b == b'\n') as u128) << i;
            }
            assert_eq!(window_masks(&buf), want);
            assert_eq!(window_masks_swar(&buf), want);
            #[cfg(target_arch = "x86_64")]
            if crate::simd::x86_64_v3() {
                // SAFETY: the CPU has AVX2 (checked just above); called
                // out of line here, the intrinsics are still AVX2 code.
                let v3 = Masks { digits: 0, ..want };
                assert_eq!(unsafe { window_masks_v3(&buf) }, v3);
            }
            let first = buf[..128].iter().position(|&b| b == b'\n');
            // SAFETY: without `V3` nothing is required.
            assert_eq!(
                unsafe { Window::at::<false>(&buf) }.unwrap().newline(),
                first
            );
        }
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

    #[test]
    fn unchecked_digits_match_std() {
        for s in [
            "0",
            "7",
            "65535",
            "12345678",
            "123456789",
            "1418530010",
            "9999999999999999",
        ] {
            let mut buf = [b'9'; 144];
            buf[3..3 + s.len()].copy_from_slice(s.as_bytes());
            assert_eq!(number::<false>(&buf, 3, s.len()), s.parse().ok(), "{s}");
        }
        assert_eq!(number::<false>(&[b'1'; 144], 0, 17), None);
    }

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
