//! Which SIMD paths this CPU can take, decided once per process, and
//! every SIMD intrinsic of the crate: the byte masks the reader and the
//! parser share, the IPv4 octet shuffle, and the eight-digit lanes of the
//! v2 fast path. Callers keep the logic (tables, bounds, fallbacks); the
//! functions here only turn bytes into masks or numbers.
//!
//! Functions marked `V3` or named `_avx2`/`_ssse3` are `#[inline(always)]`
//! and only compile to single instructions inside a caller compiled with
//! those features (`engine`'s `chunk_v3`, `parse::ipv4::ssse3`); each says so in its
//! safety section.

/// True when the CPU has the x86-64-v3 features (AVX2, BMI1/2, LZCNT,
/// POPCNT, SSSE3, SSE4.1/4.2) and `FLOWSCOPE_NO_SIMD` is not set. The
/// variable forces the baseline code, so tests can compare both paths
/// on one machine and a user can rule them out.
#[cfg(target_arch = "x86_64")]
pub fn x86_64_v3() -> bool {
    use std::sync::OnceLock;
    static V3: OnceLock<bool> = OnceLock::new();
    *V3.get_or_init(|| {
        std::env::var_os("FLOWSCOPE_NO_SIMD").is_none()
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
            && std::is_x86_feature_detected!("sse4.2")
    })
}

/// Bit i set where `block[i]` equals `b`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn eq_mask16(block: &[u8; 16], b: u8) -> u16 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned load
    // reads exactly the 16 bytes of the array behind the reference.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))) as u16
    }
}

/// Two masks of `block`: its newlines, and its bytes from 0x61 to 0x7f
/// (`a` to `z` and five symbols), the first byte of any header line. A
/// line may be a header line only where the second has a bit just after
/// one of the first (the reader's `scan`); with AVX2 in `V3` code. A
/// caller that needs the newlines only (`reader::line_end`) gets them
/// alone: inlined, the letters' compares are dropped as unused.
///
/// # Safety
/// With `V3`, the CPU must support AVX2 and the caller be compiled with
/// it enabled (`engine::Worker::chunk_v3`), or the intrinsics become
/// calls. Without, nothing is required.
#[inline(always)]
pub unsafe fn line_start_masks<const V3: bool>(block: &[u8; 64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, __m256i, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
            _mm256_movemask_epi8, _mm256_set1_epi8, _mm_cmpeq_epi8, _mm_cmpgt_epi8,
            _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // (A signed compare: bytes of 0x80 and up are negative.)
        if V3 {
            // SAFETY: the loads read the 64 bytes behind the reference;
            // AVX2 is the caller's promise.
            return unsafe {
                let (nl, above) = (_mm256_set1_epi8(b'\n' as i8), _mm256_set1_epi8(0x60));
                let mut m = (0u64, 0u64);
                for half in 0..2 {
                    let v = _mm256_loadu_si256(block[32 * half..].as_ptr() as *const __m256i);
                    let n = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, nl)) as u32 as u64;
                    let l = _mm256_movemask_epi8(_mm256_cmpgt_epi8(v, above)) as u32 as u64;
                    m.0 |= n << (32 * half);
                    m.1 |= l << (32 * half);
                }
                m
            };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline; the loads read the
        // 64 bytes behind the reference.
        unsafe {
            let (nl, above) = (_mm_set1_epi8(b'\n' as i8), _mm_set1_epi8(0x60));
            let mut m = (0u64, 0u64);
            for quarter in 0..4 {
                let v = _mm_loadu_si128(block[16 * quarter..].as_ptr() as *const __m128i);
                let n = _mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u16 as u64;
                let l = _mm_movemask_epi8(_mm_cmpgt_epi8(v, above)) as u16 as u64;
                m.0 |= n << (16 * quarter);
                m.1 |= l << (16 * quarter);
            }
            m
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    line_start_masks_swar(block)
}

/// `line_start_masks` eight bytes at a time in plain integers (compiled
/// everywhere, so that x86_64 tests check it against the SIMD version).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn line_start_masks_swar(block: &[u8; 64]) -> (u64, u64) {
    let gather = |flags: u64| (flags >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let mut m = (0u64, 0u64);
    for (i, word) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        m.0 |= (eq_mask8(w, b'\n') as u64) << (8 * i);
        m.1 |= gather(in_range8(w, 0x61, 0x7f)) << (8 * i);
    }
    m
}

