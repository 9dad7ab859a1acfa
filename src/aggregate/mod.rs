//! Aggregation: flows grouped by interface, direction, protocol, service
//! port and action, with packets, bytes, time span and distinct peers.
//!
//! `direction` is the direction of the security-group rule the flow
//! needs, not of the packet: a task's response from port 8080 to an ALB's
//! ephemeral port is *ingress* to 8080 on the task. The listening side
//! comes from `direction::server_is_dst`; whether the interface is that
//! side comes from, in order: the `flow-direction` field; the interface's
//! addresses from `--interfaces`; addresses learned from the logs (the one
//! address present in nearly every record of an interface). Records of the
//! last kind are held until the end of the run in cells keyed by one side's
//! address (the server's, or the private side of a record with the
//! internet), whose other side is in the cell's peers; the addresses are
//! then counted exactly from those cells and the cells resolved. No
//! decision is taken before the end, so the result depends only on the
//! records, not on which worker read which chunk.
//!
//! Data records first meet `front`, which sums those of one conversation;
//! the work above is done once per conversation's sums, not per record.

pub mod direction;
mod front;
pub mod peers;
mod slots;

use std::collections::BTreeMap;
use std::hint;
use std::sync::Arc;

use hashbrown::HashMap;
use serde::Serialize;

use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{
    has_ports, Action, EniId, FlowRecord, Ip, LogStatus, PacketDirection,
};
use direction::{server_is_dst, Evidence};
use front::{Flow, FlowKey, Front};
pub use peers::{PeerSet, PeerStat};
use slots::Slots;

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

/// Interface id → its own addresses (from an inventory).
pub type Locals = HashMap<EniId, Vec<Ip>>;

/// Where an interface's own addresses came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressSource {
    Inventory,
    Learned,
    FlowDirection,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CellDir {
    Known(Direction),
    /// Interface addresses not known yet: whether `addr` in the key is
    /// one of them decides, at the end of the run.
    Unresolved(Side),
}

/// Which side of its records an unresolved cell's `addr` is; the other
/// side is in the cell's peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Server,
    Client,
}

/// The service of a record's key, packed into the low 44 bits of a word:
/// port (bit 16 set when present) | alt << 17 (the same) | protocol << 34
/// | action << 42. Shared by `CellKey` and `front::FlowKey`, whose upper
/// bits hold their own fields, so that a record summed in the front table
/// reaches its cell without being unpacked and packed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Service(u64);

impl Service {
    const BITS: u64 = (1 << 44) - 1;

    /// `alt` is the other side's port when the service port was a guess
    /// (`Evidence::AmbiguousPorts`).
    #[inline(always)]
    fn new(port: Option<u16>, alt: Option<u16>, proto: u8, action: Action) -> Service {
        Service::of_ports(Service::pack(port), Service::pack(alt), proto, action)
    }

    /// A port as `Service` packs it: 17 bits, the top one set when there
    /// is a port, so that port 0 and no port differ.
    #[inline(always)]
    fn pack(p: Option<u16>) -> u64 {
        p.map_or(0, |p| 0x1_0000 | p as u64)
    }

    /// `new` with ports already packed by `pack`.
    #[inline(always)]
    fn of_ports(port: u64, alt: u64, proto: u8, action: Action) -> Service {
        Service(port | alt << 17 | (proto as u64) << 34 | (action as u64) << 42)
    }

    /// The service in the low bits of `word`.
    fn of(word: u64) -> Service {
        Service(word & Service::BITS)
    }

    fn port(self) -> Option<u16> {
        (self.0 & 0x1_0000 != 0).then_some(self.0 as u16)
    }

    fn alt(self) -> Option<u16> {
        (self.0 >> 17 & 0x1_0000 != 0).then_some((self.0 >> 17) as u16)
    }

    fn proto(self) -> u8 {
        (self.0 >> 34) as u8
    }

    fn action(self) -> Action {
        match self.0 >> 42 & 3 {
            0 => Action::Accept,
            1 => Action::Reject,
            _ => Action::Unknown,
        }
    }
}

/// A cell's key, packed into three words: comparing and hashing it is a
/// handful of instructions (field by field, an `Option` at a time, it was
/// ~20 for a comparison and ten hasher rounds for a hash, on every record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CellKey {
    eni: EniId,
    /// Unresolved cells only (else unspecified): one side's address.
    addr: Ip,
    /// `Service` | direction << 44 (`CellKey::with`).
    small: u64,
}

impl CellKey {
    fn new(
        eni: EniId,
        addr: Ip,
        port: Option<u16>,
        alt: Option<u16>,
        proto: u8,
        action: Action,
        dir: CellDir,
    ) -> CellKey {
        CellKey::with(eni, addr, Service::new(port, alt, proto, action), dir)
    }

    #[inline]
    fn with(eni: EniId, addr: Ip, service: Service, dir: CellDir) -> CellKey {
        let dir = match dir {
            CellDir::Known(d) => d as u64,
            CellDir::Unresolved(Side::Server) => 3,
            CellDir::Unresolved(Side::Client) => 4,
        };
        CellKey {
            eni,
            addr,
            small: service.0 | dir << 44,
        }
    }

    fn port(&self) -> Option<u16> {
        Service::of(self.small).port()
    }

    fn alt(&self) -> Option<u16> {
        Service::of(self.small).alt()
    }

    fn proto(&self) -> u8 {
        Service::of(self.small).proto()
    }

    fn action(&self) -> Action {
        Service::of(self.small).action()
    }

