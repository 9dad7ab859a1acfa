//! Line → `FlowRecord`, on bytes, without allocation.
//!
//! The `Parser` is built once per format. Each line takes the fastest
//! path that applies, and falls back to the next:
//!
//! * `v2`: the default format's 14 columns in straight-line code, from
//!   the line's window of bytes and its masks (`flowlog::window`);
//! * `fast`: any column list, branch-light, for well-formed ASCII lines;
//! * the general parser here, which walks the line token by token (split
//!   eight bytes at a time, `scalar::token_end`) and alone reports errors.
//!
//! Dependencies run one way: this module → `v2` → `fast` → the leaves
//! (`cols`, `scalar`, `digits`, `ipv4`, `ipv6`, `flowlog::window`,
//! `crate::simd`).

mod cols;
mod digits;
mod fast;
mod ipv4;
mod ipv6;
mod scalar;
mod tgw;
mod v2;

use self::cols::Col;
pub(crate) use self::scalar::parse_ip;
use self::scalar::token_end;
pub use self::scalar::{epoch_seconds, parse_u64};
pub(crate) use self::tgw::TgwColumns;
use super::format::{Field, Format};
use super::record::{Action, AwsService, EniId, FlowRecord, LogStatus, PacketDirection};
use super::window::Window;

/// Why a line was not used. The names (`as_str`) are part of the JSON
/// output contract: `input.skipped` maps them to counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    EmptyLine,
    FieldCount,
    BadNumber,
    BadAddress,
    BadPort,
    BadProtocol,
    BadAction,
    BadLogStatus,
    BadDirection,
    MissingField,
    InvalidUtf8,
    LineTooLong,
    /// The unterminated last piece of a line where the input broke off
    /// (damaged gzip, read error): never parsed, since a cut number would
    /// still look valid.
    Truncated,
    /// Under a header line that cannot be used (a field named twice):
    /// which column is which is unknown.
    BadHeader,
}

impl SkipReason {
    pub const ALL: [SkipReason; 14] = [
        SkipReason::EmptyLine,
        SkipReason::FieldCount,
        SkipReason::BadNumber,
        SkipReason::BadAddress,
        SkipReason::BadPort,
        SkipReason::BadProtocol,
        SkipReason::BadAction,
        SkipReason::BadLogStatus,
        SkipReason::BadDirection,
        SkipReason::MissingField,
        SkipReason::InvalidUtf8,
        SkipReason::LineTooLong,
        SkipReason::Truncated,
        SkipReason::BadHeader,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::EmptyLine => "empty_line",
            SkipReason::FieldCount => "field_count",
            SkipReason::BadNumber => "bad_number",
            SkipReason::BadAddress => "bad_address",
            SkipReason::BadPort => "bad_port",
            SkipReason::BadProtocol => "bad_protocol",
            SkipReason::BadAction => "bad_action",
            SkipReason::BadLogStatus => "bad_log_status",
            SkipReason::BadDirection => "bad_flow_direction",
            SkipReason::MissingField => "missing_field",
            SkipReason::InvalidUtf8 => "invalid_utf8",
            SkipReason::LineTooLong => "line_too_long",
            SkipReason::Truncated => "truncated_line",
            SkipReason::BadHeader => "bad_header",
        }
    }

    /// Index into count arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A rejected line: the reason and, where one column is at fault, which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError {
    pub reason: SkipReason,
    /// Column index at fault (None for whole-line problems).
    pub column: Option<usize>,
    /// Columns found (for field-count errors).
    pub found: usize,
}

impl LineError {
    fn line(reason: SkipReason, found: usize) -> LineError {
        LineError {
            reason,
            column: None,
            found,
        }
    }
}

/// Parser for one format.
#[derive(Debug, Clone)]
pub struct Parser {
    cols: Vec<Col>,
    has_status: bool,
    /// The columns are the default format's: `v2::parse_v2` applies.
    v2: bool,
    /// A Transit Gateway format's own columns (`tgw`), read after the
    /// shared ones; `None` for every VPC format.
    tgw: Option<Box<TgwColumns>>,
}

