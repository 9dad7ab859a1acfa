//! Dotted-quad IPv4 addresses from the positions of their dots: one
//! table load gives the shape (the four octet lengths), then either one
//! SSSE3 shuffle decodes all four octets (`simd::ipv4_octets`) or SWAR
//! reads each from its right-aligned three bytes.

use super::digits::load8;
use crate::simd::eq_mask8;

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
pub(super) fn ipv4(line: &[u8], start: usize, n: usize) -> Option<u32> {
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
pub(super) mod ssse3 {
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
    pub(in crate::flowlog::parse) unsafe fn ipv4(block: &[u8; 16], n: usize) -> Option<u32> {
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
    pub(in crate::flowlog::parse) unsafe fn ipv4_pair(
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
    pub(in crate::flowlog::parse) unsafe fn pair_inline(
        a: &[u8; 16],
        na: usize,
        b: &[u8; 16],
        nb: usize,
    ) -> Option<(u32, u32)> {
        Some((decode(a, na)?, decode(b, nb)?))
    }

    /// The body of `ipv4`, inlined into its SSSE3 callers: the dots
    /// give the shape, its shuffle the octets (`simd::ipv4_octets`).
    ///
    /// # Safety
    /// The CPU must support SSSE3; callers are `#[target_feature]`
    /// functions that enable it, or inline into one (`pair_inline`).
    #[inline(always)]
    unsafe fn decode(block: &[u8; 16], n: usize) -> Option<u32> {
        debug_assert!((7..=15).contains(&n));
        let dots = crate::simd::eq_mask16(block, b'.') as u32;
        let shuffle = &SHUFFLES[super::shape(dots, n)?];
        // SAFETY: passed on from the caller.
        unsafe { crate::simd::ipv4_octets(block, shuffle) }
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
            let want = match crate::flowlog::parse::scalar::parse_ip(s.as_bytes()) {
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
            let want = match crate::flowlog::parse::scalar::parse_ip(&tok) {
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
}
