//! The parsed form of one flow-log record: small, `Copy`, no heap.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use super::aws_service::AwsService;

/// An IPv4 or IPv6 address as one integer: IPv4 is stored IPv4-mapped
/// (`::ffff:a.b.c.d`), so keys and sets need a single type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ip(pub u128);

const V4_MAPPED: u128 = 0xffff_0000_0000;

impl Ip {
    /// From an IPv4 address as a big-endian integer.
    pub fn v4(bits: u32) -> Ip {
        Ip(V4_MAPPED | bits as u128)
    }

    /// True for IPv4 (mapped) addresses.
    pub fn is_v4(self) -> bool {
        self.0 >> 32 == 0xffff
    }

    /// The standard library form.
    pub fn to_ip_addr(self) -> IpAddr {
        if self.is_v4() {
            IpAddr::V4(Ipv4Addr::from(self.0 as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }
}

impl From<IpAddr> for Ip {
    fn from(a: IpAddr) -> Ip {
        match a {
            IpAddr::V4(v4) => Ip::v4(u32::from(v4)),
            IpAddr::V6(v6) => Ip(u128::from(v6)),
        }
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_ip_addr().fmt(f)
    }
}

/// A network-interface id packed into an integer. `eni-` followed by up to
/// 17 hex digits (every id AWS issues) packs exactly: the digits as a
/// number plus their count, so `eni-0a` and `eni-00a` stay distinct. Any
/// other text gets the top bit and a 127-bit hash of the text; the text
/// itself is kept aside by whoever needs to print it (see `EniNames`).
/// 0 means "no interface id" (`-` or a format without the field).
///
/// A Transit Gateway attachment (`tgw-attach-` and its digits) takes an
/// interface's place in TGW flow logs (`flowlog::tgw`): it is packed the
/// same way with one more bit, so that reports can tell it from an
/// interface (`is_attachment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EniId(pub u128);

const ENI_HASHED: u128 = 1 << 127;
/// Set on Transit Gateway attachments, packed or hashed.
const ATTACHMENT: u128 = 1 << 126;

impl EniId {
    /// No interface id.
    pub const NONE: EniId = EniId(0);

    /// Packs an interface id. Never fails: odd ids are hashed.
    #[inline(always)]
    pub fn from_bytes(s: &[u8]) -> EniId {
        // Every id AWS issues today: `eni-` and 17 digits, decoded as one
        // digit and sixteen at once (`hex16`; the byte loop in
        // `from_bytes_other` cost ~250 instructions per record, 12% of the
        // parser's time; this costs ~60).
        // The prefix compared as one word, not four bytes.
        if let (21, Some(&[e, n, i, dash, first, ref rest @ ..])) = (s.len(), s.get(..21)) {
            if u32::from_le_bytes([e, n, i, dash]) == u32::from_le_bytes(*b"eni-") {
                if let (Some(h), Some(low)) = (hex_digit(first), hex16(rest)) {
                    let v = ((h as u128) << 64) | low as u128;
                    return EniId((17u128 << 68) | v);
                }
            }
        }
        Self::from_bytes_other(s)
    }

    /// `from_bytes` for ids of other lengths or shapes.
    #[inline(never)]
    fn from_bytes_other(s: &[u8]) -> EniId {
        if let Some(v) = s.strip_prefix(b"eni-").and_then(pack_hex) {
            return EniId(v);
        }
        if s.starts_with(b"tgw-attach-") {
            // `--eni tgw-attach-...` (query, top) names an attachment.
            return EniId::attachment(s);
        }
        // Bit 126 stays clear: it marks attachments.
        EniId(ENI_HASHED | (hash128(s) >> 2))
    }

    /// A Transit Gateway attachment id (the `tgw-attachment-id` column),
    /// whatever its text: marked as an attachment, packed like an
    /// interface id when it is `tgw-attach-` and up to 17 hex digits,
    /// hashed otherwise (`-` included).
    pub fn attachment(s: &[u8]) -> EniId {
        if let Some(v) = s.strip_prefix(b"tgw-attach-").and_then(pack_hex) {
            return EniId(ATTACHMENT | v);
        }
        EniId(ENI_HASHED | ATTACHMENT | (hash128(s) >> 2))
    }

    /// True when the id was hashed: its text must come from a name table.
    pub fn is_hashed(self) -> bool {
        self.0 & ENI_HASHED != 0
    }

    /// True for a Transit Gateway attachment (not a network interface).
    pub fn is_attachment(self) -> bool {
        self.0 & ATTACHMENT != 0
    }

    /// The id's text, when it is packed (not hashed) and present.
    pub fn packed_text(self) -> Option<String> {
        if self.0 == 0 || self.is_hashed() {
            return None;
        }
        let prefix = if self.is_attachment() {
            "tgw-attach-"
        } else {
            "eni-"
        };
        let len = ((self.0 & !ATTACHMENT) >> 68) as usize;
        let v = self.0 & ((1u128 << 68) - 1);
        Some(format!("{prefix}{:0width$x}", v, width = len))
    }
}

/// 1 to 17 lower-case hex digits packed as the digits' value and their
/// count (bits 68 and up), so that `0a` and `00a` stay distinct.
fn pack_hex(hex: &[u8]) -> Option<u128> {
    if hex.is_empty() || hex.len() > 17 {
        return None;
    }
    // At most one digit above the low 64 bits: decoding into two u64
    // halves instead of shifting a u128 per digit took this from ~260 to
    // ~100 instructions per record.
    let (high, low) = hex.split_at(hex.len().saturating_sub(16));
    let v = ((hex_u64(high)? as u128) << 64) | hex_u64(low)? as u128;
    Some(((hex.len() as u128) << 68) | v)
}

/// One lower-case hex digit's value.
#[inline(always)]
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Eight lower-case hex digits (first digit in the lowest byte of `w`) as
/// a number, and a word that is non-zero if any byte is not one: range
/// checks on all eight bytes at once, then the nibbles packed by shifts.
/// (The check is returned, not branched on, so that two words cost one
/// branch.) Compiled everywhere, so that x86_64 tests check it.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn hex8(w: u64) -> (u32, u64) {
    use crate::simd::in_range8;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let hex = in_range8(w, b'0', b'9') | in_range8(w, b'a', b'f');
    let bad = hex ^ HIGHS;
    // '0'..'9' are 0x30..0x39 and 'a'..'f' 0x61..0x66: the low nibble, plus
    // 9 where bit 6 (letters) is set.
    let v = (w & (0x0f * ONES)) + ((w >> 6) & ONES) * 9;
    // Byte i holds digit i; pair them (first digit high), then gather.
    let pairs = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    (((quads | (quads >> 16)) as u32).swap_bytes(), bad)
}

/// Sixteen lower-case hex digits as a number; `None` on any other byte.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn hex16(s: &[u8]) -> Option<u64> {
    hex16_swar(s)
}

/// `hex16` in plain integers, two `hex8` words (compiled everywhere, so
/// that x86_64 tests check it against the SIMD version).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn hex16_swar(s: &[u8]) -> Option<u64> {
    let word = |r: &[u8]| u64::from_le_bytes(r.try_into().expect("8 bytes"));
    let (a, bad_a) = hex8(word(&s[..8]));
    let (b, bad_b) = hex8(word(&s[8..16]));
    (bad_a | bad_b == 0).then_some(((a as u64) << 32) | b as u64)
}