    fn dir(&self) -> CellDir {
        match self.small >> 44 {
            0 => CellDir::Known(Direction::Ingress),
            1 => CellDir::Known(Direction::Egress),
            2 => CellDir::Known(Direction::Unknown),
            3 => CellDir::Unresolved(Side::Server),
            _ => CellDir::Unresolved(Side::Client),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Cell {
    flows: u64,
    packets: u64,
    bytes: u64,
    span: Span,
    peers: PeerSet,
}

/// A time window `[first, last]` in seconds. Empty is `first > last`, so
/// widening it by a record is one `min` and one `max`, with no branch on
/// whether either side was there (as `Option`s it was ~5% of a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    first: u64,
    last: u64,
}

impl Default for Span {
    fn default() -> Span {
        Span::EMPTY
    }
}

impl Span {
    const EMPTY: Span = Span {
        first: u64::MAX,
        last: 0,
    };

    /// A record's span, lowest first: a record whose start is after its
    /// end (a broken clock, a damaged line) still spans [end, start], so
    /// every window keeps first ≤ last. One of the two alone is a point.
    #[inline]
    fn of(start: Option<u64>, end: Option<u64>) -> Span {
        match (start.or(end), end.or(start)) {
            (Some(s), Some(e)) => Span {
                first: s.min(e),
                last: s.max(e),
            },
            _ => Span::EMPTY,
        }
    }

    #[inline]
    fn widen(&mut self, o: Span) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    fn get(self) -> Option<(u64, u64)> {
        (self.first <= self.last).then_some((self.first, self.last))
    }

    fn first(self) -> Option<u64> {
        self.get().map(|s| s.0)
    }

    fn last(self) -> Option<u64> {
        self.get().map(|s| s.1)
    }
}

impl Cell {
    fn merge(&mut self, o: Cell) {
        self.flows += o.flows;
        self.packets = self.packets.saturating_add(o.packets);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.span.widen(o.span);
        self.peers.merge(o.peers);
    }
}

/// Per-interface observation: how much we saw of it and when.
#[derive(Debug, Clone, Default)]
struct EniStats {
    records: u64,
    nodata: u64,
    skipdata: u64,
    span: Span,
    /// Records whose packet direction was unknown (held in unresolved
    /// cells).
    unresolved: u64,
    /// The interface's addresses from the inventory (`None`: not in it),
    /// copied here when the interface is first seen so that a record
    /// costs one map lookup for both.
    inventory: Option<Vec<Ip>>,
}

impl EniStats {
    fn merge(&mut self, o: EniStats) {
        if self.inventory.is_none() {
            self.inventory = o.inventory;
        }
        self.records += o.records;
        self.nodata += o.nodata;
        self.skipdata += o.skipdata;
        self.span.widen(o.span);
        self.unresolved += o.unresolved;
    }
}

/// The aggregate being built by one worker.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    /// A record that goes to one of the two cells last used (a
    /// connection's request and response records are usually adjacent)
    /// costs no hashing; so does one of the last two interfaces.
    cells: Slots<CellKey, Cell>,
    /// Data records summed by conversation before they reach `cells`.
    front: Front,
    enis: Slots<EniId, EniStats>,
    names: HashMap<EniId, Box<str>>,
    locals: Option<Arc<Locals>>,
    /// Records folded into overflow cells (see `capped`).
    overflow: u64,
}

/// Cells one worker keeps before folding new keys: about 300 bytes each
/// with their first peer, so 200k cells stay near 60 MB per worker.
pub const MAX_CELLS: usize = 200_000;

impl Aggregate {
    /// A new aggregate; `locals` are interface addresses from an inventory.
    pub fn new(locals: Option<Arc<Locals>>) -> Aggregate {
        Aggregate {
            locals,
            ..Default::default()
        }
    }

    /// Adds one parsed record. A data record is summed in the front table
    /// with the others of its conversation (`front`); its interface,
    /// cell and peer are found when it leaves the table (`place`).
    #[inline(always)]
    pub fn add(&mut self, rec: &FlowRecord) {
        let span = Span::of(rec.start, rec.end);
        if rec.status != LogStatus::Ok {
            return self.add_no_data(rec, span);
        }
        let proto = rec.protocol.unwrap_or(0);
        let (dst_server, evidence) = server_is_dst(rec, proto);
        // Which port is the service's is a coin toss per record (requests
        // and responses alternate), so it is chosen without a branch: as
        // a branch it was mispredicted for 3 records in 4 (callgrind's
        // branch simulation), ~40% of all mispredictions.
        let (src, dst) = (Service::pack(rec.srcport), Service::pack(rec.dstport));
        let (port, other) = (
            hint::select_unpredictable(dst_server, dst, src),
            hint::select_unpredictable(dst_server, src, dst),
        );
        let ports = has_ports(proto) as u64 * u64::MAX;
        let alt = (evidence == Evidence::AmbiguousPorts) as u64 * u64::MAX;
        let key = FlowKey::new(
            rec.interface,
            rec.srcaddr.unwrap_or_default(),
            rec.dstaddr.unwrap_or_default(),
            Service::of_ports(port & ports, other & ports & alt, proto, rec.action),
            dst_server,
            rec.flow_direction,
        );
        if let Some(out) = self.front.add(key, rec.packets, rec.bytes, span) {
            self.place(&out);
        }
    }

    /// A NODATA or SKIPDATA record: counted for its interface only.
    #[inline(never)]
    fn add_no_data(&mut self, rec: &FlowRecord, span: Span) {
        let stats = self.eni_stats(rec.interface);
        stats.span.widen(span);
        if rec.status == LogStatus::NoData {
            stats.nodata += 1;
        } else {
            stats.skipdata += 1;
        }
    }

