//! Decimal digits eight at a time (SWAR): a number of up to 16 digits
//! in at most two eight-byte loads and three multiplies per load, with
//! the digit check folded into the same word. Used by both fast paths.

/// Eight bytes from `s[at..]` as a little-endian word, zero-padded past
/// the end of `s`. Inside a line the direct load is the rule.
#[inline(always)]
pub(super) fn load8(s: &[u8], at: usize) -> u64 {
    match s.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        None => load8_tail(s, at),
    }
}

#[cold]
#[inline(never)]
pub(super) fn load8_tail(s: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    let rest = s.get(at..).unwrap_or_default();
    let n = rest.len().min(8);
    b[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(b)
}

pub(super) const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Eight digit values (0..=9, first digit in the lowest byte) as a number:
/// pairs, then quads, then the whole, in three multiplies.
#[inline(always)]
pub(super) fn eight_digits(v: u64) -> u64 {
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
pub(super) fn number<const CHECKED: bool>(line: &[u8], start: usize, n: usize) -> Option<u64> {
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
pub(super) fn digits<const CHECKED: bool>(line: &[u8], at: usize, len: usize) -> Option<u64> {
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

/// The length of token `i` of a line split at `bounds` (see `parse_v2`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn token_len(bounds: &[usize; 15], i: usize) -> usize {
    bounds[i + 1] - bounds[i] - 1
}

/// The digit values of the `n` (1..=8) bytes that end at `end` (at least
/// 8), first digit lowest, zeros before it: the eight bytes that end
/// there, with '0' xored out and the bytes before the token cleared.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn digit_word<const W: usize>(buf: &[u8; W], end: usize, n: usize) -> u64 {
    (load8(buf, end - 8) ^ ZEROS) & (u64::MAX << ((8 - n) * 8))
}

/// The two bytes at `buf[at..]`, '0' xored out of each: two digits'
/// values, first digit lowest, if they are digits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn two_bytes<const W: usize>(buf: &[u8; W], at: usize) -> u64 {
    (u16::from_le_bytes([buf[at], buf[at + 1]]) ^ 0x3030) as u64
}

/// The number of two digit values from `two_bytes`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn two_digits(h: u64) -> u64 {
    (h & 0xff) * 10 + (h >> 8)
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
}