/// The spaces, the digits and the newlines of `block`, bit i for byte i
/// (SSE2, the x86_64 baseline).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn space_digit_newline_masks(block: &[u8; 16]) -> (u16, u16, u16) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned
    // load reads the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let s = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)));
        let n = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)));
        // A digit is a byte whose distance above '0' is at most 9.
        let nine = _mm_set1_epi8(9);
        let d = _mm_max_epu8(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), nine);
        (
            s as u16,
            _mm_movemask_epi8(_mm_cmpeq_epi8(d, nine)) as u16,
            n as u16,
        )
    }
}

/// The hex digits (`0-9`, `a-f`, `A-F`) and the colons of `block`, bit i
/// for byte i: the two classes of an IPv6 address's bytes
/// (`parse::ipv6`); and each byte's value as a hex digit, in `nibbles`
/// (meaningless for other bytes): its low four bits, plus 9 for a byte
/// above 0x40 (letters). SSE2, the x86_64 baseline.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn hex_colon_masks16(block: &[u8; 16], nibbles: &mut [u8; 16]) -> (u16, u16) {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128,
        _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_storeu_si128,
        _mm_sub_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load
    // reads the 16 bytes of `block`, the store writes those of `nibbles`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let c = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)));
        // A digit is a byte at most 9 above '0' (as unsigned bytes); a
        // letter, with 0x20 set (lower case), at most 5 above 'a'.
        let nine = _mm_set1_epi8(9);
        let d = _mm_max_epu8(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), nine);
        let five = _mm_set1_epi8(5);
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let l = _mm_max_epu8(_mm_sub_epi8(lower, _mm_set1_epi8(b'a' as i8)), five);
        let hex = _mm_or_si128(_mm_cmpeq_epi8(d, nine), _mm_cmpeq_epi8(l, five));
        let letter = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x40));
        let value = _mm_add_epi8(
            _mm_and_si128(v, _mm_set1_epi8(0x0f)),
            _mm_and_si128(letter, nine),
        );
        _mm_storeu_si128(nibbles.as_mut_ptr() as *mut __m128i, value);
        (_mm_movemask_epi8(hex) as u16, c as u16)
    }
}

/// `hex_colon_masks16` in plain integers (compiled everywhere, so that
/// x86_64 tests check it against the SIMD version).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub fn hex_colon_masks16_swar(block: &[u8; 16], nibbles: &mut [u8; 16]) -> (u16, u16) {
    let gather = |x: u64| ((x >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u16;
    let half = |w: u64, out: &mut [u8]| {
        let hex = in_range8(w, b'0', b'9') | in_range8(w | 0x2020_2020_2020_2020, b'a', b'f');
        // Bytes above 0x40 and below 0x80 (`in_range8` leaves out higher
        // ones, which are never hex digits anyway).
        let letter = in_range8(w, 0x41, 0x7f) >> 7;
        let value = (w & 0x0f0f_0f0f_0f0f_0f0f) + letter * 9;
        out.copy_from_slice(&value.to_le_bytes());
        (gather(hex), eq_mask8(w, b':') as u16)
    };
    let (lo, hi) = nibbles.split_at_mut(8);
    let (h0, c0) = half(
        u64::from_le_bytes(block[..8].try_into().expect("8 bytes")),
        lo,
    );
    let (h1, c1) = half(
        u64::from_le_bytes(block[8..].try_into().expect("8 bytes")),
        hi,
    );
    (h0 | h1 << 8, c0 | c1 << 8)
}

/// `hex_colon_masks16` (portable version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn hex_colon_masks16(block: &[u8; 16], nibbles: &mut [u8; 16]) -> (u16, u16) {
    hex_colon_masks16_swar(block, nibbles)
}