    /// The statistics of an interface (new ones take its inventory
    /// addresses).
    #[inline(always)]
    fn eni_stats(&mut self, eni: EniId) -> &mut EniStats {
        let locals = &self.locals;
        self.enis.get(eni, || EniStats {
            inventory: locals.as_ref().and_then(|l| l.get(&eni)).cloned(),
            ..Default::default()
        })
    }

    /// Places the data records of one key, summed: counts them for their
    /// interface, and adds them to their cell and peer.
    #[inline(never)]
    fn place(&mut self, f: &Flow) {
        let k = &f.key;
        let stats = self.eni_stats(k.eni);
        stats.span.widen(f.span);
        stats.records += f.flows;
        let (src, dst, dst_server) = (k.src, k.dst, k.dst_server());
        let packet_dir = k.flow_direction().or_else(|| {
            let locals = stats.inventory.as_ref()?;
            if locals.contains(&dst) {
                Some(PacketDirection::Ingress)
            } else if locals.contains(&src) {
                Some(PacketDirection::Egress)
            } else {
                None
            }
        });
        let (dir, addr, peer) = match packet_dir {
            Some(pd) => {
                let inbound = pd == PacketDirection::Ingress;
                let dir = if inbound == dst_server {
                    Direction::Ingress
                } else {
                    Direction::Egress
                };
                (
                    CellDir::Known(dir),
                    Ip::default(),
                    if inbound { src } else { dst },
                )
            }
            None if stats.inventory.is_some() => {
                // Addresses known, and neither side is the interface's.
                (
                    CellDir::Known(Direction::Unknown),
                    Ip::default(),
                    if dst_server { src } else { dst },
                )
            }
            None => {
                stats.unresolved += f.flows;
                let (server, client) = if dst_server { (dst, src) } else { (src, dst) };
                // Keyed by the side more likely to be the interface's, so
                // cells stay few: an interface serves many clients from
                // one address, and calls the internet (many servers) from
                // a private one (flow logs never show an interface's
                // public IPv4). Only the number of cells depends on this
                // guess; `finish` resolves either kind the same way.
                if is_public_v4(server) && !is_public_v4(client) {
                    (CellDir::Unresolved(Side::Client), client, server)
                } else {
                    (CellDir::Unresolved(Side::Server), server, client)
                }
            }
        };
        let key = CellKey::with(k.eni, addr, k.service(), dir);
        let cell = match self.cells.last(&key) {
            Some(c) => c,
            None => {
                let key = self.capped(key, f.flows);
                self.cells.get_or_insert_with(key, Cell::default)
            }
        };
        cell.flows += f.flows;
        cell.packets = cell.packets.saturating_add(f.packets);
        cell.bytes = cell.bytes.saturating_add(f.bytes);
        cell.span.widen(f.span);
        cell.peers.add(peer, f.flows, f.bytes);
    }

    /// Places what the front table holds (before merging or finishing).
    fn drain_front(&mut self) {
        let mut front = std::mem::take(&mut self.front);
        front.drain(|f| self.place(f));
        self.front = front;
    }

    /// Keeps memory bounded under adversarial input (a scanner spraying
    /// the address space from an interface whose own address is never
    /// clear, millions of ports or interfaces): past `MAX_CELLS` cells a
    /// new key folds into a per-interface, per-protocol cell of unknown
    /// direction and port, counted in `overflow`.
    fn capped(&mut self, key: CellKey, flows: u64) -> CellKey {
        if self.cells.len() < MAX_CELLS || self.cells.contains(&key) {
            return key;
        }
        self.overflow += flows;
        let unknown = CellDir::Known(Direction::Unknown);
        CellKey::new(
            key.eni,
            Ip::default(),
            None,
            None,
            key.proto(),
            key.action(),
            unknown,
        )
    }

    /// Combines another worker's aggregate into this one.
    pub fn merge_from(&mut self, mut o: Aggregate) {
        o.drain_front();
        for (k, c) in o.cells {
            self.cells.get_or_insert_with(k, Cell::default).merge(c);
        }
        for (k, s) in o.enis {
            self.enis.get_or_insert_with(k, EniStats::default).merge(s);
        }
        self.names.extend(o.names);
        self.overflow += o.overflow;
    }

