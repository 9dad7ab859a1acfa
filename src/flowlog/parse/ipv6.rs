//! IPv6 addresses of hex groups and at most one `::` from the bit masks
//! of their bytes: three SSE2 compares give the hex digits and the
//! colons of the 48 bytes from the token's start (`simd::
//! hex_colon_masks16`), one test then validates every byte at once, the
//! colons' positions give each group's bounds (`tzcnt`, no byte loop),
//! the same pass gives every byte's value as a hex digit, and a group's
//! up to four digit values become its value from one four-byte load in a
//! few integer operations. The byte-by-byte reader
//! (`scalar::parse_ipv6`) cost ~600 instructions an address; a dual-stack
//! estate has them in a few percent of its lines (3.3% in the busy
//! profile), each line with two.
//!
//! Same contract as the rest of the fast paths: an address only where
//! `scalar::parse_ip` reads the same one; `None` for anything else
//! (embedded IPv4 tails, zone ids, too many groups, ...), which the caller
//! hands to `parse_ip`.

use crate::simd::hex_colon_masks16;

/// The bytes read from an address's start: three 16-byte blocks, past
/// the longest address (39 bytes) and the last group's four-byte load.
pub(super) const SPAN: usize = 48;

/// The IPv6 address at `line[start..start + n]`, if it is of hex groups
/// and at most one `::`: `SPAN` bytes read from `start` (in place where
/// the line's buffer has them, else from a zero-padded copy).
#[inline(always)]
pub(super) fn ipv6(line: &[u8], start: usize, n: usize) -> Option<u128> {
    if !(2..=39).contains(&n) {
        return None;
    }
    match line.get(start..start + SPAN) {
        Some(block) => decode(block.try_into().expect("SPAN bytes"), n),
        None => ipv6_copied(line, start, n),
    }
}

/// `ipv6` for an address near the end of its buffer: out of line, so
/// that the copy is not set up for every address.
#[cold]
#[inline(never)]
fn ipv6_copied(line: &[u8], start: usize, n: usize) -> Option<u128> {
    let mut copy = [0u8; SPAN];
    let tok = line.get(start..start + n)?;
    copy[..n].copy_from_slice(tok);
    decode(&copy, n)
}

/// The address in `block[..n]` (2 <= n <= 39).
#[inline(always)]
fn decode(block: &[u8; SPAN], n: usize) -> Option<u128> {
    // Unrolled by hand: as an iterator over the blocks, the loop was
    // left a call, and the buffer's zeroing a `memset`.
    let mut nibbles = [0u8; SPAN];
    let (n0, rest) = nibbles.split_at_mut(16);
    let (n1, n2) = rest.split_at_mut(16);
    let at = |i: usize| -> &[u8; 16] { block[i..i + 16].try_into().expect("16 bytes") };
    fn sixteen(n: &mut [u8]) -> &mut [u8; 16] {
        n.try_into().expect("16 bytes")
    }
    let (h0, c0) = hex_colon_masks16(at(0), sixteen(n0));
    let (h1, c1) = hex_colon_masks16(at(16), sixteen(n1));
    let (h2, c2) = hex_colon_masks16(at(32), sixteen(n2));
    let hex = h0 as u64 | (h1 as u64) << 16 | (h2 as u64) << 32;
    let colons = c0 as u64 | (c1 as u64) << 16 | (c2 as u64) << 32;
    let live = (1u64 << n) - 1;
    let c = colons & live;
    // Every byte a hex digit or a colon.
    if (hex | c) & live != live {
        return None;
    }
    // The address's bytes, first group first; groups a `::` stands for
    // stay zero.
    let mut out = [0u8; 16];
    // Bit i where bytes i and i + 1 are both colons: one `::` at most
    // (`:::` sets two bits, as do two `::`).
    let double = c & (c >> 1);
    if double == 0 {
        return (groups(&nibbles, &mut out, 0, 0, n, c)? == 8).then(|| u128::from_be_bytes(out));
    }
    if double & (double - 1) != 0 {
        return None;
    }
    // The groups before the `::` and after it. Neither side can start
    // or end with a colon but at the token's ends (a third colon next to
    // the `::` would have set a second bit): `groups` refuses those as
    // empty groups.
    let g = double.trailing_zeros() as usize;
    let head = if g == 0 {
        0
    } else {
        groups(&nibbles, &mut out, 0, 0, g, c & ((1 << g) - 1))?
    };
    // The groups after the `::` end the address: one more than their
    // colons, if there are any.
    let tail = c & !((1u64 << (g + 2)) - 1);
    let count = if g + 2 < n {
        tail.count_ones() as usize + 1
    } else {
        0
    };
    // `::` stands for at least one group of zeros.
    if head + count > 7 {
        return None;
    }
    if count > 0 {
        groups(&nibbles, &mut out, 8 - count, g + 2, n, tail)?;
    }
    Some(u128::from_be_bytes(out))
}