/// Sixteen lower-case hex digits as a number; `None` on any other byte.
/// One SSE2 pass: range checks on all sixteen bytes, the nibbles, then
/// pairs of nibbles packed into bytes (~20 instructions; two `hex8`
/// words cost ~50).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn hex16(s: &[u8]) -> Option<u64> {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_cvtsi128_si64,
        _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_packus_epi16, _mm_set1_epi16,
        _mm_set1_epi8, _mm_slli_epi16, _mm_srli_epi16,
    };
    let block: &[u8; 16] = s.get(..16)?.try_into().expect("16 bytes");
    // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned load
    // reads the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        // Signed compares: bytes of 0x80 and up are negative, in neither
        // range.
        let within = |lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let letter = within(b'a', b'f');
        if _mm_movemask_epi8(_mm_or_si128(within(b'0', b'9'), letter)) != 0xffff {
            return None;
        }
        // '0'..'9' are 0x30..0x39 and 'a'..'f' 0x61..0x66: the low nibble,
        // plus 9 for letters.
        let nib = _mm_add_epi8(
            _mm_and_si128(v, _mm_set1_epi8(0x0f)),
            _mm_and_si128(letter, _mm_set1_epi8(9)),
        );
        // Each 16-bit lane holds digit 2i (low byte) and 2i+1: make the
        // low byte 16·first + second, then keep the low bytes in order.
        let pairs = _mm_or_si128(
            _mm_and_si128(_mm_slli_epi16(nib, 4), _mm_set1_epi16(0xf0)),
            _mm_srli_epi16(nib, 8),
        );
        let bytes = _mm_cvtsi128_si64(_mm_packus_epi16(pairs, pairs)) as u64;
        Some(bytes.swap_bytes())
    }
}

