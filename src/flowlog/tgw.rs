//! Transit Gateway flow logs: their own field names, their default
//! format, how a headerless file of them is recognised, and what their
//! records become.
//!
//! Source: https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html
//! (tests/data/tgw/aws-docs/tgw-fields.tsv; docs/delivery-forms.md §6).
//! A TGW record has no `interface-id` and no `action`. flowscope reads it
//! as a record of its attachment:
//!
//! * `tgw-attachment-id` takes the interface's place (`EniId::attachment`,
//!   marked so that no report mistakes it for a network interface);
//! * a record that lost packets (any `packets-lost-*` above 0: no route,
//!   blackhole, MTU exceeded, TTL expired) is a drop, carried as
//!   `Action::Reject` and shown as `DROP` on attachment rows; every other
//!   TGW record has no action (`-`): a transit gateway accepts nothing,
//!   it forwards;
//! * `flow-direction` stays as AWS writes it (relative to the attachment
//!   as the transit gateway's port: `ingress` into the TGW); the
//!   aggregator turns it round so that its rows speak of the VPC behind
//!   the attachment, as an interface's rows speak of the interface
//!   (`aggregate` module, `Processor::record`).
//!
//! The fields a TGW record shares with a VPC record (`version`,
//! `srcaddr`, `packets`, `flow-direction`, ...) are the VPC table's
//! (`format::KNOWN`); the TGW's own are `format::TgwField`, beside it.

use std::collections::BTreeSet;

use hashbrown::HashMap;

use super::format::{Field, Format, TgwField};
use super::record::{EniId, FlowRecord};

/// The default TGW format: every version 2 to 6 field in AWS's table
/// order (36 fields); it cannot be changed.
pub const DEFAULT_FORMAT: &str = "version resource-type account-id tgw-id tgw-attachment-id \
tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id \
tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id \
srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type \
packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired \
tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service";

/// Columns of the default format.
const DEFAULT_COLUMNS: usize = 36;

/// The default TGW format.
pub fn default_format() -> Format {
    Format::parse(DEFAULT_FORMAT).expect("the TGW default format is valid")
}

/// True when a format has a TGW-only field: its records are a transit
/// gateway's.
pub fn is_tgw_format(format: &Format) -> bool {
    format.columns().iter().any(|f| matches!(f, Field::Tgw(_)))
}

/// The TGW default format, when an input with no header line of its own
/// (a CloudWatch Logs message, an S3 object written without one) starts
/// with a TGW default record while the VPC default is in force: decided
/// once per input from its first line, as the VPC default is assumed
/// once per input. Lines of the other kind later in the input then fail
/// by their field count (reported), never read as the wrong kind.
pub fn headerless_default(head: &[u8], current: &Format) -> Option<Format> {
    let line = match memchr::memchr(b'\n', head) {
        Some(nl) => &head[..nl],
        None => head,
    };
    if !looks_like_default_record(super::format::trim_line(line)) {
        return None;
    }
    (*current == Format::default_v2()).then(default_format)
}

/// A TGW default-format record: 36 tokens, `resource-type` a TGW one,
/// `tgw-id` and `tgw-attachment-id` shaped as such. The version is not
/// checked: hand-written samples carry 5 as well as the documented 6.
pub fn looks_like_default_record(line: &[u8]) -> bool {
    let mut tokens = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let (Some(_version), Some(kind), Some(_account), Some(tgw), Some(att)) = (
        tokens.next(),
        tokens.next(),
        tokens.next(),
        tokens.next(),
        tokens.next(),
    ) else {
        return false;
    };
    matches!(kind, b"TransitGateway" | b"TransitGatewayAttachment")
        && tgw.starts_with(b"tgw-")
        && att.starts_with(b"tgw-attach-")
        && 5 + tokens.count() == DEFAULT_COLUMNS
}

/// The attachment id's text in a record's line, for an attachment id
/// that is not packed (`EniId::is_hashed`).
pub fn attachment_text<'a>(line: &'a [u8], format: &Format) -> Option<&'a [u8]> {
    let i = format.index_of(&Field::Tgw(TgwField::AttachmentId))?;
    line.split(|&b| b == b' ').filter(|t| !t.is_empty()).nth(i)
}

/// What the records of one attachment say about the VPCs on either side
/// of it, and the packets the transit gateway lost there: the
/// attachment's part of a summary beside its rows (`Attachments`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentSides {
    /// The VPC(s) and subnets behind the attachment (the source side of
    /// the records AWS marks `ingress`, the destination side of `egress`).
    pub vpcs: BTreeSet<Box<str>>,
    pub subnets: BTreeSet<Box<str>>,
    /// The VPCs on the far side of the transit gateway.
    pub peer_vpcs: BTreeSet<Box<str>>,
    /// Packets lost, by reason: no route, blackhole, MTU exceeded, TTL
    /// expired.
    pub lost: [u64; 4],
}

/// Per attachment, its `AttachmentSides`, gathered from the records'
/// lines (`summarize`); empty for VPC flow logs.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    pub by_id: HashMap<EniId, AttachmentSides>,
}

/// Where the side columns are in one format (looked up once per format
/// seen, not per record).
#[derive(Debug, Clone)]
struct SideColumns {
    vpc: [Option<usize>; 2],
    subnet: [Option<usize>; 2],
    lost: [Option<usize>; 4],
    direction: Option<usize>,
}

