//! Scalar readers every parser path shares: decimal numbers, IP
//! addresses, epoch times, token ends. A leaf: it depends on nothing but
//! the record types.

use crate::flowlog::record::Ip;

/// A start or end time in seconds. Thirteen digits are milliseconds
/// (CloudWatch Logs exports and some pipelines write them): read as
/// seconds they would put the record in the year 57,000. Seconds have had
/// ten digits since 2001 and keep them until 2286; milliseconds have had
/// thirteen since 2001. Any other value is kept as it is.
#[inline]
pub fn epoch_seconds(t: u64) -> u64 {
    if (1_000_000_000_000..10_000_000_000_000).contains(&t) {
        t / 1000
    } else {
        t
    }
}

/// The fast paths leave times of `2^39` (year 19,391 in seconds) and
/// more to the general parser (`epoch_seconds`): one test of both
/// together, as such values are rare.
#[inline(always)]
pub(super) fn times_need_general(start: u64, end: u64) -> bool {
    (start | end) >> 39 != 0
}

/// Index of the first space in `line[pos..]`, or `line.len()`.
///
/// Tokens are short (1 to 21 bytes, 7 on average in v2), so calling
/// `memchr` per token spent more in set-up than in search: 20% of all
/// instructions of a single-thread run went to `memchr_iter` over spaces.
/// This reads eight bytes as one word and finds a space byte with the
/// classic "has zero byte" bit trick (on `word ^ 0x20..20`); the lowest
/// flagged byte is always a true match (false flags only appear above a
/// true one), so `trailing_zeros` gives the first space.
#[inline(always)]
pub(super) fn token_end(line: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const SPACES: u64 = 0x2020_2020_2020_2020;
    while let Some(bytes) = line.get(pos..pos + 8) {
        let w = u64::from_le_bytes(bytes.try_into().expect("8 bytes")) ^ SPACES;
        let found = w.wrapping_sub(ONES) & !w & HIGHS;
        if found != 0 {
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while pos < line.len() && line[pos] != b' ' {
        pos += 1;
    }
    pos
}

/// Decimal u64; `None` on empty input, a non-digit, or overflow.
#[inline(always)]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    if s.len() < 20 {
        for &b in s {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        Some(v)
    } else {
        for &b in s {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(d as u64)?;
        }
        Some(v)
    }
}

/// IPv4 by hand (the hot case); IPv6 by hand in its plain forms, else
/// through the standard library. Zone ids (`fe80::1%eth0`) are not
/// addresses a flow log carries: rejected.
#[inline]
pub fn parse_ip(s: &[u8]) -> Option<Ip> {
    if let Some(v4) = parse_ipv4(s) {
        return Some(Ip::v4(v4));
    }
    if s.contains(&b':') && s.len() <= 45 {
        if let Some(v6) = parse_ipv6(s) {
            return Some(Ip(v6));
        }
        let text = std::str::from_utf8(s).ok()?;
        let v6: std::net::Ipv6Addr = text.parse().ok()?;
        return Some(Ip(u128::from(v6)));
    }
    None
}

/// The value of each byte as a hex digit, or 0xff: one load per digit
/// where `char::to_digit(16)` took three range tests (an IPv6 address
/// cost ~700 instructions, a third of a dual-stack record's parse).
static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        b += 1;
    }
    t
};

/// IPv6 of hex groups and at most one `::`, as the standard library reads
/// it (which cost ~1,900 instructions an address, through `str` and
/// generic parsing); `None` for anything else, including an embedded IPv4
/// tail, which the caller hands to the standard library.
fn parse_ipv6(s: &[u8]) -> Option<u128> {
    if !(2..=39).contains(&s.len()) {
        return None;
    }
    let mut groups = [0u16; 8];
    let mut n = 0;
    // Number of groups before the `::`, if there is one.
    let mut gap = None;
    let mut i = 0;
    if s.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if i == s.len() {
            return Some(0);
        }
    }
    loop {
        let start = i;
        let mut v = 0u32;
        while i < s.len() && i - start < 5 {
            let d = HEX[s[i] as usize];
            if d > 15 {
                break;
            }
            v = v << 4 | d as u32;
            i += 1;
        }
        if !(1..=4).contains(&(i - start)) || n == 8 {
            return None;
        }
        groups[n] = v as u16;
        n += 1;
        if i == s.len() {
            break;
        }
        if s[i] != b':' {
            return None;
        }
        i += 1;
        if i == s.len() {
            return None; // one trailing `:`
        }
        if s[i] == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
            if i == s.len() {
                break;
            }
        }
    }
    match gap {
        None if n == 8 => {}
        // `::` stands for at least one group.
        Some(g) if n <= 7 => {
            let tail = n - g;
            groups.copy_within(g..n, 8 - tail);
            groups[g..8 - tail].fill(0);
        }
        _ => return None,
    }
    Some(groups.iter().fold(0u128, |a, &g| a << 16 | g as u128))
}

#[inline]
fn parse_ipv4(s: &[u8]) -> Option<u32> {
    if s.len() < 7 || s.len() > 15 {
        return None;
    }
    let mut out: u32 = 0;
    let mut octet: u32 = 0;
    let mut digits = 0;
    let mut dots = 0;
    for &b in s {
        if b == b'.' {
            if digits == 0 {
                return None;
            }
            out = (out << 8) | octet;
            octet = 0;
            digits = 0;
            dots += 1;
        } else {
            let d = b.wrapping_sub(b'0');
            if d > 9 || digits == 3 {
                return None;
            }
            octet = octet * 10 + d as u32;
            if octet > 255 {
                return None;
            }
            digits += 1;
        }
    }
    if dots != 3 || digits == 0 {
        return None;
    }
    Some((out << 8) | octet)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_by_hand_reads_as_std_does() {
        let std_v6 = |s: &[u8]| {
            std::str::from_utf8(s)
                .ok()?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(u128::from)
        };
        let mut fixed: Vec<String> = [
            "::",
            "::1",
            "1::",
            "1::2",
            "2600:1f18:4a3:6a00:5c1e:8a4b:2f0d:91c3",
            "fe80::1",
            "FE80::ABCD",
            "0:0:0:0:0:0:0:0",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1::2::3",
            ":1",
            "1:",
            ":::",
            "1:::2",
            "00001::",
            "0001::",
            "::ffff:1.2.3.4",
            "g::",
            "1:2:3:4:5:6:7:8:9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        fixed.extend(crate::ipv6_tokens(50_000));
        let mut agreed = 0;
        for s in &fixed {
            let fast = parse_ipv6(s.as_bytes());
            if fast.is_some() {
                agreed += 1;
                assert_eq!(fast, std_v6(s.as_bytes()), "{s}");
            }
            // Declined tokens are std's to judge, so parse_ip matches std.
            let want = std_v6(s.as_bytes()).map(Ip);
            if s.contains(':') && parse_ipv4(s.as_bytes()).is_none() {
                assert_eq!(parse_ip(s.as_bytes()), want, "{s}");
            }
        }
        assert!(agreed > 50_000, "{agreed}");
    }

    #[test]
    fn u64_edges() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"-1"), None);
    }

    #[test]
    fn ipv4_edges() {
        assert_eq!(parse_ipv4(b"255.255.255.255"), Some(u32::MAX));
        assert_eq!(parse_ipv4(b"0.0.0.0"), Some(0));
        for bad in [
            &b"1.2.3"[..],
            b"1.2.3.4.5",
            b"1..2.3",
            b"256.1.1.1",
            b"1.2.3.4 ",
            b"1.2.3.1000",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
