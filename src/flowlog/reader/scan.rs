//! Finding lines and header lines in a chunk's bytes, 64 bytes at a time
//! (`simd::line_start_masks`): what the reader of one big input counts on
//! the thread that inflates it, and where a lazy reader's caller finds
//! each line's end.

use memchr::memchr;

use crate::flowlog::format::Format;

/// The format a header line gives, if `line` is one. Data lines start
/// with a digit or `-` in every format but one that begins with a text
/// field, so the full check runs only on lines that start with a
/// lowercase letter. The one rule for every place a header line may be
/// met: the start of a chunk, inside one (`scan`) and in a lazy reader's
/// chunk (`Chunk::for_each_line_with`).
#[inline(always)]
pub(super) fn header_line(line: &[u8]) -> Option<Format> {
    if line.first().is_some_and(u8::is_ascii_lowercase) {
        Format::from_header_line(line)
    } else {
        None
    }
}

/// The lines of `region` as a chunk takes them: how many, the end of the
/// last (0 if none ends in it), and whether a header line follows them
/// (concatenated S3 objects), before which the chunk stops. A line that
/// the region ends in the middle of is not a header line unless `eof`.
///
/// The reader of one big input runs this on the thread that inflates it,
/// the pipeline's slowest stage, so it only counts: the newlines of 64
/// bytes are one mask (`simd::line_start_masks`), counted by `popcnt`,
/// and only a line whose first byte is in the second mask (a letter)
/// is looked at as a header line. Its lines are split again by the
/// parser's loop (`Chunk::for_each_line_with`).
pub(super) fn scan(region: &[u8], eof: bool) -> (u64, usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::x86_64_v3() {
        // SAFETY: the CPU has every feature `scan_v3` enables.
        return unsafe { scan_v3(region, eof) };
    }
    // SAFETY: without `V3` nothing is required.
    unsafe { scan_with::<false>(region, eof) }
}

/// `scan` compiled for x86-64-v3 CPUs (AVX2 masks, `popcnt`, `lzcnt`).
///
/// # Safety
/// The CPU must support the enabled features (`simd::x86_64_v3`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn scan_v3(region: &[u8], eof: bool) -> (u64, usize, bool) {
    // SAFETY: compiled for and run on an x86-64-v3 CPU.
    unsafe { scan_with::<true>(region, eof) }
}

/// `scan`, with AVX2 in `V3` code. The loop over whole blocks keeps
/// its state in registers: the last partial block and header lines are
/// handled out of it.
///
/// # Safety
/// As for `simd::line_start_masks`.
#[inline(always)]
pub(super) unsafe fn scan_with<const V3: bool>(region: &[u8], eof: bool) -> (u64, usize, bool) {
    let mut s = Scan {
        lines: 0,
        last: (0, 0),
        carry: 0,
    };
    let blocks = region.chunks_exact(64);
    let rest = blocks.remainder();
    for (i, block) in blocks.enumerate() {
        // SAFETY (both): passed on from the caller.
        let header = unsafe { s.block::<V3>(region, 64 * i, block.try_into().expect("64"), eof) };
        if let Some(at) = header {
            return (s.lines, at, true);
        }
    }
    if !rest.is_empty() {
        // Zeros after the last bytes: neither newlines nor letters.
        let mut tail = [0u8; 64];
        tail[..rest.len()].copy_from_slice(rest);
        if let Some(at) = unsafe { s.block::<V3>(region, region.len() - rest.len(), &tail, eof) } {
            return (s.lines, at, true);
        }
    }
    let end = match s.last {
        (_, 0) => 0,
        (at, newlines) => at + 64 - newlines.leading_zeros() as usize,
    };
    (s.lines, end, false)
}

/// What `scan` knows of the blocks before the next.
struct Scan {
    lines: u64,
    /// The last block with a newline: its offset and newlines.
    last: (usize, u64),
    /// 1 if the last block ended in a newline: a line starts at bit 0.
    carry: u64,
}

impl Scan {
    /// Takes in the block at `base` in `region` (the block, or its
    /// zero-padded copy at the end). If a header line starts in it, its
    /// offset, with `lines` counting the lines before it only.
    ///
    /// # Safety
    /// As for `simd::line_start_masks`.
    #[inline(always)]
    unsafe fn block<const V3: bool>(
        &mut self,
        region: &[u8],
        base: usize,
        block: &[u8; 64],
        eof: bool,
    ) -> Option<usize> {
        // SAFETY: passed on from the caller.
        let (newlines, letters) = unsafe { crate::simd::line_start_masks::<V3>(block) };
        let starts = (newlines << 1 | self.carry) & letters;
        if starts != 0 {
            if let Some(at) = first_header(region, base, starts, eof) {
                let before = newlines & ((1u64 << (at - base)) - 1);
                self.lines += before.count_ones() as u64;
                return Some(at);
            }
        }
        self.lines += newlines.count_ones() as u64;
        if newlines != 0 {
            self.last = (base, newlines);
        }
        self.carry = newlines >> 63;
        None
    }
}

/// The offset of the first header line among the lines that start at
/// bits `starts` of the block at `base` in `region` (`scan`).
#[inline(never)]
fn first_header(region: &[u8], base: usize, mut starts: u64, eof: bool) -> Option<usize> {
    while starts != 0 {
        let at = base + starts.trailing_zeros() as usize;
        let rest = &region[at..];
        // A line the region ends in is a header only at the input's end.
        let line = match memchr(b'\n', rest) {
            Some(n) => Some(&rest[..n]),
            None if eof => Some(rest),
            None => None,
        };
        if line.and_then(header_line).is_some() {
            return Some(at);
        }
        starts &= starts - 1;
    }
    None
}

/// Offset in `data` of the first `\n` from `from` on, or `data.len()`
/// if there is none. `after` is `data` followed by the rest of its buffer
/// (any bytes): where it holds 64 bytes from a position, they are searched
/// as one block. A `\n` found past the data is one of those stale bytes,
/// and means the data has none.
///
/// # Safety
/// As for `Chunk::for_each_line_with`.
#[inline(always)]
pub(super) unsafe fn line_end<const V3: bool>(data: &[u8], after: &[u8], from: usize) -> usize {
    let mut at = from;
    if at >= data.len() {
        return data.len();
    }
    while let Some(block) = after.get(at..at + 64) {
        // SAFETY: passed on from the caller.
        let (m, _) =
            unsafe { crate::simd::line_start_masks::<V3>(block.try_into().expect("64 bytes")) };
        if m != 0 {
            return (at + m.trailing_zeros() as usize).min(data.len());
        }
        at += 64;
        if at >= data.len() {
            return data.len();
        }
    }
    memchr(b'\n', &data[at..]).map_or(data.len(), |nl| at + nl)
}