    /// Resolves directions and builds the summary.
    pub fn finish(mut self) -> Summary {
        self.drain_front();
        let learned = self.learn_locals();
        // Resolve each cell's direction and peers.
        let mut resolved: Vec<(CellKey, Direction, Cell, PeerSet)> =
            Vec::with_capacity(self.cells.len());
        for (k, mut cell) in self.cells {
            let peers = std::mem::take(&mut cell.peers);
            let (dir, peers) = match k.dir() {
                CellDir::Known(d) => (d, peers),
                CellDir::Unresolved(side) => match learned.get(&k.eni) {
                    None => (Direction::Unknown, peers),
                    Some(locals) => {
                        let own = locals.contains(&k.addr);
                        let dir = match (side, own) {
                            (Side::Server, true) | (Side::Client, false) => Direction::Ingress,
                            (Side::Client, true) | (Side::Server, false) => Direction::Egress,
                        };
                        if own {
                            (dir, peers)
                        } else {
                            // The other side is the interface: `addr` is
                            // its one peer.
                            let mut p = PeerSet::default();
                            p.add(k.addr, cell.flows, cell.bytes);
                            (dir, p)
                        }
                    }
                },
            };
            resolved.push((k, dir, cell, peers));
        }
        // Services the interface certainly offers or uses (flags or clear
        // port evidence) correct the guesses: a task answering the ALB from
        // 8080 to an ephemeral port that happens to be 5601 is ingress 8080,
        // because 8080 is where the task is seen serving.
        let certain: hashbrown::HashSet<(EniId, Direction, u8, u16)> = resolved
            .iter()
            .filter(|(k, _, _, _)| k.alt().is_none())
            .filter_map(|(k, d, _, _)| Some((k.eni, *d, k.proto(), k.port()?)))
            .collect();
        let mut rows: BTreeMap<(EniId, Direction, u8, Option<u16>, Action), Row> = BTreeMap::new();
        for (k, mut dir, cell, peers) in resolved {
            let mut port = k.port();
            if let (Some(alt), Some(p)) = (k.alt(), k.port()) {
                let flip = match dir {
                    Direction::Egress => Some(Direction::Ingress),
                    Direction::Ingress => Some(Direction::Egress),
                    Direction::Unknown => None,
                };
                if let Some(f) = flip {
                    if certain.contains(&(k.eni, f, k.proto(), alt))
                        && !certain.contains(&(k.eni, dir, k.proto(), p))
                    {
                        dir = f;
                        port = Some(alt);
                    }
                }
            }
            let row = rows
                .entry((k.eni, dir, k.proto(), port, k.action()))
                .or_insert_with(|| Row {
                    eni: k.eni,
                    interface_id: None,
                    direction: dir,
                    protocol: k.proto(),
                    port,
                    action: k.action(),
                    flows: 0,
                    packets: 0,
                    bytes: 0,
                    first_seen: None,
                    last_seen: None,
                    peers: PeerSet::default(),
                });
            row.flows += cell.flows;
            row.packets = row.packets.saturating_add(cell.packets);
            row.bytes = row.bytes.saturating_add(cell.bytes);
            row.add_span(cell.span.first(), cell.span.last());
            row.peers.merge(peers);
        }
        let name = |e: EniId| -> Option<String> {
            if e == EniId::NONE {
                None
            } else {
                e.packed_text()
                    .or_else(|| self.names.get(&e).map(|s| s.to_string()))
            }
        };
        let mut rows: Vec<Row> = rows.into_values().collect();
        for r in rows.iter_mut() {
            r.interface_id = name(r.eni);
        }
        rows.sort_by(|a, b| {
            (&a.interface_id, a.direction, a.protocol, a.port, a.action).cmp(&(
                &b.interface_id,
                b.direction,
                b.protocol,
                b.port,
                b.action,
            ))
        });
        let mut interfaces: Vec<InterfaceSummary> = self
            .enis
            .iter()
            .map(|(e, s)| {
                let (addresses, source) =
                    if let Some(l) = self.locals.as_ref().and_then(|l| l.get(e)) {
                        (l.clone(), AddressSource::Inventory)
                    } else if let Some(l) = learned.get(e) {
                        (l.clone(), AddressSource::Learned)
                    } else if s.unresolved == 0 && s.records > 0 {
                        (Vec::new(), AddressSource::FlowDirection)
                    } else {
                        (Vec::new(), AddressSource::Unknown)
                    };
                InterfaceSummary {
                    eni: *e,
                    interface_id: name(*e),
                    records: s.records,
                    nodata: s.nodata,
                    skipdata: s.skipdata,
                    first_seen: s.span.first(),
                    last_seen: s.span.last(),
                    addresses,
                    address_source: source,
                }
            })
            .collect();
        interfaces.sort_by(|a, b| a.interface_id.cmp(&b.interface_id));
        let window = interfaces.iter().fold(None, |w: Option<(u64, u64)>, i| {
            match (i.first_seen, i.last_seen) {
                (Some(f), Some(l)) => Some(w.map_or((f, l), |(a, b)| (a.min(f), b.max(l)))),
                _ => w,
            }
        });
        Summary {
            rows,
            interfaces,
            window,
            overflow: self.overflow,
        }
    }