/// Lines longer than this are skipped unread (`line_too_long`): a real
/// record is under 2 KiB even with every v7 ECS ARN.
pub const MAX_LINE: usize = 64 * 1024;

impl Parser {
    pub fn new(format: &Format) -> Parser {
        // An unusable header's format gets no columns: every line under
        // it then fails (`field_count`, which the engine reports as
        // `bad_header`), with no check added to the parser's path.
        let usable = if format.problem().is_some() {
            &[][..]
        } else {
            format.columns()
        };
        let cols: Vec<Col> = usable
            .iter()
            .map(|f| match f {
                Field::InterfaceId => Col::Interface,
                Field::SrcAddr => Col::Src,
                Field::DstAddr => Col::Dst,
                Field::SrcPort => Col::SrcPort,
                Field::DstPort => Col::DstPort,
                Field::Protocol => Col::Protocol,
                Field::Packets => Col::Packets,
                Field::Bytes => Col::Bytes,
                Field::Start => Col::Start,
                Field::End => Col::End,
                Field::Action => Col::Action,
                Field::LogStatus => Col::Status,
                Field::TcpFlags => Col::TcpFlags,
                Field::FlowDirection => Col::Direction,
                Field::PktSrcAddr => Col::PktSrc,
                Field::PktDstAddr => Col::PktDst,
                Field::Flows => Col::Flows,
                Field::PktSrcAwsService => Col::SrcService,
                Field::PktDstAwsService => Col::DstService,
                _ => Col::Skip,
            })
            .collect();
        let has_status = cols.contains(&Col::Status);
        let v2 = cols == cols::V2;
        Parser {
            cols,
            has_status,
            v2,
            tgw: TgwColumns::of(format).filter(|_| format.problem().is_none()),
        }
    }

    /// Number of columns expected.
    pub fn columns(&self) -> usize {
        self.cols.len()
    }

    /// Parses one line (without its `\n`; a trailing `\r` is ignored).
    /// Repeated spaces are tolerated. NODATA/SKIPDATA records come back
    /// with their status and whatever fields they carry.
    #[inline]
    pub fn parse(&self, line: &[u8]) -> Result<FlowRecord, LineError> {
        self.parse_with(line, false)
    }

    /// `parse`, for a caller that already knows the line is ASCII (the
    /// engine checks each ~1 MiB chunk once with SIMD). Checking every
    /// ~110-byte line instead ran SSE2 over one 64-byte block and then a
    /// byte loop over the tail: about 4% of a single-thread run.
    #[inline]
    pub fn parse_with(&self, line: &[u8], known_ascii: bool) -> Result<FlowRecord, LineError> {
        let mut rec = FlowRecord::default();
        self.parse_into(line, line, known_ascii, &mut rec)
            .map(|()| rec)
    }

    /// `parse_with` into the caller's record, which is overwritten whole
    /// (and left unspecified on an error). The engine reuses one record
    /// for a chunk: returning the ~220-byte record by value moved it twice
    /// per line (through `Option` and `Result`), 4% of the instructions.
    ///
    /// `padded` starts with `line` and may go on past it in the same
    /// buffer (`Chunk::for_each_line_padded`), with any bytes; where it
    /// holds `window::WINDOW` bytes, the fast path reads the line there
    /// instead of copying it (pass `line` itself where there is nothing
    /// after it).
    #[inline(always)]
    pub fn parse_into(
        &self,
        line: &[u8],
        padded: &[u8],
        known_ascii: bool,
        rec: &mut FlowRecord,
    ) -> Result<(), LineError> {
        debug_assert!(padded.as_ptr() == line.as_ptr() && padded.len() >= line.len());
        // SAFETY: without `V3` nothing is required.
        unsafe {
            let window = Window::at::<false>(padded);
            self.parse_into_for::<false>(line, window, known_ascii, rec)
        }
    }