/// The spaces and the newlines of `block`, bit i for byte i, with AVX2.
///
/// # Safety
/// The CPU must support AVX2, and the caller must be compiled with it
/// enabled (`engine::Worker::chunk_v3`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn space_newline_masks_avx2(block: &[u8; 32]) -> (u32, u32) {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    // SAFETY: the load reads the 32 bytes behind the reference; AVX2 is
    // the caller's promise.
    unsafe {
        let v = _mm256_loadu_si256(block.as_ptr() as *const __m256i);
        let s = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)));
        let n = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8)));
        (s as u32, n as u32)
    }
}

/// The IPv4 address in the first bytes of `block`, whose octets
/// `shuffle` right-aligns in bytes 4k..4k+2 (zeros, index 0x80,
/// elsewhere; `parse::ipv4::ssse3::SHUFFLES`): `None` unless the bytes it
/// picks are all digits and each octet is at most 255.
///
/// # Safety
/// The CPU must support SSSE3, and the caller must be compiled with it
/// enabled (`#[target_feature]`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn ipv4_octets(block: &[u8; 16], shuffle: &[u8; 16]) -> Option<u32> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmpgt_epi32, _mm_cvtsi128_si32, _mm_loadu_si128,
        _mm_madd_epi16, _mm_maddubs_epi16, _mm_max_epu8, _mm_movemask_epi8, _mm_packs_epi32,
        _mm_packus_epi16, _mm_set1_epi16, _mm_set1_epi32, _mm_set1_epi8, _mm_setr_epi8,
        _mm_shuffle_epi8, _mm_sub_epi8,
    };
    // SAFETY: the loads read the 16 bytes behind each reference; SSSE3 is
    // the caller's promise.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let shuffle = _mm_loadu_si128(shuffle.as_ptr() as *const __m128i);
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

/// Eight lanes of eight digit values each (first digit in the lowest
/// byte, leading zeros below it: `parse::digits::digit_word`) → the
/// lanes' numbers, `a`'s then `b`'s; `None` unless every byte of both is
/// at most 9. Pairs, quads and eights are summed in all lanes at once:
/// 10·d0 + d1 per byte pair, 100·p0 + p1 per pair of those, then
/// 10000·q0 + q1.
///
/// # Safety
/// The CPU must support AVX2, and the caller must be compiled with it
/// enabled (`engine::Worker::chunk_v3`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn eight_digit_lanes(a: [u64; 4], b: [u64; 4]) -> Option<[[u64; 4]; 2]> {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_cmpeq_epi8, _mm256_madd_epi16, _mm256_maddubs_epi16,
        _mm256_max_epu8, _mm256_movemask_epi8, _mm256_mul_epu32, _mm256_set1_epi16,
        _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_epi8, _mm256_set_epi64x,
        _mm256_srli_epi64, _mm256_storeu_si256,
    };
    // (No closures with intrinsics here, nor array `map`: a closure is
    // compiled without its caller's target features, and these were not
    // inlined.)
    // SAFETY: AVX2 is the caller's promise; the stores write the 32
    // bytes of each `out` row.
    unsafe {
        let a = _mm256_set_epi64x(a[3] as i64, a[2] as i64, a[1] as i64, a[0] as i64);
        let b = _mm256_set_epi64x(b[3] as i64, b[2] as i64, b[1] as i64, b[0] as i64);
        let nine = _mm256_set1_epi8(9);
        let top = _mm256_max_epu8(_mm256_max_epu8(a, b), nine);
        if _mm256_movemask_epi8(_mm256_cmpeq_epi8(top, nine)) != -1 {
            return None;
        }
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
        Some(out)
    }
}

