//! Flow-log record formats (default v2 and two custom formats) and the line writer.

use super::topology::{AddrId, Topology, ACCOUNT_ID, REGION, VPC_ID};

/// The flow-log fields, named in `flowlog::format`'s one table.
pub use crate::flowlog::format::Field;

/// Record format of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    /// AWS default format (v2 fields in table order).
    V2,
    /// Custom format with v3 fields, non-default column order.
    V3,
    /// Custom format with v3, v4 and v5 fields, non-default column order.
    V5,
}

const V2_FIELDS: &[Field] = &crate::flowlog::format::V2_FIELDS;

const V3_FIELDS: &[Field] = {
    use Field::*;
    &[
        Version,
        VpcId,
        SubnetId,
        InstanceId,
        InterfaceId,
        AccountId,
        Type,
        SrcAddr,
        DstAddr,
        SrcPort,
        DstPort,
        PktSrcAddr,
        PktDstAddr,
        Protocol,
        Bytes,
        Packets,
        Start,
        End,
        Action,
        TcpFlags,
        LogStatus,
    ]
};

const V5_FIELDS: &[Field] = {
    use Field::*;
    &[
        Version,
        AccountId,
        VpcId,
        SubnetId,
        InterfaceId,
        InstanceId,
        FlowDirection,
        Type,
        SrcAddr,
        DstAddr,
        SrcPort,
        DstPort,
        PktSrcAddr,
        PktDstAddr,
        Protocol,
        TcpFlags,
        Packets,
        Bytes,
        Start,
        End,
        Action,
        LogStatus,
        Region,
        AzId,
        PktSrcAwsService,
        PktDstAwsService,
        TrafficPath,
    ]
};