    /// `parse_into` with the window at the line's start already taken
    /// (`Window::at`, by the chunk loop, which finds the line's end in
    /// it), also for code compiled for x86-64-v3 CPUs (the engine's
    /// `chunk_v3`), where `V3` lets the fast path inline the SSSE3 address
    /// decoder instead of calling it through its run-time check.
    ///
    /// # Safety
    /// With `V3`, the CPU must be x86-64-v3 (`crate::simd::x86_64_v3`),
    /// and the caller compiled for it. Without, nothing is required.
    #[inline(always)]
    pub(crate) unsafe fn parse_into_for<const V3: bool>(
        &self,
        line: &[u8],
        window: Option<Window<'_>>,
        known_ascii: bool,
        rec: &mut FlowRecord,
    ) -> Result<(), LineError> {
        let (line, ascii) = checked(line, known_ascii)?;
        if ascii {
            if self.v2 {
                if v2::parse_v2::<V3>(line, window, rec).is_some() {
                    return Ok(());
                }
            } else if let Some(r) = fast::parse(&self.cols, line) {
                *rec = r;
                return self.tgw(line, rec);
            }
        }
        *rec = self.general(line)?;
        self.tgw(line, rec)
    }

    /// A Transit Gateway record's own columns (never reached by the
    /// default format's records, which return above).
    #[inline(always)]
    fn tgw(&self, line: &[u8], rec: &mut FlowRecord) -> Result<(), LineError> {
        match &self.tgw {
            None => Ok(()),
            Some(t) => t.apply(line, rec),
        }
    }

    /// The general parser alone, without the fast paths (`v2`, `fast`): the
    /// one that reports errors. Public for the differential tests.
    #[doc(hidden)]
    pub fn parse_general(&self, line: &[u8]) -> Result<FlowRecord, LineError> {
        let line = checked(line, false)?.0;
        let mut rec = self.general(line)?;
        self.tgw(line, &mut rec)?;
        Ok(rec)
    }

    /// The general parser on a line that passed `checked`.
    fn general(&self, line: &[u8]) -> Result<FlowRecord, LineError> {
        let mut rec = FlowRecord::default();
        let mut col = 0usize;
        let mut pos = 0usize;
        let ncols = self.cols.len();
        let mut missing: Option<usize> = None;
        let mut bad: Option<LineError> = None;
        let len = line.len();
        loop {
            // Repeated spaces are tolerated: skip to the token's start.
            while pos < len && line[pos] == b' ' {
                pos += 1;
            }
            if pos == len {
                break;
            }
            // Numeric columns (8 of 14 in v2): read the digits while
            // looking for the token's end instead of finding the end first
            // and parsing the token again. Anything but 1 to 19 digits
            // followed by a space or the end (`-`, a sign, 20+ digits)
            // takes the general path below, so errors are unchanged.
            if bad.is_none() && col < ncols && Self::is_numeric(self.cols[col]) {
                let mut v = 0u64;
                let mut i = pos;
                while i < len {
                    let d = line[i].wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    v = v.wrapping_mul(10).wrapping_add(d as u64);
                    i += 1;
                }
                let digits = i - pos;
                if digits > 0 && digits < 20 && (i == len || line[i] == b' ') {
                    if let Err(reason) = Self::number(&mut rec, self.cols[col], v) {
                        bad = Some(LineError {
                            reason,
                            column: Some(col),
                            found: 0,
                        });
                    }
                    pos = i;
                    col += 1;
                    continue;
                }
            }
            let end = token_end(line, pos);
            let tok = &line[pos..end];
            pos = end;
            if col >= ncols {
                col += 1;
                continue;
            }
            if bad.is_none() {
                if let Err(reason) = self.field(&mut rec, self.cols[col], tok) {
                    if reason == SkipReason::MissingField {
                        missing.get_or_insert(col);
                    } else {
                        bad = Some(LineError {
                            reason,
                            column: Some(col),
                            found: 0,
                        });
                    }
                }
            }
            col += 1;
        }
        if col != ncols {
            return Err(LineError::line(SkipReason::FieldCount, col));
        }
        if let Some(mut e) = bad {
            e.found = col;
            return Err(e);
        }
        if !self.has_status || rec.status == LogStatus::Ok {
            if let Some(c) = missing {
                return Err(LineError {
                    reason: SkipReason::MissingField,
                    column: Some(c),
                    found: col,
                });
            }
        }
        Ok(rec)
    }

