//! One Parquet column of a flow log, decoded a batch of rows at a time
//! with the `parquet` crate's column readers (no Arrow), and applied to the
//! batch's records column by column: each column's values are read once,
//! in order, into buffers reused from batch to batch.
//!
//! The rules are the text parser's (`flowlog::parse`), so that the same
//! logs give the same records whether they were delivered as text or as
//! Parquet: a null is what `-` is in text, and a value out of range is
//! skipped for the same reason.

use std::io::Write;

use parquet::basic::Type as PhysicalType;
use parquet::column::reader::ColumnReader;
use parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use parquet::errors::Result as PqResult;

use crate::flowlog::format::Field;
use crate::flowlog::parse::{epoch_seconds, parse_ip, parse_u64, SkipReason};
use crate::flowlog::record::{Action, AwsService, EniId, FlowRecord, LogStatus, PacketDirection};

/// What a column means to a `FlowRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Interface,
    Src,
    Dst,
    PktSrc,
    PktDst,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    TcpFlags,
    Action,
    Status,
    Direction,
    /// `flows` (flowscope's own field: `Field::Flows`).
    Flows,
    SrcService,
    DstService,
    /// Not interpreted: read only to render a record's line.
    Other,
}

impl Role {
    pub(super) fn of(field: &Field) -> Role {
        match field {
            Field::InterfaceId => Role::Interface,
            Field::SrcAddr => Role::Src,
            Field::DstAddr => Role::Dst,
            Field::PktSrcAddr => Role::PktSrc,
            Field::PktDstAddr => Role::PktDst,
            Field::SrcPort => Role::SrcPort,
            Field::DstPort => Role::DstPort,
            Field::Protocol => Role::Protocol,
            Field::Packets => Role::Packets,
            Field::Bytes => Role::Bytes,
            Field::Start => Role::Start,
            Field::End => Role::End,
            Field::TcpFlags => Role::TcpFlags,
            Field::Action => Role::Action,
            Field::LogStatus => Role::Status,
            Field::FlowDirection => Role::Direction,
            Field::Flows => Role::Flows,
            Field::PktSrcAwsService => Role::SrcService,
            Field::PktDstAwsService => Role::DstService,
            _ => Role::Other,
        }
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Role::SrcPort
                | Role::DstPort
                | Role::Protocol
                | Role::Packets
                | Role::Bytes
                | Role::Start
                | Role::End
                | Role::TcpFlags
                | Role::Flows
        )
    }

    /// Why a column of this physical type cannot hold this field, if it
    /// cannot: numbers are integers (AWS writes INT32 and INT64) or text,
    /// everything else interpreted is text. An uninterpreted column may be
    /// of any type.
    pub(super) fn check_type(self, t: PhysicalType) -> Result<(), &'static str> {
        match (self, t) {
            (Role::Other, _) => Ok(()),
            (r, PhysicalType::INT32 | PhysicalType::INT64 | PhysicalType::BYTE_ARRAY)
                if r.numeric() =>
            {
                Ok(())
            }
            (r, _) if r.numeric() => Err("an integer or a string"),
            (_, PhysicalType::BYTE_ARRAY) => Ok(()),
            _ => Err("a string"),
        }
    }
}

/// A batch of one column's values, as its physical type decodes them.
enum Data {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    I96(Vec<Int96>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Fixed(Vec<FixedLenByteArray>),
}

/// No value in this row (`Column::at`).
const NULL: u32 = u32::MAX;

/// The state of one row of a batch while its columns are applied: the
/// first column at fault (in the file's column order, as the text parser
/// reports the first bad token) and the first required column that is
/// null, which only counts against records whose status is OK.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RowState {
    pub bad: Option<(SkipReason, u16)>,
    pub missing: Option<u16>,
}

/// One projected column and its reader in the current row group.
pub(super) struct Column {
    pub role: Role,
    /// Index among the file's leaf columns.
    pub leaf: usize,
    /// Position in the projected format (the columns a record's line has).
    pub pos: u16,
    max_def: i16,
    defs: Vec<i16>,
    data: Data,
    /// Row of the batch -> index of its value in `data`, or `NULL`.
    at: Vec<u32>,
    reader: Option<ColumnReader>,
}

/// Calls `$body` with `$r` bound to the typed reader and `$v` to the
/// matching value buffer.
macro_rules! typed {
    ($reader:expr, $data:expr, |$r:ident, $v:ident| $body:expr) => {
        match ($reader, $data) {
            (ColumnReader::BoolColumnReader($r), Data::Bool($v)) => $body,
            (ColumnReader::Int32ColumnReader($r), Data::I32($v)) => $body,
            (ColumnReader::Int64ColumnReader($r), Data::I64($v)) => $body,
            (ColumnReader::Int96ColumnReader($r), Data::I96($v)) => $body,
            (ColumnReader::FloatColumnReader($r), Data::F32($v)) => $body,
            (ColumnReader::DoubleColumnReader($r), Data::F64($v)) => $body,
            (ColumnReader::ByteArrayColumnReader($r), Data::Bytes($v)) => $body,
            (ColumnReader::FixedLenByteArrayColumnReader($r), Data::Fixed($v)) => $body,
            _ => Err(parquet::errors::ParquetError::General(
                "column reader of another type than its schema".into(),
            )),
        }
    };
}

