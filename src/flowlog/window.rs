//! A line's window: its first `WINDOW` bytes in the chunk's buffer (the
//! line, then whatever follows it), with bitmasks of their spaces, digits
//! and newlines. One pass over those bytes serves both the chunk loop,
//! which finds the line's end in the newlines
//! (`reader::Chunk::for_each_line_with`), and the v2 fast path, which
//! finds the tokens in the spaces (`parse::v2`). A leaf of both.

use crate::simd::eq_mask8;

/// Bytes `parse::v2` reads from a line's start: 128 for the masks, and
/// 16 past them for the last loads.
pub(crate) const WINDOW: usize = 144;

/// The spaces, the digits and the newlines of a line's first 128 bytes
/// (and of whatever follows the line in them), as bitmasks: bit i for
/// byte i. The chunk loop finds the line's end in `newlines`
/// (`reader::Chunk::for_each_line_with`), and the parser its tokens in
/// the other two, from one pass over the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    pub(crate) spaces: u128,
    /// Not built in `V3` code (`window_masks_v3`).
    pub(crate) digits: u128,
    pub(crate) newlines: u128,
}

/// A line's first `WINDOW` bytes in its buffer (the line, then whatever
/// follows it), with their masks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    pub(crate) buf: &'a [u8; WINDOW],
    pub(crate) masks: Masks,
    /// The line and everything after it in its buffer (`buf` is its
    /// start): a line longer than 128 bytes is read from here
    /// (`parse::v2::parse_v2_long`).
    pub(crate) rest: &'a [u8],
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
        Some(Window {
            buf,
            masks,
            rest: padded,
        })
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
    let mut m = Masks {
        spaces: 0,
        digits: 0,
        newlines: 0,
    };
    for (i, block) in buf[..128].chunks_exact(16).enumerate() {
        let (s, d, n) = crate::simd::space_digit_newline_masks(block.try_into().expect("16 bytes"));
        m.spaces |= (s as u128) << (16 * i);
        m.digits |= (d as u128) << (16 * i);
        m.newlines |= (n as u128) << (16 * i);
    }
    m
}

/// `window_masks`, with AVX2 in `V3` code (see `parse::v2`).
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
/// (`parse::v2::numbers_v3`).
///
/// # Safety
/// The CPU must support AVX2, and the caller must be compiled with it
/// enabled (`engine::Worker::chunk_v3`), or the intrinsics become calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn window_masks_v3(buf: &[u8; WINDOW]) -> Masks {
    let mut words = [(0u32, 0u32); 4];
    for (i, w) in words.iter_mut().enumerate() {
        let block = buf[32 * i..32 * i + 32].try_into().expect("32 bytes");
        // SAFETY: passed on from the caller.
        *w = unsafe { crate::simd::space_newline_masks_avx2(block) };
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
#[cfg(test)]
mod tests {
    use super::*;

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
}