    /// The own addresses of interfaces whose records could not be placed
    /// as they came (see `own_addresses`), from exact counts: each
    /// unresolved cell holds its server address in the key and its
    /// clients among its peers. An interface talking to a single peer
    /// sees two equally likely addresses; the peer's is dropped when it is
    /// another interface's own address for certain. Still ambiguous:
    /// unknown.
    fn learn_locals(&self) -> HashMap<EniId, Vec<Ip>> {
        let mut by_eni: HashMap<EniId, Vec<Sides>> = HashMap::new();
        for (k, cell) in &self.cells {
            if let CellDir::Unresolved(_) = k.dir() {
                by_eni.entry(k.eni).or_default().push(Sides {
                    addr: k.addr,
                    flows: cell.flows,
                    // Counted by address (`own_addresses`): any order.
                    others: cell.peers.exact_unsorted().unwrap_or_default(),
                });
            }
        }
        let found: Vec<(EniId, Own)> = by_eni
            .into_iter()
            .filter_map(|(e, cells)| Some((e, own_addresses(&cells)?)))
            .collect();
        let certain: hashbrown::HashSet<Ip> = found
            .iter()
            .filter_map(|(_, own)| match own {
                Own::Certain(v) => Some(v.iter().copied()),
                Own::Either(_) => None,
            })
            .flatten()
            .collect();
        let mut out = HashMap::new();
        for (e, own) in found {
            match own {
                Own::Certain(v) => {
                    out.insert(e, v);
                }
                Own::Either(v) => {
                    let rest: Vec<Ip> = v.into_iter().filter(|ip| !certain.contains(ip)).collect();
                    if rest.len() == 1 {
                        out.insert(e, rest);
                    }
                }
            }
        }
        out
    }
}

/// One unresolved cell as `own_addresses` sees it: the side of its
/// records in the key, and the other side with each address's flows
/// (empty when the cell has more peers than it counts exactly; the key's
/// side, with that many peers, is then the interface itself).
struct Sides {
    addr: Ip,
    flows: u64,
    others: Vec<(Ip, PeerStat)>,
}

/// What the records say an interface's own addresses are.
#[derive(Debug, PartialEq, Eq)]
enum Own {
    /// One address first (in nearly every record), then any others that
    /// are in nearly every record left (a dual-stack interface's IPv6
    /// address, a secondary address).
    Certain(Vec<Ip>),
    /// Two or more addresses in nearly every record: an interface talking
    /// to one peer. One is its own.
    Either(Vec<Ip>),
}

/// True for an IPv4 address outside the private ranges a VPC is numbered
/// from (RFC 1918 and 100.64.0.0/10): never an interface's own address in
/// a flow log. (A VPC may use a public range as if private; that only
/// costs cells, see `Aggregate::add`.)
fn is_public_v4(ip: Ip) -> bool {
    if !ip.is_v4() {
        return false;
    }
    let a = ip.0 as u32;
    !(a >> 24 == 10 || a >> 20 == 0xac1 || a >> 16 == 0xc0a8 || a >> 22 == 0x191)
}

/// Most addresses learned for one interface.
const MAX_OWN: usize = 8;

/// An interface's own addresses from its unresolved records. Every record
/// of an interface has one of its own addresses on one side. So: the
/// address in at least 60% of the records (and within 10% of the most
/// frequent one) is its own; then, among the records without any address
/// found so far, the same test again, until no address passes. Counts are
/// exact and the order of cells does not matter, so the answer depends on
/// the records alone.
fn own_addresses(cells: &[Sides]) -> Option<Own> {
    let mut own: Vec<Ip> = Vec::new();
    // At most every peer and key address once (sized up front: on an
    // interface with thousands of peers, growing it was a third of it).
    let room: usize = cells.iter().map(|c| c.others.len() + 1).sum();
    while own.len() < MAX_OWN {
        // Records with no known own address, by address.
        let mut counts: HashMap<Ip, u64> = HashMap::with_capacity(room);
        let mut left = 0u64;
        for c in cells.iter().filter(|c| !own.contains(&c.addr)) {
            let mut flows = c.flows;
            for (ip, stat) in &c.others {
                if own.contains(ip) {
                    flows = flows.saturating_sub(stat.flows);
                } else if *ip != c.addr {
                    // (A record whose two sides are one address counts once.)
                    *counts.entry(*ip).or_default() += stat.flows;
                }
            }
            *counts.entry(c.addr).or_default() += flows;
            left += flows;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        let min = ((left as f64 * 0.6).ceil() as u64).max((top as f64 * 0.9).ceil() as u64);
        let mut found: Vec<Ip> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min.max(1))
            .map(|(ip, _)| ip)
            .collect();
        found.sort();
        match found.len() {
            0 => break,
            1 => own.push(found[0]),
            _ if own.is_empty() => return Some(Own::Either(found)),
            // Two equal candidates among the records left: no guess.
            _ => break,
        }
    }
    if own.is_empty() {
        return None;
    }
    own.sort();
    Some(Own::Certain(own))
}

impl Processor for Aggregate {
    #[inline(always)]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        if rec.interface.is_hashed() && !self.names.contains_key(&rec.interface) {
            if let Some(i) = ctx.format.index_of(&Field::InterfaceId) {
                if let Some(tok) = ctx
                    .line
                    .split(|&b| b == b' ')
                    .filter(|t| !t.is_empty())
                    .nth(i)
                {
                    self.names
                        .insert(rec.interface, String::from_utf8_lossy(tok).into());
                }
            }
        }
        self.add(rec);
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }
}

/// One output row.
#[derive(Debug, Clone)]
pub struct Row {
    pub eni: EniId,
    pub interface_id: Option<String>,
    pub direction: Direction,
    pub protocol: u8,
    pub port: Option<u16>,
    pub action: Action,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    pub peers: PeerSet,
}

impl Row {
    fn add_span(&mut self, first: Option<u64>, last: Option<u64>) {
        if let Some(s) = first {
            self.first_seen = Some(self.first_seen.map_or(s, |f| f.min(s)));
        }
        if let Some(e) = last {
            self.last_seen = Some(self.last_seen.map_or(e, |l| l.max(e)));
        }
    }
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
    pub addresses: Vec<Ip>,
    pub address_source: AddressSource,
}

/// The result of aggregation.
#[derive(Debug, Clone)]
pub struct Summary {
    pub rows: Vec<Row>,
    pub interfaces: Vec<InterfaceSummary>,
    /// First and last second seen in any record (NODATA included).
    pub window: Option<(u64, u64)>,
    /// Records folded into overflow rows (direction and port unknown)
    /// because the cell cap was reached.
    pub overflow: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::{Format, Parser};

    fn agg(lines: &[&str], format: &str, locals: Option<Locals>) -> Summary {
        let p = Parser::new(&Format::parse(format).unwrap());
        let mut a = Aggregate::new(locals.map(Arc::new));
        for l in lines {
            a.add(&p.parse(l.as_bytes()).unwrap());
        }
        a.finish()
    }

    const V2: &str = crate::flowlog::format::DEFAULT_V2;

    fn ip(s: &str) -> Ip {
        let a: std::net::IpAddr = s.parse().unwrap();
        Ip::from(a)
    }

