//! Property tests of the line parser: a reference reading of each column
//! (`expected`) that every line's outcome must equal, and the fast path
//! (flowlog/fast.rs) against the general parser.

use std::net::{IpAddr, Ipv6Addr};

use flowscope::flowlog::parse::LineError;
use flowscope::flowlog::{
    Action, EniId, FlowRecord, Format, Ip, LogStatus, PacketDirection, Parser, SkipReason,
};
use proptest::prelude::*;

use crate::properties::{config, FD_FORMAT};

const V2_FORMAT: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// A dotted quad of 1 to 3 decimal digits a part, each at most 255 (AWS
/// never writes leading zeros; read as decimal, not octal, if it did).
fn ipv4(tok: &str) -> Option<Ip> {
    let parts: Vec<&str> = tok.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut bits = 0u32;
    for p in parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = p.parse().ok()?;
        if v > 255 {
            return None;
        }
        bits = bits << 8 | v;
    }
    Some(Ip::v4(bits))
}

fn address(tok: &str) -> Option<Ip> {
    ipv4(tok).or_else(|| {
        tok.contains(':')
            .then(|| tok.parse::<Ipv6Addr>().ok())
            .flatten()
            .map(|a| Ip::from(IpAddr::V6(a)))
    })
}

/// Decimal digits only (no sign), within u64.
fn number(tok: &str) -> Option<u64> {
    if tok.is_empty() || !tok.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tok.parse().ok()
}

/// Thirteen digits are milliseconds; any other time is seconds.
fn seconds(t: u64) -> u64 {
    if (1_000_000_000_000..10_000_000_000_000).contains(&t) {
        t / 1000
    } else {
        t
    }
}

/// What the parser must make of `line` under the columns `names`,
/// written from the format's documentation rather than from the parser:
/// the record, or the reason and the column at fault. Tokens are split on
/// spaces (repeated spaces tolerated), one trailing `\r` is dropped; the
/// first column with a bad value is reported, a `-` where a data record
/// needs a value (`MissingField`) only if no column is bad and the record
/// is an OK one.
fn expected(names: &[&str], line: &[u8]) -> Result<FlowRecord, (SkipReason, Option<usize>)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err((SkipReason::EmptyLine, None));
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Err((SkipReason::InvalidUtf8, None));
    };
    let toks: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
    if toks.len() != names.len() {
        return Err((SkipReason::FieldCount, None));
    }
    let mut rec = FlowRecord::default();
    let mut missing = None;
    for (c, (&name, &tok)) in names.iter().zip(&toks).enumerate() {
        let dash = tok == "-";
        let at = |r| (r, Some(c));
        match name {
            "interface-id" if !dash => rec.interface = EniId::from_bytes(tok.as_bytes()),
            "srcaddr" | "dstaddr" | "pkt-srcaddr" | "pkt-dstaddr" => {
                let a = if dash {
                    if name.starts_with("pkt") {
                        None
                    } else {
                        missing.get_or_insert(c);
                        None
                    }
                } else {
                    match address(tok) {
                        Some(a) => Some(a),
                        None => return Err(at(SkipReason::BadAddress)),
                    }
                };
                match name {
                    "srcaddr" => rec.srcaddr = a,
                    "dstaddr" => rec.dstaddr = a,
                    "pkt-srcaddr" => rec.pkt_srcaddr = a,
                    _ => rec.pkt_dstaddr = a,
                }
            }
            "protocol" if dash => {
                missing.get_or_insert(c);
            }
            "srcport" | "dstport" | "protocol" | "packets" | "bytes" | "start" | "end"
            | "tcp-flags"
                if !dash =>
            {
                let Some(n) = number(tok) else {
                    return Err(at(SkipReason::BadNumber));
                };
                let port = || u16::try_from(n).ok();
                match name {
                    "srcport" => rec.srcport = Some(port().ok_or(at(SkipReason::BadPort))?),
                    "dstport" => rec.dstport = Some(port().ok_or(at(SkipReason::BadPort))?),
                    "protocol" => {
                        rec.protocol =
                            Some(u8::try_from(n).map_err(|_| at(SkipReason::BadProtocol))?)
                    }
                    "tcp-flags" => rec.tcp_flags = Some(port().ok_or(at(SkipReason::BadNumber))?),
                    "packets" => rec.packets = n,
                    "bytes" => rec.bytes = n,
                    "start" => rec.start = Some(seconds(n)),
                    _ => rec.end = Some(seconds(n)),
                }
            }
            "action" => {
                rec.action = match tok {
                    "ACCEPT" => Action::Accept,
                    "REJECT" => Action::Reject,
                    "-" => Action::Unknown,
                    _ => return Err(at(SkipReason::BadAction)),
                }
            }
            "log-status" => {
                rec.status = match tok {
                    "OK" => LogStatus::Ok,
                    "NODATA" => LogStatus::NoData,
                    "SKIPDATA" => LogStatus::SkipData,
                    _ => return Err(at(SkipReason::BadLogStatus)),
                }
            }
            "flow-direction" => {
                rec.flow_direction = match tok {
                    "ingress" => Some(PacketDirection::Ingress),
                    "egress" => Some(PacketDirection::Egress),
                    "-" => None,
                    _ => return Err(at(SkipReason::BadDirection)),
                }
            }
            _ => {} // a column the parser does not read, or `-` where absence is fine
        }
    }
    match missing {
        Some(c) if rec.status == LogStatus::Ok => Err((SkipReason::MissingField, Some(c))),
        _ => Ok(rec),
    }
}