    /// Parses one column into the record. `-` is absent; for the fields a
    /// data record needs (addresses, protocol) absence is `MissingField`,
    /// which only counts against records whose log-status is OK.
    #[inline(always)]
    fn field(&self, rec: &mut FlowRecord, col: Col, tok: &[u8]) -> Result<(), SkipReason> {
        let dash = tok == b"-";
        match col {
            Col::Skip => {}
            Col::Interface => {
                if !dash {
                    rec.interface = EniId::from_bytes(tok);
                }
            }
            Col::Src | Col::Dst | Col::PktSrc | Col::PktDst => {
                if dash {
                    if matches!(col, Col::Src | Col::Dst) {
                        return Err(SkipReason::MissingField);
                    }
                    return Ok(());
                }
                let ip = parse_ip(tok).ok_or(SkipReason::BadAddress)?;
                match col {
                    Col::Src => rec.srcaddr = Some(ip),
                    Col::Dst => rec.dstaddr = Some(ip),
                    Col::PktSrc => rec.pkt_srcaddr = Some(ip),
                    _ => rec.pkt_dstaddr = Some(ip),
                }
            }
            Col::SrcPort
            | Col::DstPort
            | Col::Packets
            | Col::Bytes
            | Col::Start
            | Col::End
            | Col::TcpFlags
            | Col::Flows => {
                if dash && col == Col::Flows {
                    // A line that stands for an unknown number of records.
                    return Err(SkipReason::BadNumber);
                }
                if !dash {
                    let n = parse_u64(tok).ok_or(SkipReason::BadNumber)?;
                    Self::number(rec, col, n)?;
                }
            }
            Col::Protocol => {
                if dash {
                    return Err(SkipReason::MissingField);
                }
                let n = parse_u64(tok).ok_or(SkipReason::BadNumber)?;
                Self::number(rec, col, n)?;
            }
            Col::Action => {
                rec.action = match tok {
                    b"ACCEPT" => Action::Accept,
                    b"REJECT" => Action::Reject,
                    b"-" => Action::Unknown,
                    _ => return Err(SkipReason::BadAction),
                }
            }
            Col::Status => {
                rec.status = match tok {
                    b"OK" => LogStatus::Ok,
                    b"NODATA" => LogStatus::NoData,
                    b"SKIPDATA" => LogStatus::SkipData,
                    _ => return Err(SkipReason::BadLogStatus),
                }
            }
            Col::Direction => {
                rec.flow_direction = match tok {
                    b"ingress" => Some(PacketDirection::Ingress),
                    b"egress" => Some(PacketDirection::Egress),
                    b"-" => None,
                    _ => return Err(SkipReason::BadDirection),
                }
            }
            Col::SrcService => rec.pkt_src_aws_service = AwsService::from_bytes(tok),
            Col::DstService => rec.pkt_dst_aws_service = AwsService::from_bytes(tok),
        }
        Ok(())
    }
}

impl Parser {
    /// True for the columns that hold a decimal number.
    #[inline(always)]
    fn is_numeric(col: Col) -> bool {
        matches!(
            col,
            Col::SrcPort
                | Col::DstPort
                | Col::Protocol
                | Col::Packets
                | Col::Bytes
                | Col::Start
                | Col::End
                | Col::TcpFlags
                | Col::Flows
        )
    }