/// Lower-case hex digits (at most 16) as a number; `None` on any other byte.
#[inline(always)]
fn hex_u64(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &b in s {
        v = (v << 4) | hex_digit(b)? as u64;
    }
    Some(v)
}

/// Two independent FNV-1a passes: collisions among the few odd interface
/// ids a dataset holds are not a practical concern at 127 bits.
fn hash128(s: &[u8]) -> u128 {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &x in s {
        a = (a ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ x as u64)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(5);
    }
    ((a as u128) << 64) | b as u128
}

/// ACCEPT or REJECT; `Unknown` where the format has no `action` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Action {
    Accept,
    Reject,
    #[default]
    Unknown,
}

impl Action {
    /// The AWS spelling, or `-`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "ACCEPT",
            Action::Reject => "REJECT",
            Action::Unknown => "-",
        }
    }
}

/// The `log-status` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogStatus {
    #[default]
    Ok,
    NoData,
    SkipData,
}

/// Packet direction relative to the capturing interface (`flow-direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketDirection {
    Ingress,
    Egress,
}

/// One parsed record. Absent (`-`) values are `None` (or 0 for counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    pub interface: EniId,
    pub srcaddr: Option<Ip>,
    pub dstaddr: Option<Ip>,
    pub srcport: Option<u16>,
    pub dstport: Option<u16>,
    pub protocol: Option<u8>,
    pub packets: u64,
    pub bytes: u64,
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub action: Action,
    pub status: LogStatus,
    pub tcp_flags: Option<u16>,
    pub flow_direction: Option<PacketDirection>,
    pub pkt_srcaddr: Option<Ip>,
    pub pkt_dstaddr: Option<Ip>,
    /// The records this one stands for: 1, or a pre-aggregated line's
    /// `flows` column (`Field::Flows`). Every count of records is
    /// weighted by it.
    pub flows: u64,
    /// v5's `pkt-src-aws-service` and `pkt-dst-aws-service`, as codes
    /// (`AwsService`: one byte each).
    pub pkt_src_aws_service: AwsService,
    pub pkt_dst_aws_service: AwsService,
}

impl Default for FlowRecord {
    fn default() -> FlowRecord {
        FlowRecord {
            interface: EniId::NONE,
            srcaddr: None,
            dstaddr: None,
            srcport: None,
            dstport: None,
            protocol: None,
            packets: 0,
            bytes: 0,
            start: None,
            end: None,
            action: Action::Unknown,
            status: LogStatus::Ok,
            tcp_flags: None,
            flow_direction: None,
            pkt_srcaddr: None,
            pkt_dstaddr: None,
            flows: 1,
            pkt_src_aws_service: AwsService::default(),
            pkt_dst_aws_service: AwsService::default(),
        }
    }
}

/// True for protocols whose records carry meaningful ports.
pub fn has_ports(protocol: u8) -> bool {
    matches!(protocol, 6 | 17 | 132)
}