    fn sides(server: &str, clients: &[(&str, u64)]) -> Sides {
        Sides {
            addr: ip(server),
            flows: clients.iter().map(|c| c.1).sum(),
            others: clients
                .iter()
                .map(|&(c, flows)| (ip(c), PeerStat { flows, bytes: 0 }))
                .collect(),
        }
    }

    #[test]
    fn own_addresses_of_a_dual_stack_server_and_a_one_peer_client() {
        // A load balancer: 90% of its clients reach its IPv4 address, 10%
        // its IPv6 one, and it calls two targets.
        let alb = [
            sides("10.0.0.5", &[("198.51.100.1", 50), ("198.51.100.2", 40)]),
            sides("2600::5", &[("2001:db8::1", 6), ("2001:db8::2", 4)]),
            sides("10.0.1.9", &[("10.0.0.5", 30)]),
            sides("10.0.2.9", &[("10.0.0.5", 20)]),
        ];
        let want = Own::Certain(vec![ip("10.0.0.5"), ip("2600::5")]);
        assert_eq!(own_addresses(&alb), Some(want));
        // The order of cells does not matter.
        let mut rev: Vec<Sides> = alb.into_iter().collect();
        rev.reverse();
        let want = Own::Certain(vec![ip("10.0.0.5"), ip("2600::5")]);
        assert_eq!(own_addresses(&rev), Some(want));
        // Only one peer: either side may be the interface.
        let one = [sides("10.0.3.3", &[("10.0.1.1", 10)])];
        let want = Own::Either(vec![ip("10.0.1.1"), ip("10.0.3.3")]);
        assert_eq!(own_addresses(&one), Some(want));
        // No address in most records: nothing learned.
        let spread = [
            sides("10.0.0.1", &[("10.9.0.1", 10)]),
            sides("10.0.0.2", &[("10.9.0.2", 10)]),
            sides("10.0.0.3", &[("10.9.0.3", 10)]),
        ];
        assert_eq!(own_addresses(&spread), None);
    }

    fn find(s: &Summary, eni: &str, dir: Direction, port: Option<u16>) -> Row {
        s.rows
            .iter()
            .find(|r| {
                r.interface_id.as_deref() == Some(eni) && r.direction == dir && r.port == port
            })
            .unwrap_or_else(|| panic!("no row {eni} {dir:?} {port:?} in {:#?}", s.rows))
            .clone()
    }

    #[test]
    fn request_and_response_are_one_ingress_service() {
        // Task 10.0.1.10 serves 8080 to the ALB (10.0.0.5, 10.0.0.6); the
        // response records must not become egress to ephemeral ports.
        let lines = [
            "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
            "2 1 eni-0aaa 10.0.0.6 10.0.1.10 50001 8080 6 5 500 120 130 ACCEPT OK",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.6 8080 50001 6 5 5000 120 130 ACCEPT OK",
        ];
        let s = agg(&lines, V2, None);
        assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
        let r = find(&s, "eni-0aaa", Direction::Ingress, Some(8080));
        assert_eq!((r.flows, r.bytes, r.peers.count()), (4, 11000, 2));
        assert_eq!((r.first_seen, r.last_seen), (Some(100), Some(130)));
        assert_eq!(s.interfaces[0].addresses, vec![Ip::v4(0x0a00010a)]);
    }

    #[test]
    fn egress_to_a_database_via_flow_direction() {
        let f = "interface-id srcaddr dstaddr srcport dstport protocol bytes action flow-direction tcp-flags";
        let lines = [
            "eni-0bbb 10.0.1.10 10.0.2.20 40000 5432 6 100 ACCEPT egress 2",
            "eni-0bbb 10.0.2.20 10.0.1.10 5432 40000 6 900 ACCEPT ingress 18",
        ];
        let s = agg(&lines, f, None);
        assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
        let r = find(&s, "eni-0bbb", Direction::Egress, Some(5432));
        assert_eq!(r.peers.top(1)[0].0.to_string(), "10.0.2.20");
        assert_eq!(s.interfaces[0].address_source, AddressSource::FlowDirection);
    }