    /// Stores a parsed number in a numeric column, checking its range.
    #[inline(always)]
    fn number(rec: &mut FlowRecord, col: Col, n: u64) -> Result<(), SkipReason> {
        match col {
            Col::SrcPort => rec.srcport = Some(u16::try_from(n).map_err(|_| SkipReason::BadPort)?),
            Col::DstPort => rec.dstport = Some(u16::try_from(n).map_err(|_| SkipReason::BadPort)?),
            Col::Protocol => {
                rec.protocol = Some(u8::try_from(n).map_err(|_| SkipReason::BadProtocol)?)
            }
            Col::Packets => rec.packets = n,
            Col::Bytes => rec.bytes = n,
            Col::Start => rec.start = Some(epoch_seconds(n)),
            Col::End => rec.end = Some(epoch_seconds(n)),
            Col::TcpFlags => {
                rec.tcp_flags = Some(u16::try_from(n).map_err(|_| SkipReason::BadNumber)?)
            }
            // A line standing for no record is no pre-aggregate's.
            Col::Flows if n == 0 => return Err(SkipReason::BadNumber),
            Col::Flows => rec.flows = n,
            _ => {}
        }
        Ok(())
    }
}

/// The whole-line checks both paths share: strips one trailing `\r`, and
/// rejects empty, overlong and invalid UTF-8 lines. Returns the line and
/// whether it is ASCII (the fast path's precondition).
#[inline]
fn checked(line: &[u8], known_ascii: bool) -> Result<(&[u8], bool), LineError> {
    let line = match line {
        [rest @ .., b'\r'] => rest,
        l => l,
    };
    if line.is_empty() {
        return Err(LineError::line(SkipReason::EmptyLine, 0));
    }
    if line.len() > MAX_LINE {
        return Err(LineError::line(SkipReason::LineTooLong, 0));
    }
    let ascii = known_ascii || line.is_ascii();
    if !ascii && std::str::from_utf8(line).is_err() {
        return Err(LineError::line(SkipReason::InvalidUtf8, 0));
    }
    Ok((line, ascii))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Format;

    fn v2() -> Parser {
        Parser::new(&Format::default_v2())
    }

    #[test]
    fn parses_a_default_record() {
        let r = v2()
            .parse(b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
            .unwrap();
        assert_eq!(r.interface.packed_text().unwrap(), "eni-1235b8ca123456789");
        assert_eq!(r.srcaddr.unwrap().to_string(), "172.31.16.139");
        assert_eq!(
            (r.srcport, r.dstport, r.protocol),
            (Some(20641), Some(22), Some(6))
        );
        assert_eq!((r.packets, r.bytes), (20, 4249));
        assert_eq!((r.start, r.end), (Some(1418530010), Some(1418530070)));
        assert_eq!(r.action, Action::Accept);
        assert_eq!(r.status, LogStatus::Ok);
    }

    #[test]
    fn nodata_and_skipdata() {
        let p = v2();
        let r = p
            .parse(b"2 123456789010 eni-1a2b3c4d - - - - - - - 1431280876 1431280934 - NODATA")
            .unwrap();
        assert_eq!(r.status, LogStatus::NoData);
        assert_eq!(r.srcaddr, None);
        let r = p
            .parse(b"2 123456789010 eni-4b118871 - - - - - - - 1431280876 1431280934 - SKIPDATA")
            .unwrap();
        assert_eq!(r.status, LogStatus::SkipData);
    }

    #[test]
    fn dash_address_in_ok_record_is_missing_field() {
        let e = v2()
            .parse(b"2 1 eni-1 - 10.0.0.1 1 2 6 1 1 1 2 ACCEPT OK")
            .unwrap_err();
        assert_eq!(e.reason, SkipReason::MissingField);
        assert_eq!(e.column, Some(3));
    }

    #[test]
    fn ipv6_and_crlf() {
        let r = v2()
            .parse(b"2 1 eni-1 2001:db8::1 2600:1f18::5 443 50000 6 3 300 1 2 ACCEPT OK\r")
            .unwrap();
        assert_eq!(r.srcaddr.unwrap().to_string(), "2001:db8::1");
        assert!(!r.dstaddr.unwrap().is_v4());
    }

    #[test]
    fn errors_name_the_reason_and_column() {
        let p = v2();
        let cases: &[(&[u8], SkipReason, Option<usize>)] = &[
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT",
                SkipReason::FieldCount,
                None,
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK extra",
                SkipReason::FieldCount,
                None,
            ),
            (
                b"2 1 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                SkipReason::BadAddress,
                Some(3),
            ),
            (
                b"2 1 eni-1 fe80::1%eth0 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                SkipReason::BadAddress,
                Some(3),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 70000 2 6 1 1 1 2 ACCEPT OK",
                SkipReason::BadPort,
                Some(5),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 256 1 1 1 2 ACCEPT OK",
                SkipReason::BadProtocol,
                Some(7),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 99999999999999999999 1 1 2 ACCEPT OK",
                SkipReason::BadNumber,
                Some(8),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1x 1 1 2 ACCEPT OK",
                SkipReason::BadNumber,
                Some(8),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ALLOW OK",
                SkipReason::BadAction,
                Some(12),
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT FINE",
                SkipReason::BadLogStatus,
                Some(13),
            ),
            (
                b"2 1 eni-\xff 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK",
                SkipReason::InvalidUtf8,
                None,
            ),
            (
                b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK\r\r",
                SkipReason::BadLogStatus,
                Some(13),
            ),
            (b"", SkipReason::EmptyLine, None),
            (b"\r", SkipReason::EmptyLine, None),
        ];
        for (line, reason, col) in cases {
            let e = p.parse(line).unwrap_err();
            assert_eq!(
                (e.reason, e.column),
                (*reason, *col),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn number_fast_path_matches_the_general_path() {
        // 19 digits take the fused path, 20 the general one; repeated
        // spaces and a tab inside a token behave as before.
        let p = v2();
        let r = p
            .parse(b"2  1 eni-1 10.0.0.1   10.0.0.2 1 2 6 9999999999999999999 18446744073709551615 1 2 ACCEPT OK")
            .unwrap();
        assert_eq!((r.packets, r.bytes), (9_999_999_999_999_999_999, u64::MAX));
        let e = p
            .parse(b"2 1 eni-1 10.0.0.1 10.0.0.2 1\t 2 6 1 1 1 2 ACCEPT OK")
            .unwrap_err();
        assert_eq!((e.reason, e.column), (SkipReason::BadNumber, Some(5)));
        // The first bad column is reported, whichever path read it.
        let e = p
            .parse(b"2 1 eni-1 10.0.0.1 10.0.0.2 70000 2 300 1 1 1 2 ACCEPT OK")
            .unwrap_err();
        assert_eq!((e.reason, e.column), (SkipReason::BadPort, Some(5)));
        let e = p
            .parse(b"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 +1 1 1 2 ACCEPT OK")
            .unwrap_err();
        assert_eq!((e.reason, e.column), (SkipReason::BadNumber, Some(8)));
    }

    #[test]
    fn custom_column_order() {
        let f = Format::parse("account-id bytes dstaddr dstport end instance-id packets pkt-dstaddr pkt-srcaddr protocol srcaddr srcport start subnet-id tcp-flags type version vpc-id").unwrap();
        let r = Parser::new(&f)
            .parse(b"000000000000 6392 172.18.160.93 47460 1568300425 i-06f9249b 10 172.18.160.93 192.168.0.1 6 172.18.160.68 443 1568300367 subnet-089e7569 19 IPv4 3 vpc-0461a061")
            .unwrap();
        assert_eq!(r.srcaddr.unwrap().to_string(), "172.18.160.68");
        assert_eq!(r.srcport, Some(443));
        assert_eq!(r.bytes, 6392);
        assert_eq!(r.tcp_flags, Some(19));
        assert_eq!(r.pkt_srcaddr.unwrap().to_string(), "192.168.0.1");
        assert_eq!(r.interface, EniId::NONE);
        assert_eq!(r.action, Action::Unknown);
    }
}