/// Writes the hex groups of `nibbles[from..to]` (non-empty), separated by
/// the colons `colons` (bits within the range), into `out` from group
/// `first` on; the number of groups. `None` if a group is empty or has
/// more than four digits, or one would come after the eighth.
#[inline(always)]
fn groups(
    nibbles: &[u8; SPAN],
    out: &mut [u8; 16],
    first: usize,
    from: usize,
    to: usize,
    colons: u64,
) -> Option<usize> {
    let (mut i, mut at, mut m) = (first, from, colons);
    loop {
        let end = if m == 0 {
            to
        } else {
            m.trailing_zeros() as usize
        };
        let len = end - at;
        // 1 to 4 digits (one compare), and room for the group.
        if len.wrapping_sub(1) > 3 || i >= 8 {
            return None;
        }
        out[2 * i..2 * i + 2].copy_from_slice(&group(nibbles, at, len).to_be_bytes());
        i += 1;
        if m == 0 {
            return Some(i - first);
        }
        m &= m - 1;
        at = end + 1;
    }
}

/// The value of the `len` (1..=4) hex digits whose values start at
/// `nibbles[at..]`: the four bytes from `at`, the ones past the group
/// shifted out (zeros come in below: leading zeros), then the four
/// nibbles packed, first digit highest.
#[inline(always)]
fn group(nibbles: &[u8; SPAN], at: usize, len: usize) -> u16 {
    // `at` is below 39: the bound only spares the load its check.
    let at = at.min(SPAN - 4);
    let w = u32::from_le_bytes(nibbles[at..at + 4].try_into().expect("4 bytes"));
    let d = w << (8 * (4 - len));
    // Bytes d0 d1 d2 d3 (d0 the first digit): d0d1 and d2d3 as bytes.
    let pairs = ((d << 4) | (d >> 8)) & 0x00ff_00ff;
    (((pairs & 0xff) << 8) | (pairs >> 16)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_v6(s: &[u8]) -> Option<u128> {
        std::str::from_utf8(s)
            .ok()?
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(u128::from)
    }

    /// Random tokens over the bytes of addresses, std's own writing of
    /// random addresses (with runs of zero groups, so `::`), the same
    /// with groups given leading zeros or upper case, and edge cases.
    #[test]
    fn reads_what_std_reads_or_declines() {
        let mut toks: Vec<String> = [
            "::",
            "::1",
            "1::",
            "1::2",
            "2600:1f18:4a3:6a00:5c1e:8a4b:2f0d:91c3",
            "2A05:D018:C00:1:0:C13C:DDB4:A351",
            "fe80::1",
            "fe80::1%eth0",
            "0:0:0:0:0:0:0:0",
            "0000:0000:0000:0000:0000:0000:0000:0000",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":1",
            "1:",
            ":1::2",
            "1::2:",
            ":::",
            "1:::2",
            "::1:",
            "00001::",
            "0001::",
            "::ffff:1.2.3.4",
            "g::",
            "12345",
            "1:2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        toks.extend(crate::ipv6_tokens(50_000));
        let mut read = 0;
        for t in &toks {
            let b = t.as_bytes();
            let got = ipv6(b, 0, b.len());
            if got.is_some() {
                read += 1;
                assert_eq!(got, std_v6(b), "{t}");
            }
            // In place, followed by other bytes, at an offset.
            let mut line = b"xx ".to_vec();
            line.extend_from_slice(b);
            line.extend_from_slice(b" 443 49152 6 1 40 fe80::1 ffff:ffff::");
            assert_eq!(ipv6(&line, 3, b.len()), got, "{t}");
        }
        // Everything std writes, upper case or padded is read here.
        assert!(read >= 150_000, "{read}");
    }

    #[test]
    fn every_group_length_and_digit() {
        for len in 1..=4usize {
            for v in 0..=0xffffu32 {
                let text = format!("{v:0len$x}");
                if text.len() != len {
                    continue;
                }
                for text in [text.clone(), text.to_uppercase()] {
                    let mut block = [b' '; 16];
                    block[..len].copy_from_slice(text.as_bytes());
                    let mut nibbles = [0u8; SPAN];
                    let first: &mut [u8; 16] = (&mut nibbles[..16]).try_into().unwrap();
                    hex_colon_masks16(&block, first);
                    assert_eq!(group(&nibbles, 0, len), v as u16, "{text}");
                }
            }
        }
    }
}