/// Bit i set where `block[i]` equals `b` (portable version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn eq_mask16(block: &[u8; 16], b: u8) -> u16 {
    let lo = u64::from_le_bytes(block[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(block[8..].try_into().expect("8 bytes"));
    eq_mask8(lo, b) as u16 | ((eq_mask8(hi, b) as u16) << 8)
}

/// Bit i set where byte i of `w` equals `b`: an exact zero-byte test, then
/// the eight flags gathered into one byte by a multiply.
#[inline(always)]
pub fn eq_mask8(w: u64, b: u8) -> u8 {
    let w = w ^ (0x0101_0101_0101_0101 * b as u64);
    let low7 = 0x7f7f_7f7f_7f7f_7f7f;
    let zero = !(((w & low7).wrapping_add(low7)) | w | low7);
    ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// The high bit of each byte of `w` that lies in `lo..=hi` (both below
/// 0x80), every other bit clear. With the high bit cleared, adding
/// 0x80 - c sets a byte's high bit exactly when the byte is at least c,
/// and never carries into the next; bytes of 0x80 and up are never in
/// range.
#[inline(always)]
pub fn in_range8(w: u64, lo: u8, hi: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let low = w & !HIGHS;
    let at_least = |c: u8| low.wrapping_add((0x80 - c as u64) * ONES) & HIGHS;
    at_least(lo) & !at_least(hi + 1) & !(w & HIGHS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_the_bytes() {
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..5000 {
            let mut block = [0u8; 16];
            for v in block.iter_mut() {
                let x = rng.next();
                *v = b" \n.\x00\x80\xff!a"[(x % 8) as usize];
            }
            for b in [b' ', b'\n', b'.', 0, 0x80] {
                let want = (0..16).fold(0u16, |m, i| m | ((block[i] == b) as u16) << i);
                assert_eq!(eq_mask16(&block, b), want);
                let w = u64::from_le_bytes(block[..8].try_into().unwrap());
                assert_eq!(eq_mask8(w, b), want as u8);
            }
            // The edges of the letters' range, newlines, digits, high bytes.
            let pick = b"\n\x09\x0b2-`az{\x7f\x80\xe1\xff AZ";
            let mut wide = [0u8; 64];
            for v in wide.iter_mut() {
                *v = pick[(rng.next() % pick.len() as u64) as usize];
            }
            let want = wide.iter().enumerate().fold((0u64, 0u64), |m, (i, &b)| {
                (
                    m.0 | ((b == b'\n') as u64) << i,
                    m.1 | ((0x61..=0x7f).contains(&b) as u64) << i,
                )
            });
            // SAFETY: without `V3` nothing is required.
            assert_eq!(unsafe { line_start_masks::<false>(&wide) }, want);
            assert_eq!(line_start_masks_swar(&wide), want);
            #[cfg(target_arch = "x86_64")]
            if x86_64_v3() {
                // SAFETY: the CPU has AVX2 (checked just above); called
                // out of line here, the intrinsics are still AVX2 code.
                assert_eq!(unsafe { line_start_masks::<true>(&wide) }, want);
            }
            // Hex digits and colons, with the neighbours of their ranges
            // and bytes that become letters with 0x20 set.
            let pick = b"/09:;@AFG`afg\x80\xc1\xe6\xff";
            let mut hexy = [0u8; 16];
            for v in hexy.iter_mut() {
                *v = pick[(rng.next() % pick.len() as u64) as usize];
            }
            let want = (0..16).fold((0u16, 0u16), |m, i| {
                (
                    m.0 | (hexy[i].is_ascii_hexdigit() as u16) << i,
                    m.1 | ((hexy[i] == b':') as u16) << i,
                )
            });
            let (mut simd, mut swar) = ([0u8; 16], [0u8; 16]);
            assert_eq!(hex_colon_masks16(&hexy, &mut simd), want, "{hexy:?}");
            assert_eq!(hex_colon_masks16_swar(&hexy, &mut swar), want, "{hexy:?}");
            for i in 0..16 {
                if let Some(d) = (hexy[i] as char).to_digit(16) {
                    assert_eq!((simd[i] as u32, swar[i] as u32), (d, d), "{hexy:?}");
                }
            }
            let w = u64::from_le_bytes(block[..8].try_into().unwrap());
            for (lo, hi) in [(b'0', b'9'), (b'a', b'f'), (0, 0x7f), (b'!', b'!')] {
                let want = (0..8).fold(0u64, |m, i| {
                    m | (((lo..=hi).contains(&block[i])) as u64) << (8 * i + 7)
                });
                assert_eq!(in_range8(w, lo, hi), want, "{lo} {hi}");
            }
        }
    }
}