/// Checks one line against `expected` under the format `format`.
fn agrees(format: &str, line: &[u8]) -> Result<(), TestCaseError> {
    let names: Vec<&str> = format.split(' ').collect();
    let got = Parser::new(&Format::parse(format).unwrap()).parse(line);
    let got = got.map_err(|e: LineError| (e.reason, e.column));
    prop_assert_eq!(
        got,
        expected(&names, line),
        "{:?}",
        String::from_utf8_lossy(line)
    );
    Ok(())
}

fn v2() -> Parser {
    Parser::new(&Format::default_v2())
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any bytes: the reference reading's outcome (mostly a refusal, for
    /// the reason the line shows), under v2 and under a custom format.
    #[test]
    fn any_bytes_are_read_as_the_reference_reads_them(line in prop::collection::vec(any::<u8>(), 0..300)) {
        agrees(V2_FORMAT, &line)?;
        agrees(FD_FORMAT, &line)?;
    }

    /// About as many tokens as columns, each valid in some column and not
    /// in others: every column's rule, and which bad column is named.
    #[test]
    fn near_records_are_read_as_the_reference_reads_them(
        toks in prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec![
                    "2", "-", "eni-0a", "10.0.0.1", "::1", "fe80::1%eth0", "65536", "0", "255",
                    "256", "18446744073709551615", "18446744073709551616", "ACCEPT", "REJECT",
                    "OK", "NODATA", "SKIPDATA", "ingress", "", " ", "\r", "é", "1.2.3", "::ffff:1.2.3.4",
                ]),
                prop::sample::select(EDGE_TOKENS),
            ],
            10..16,
        ),
    ) {
        let line = toks.join(" ");
        agrees(V2_FORMAT, line.as_bytes())?;
        agrees(FD_FORMAT, line.as_bytes())?;
    }

    #[test]
    fn formatted_v2_records_roundtrip(
        eni in 0u64..(1 << 60),
        src in any::<u32>(),
        dst in any::<u128>(),
        sp in any::<u16>(),
        dp in any::<u16>(),
        proto in any::<u8>(),
        packets in any::<u64>(),
        bytes in any::<u64>(),
        start in any::<u64>(),
        end in any::<u64>(),
        accept in any::<bool>(),
        crlf in any::<bool>(),
        spaces in 1usize..3,
    ) {
        let src_ip = IpAddr::V4(src.into());
        let dst_ip = IpAddr::V6(dst.into());
        let fields = [
            "2".to_string(), "123456789010".into(), format!("eni-{eni:x}"), src_ip.to_string(),
            dst_ip.to_string(), sp.to_string(), dp.to_string(), proto.to_string(),
            packets.to_string(), bytes.to_string(), start.to_string(), end.to_string(),
            if accept { "ACCEPT" } else { "REJECT" }.into(), "OK".into(),
        ];
        let mut line = fields.join(&" ".repeat(spaces));
        if crlf {
            line.push('\r');
        }
        let r = v2().parse(line.as_bytes()).unwrap();
        prop_assert_eq!(r.interface, EniId::from_bytes(format!("eni-{eni:x}").as_bytes()));
        prop_assert_eq!(r.srcaddr.map(|a| a.to_ip_addr()), Some(src_ip));
        prop_assert_eq!(r.dstaddr.map(|a| a.to_ip_addr()), Some(dst_ip));
        prop_assert_eq!((r.srcport, r.dstport, r.protocol), (Some(sp), Some(dp), Some(proto)));
        prop_assert_eq!((r.packets, r.bytes, r.start, r.end), (packets, bytes, Some(start), Some(end)));
        prop_assert_eq!(r.action == flowscope::flowlog::Action::Accept, accept);
    }
}