impl FormatKind {
    pub fn fields(self) -> &'static [Field] {
        match self {
            FormatKind::V2 => V2_FIELDS,
            FormatKind::V3 => V3_FIELDS,
            FormatKind::V5 => V5_FIELDS,
        }
    }
    pub fn version(self) -> u8 {
        match self {
            FormatKind::V2 => 2,
            FormatKind::V3 => 3,
            FormatKind::V5 => 5,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::V2 => "v2",
            FormatKind::V3 => "v3",
            FormatKind::V5 => "v5",
        }
    }
    /// Header line (without newline): hyphenated field names separated by spaces.
    pub fn header(self) -> String {
        self.fields()
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// The `--log-format` string of the flow log.
    pub fn log_format(self) -> String {
        self.fields()
            .iter()
            .map(|f| format!("${{{}}}", f.name()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    NoData,
    SkipData,
}

/// One flow-log record on one ENI (internal representation).
#[derive(Debug, Clone, Copy)]
pub struct Rec {
    pub eni: u16,
    pub status: Status,
    pub src: AddrId,
    pub dst: AddrId,
    pub pkt_src: AddrId,
    pub pkt_dst: AddrId,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub packets: u64,
    pub bytes: u64,
    pub start: u64,
    pub end: u64,
    pub accept: bool,
    pub flags: u8,
    /// Packet arrives at the ENI.
    pub ingress: bool,
    /// `traffic-path` override for egress records (0: derive from `pkt_dst`).
    pub path: u8,
}

impl Rec {
    pub fn empty(eni: usize, status: Status, start: u64, end: u64) -> Rec {
        Rec {
            eni: eni as u16,
            status,
            src: 0,
            dst: 0,
            pkt_src: 0,
            pkt_dst: 0,
            sport: 0,
            dport: 0,
            proto: 0,
            packets: 0,
            bytes: 0,
            start,
            end,
            accept: false,
            flags: 0,
            ingress: false,
            path: 0,
        }
    }
}

pub(super) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Append `rec` as one line (with trailing newline) in format `kind`.
pub fn write_line(buf: &mut Vec<u8>, kind: FormatKind, topo: &Topology, rec: &Rec) {
    let eni = &topo.enis[rec.eni as usize];
    let data = rec.status == Status::Ok;
    for (i, f) in kind.fields().iter().enumerate() {
        if i > 0 {
            buf.push(b' ');
        }
        let addr = |id: AddrId| topo.addr(id).text.as_bytes();
        use Field::*;
        match f {
            Version => push_u64(buf, kind.version() as u64),
            AccountId => buf.extend_from_slice(ACCOUNT_ID.as_bytes()),
            InterfaceId => buf.extend_from_slice(eni.id.as_bytes()),
            VpcId => buf.extend_from_slice(VPC_ID.as_bytes()),
            SubnetId => buf.extend_from_slice(topo.subnets[eni.subnet].id.as_bytes()),
            InstanceId => match &eni.instance_id {
                Some(i) => buf.extend_from_slice(i.as_bytes()),
                None => buf.push(b'-'),
            },
            Region => buf.extend_from_slice(REGION.as_bytes()),
            AzId => buf.extend_from_slice(topo.subnets[eni.subnet].az_id.as_bytes()),
            Start => push_u64(buf, rec.start),
            End => push_u64(buf, rec.end),
            LogStatus => buf.extend_from_slice(match rec.status {
                Status::Ok => b"OK",
                Status::NoData => b"NODATA",
                Status::SkipData => b"SKIPDATA",
            }),
            _ if !data => buf.push(b'-'),
            SrcAddr => buf.extend_from_slice(addr(rec.src)),
            DstAddr => buf.extend_from_slice(addr(rec.dst)),
            PktSrcAddr => buf.extend_from_slice(addr(rec.pkt_src)),
            PktDstAddr => buf.extend_from_slice(addr(rec.pkt_dst)),
            SrcPort => push_u64(buf, rec.sport as u64),
            DstPort => push_u64(buf, rec.dport as u64),
            Protocol => push_u64(buf, rec.proto as u64),
            Packets => push_u64(buf, rec.packets),
            Bytes => push_u64(buf, rec.bytes),
            Action => buf.extend_from_slice(if rec.accept { b"ACCEPT" } else { b"REJECT" }),
            TcpFlags => push_u64(buf, rec.flags as u64),
            Type => buf.extend_from_slice(if topo.addr(rec.src).v6 {
                b"IPv6"
            } else {
                b"IPv4"
            }),
            FlowDirection => {
                buf.extend_from_slice(if rec.ingress { b"ingress" } else { b"egress" })
            }
            PktSrcAwsService => match topo.addr(rec.pkt_src).aws_service {
                Some(s) => buf.extend_from_slice(s.as_bytes()),
                None => buf.push(b'-'),
            },
            PktDstAwsService => match topo.addr(rec.pkt_dst).aws_service {
                Some(s) => buf.extend_from_slice(s.as_bytes()),
                None => buf.push(b'-'),
            },
            TrafficPath => {
                if rec.ingress {
                    buf.push(b'-')
                } else if rec.path != 0 {
                    push_u64(buf, rec.path as u64)
                } else {
                    push_u64(buf, topo.addr(rec.pkt_dst).path.code() as u64)
                }
            }
            // Fields none of the generator's formats has.
            _ => buf.push(b'-'),
        }
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_have_expected_shape() {
        assert_eq!(
            FormatKind::V2.header(),
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets \
             bytes start end action log-status"
        );
        assert_eq!(FormatKind::V3.fields().len(), 21);
        assert_eq!(FormatKind::V5.fields().len(), 27);
        assert!(FormatKind::V5
            .log_format()
            .starts_with("${version} ${account-id}"));
    }

    #[test]
    fn nodata_line_matches_aws_shape() {
        let t = Topology::build();
        let mut buf = Vec::new();
        write_line(
            &mut buf,
            FormatKind::V2,
            &t,
            &Rec::empty(0, Status::NoData, 1431280876, 1431280934),
        );
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(
            s,
            format!(
                "2 123456789012 {} - - - - - - - 1431280876 1431280934 - NODATA\n",
                t.enis[0].id
            )
        );
    }
}