impl Column {
    pub(super) fn new(role: Role, leaf: usize, pos: u16, t: PhysicalType, max_def: i16) -> Column {
        let data = match t {
            PhysicalType::BOOLEAN => Data::Bool(Vec::new()),
            PhysicalType::INT32 => Data::I32(Vec::new()),
            PhysicalType::INT64 => Data::I64(Vec::new()),
            PhysicalType::INT96 => Data::I96(Vec::new()),
            PhysicalType::FLOAT => Data::F32(Vec::new()),
            PhysicalType::DOUBLE => Data::F64(Vec::new()),
            PhysicalType::BYTE_ARRAY => Data::Bytes(Vec::new()),
            PhysicalType::FIXED_LEN_BYTE_ARRAY => Data::Fixed(Vec::new()),
        };
        Column {
            role,
            leaf,
            pos,
            max_def,
            defs: Vec::new(),
            data,
            at: Vec::new(),
            reader: None,
        }
    }

    /// Starts a row group: reads from `reader` from now on.
    pub(super) fn start(&mut self, reader: ColumnReader) {
        self.reader = Some(reader);
    }

    /// Decodes the next `rows` rows (fewer only where the column chunk
    /// ends early, which the caller reports as damage). Returns the rows read.
    pub(super) fn read(&mut self, rows: usize) -> PqResult<usize> {
        self.defs.clear();
        self.at.clear();
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        let defs = (self.max_def > 0).then_some(&mut self.defs);
        let (n, _, _) = typed!(reader, &mut self.data, |r, v| {
            v.clear();
            r.read_records(rows, defs, None, v)
        })?;
        if self.max_def == 0 {
            self.at.extend(0..n as u32);
        } else {
            let mut k = 0;
            for &d in &self.defs[..n] {
                if d == self.max_def {
                    self.at.push(k);
                    k += 1;
                } else {
                    self.at.push(NULL);
                }
            }
        }
        Ok(n)
    }

    /// The row's value as a number: `None` for a null (or `-` in a text
    /// column), an error for a negative or non-numeric value.
    #[inline]
    fn number(&self, row: usize) -> Option<Result<u64, SkipReason>> {
        let i = self.at[row];
        if i == NULL {
            return None;
        }
        let i = i as usize;
        let signed = match &self.data {
            Data::I32(v) => v[i] as i64,
            Data::I64(v) => v[i],
            Data::Bytes(v) => {
                return match v[i].data() {
                    b"-" => None,
                    t => Some(parse_u64(t).ok_or(SkipReason::BadNumber)),
                }
            }
            _ => return Some(Err(SkipReason::BadNumber)),
        };
        Some(u64::try_from(signed).map_err(|_| SkipReason::BadNumber))
    }

    /// The row's text: `None` for a null or `-`.
    #[inline]
    fn text(&self, row: usize) -> Option<&[u8]> {
        let i = self.at[row];
        match &self.data {
            Data::Bytes(v) if i != NULL => Some(v[i as usize].data()).filter(|t| *t != b"-"),
            _ => None,
        }
    }

