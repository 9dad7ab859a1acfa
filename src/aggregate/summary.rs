//! The result of aggregation: rows, interfaces and how their addresses
//! were found.

use serde::Serialize;

use super::peers::PeerSet;
use crate::flowlog::record::{Action, EniId, Ip};

/// Rule direction relative to the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
    Unknown,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
            Direction::Unknown => "unknown",
        }
    }
}

/// Where an interface's own addresses came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressSource {
    Inventory,
    Learned,
    FlowDirection,
    Unknown,
}

/// One output row.
#[derive(Debug, Clone)]
pub struct Row {
    pub eni: EniId,
    pub interface_id: Option<String>,
    pub direction: Direction,
    pub protocol: u8,
    /// The service port; `None` for protocols without ports and for folded
    /// rows.
    pub port: Option<u16>,
    pub action: Action,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    pub peers: PeerSet,
    /// Folded rows only: rejected traffic to this many distinct rarely
    /// hit ports, counted together to bound memory (`port` is `None`).
    pub ports_folded: Option<u32>,
}

impl Row {
    pub(super) fn add_span(&mut self, first: Option<u64>, last: Option<u64>) {
        if let Some(s) = first {
            self.first_seen = Some(self.first_seen.map_or(s, |f| f.min(s)));
        }
        if let Some(e) = last {
            self.last_seen = Some(self.last_seen.map_or(e, |l| l.max(e)));
        }
    }
}

/// An interface's addresses in one family (IPv4 or IPv6) and how sure
/// they are.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyAddresses {
    pub addresses: Vec<Ip>,
    pub source: AddressSource,
    /// Data records of this family on the interface.
    pub records: u64,
    /// Share of the records the addresses were judged on that have one of
    /// them on a side (learned: the records placed by what they prove and
    /// those left for learning; inventory: all of them). Near 1 for an
    /// ordinary interface; lower for a NAT gateway's transit records, or
    /// when two addresses were equally likely (then none is given).
    pub share: f64,
}

/// What we saw of one interface.
#[derive(Debug, Clone)]
pub struct InterfaceSummary {
    pub eni: EniId,
    pub interface_id: Option<String>,
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    /// Both families' addresses, sorted.
    pub addresses: Vec<Ip>,
    pub address_source: AddressSource,
    /// By family, when the interface has records of it.
    pub ipv4: Option<FamilyAddresses>,
    pub ipv6: Option<FamilyAddresses>,
}

/// The result of aggregation.
#[derive(Debug, Clone)]
pub struct Summary {
    pub rows: Vec<Row>,
    pub interfaces: Vec<InterfaceSummary>,
    /// First and last second seen in any record (NODATA included).
    pub window: Option<(u64, u64)>,
    /// Records in folded rows (rejected traffic to rarely hit ports,
    /// counted per interface, direction, protocol and action once the
    /// rejected-key budget was spent; see `fold`).
    pub overflow: u64,
    /// Transit Gateway attachments' VPCs and lost packets (none for VPC
    /// flow logs).
    pub attachments: crate::flowlog::tgw::Attachments,
}