/// IANA name of common protocols, for display.
pub fn protocol_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        58 => "icmpv6",
        132 => "sctp",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eni_ids_pack_and_print_back() {
        for s in ["eni-0a1b2c3d4e5f60718", "eni-102010ab", "eni-00a", "eni-0"] {
            let id = EniId::from_bytes(s.as_bytes());
            assert!(!id.is_hashed(), "{s}");
            assert_eq!(id.packed_text().unwrap(), s);
        }
        assert_ne!(EniId::from_bytes(b"eni-0a"), EniId::from_bytes(b"eni-00a"));
    }

    #[test]
    fn hex_words_match_the_byte_loop() {
        let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"0123456789abcdefABCDEFgz/:@`G \x7f\x80";
        for _ in 0..20_000 {
            // A 17-digit id, mostly hex, now and then one odd byte.
            let mut id = b"eni-".to_vec();
            for _ in 0..17 {
                let x = rng.next();
                let odd = x.is_multiple_of(40);
                let pick = if odd {
                    x as usize % alphabet.len()
                } else {
                    x as usize % 16
                };
                id.push(alphabet[pick]);
            }
            let want = match (hex_u64(&id[4..5]), hex_u64(&id[5..])) {
                (Some(h), Some(l)) => Some(((h as u128) << 64) | l as u128),
                _ => None,
            };
            let got = EniId::from_bytes(&id);
            assert_eq!(hex16(&id[5..]), hex16_swar(&id[5..]), "{id:?}");
            assert_eq!(hex16(&id[5..]), hex_u64(&id[5..]), "{id:?}");
            match want {
                Some(v) => assert_eq!(got, EniId((17u128 << 68) | v), "{id:?}"),
                None => assert!(got.is_hashed(), "{id:?}"),
            }
        }
        assert_eq!(hex8(u64::from_le_bytes(*b"0123abcd")), (0x0123_abcd, 0));
        assert_eq!(hex8(u64::from_le_bytes(*b"ffffffff")), (u32::MAX, 0));
        assert_ne!(hex8(u64::from_le_bytes(*b"0123abcg")).1, 0);
        assert_ne!(hex8(u64::from_le_bytes(*b"0123abc\xb0")).1, 0);
    }

    #[test]
    fn odd_ids_are_hashed_distinctly() {
        let a = EniId::from_bytes(b"eni-XYZ");
        let b = EniId::from_bytes(b"tgw-attach-XYZ");
        assert!(a.is_hashed() && b.is_hashed());
        assert_ne!(a, b);
        // Hashed interfaces never look like attachments; attachments,
        // hashed or packed, always do.
        assert!(!a.is_attachment() && b.is_attachment());
        let c = EniId::from_bytes(b"tgw-attach-0a1b2c3d4e5f60718");
        assert!(c.is_attachment() && !c.is_hashed());
        assert_eq!(c.packed_text().unwrap(), "tgw-attach-0a1b2c3d4e5f60718");
        assert_eq!(c, EniId::attachment(b"tgw-attach-0a1b2c3d4e5f60718"));
        assert_ne!(c, EniId::from_bytes(b"eni-0a1b2c3d4e5f60718"));
        assert!(EniId::attachment(b"00000001").is_attachment());
        for s in ["eni-odd", "x", "-", "tgw-attach-"] {
            assert!(!EniId::from_bytes(s.as_bytes()).is_attachment() || s.starts_with("tgw"));
        }
        assert!(EniId::from_bytes(b"eni-0123456789abcdef01").is_hashed()); // 18 digits
    }

    #[test]
    fn ip_roundtrip() {
        let v4: IpAddr = "10.0.1.2".parse().unwrap();
        let v6: IpAddr = "2600:1f18::1".parse().unwrap();
        assert_eq!(Ip::from(v4).to_ip_addr(), v4);
        assert!(Ip::from(v4).is_v4());
        assert_eq!(Ip::from(v6).to_ip_addr(), v6);
        assert!(!Ip::from(v6).is_v4());
    }
}