    #[test]
    fn cell_keys_give_back_what_they_pack() {
        let ports = [None, Some(0), Some(1), Some(443), Some(65535)];
        let dirs = [
            CellDir::Known(Direction::Ingress),
            CellDir::Known(Direction::Egress),
            CellDir::Known(Direction::Unknown),
            CellDir::Unresolved(Side::Server),
            CellDir::Unresolved(Side::Client),
        ];
        let mut seen = hashbrown::HashSet::new();
        for port in ports {
            for alt in ports {
                for proto in [0, 6, 17, 255] {
                    for action in [Action::Accept, Action::Reject, Action::Unknown] {
                        for dir in dirs {
                            let k =
                                CellKey::new(EniId(7), Ip::v4(1), port, alt, proto, action, dir);
                            assert_eq!(
                                (k.port(), k.alt(), k.proto(), k.action(), k.dir()),
                                (port, alt, proto, action, dir)
                            );
                            assert!(seen.insert(k), "distinct fields, distinct keys");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_client_of_the_internet_keeps_few_cells_and_is_learned() {
        // A task calling 500 internet servers on 443 (request and response
        // records), and serving its ALB on 8080: without an inventory.
        let mut lines = Vec::new();
        for i in 0..500u32 {
            let server = format!("198.51.{}.{}", i / 250, i % 250 + 1);
            let port = 40000 + i;
            lines.push(format!(
                "2 1 eni-0ccc 10.0.1.10 {server} {port} 443 6 5 500 100 110 ACCEPT OK"
            ));
            lines.push(format!(
                "2 1 eni-0ccc {server} 10.0.1.10 443 {port} 6 5 900 100 110 ACCEPT OK"
            ));
            lines.push(format!(
                "2 1 eni-0ccc 10.0.0.5 10.0.1.10 {port} 8080 6 5 500 100 110 ACCEPT OK"
            ));
        }
        let p = Parser::new(&Format::parse(V2).unwrap());
        let mut a = Aggregate::new(None);
        for l in &lines {
            a.add(&p.parse(l.as_bytes()).unwrap());
        }
        // One cell per service, not one per internet server.
        a.drain_front();
        assert_eq!(a.cells.len(), 2);
        let s = a.finish();
        assert_eq!(s.interfaces[0].addresses, vec![Ip::v4(0x0a00_010a)]);
        let out = find(&s, "eni-0ccc", Direction::Egress, Some(443));
        assert_eq!((out.flows, out.peers.count()), (1000, 500));
        let inb = find(&s, "eni-0ccc", Direction::Ingress, Some(8080));
        assert_eq!((inb.flows, inb.peers.count()), (500, 1));
        assert_eq!(s.rows.len(), 2);
    }

    /// Rows as comparable text, peers sorted (the exact set is a hash
    /// map).
    fn view(s: &Summary) -> Vec<String> {
        s.rows
            .iter()
            .map(|r| {
                let mut peers = r.peers.exact().unwrap_or_default();
                peers.sort_by_key(|p| p.0);
                format!(
                    "{:?} {:?} {} {:?} {:?} {} {} {} {:?} {:?} {} {:?}",
                    r.eni,
                    r.direction,
                    r.protocol,
                    r.port,
                    r.action,
                    r.flows,
                    r.packets,
                    r.bytes,
                    r.first_seen,
                    r.last_seen,
                    r.peers.count(),
                    peers
                )
            })
            .collect()
    }

    #[test]
    fn front_table_changes_nothing() {
        // Records from small pools, so that conversations repeat and are
        // summed in the front table, then a run of one new client per
        // record (the table pushes entries out, then is bypassed), then
        // the pools again. Every field `add` reads varies.
        let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| rng.next() % n;
        let enis = [b"eni-0aaa".as_slice(), b"eni-0bbb", b"eni-0ccc"].map(EniId::from_bytes);
        let addrs = [
            0x0a00_0005,
            0x0a00_0006,
            0x0a00_0107,
            0x0a00_0108,
            0x3400_0001,
            0xc0a8_0001,
        ];
        let ports = [22, 443, 8080, 5432, 40000, 49152, 50001, 1552];
        let mut recs = Vec::new();
        for phase in 0..3 {
            for i in 0..30_000u32 {
                let fresh = phase == 1;
                let src = if fresh {
                    Ip::v4(0x6400_0000 + i)
                } else {
                    Ip::v4(addrs[next(6) as usize])
                };
                recs.push(FlowRecord {
                    interface: enis[next(3) as usize],
                    srcaddr: Some(src),
                    dstaddr: Some(Ip::v4(addrs[next(6) as usize])),
                    srcport: Some(ports[next(8) as usize]),
                    dstport: Some(ports[next(8) as usize]),
                    protocol: Some([6, 6, 17, 1][next(4) as usize]),
                    packets: next(50),
                    bytes: next(100_000),
                    start: Some(1_000 + next(600)),
                    end: Some(1_000 + next(600)),
                    action: [Action::Accept, Action::Reject][(next(5) == 0) as usize],
                    status: [LogStatus::Ok, LogStatus::NoData][(next(50) == 0) as usize],
                    tcp_flags: [None, Some(0), Some(2), Some(18)][next(4) as usize],
                    flow_direction: [
                        None,
                        None,
                        Some(PacketDirection::Ingress),
                        Some(PacketDirection::Egress),
                    ][next(4) as usize],
                    ..Default::default()
                });
            }
        }
        let mut locals = Locals::new();
        locals.insert(enis[0], vec![Ip::v4(0x0a00_0005)]);
        let locals = Some(Arc::new(locals));
        let mut with = Aggregate::new(locals.clone());
        let mut without = Aggregate::new(locals);
        without.front = Front::passthrough();
        for r in &recs {
            with.add(r);
            without.add(r);
        }
        let (a, b) = (with.finish(), without.finish());
        assert_eq!(view(&a), view(&b));
        let ifaces = |s: &Summary| format!("{:?} {:?}", s.interfaces, s.window);
        assert_eq!(ifaces(&a), ifaces(&b));
        let records = recs.iter().filter(|r| r.status == LogStatus::Ok).count() as u64;
        assert_eq!(a.rows.iter().map(|r| r.flows).sum::<u64>(), records);
        assert!(a.rows.len() > 20, "{}", a.rows.len());
    }

    #[test]
    fn record_order_does_not_change_rows() {
        // Adjacent records of one cell find it as the last one; the
        // interleaved order looks every record's cell up.
        let grouped = [
            "2 1 eni-0ccc 10.0.1.10 10.0.0.5 49152 8080 6 5 500 100 110 ACCEPT OK",
            "2 1 eni-0ccc 10.0.0.5 10.0.1.10 8080 49152 6 5 5000 100 120 ACCEPT OK",
            "2 1 eni-0ccc 10.0.1.11 10.0.0.5 49153 8080 6 5 500 90 110 ACCEPT OK",
            "2 1 eni-0ddd 10.0.0.6 10.0.3.3 40000 5432 6 2 300 95 130 ACCEPT OK",
            "2 1 eni-0ddd 10.0.3.3 10.0.0.6 5432 40000 6 2 900 95 130 ACCEPT OK",
            "2 1 eni-0ccc 10.0.1.12 10.0.0.5 49154 22 6 1 40 80 80 REJECT OK",
        ];
        let interleaved = [
            grouped[0], grouped[3], grouped[1], grouped[5], grouped[2], grouped[4],
        ];
        let mut locals = Locals::new();
        locals.insert(EniId::from_bytes(b"eni-0ccc"), vec![Ip::v4(0x0a000005)]);
        locals.insert(EniId::from_bytes(b"eni-0ddd"), vec![Ip::v4(0x0a000006)]);
        let a = agg(&grouped, V2, Some(locals.clone()));
        let b = agg(&interleaved, V2, Some(locals));
        assert_eq!(view(&a), view(&b));
        assert_eq!(a.rows.len(), 3);
        let r = find(&a, "eni-0ccc", Direction::Ingress, Some(8080));
        assert_eq!((r.flows, r.bytes), (3, 6000));
    }

    #[test]
    fn inventory_addresses_decide_direction() {
        let mut locals = Locals::new();
        locals.insert(EniId::from_bytes(b"eni-0ccc"), vec![Ip::v4(0x0a000005)]);
        let lines = [
            "2 1 eni-0ccc 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
            "2 1 eni-0ccc 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
        ];
        let s = agg(&lines, V2, Some(locals));
        let r = find(&s, "eni-0ccc", Direction::Egress, Some(8080));
        assert_eq!(r.flows, 2);
        assert_eq!(s.interfaces[0].address_source, AddressSource::Inventory);
    }

    #[test]
    fn single_peer_interface_is_resolved_through_the_other_side() {
        // eni-0ddd (RDS 10.0.2.20) only ever talks to 10.0.1.10, which is
        // eni-0eee's own address (it talks to several peers).
        let lines = [
            "2 1 eni-0ddd 10.0.1.10 10.0.2.20 40000 5432 6 1 100 1 2 ACCEPT OK",
            "2 1 eni-0ddd 10.0.2.20 10.0.1.10 5432 40000 6 1 900 1 2 ACCEPT OK",
            "2 1 eni-0eee 10.0.1.10 10.0.2.20 40000 5432 6 1 100 1 2 ACCEPT OK",
            "2 1 eni-0eee 10.0.2.20 10.0.1.10 5432 40000 6 1 900 1 2 ACCEPT OK",
            "2 1 eni-0eee 10.0.0.5 10.0.1.10 49152 8080 6 1 100 1 2 ACCEPT OK",
            "2 1 eni-0eee 10.0.1.10 10.0.0.5 8080 49152 6 1 900 1 2 ACCEPT OK",
        ];
        let s = agg(&lines, V2, None);
        find(&s, "eni-0ddd", Direction::Ingress, Some(5432));
        find(&s, "eni-0eee", Direction::Egress, Some(5432));
        find(&s, "eni-0eee", Direction::Ingress, Some(8080));
    }

    #[test]
    fn ambiguous_ports_are_corrected_by_the_interface_s_other_traffic() {
        // The ALB picked 5601 (a service port) as its ephemeral port once;
        // the task is seen serving 8080 with clear evidence elsewhere.
        let lines = [
            "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
            "2 1 eni-0aaa 10.0.0.5 10.0.1.10 5601 8080 6 5 500 120 130 ACCEPT OK",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 5601 6 5 5000 120 130 ACCEPT OK",
            "2 1 eni-0aaa 10.0.0.6 10.0.1.10 50001 8080 6 5 500 120 130 ACCEPT OK",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.6 8080 50001 6 5 5000 120 130 ACCEPT OK",
        ];
        let mut locals = Locals::new();
        locals.insert(EniId::from_bytes(b"eni-0aaa"), vec![Ip::v4(0x0a00010a)]);
        for l in [None, Some(locals)] {
            let s = agg(&lines, V2, l);
            assert_eq!(s.rows.len(), 1, "{:#?}", s.rows);
            assert_eq!(
                find(&s, "eni-0aaa", Direction::Ingress, Some(8080)).flows,
                6
            );
        }
    }

    #[test]
    fn nodata_counts_and_merge_equals_single_pass() {
        let lines = [
            "2 1 eni-0aaa 10.0.0.5 10.0.1.10 49152 8080 6 5 500 100 110 ACCEPT OK",
            "2 1 eni-0aaa - - - - - - - 100 160 - NODATA",
            "2 1 eni-0aaa 10.0.1.10 10.0.0.5 8080 49152 6 5 5000 100 110 ACCEPT OK",
            "2 1 eni-0aaa 203.0.113.9 10.0.1.10 51515 22 6 1 40 150 150 REJECT OK",
        ];
        let p = Parser::new(&Format::default_v2());
        let mut whole = Aggregate::new(None);
        let mut a = Aggregate::new(None);
        let mut b = Aggregate::new(None);
        for (i, l) in lines.iter().enumerate() {
            let r = p.parse(l.as_bytes()).unwrap();
            whole.add(&r);
            if i % 2 == 0 {
                a.add(&r)
            } else {
                b.add(&r)
            }
        }
        b.merge_from(a);
        let (w, m) = (whole.finish(), b.finish());
        assert_eq!(w.rows.len(), m.rows.len());
        for (x, y) in w.rows.iter().zip(m.rows.iter()) {
            assert_eq!(
                (x.flows, x.bytes, x.direction, x.port),
                (y.flows, y.bytes, y.direction, y.port)
            );
        }
        assert_eq!(w.interfaces[0].nodata, 1);
        assert_eq!(w.window, Some((100, 160)));
        let rej = find(&w, "eni-0aaa", Direction::Ingress, Some(22));
        assert_eq!(rej.action, Action::Reject);
    }
}