impl Attachments {
    /// Notes a data record of an attachment (`rec.interface.is_attachment`).
    pub fn add(&mut self, rec: &FlowRecord, line: &[u8], format: &Format) {
        let idx = |f: TgwField| format.index_of(&Field::Tgw(f));
        let cols = SideColumns {
            vpc: [idx(TgwField::SrcVpcId), idx(TgwField::DstVpcId)],
            subnet: [idx(TgwField::SrcSubnetId), idx(TgwField::DstSubnetId)],
            lost: [
                idx(TgwField::LostNoRoute),
                idx(TgwField::LostBlackhole),
                idx(TgwField::LostMtuExceeded),
                idx(TgwField::LostTtlExpired),
            ],
            direction: format.index_of(&Field::FlowDirection),
        };
        let tokens: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .collect();
        let get = |c: Option<usize>| {
            c.and_then(|c| tokens.get(c))
                .filter(|t| **t != b"-")
                .map(|t| String::from_utf8_lossy(t))
        };
        let sides = self.by_id.entry(rec.interface).or_default();
        for (n, c) in sides.lost.iter_mut().zip(cols.lost) {
            *n = n.saturating_add(get(c).and_then(|t| t.parse().ok()).unwrap_or(0));
        }
        // Which side is the attachment's: AWS's `ingress` enters the
        // gateway from it, so its source is behind the attachment.
        let own = match cols.direction.and_then(|c| tokens.get(c)).copied() {
            Some(b"ingress") => 0,
            Some(b"egress") => 1,
            _ => return,
        };
        let put = |set: &mut BTreeSet<Box<str>>, v: Option<std::borrow::Cow<'_, str>>| {
            if let Some(v) = v {
                if !set.contains(&*v) {
                    set.insert(v.into());
                }
            }
        };
        put(&mut sides.vpcs, get(cols.vpc[own]));
        put(&mut sides.subnets, get(cols.subnet[own]));
        put(&mut sides.peer_vpcs, get(cols.vpc[1 - own]));
    }

    /// Combines another worker's.
    pub fn merge(&mut self, o: Attachments) {
        for (id, s) in o.by_id {
            let mine = self.by_id.entry(id).or_default();
            mine.vpcs.extend(s.vpcs);
            mine.subnets.extend(s.subnets);
            mine.peer_vpcs.extend(s.peer_vpcs);
            for (a, b) in mine.lost.iter_mut().zip(s.lost) {
                *a = a.saturating_add(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::parse::{Parser, SkipReason};
    use crate::flowlog::record::{Action, PacketDirection};

    const REC: &[u8] = b"6 TransitGateway 111122223333 tgw-0a1b2c3d4e5f60718 tgw-attach-0aaaaaaaaaaaaaaa1 111122223333 - vpc-0aaaaaaaaaaaaaaa1 - subnet-0aaaaaaaaaaaaaaa1 - eni-0aaaaaaaaaaaaaaa1 - use1-az1 - - 10.1.0.10 10.3.0.30 40000 22 6 3 180 1700000000 1700000060 OK IPv4 3 0 0 0 2 us-east-1 ingress - -";

    #[test]
    fn the_default_format_is_the_documented_36_fields() {
        let f = default_format();
        assert_eq!(f.len(), 36);
        assert_eq!(f.version(), 6);
        assert!(f.columns().iter().all(Field::is_known), "{}", f.header());
        let tsv = include_str!("../../tests/data/tgw/aws-docs/default-format.header.txt");
        assert_eq!(f.header(), tsv.trim_end());
    }

    #[test]
    fn a_default_record_is_recognised_and_a_vpc_one_is_not() {
        assert!(looks_like_default_record(REC));
        assert!(!looks_like_default_record(
            b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
        ));
        // One field short: not the default format.
        let short = &REC[..REC.len() - 2];
        assert!(!looks_like_default_record(short));
        let head = [REC, b"\n"].concat();
        assert_eq!(
            headerless_default(&head, &Format::default_v2()),
            Some(default_format())
        );
        // A format the user chose is kept.
        let custom = Format::parse("srcaddr dstaddr").unwrap();
        assert_eq!(headerless_default(&head, &custom), None);
    }

    #[test]
    fn a_record_is_its_attachments_and_a_loss_is_a_drop() {
        let p = Parser::new(&default_format());
        let r = p.parse(REC).unwrap();
        assert!(r.interface.is_attachment());
        assert_eq!(
            r.interface.packed_text().as_deref(),
            Some("tgw-attach-0aaaaaaaaaaaaaaa1")
        );
        assert_eq!(r.action, Action::Reject);
        assert_eq!(r.flow_direction, Some(PacketDirection::Ingress));
        assert_eq!((r.packets, r.dstport), (3, Some(22)));
        // No packet lost: no action at all.
        let ok = String::from_utf8_lossy(REC).replace("IPv4 3 0 0 0", "IPv4 0 0 0 0");
        assert_eq!(p.parse(ok.as_bytes()).unwrap().action, Action::Unknown);
        let bad = String::from_utf8_lossy(REC).replace("IPv4 3 0 0 0", "IPv4 3 x 0 0");
        let e = p.parse(bad.as_bytes()).unwrap_err();
        assert_eq!((e.reason, e.column), (SkipReason::BadNumber, Some(28)));
    }
}