    /// Applies this column to the batch's records.
    pub(super) fn apply(&self, recs: &mut [FlowRecord], state: &mut [RowState]) {
        let pos = self.pos;
        let rows = recs.iter_mut().zip(state.iter_mut()).enumerate();
        if self.role.numeric() {
            for (row, (rec, st)) in rows {
                match self.number(row) {
                    None if self.role == Role::Protocol => {
                        st.missing.get_or_insert(pos);
                    }
                    // A pre-aggregated row standing for an unknown count.
                    None if self.role == Role::Flows => {
                        st.bad.get_or_insert((SkipReason::BadNumber, pos));
                    }
                    None => {}
                    Some(n) => {
                        if let Err(reason) = n.and_then(|n| set_number(rec, self.role, n)) {
                            st.bad.get_or_insert((reason, pos));
                        }
                    }
                }
            }
            return;
        }
        for (row, (rec, st)) in rows {
            let text = self.text(row);
            let outcome = match self.role {
                Role::Interface => {
                    rec.interface = text.map_or(EniId::NONE, EniId::from_bytes);
                    Ok(())
                }
                Role::Src | Role::Dst | Role::PktSrc | Role::PktDst => match text {
                    None if matches!(self.role, Role::Src | Role::Dst) => {
                        st.missing.get_or_insert(pos);
                        Ok(())
                    }
                    None => Ok(()),
                    Some(t) => parse_ip(t).ok_or(SkipReason::BadAddress).map(|ip| {
                        let slot = match self.role {
                            Role::Src => &mut rec.srcaddr,
                            Role::Dst => &mut rec.dstaddr,
                            Role::PktSrc => &mut rec.pkt_srcaddr,
                            _ => &mut rec.pkt_dstaddr,
                        };
                        *slot = Some(ip);
                    }),
                },
                Role::Action => match text {
                    None => Ok(Action::Unknown),
                    Some(b"ACCEPT") => Ok(Action::Accept),
                    Some(b"REJECT") => Ok(Action::Reject),
                    Some(_) => Err(SkipReason::BadAction),
                }
                .map(|a| rec.action = a),
                Role::Status => match text {
                    Some(b"OK") => Ok(LogStatus::Ok),
                    Some(b"NODATA") => Ok(LogStatus::NoData),
                    Some(b"SKIPDATA") => Ok(LogStatus::SkipData),
                    // As `-` in text: not a status.
                    _ => Err(SkipReason::BadLogStatus),
                }
                .map(|s| rec.status = s),
                Role::Direction => match text {
                    None => Ok(None),
                    Some(b"ingress") => Ok(Some(PacketDirection::Ingress)),
                    Some(b"egress") => Ok(Some(PacketDirection::Egress)),
                    Some(_) => Err(SkipReason::BadDirection),
                }
                .map(|d| rec.flow_direction = d),
                Role::SrcService => {
                    rec.pkt_src_aws_service = text.map_or(AwsService::NONE, AwsService::from_bytes);
                    Ok(())
                }
                Role::DstService => {
                    rec.pkt_dst_aws_service = text.map_or(AwsService::NONE, AwsService::from_bytes);
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(reason) = outcome {
                st.bad.get_or_insert((reason, pos));
            }
        }
    }

    /// Appends the row's value as the text log would show it: `-` for a
    /// null, numbers in decimal. (A string with a space, which no flow-log
    /// field holds, would read as two columns: shown with `_`.)
    pub(super) fn render(&self, row: usize, out: &mut Vec<u8>) {
        let i = self.at[row];
        if i == NULL {
            out.push(b'-');
            return;
        }
        let i = i as usize;
        match &self.data {
            Data::I32(v) => push_int(out, v[i] as i64),
            Data::I64(v) => push_int(out, v[i]),
            Data::Bytes(v) => text_token(v[i].data(), out),
            Data::Fixed(v) => text_token(v[i].data(), out),
            Data::Bool(v) => out.extend_from_slice(if v[i] { b"true" } else { b"false" }),
            Data::F32(v) => {
                let _ = write!(out, "{}", v[i]);
            }
            Data::F64(v) => {
                let _ = write!(out, "{}", v[i]);
            }
            // Timestamps of old writers: not a flow-log type; shown absent.
            Data::I96(_) => out.push(b'-'),
        }
    }

    /// The row's value for a message: as `render` shows it.
    pub(super) fn shown(&self, row: usize) -> String {
        let mut out = Vec::new();
        self.render(row, &mut out);
        let s = String::from_utf8_lossy(&out);
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s.into_owned()
        }
    }
}

/// Appends `n` in decimal. (`write!` through `fmt` cost about twice as
/// much, and `query` renders every record's line.)
#[inline]
fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// A string value as one token of a line.
fn text_token(t: &[u8], out: &mut Vec<u8>) {
    if t.is_empty() {
        out.push(b'-');
        return;
    }
    let start = out.len();
    out.extend_from_slice(t);
    for b in &mut out[start..] {
        if matches!(*b, b' ' | b'\n' | b'\r') {
            *b = b'_';
        }
    }
}

/// Stores a number in a record, checking its range as the text parser
/// does (`Parser::number`).
#[inline]
fn set_number(rec: &mut FlowRecord, role: Role, n: u64) -> Result<(), SkipReason> {
    match role {
        Role::SrcPort => rec.srcport = Some(u16::try_from(n).map_err(|_| SkipReason::BadPort)?),
        Role::DstPort => rec.dstport = Some(u16::try_from(n).map_err(|_| SkipReason::BadPort)?),
        Role::Protocol => {
            rec.protocol = Some(u8::try_from(n).map_err(|_| SkipReason::BadProtocol)?)
        }
        Role::Packets => rec.packets = n,
        Role::Bytes => rec.bytes = n,
        Role::Flows if n == 0 => return Err(SkipReason::BadNumber),
        Role::Flows => rec.flows = n,
        Role::Start => rec.start = Some(epoch_seconds(n)),
        Role::End => rec.end = Some(epoch_seconds(n)),
        Role::TcpFlags => {
            rec.tcp_flags = Some(u16::try_from(n).map_err(|_| SkipReason::BadNumber)?)
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_render_as_fmt_does() {
        for n in [
            0,
            7,
            -7,
            10,
            1_763_596_800,
            -1,
            i64::MAX,
            i64::MIN,
            i32::MIN as i64,
        ] {
            let mut out = b"x".to_vec();
            push_int(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }
}