/// Tokens that sit on the edges of what each column accepts.
const EDGE_TOKENS: &[&str] = &[
    "2",
    "-",
    "0",
    "00",
    "7",
    "255",
    "256",
    "65535",
    "65536",
    "12345678",
    "123456789",
    "1763596801",
    "9999999999999999",
    "99999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "+1",
    "-1",
    "1a",
    "1.5",
    "eni-0a1b2c3d4e5f60718",
    "eni-0",
    "eni-0123456789abcdef01",
    "eni-XYZ",
    "10.0.0.1",
    "255.255.255.255",
    "010.001.0.9",
    "256.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "1..2.3",
    ".1.2.3",
    "1.2.3.",
    "1.2.3.1000",
    "2600:1f18::1",
    "::ffff:10.0.0.1",
    "fe80::1%eth0",
    "ACCEPT",
    "REJECT",
    "ALLOW",
    "OK",
    "NODATA",
    "SKIPDATA",
    "FINE",
    "ingress",
    "egress",
    "",
    "\t",
    "é",
];

/// An IPv6 address in the forms a log may hold it, and near misses: as
/// std writes it (runs of zero groups as `::`), in upper or mixed case,
/// groups padded with leading zeros, fully expanded, with an IPv4 tail,
/// with a zone id, or with one byte replaced, inserted or removed. The
/// reference (`address`) reads it with std, so the fast paths must read
/// the valid forms and refuse the others as the general parser does.
fn ipv6_token() -> impl Strategy<Value = String> {
    (any::<u128>(), any::<u8>(), 0u8..9, any::<u64>()).prop_map(|(v, zeros, form, r)| {
        // Zero groups where `zeros` has a bit, so that `::` appears.
        let mut a = v;
        for g in 0..8 {
            if zeros >> g & 1 == 1 {
                a &= !(0xffff_u128 << (16 * g));
            }
        }
        let addr = Ipv6Addr::from(a);
        let text = addr.to_string();
        let pick = |i: u64| (r >> (i % 64)) & 1 == 1;
        match form {
            0 => text,
            1 => text.to_uppercase(),
            2 => text
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if pick(i as u64) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
            3 => text
                .split(':')
                .enumerate()
                .map(|(i, g)| {
                    if !g.is_empty() && pick(i as u64) {
                        format!("{g:0>4}")
                    } else {
                        g.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(":"),
            4 => addr
                .segments()
                .iter()
                .map(|g| format!("{g:04x}"))
                .collect::<Vec<_>>()
                .join(":"),
            5 => {
                let s = addr.segments();
                let o = addr.octets();
                format!(
                    "{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{}.{}.{}.{}",
                    s[0], s[1], s[2], s[3], s[4], s[5], o[12], o[13], o[14], o[15]
                )
            }
            6 => format!("{text}%eth{}", r % 3),
            _ => {
                let mut b = text.into_bytes();
                let at = (r % (b.len() as u64 + 1)) as usize;
                let c = b":g.0F %"[((r >> 8) % 7) as usize];
                match (r >> 16) % 3 {
                    0 if at < b.len() => b[at] = c,
                    1 => b.insert(at, c),
                    _ if at < b.len() => {
                        b.remove(at);
                    }
                    _ => b.push(c),
                }
                String::from_utf8(b).expect("ASCII")
            }
        }
    })
}

/// A v2 field for column `c`, usually valid, sometimes an edge token.
fn v2_field(c: usize) -> BoxedStrategy<String> {
    let valid: BoxedStrategy<String> = match c {
        2 => (0u64..(1 << 60))
            .prop_map(|e| format!("eni-{e:017x}"))
            .boxed(),
        3 | 4 => prop_oneof![
            any::<u32>().prop_map(|a| std::net::Ipv4Addr::from(a).to_string()),
            any::<u128>().prop_map(|a| std::net::Ipv6Addr::from(a).to_string()),
            ipv6_token(),
        ]
        .boxed(),
        5 | 6 => any::<u16>().prop_map(|p| p.to_string()).boxed(),
        7 => any::<u8>().prop_map(|p| p.to_string()).boxed(),
        8..=11 => prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            (0u64..100_000_000_000).prop_map(|n| n.to_string()),
        ]
        .boxed(),
        12 => prop::sample::select(vec!["ACCEPT", "REJECT", "-"])
            .prop_map(String::from)
            .boxed(),
        13 => prop::sample::select(vec!["OK", "NODATA", "SKIPDATA"])
            .prop_map(String::from)
            .boxed(),
        _ => (0u64..1_000_000_000_000)
            .prop_map(|n| n.to_string())
            .boxed(),
    };
    prop_oneof![
        6 => valid,
        1 => prop::sample::select(EDGE_TOKENS).prop_map(String::from),
    ]
    .boxed()
}

fn v2_line() -> impl Strategy<Value = String> {
    let fields: Vec<BoxedStrategy<String>> = (0..14).map(v2_field).collect();
    (
        fields,
        prop::sample::select(vec![" ", " ", " ", "  "]),
        0usize..16,
        0usize..4,
    )
        .prop_map(|(f, sep, drop, cr)| {
            let mut f = f;
            if drop < f.len() && drop % 3 == 0 {
                f.remove(drop); // a missing column now and then
            }
            let mut l = f.join(sep);
            // One CR is a CRLF line ending; a second must not be dropped too.
            l.push_str(&"\r".repeat(cr.saturating_sub(1)));
            l
        })
}

/// A line with the column widths of every record AWS writes today (the
/// fixed head and tail that `parse_v2` decodes at constant positions),
/// then up to three bytes replaced, inserted or removed, so that the
/// shape is sometimes almost, but not quite, the fixed one.
fn aws_shaped_line() -> impl Strategy<Value = String> {
    let addr = || {
        prop_oneof![
            4 => any::<u32>().prop_map(|a| std::net::Ipv4Addr::from(a).to_string()),
            1 => any::<u128>().prop_map(|a| std::net::Ipv6Addr::from(a).to_string()),
            2 => ipv6_token(),
        ]
    };
    let edit = (
        0usize..200,
        0u8..3,
        prop::sample::select(b" 09a-.:xE\t".to_vec()),
    );
    (
        (0u64..1_000_000_000_000, 0u64..(1 << 60), addr(), addr()),
        // Counts kept short enough for most lines to fit parse_v2's 128 bytes.
        (any::<u16>(), any::<u16>(), any::<u8>(), 0u32..100_000, 0u64..1_000_000_000),
        (1_000_000_000u64..10_000_000_000, 0u64..100, any::<bool>()),
        prop::collection::vec(edit, 0..4),
    )
        .prop_map(|((acct, eni, src, dst), (sp, dp, proto, pk, by), (start, len, ok), edits)| {
            let action = if ok { "ACCEPT" } else { "REJECT" };
            let mut l = format!(
                "2 {acct:012} eni-{eni:017x} {src} {dst} {sp} {dp} {proto} {pk} {by} {start} {} {action} OK",
                (start + len).min(9_999_999_999)
            )
            .into_bytes();
            for (at, kind, b) in edits {
                let at = at % (l.len() + 1);
                match kind {
                    0 if at < l.len() => l[at] = b,
                    1 => l.insert(at, b),
                    _ if at < l.len() => {
                        l.remove(at);
                    }
                    _ => {}
                }
            }
            String::from_utf8(l).expect("ASCII")
        })
}

proptest! {
    #![proptest_config(config(4000))]

    /// `parse_v2`'s lane for the fixed head and tail (`v2_layout`) and its
    /// fallback must agree with the general parser near that shape too.
    #[test]
    fn fast_path_agrees_on_aws_shaped_lines(line in aws_shaped_line()) {
        let p = v2();
        prop_assert_eq!(p.parse(line.as_bytes()), p.parse_general(line.as_bytes()), "{}", line);
        agrees(V2_FORMAT, line.as_bytes())?;
    }

    /// The fast path reads a fixed window from the line's start, past its
    /// end into the chunk's buffer (`Chunk::for_each_line_padded`): what
    /// lies there must not change the record.
    #[test]
    fn bytes_after_the_line_do_not_matter(
        line in prop_oneof![aws_shaped_line(), v2_line()],
        after in prop::collection::vec(prop::sample::select(b" 0123456789.-\nABCabc:".to_vec()), 0..300),
    ) {
        let p = v2();
        let mut padded = line.clone().into_bytes();
        padded.extend_from_slice(&after);
        let mut rec = FlowRecord::default();
        let got = p.parse_into(&padded[..line.len()], &padded, false, &mut rec).map(|()| rec);
        prop_assert_eq!(got, p.parse(line.as_bytes()), "{}", line);
    }

    /// The parser's fast path (flowlog/fast.rs) must agree with the
    /// general parser on every line: the same record, or the same error.
    #[test]
    fn fast_path_agrees_with_the_general_parser(line in v2_line()) {
        let p = v2();
        prop_assert_eq!(p.parse(line.as_bytes()), p.parse_general(line.as_bytes()), "{}", line);
        agrees(V2_FORMAT, line.as_bytes())?;
        agrees(FD_FORMAT, line.as_bytes())?;
        let custom = Parser::new(&Format::parse(FD_FORMAT).unwrap());
        prop_assert_eq!(custom.parse(line.as_bytes()), custom.parse_general(line.as_bytes()));
    }

    #[test]
    fn fast_path_agrees_on_any_bytes(line in prop::collection::vec(any::<u8>(), 0..300)) {
        let p = v2();
        prop_assert_eq!(p.parse(&line), p.parse_general(&line));
    }
}

/// The reference reading itself, on lines whose outcome is known: an AWS
/// record, a NODATA record, a bad port, a missing address.
#[test]
fn reference_reads_known_lines() {
    let names: Vec<&str> = V2_FORMAT.split(' ').collect();
    let rec = expected(
        &names,
        b"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.5 2600:1f18::1 443 49152 6 10 8400 1763596800 1763596860 ACCEPT OK\r",
    )
    .unwrap();
    assert_eq!(rec.srcaddr, Some(Ip::v4(0x0a00_0105)));
    assert_eq!(
        (rec.srcport, rec.dstport, rec.protocol),
        (Some(443), Some(49152), Some(6))
    );
    assert_eq!(
        (rec.packets, rec.bytes, rec.start),
        (10, 8400, Some(1763596800))
    );
    assert_eq!(rec.action, Action::Accept);
    let nodata = expected(&names, b"2 1 eni-0a - - - - - - - 1 2 - NODATA").unwrap();
    assert_eq!((nodata.status, nodata.srcaddr), (LogStatus::NoData, None));
    let bad_port = b"2 1 eni-0a 10.0.0.1 10.0.0.2 65536 443 6 1 10 1 2 ACCEPT OK";
    assert_eq!(
        expected(&names, bad_port).unwrap_err(),
        (SkipReason::BadPort, Some(5))
    );
    let missing = b"2 1 eni-0a - 10.0.0.2 1 443 6 1 10 1 2 ACCEPT OK";
    assert_eq!(
        expected(&names, missing).unwrap_err(),
        (SkipReason::MissingField, Some(3))
    );
}
