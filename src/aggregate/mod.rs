//! Aggregation: flows grouped by interface, direction, protocol, service
//! port and action, with packets, bytes, time span and distinct peers.
//!
//! The story of a data record:
//! 1. `add`: which side listens (`direction::server_is_dst`: tcp-flags,
//!    REJECT, ports) gives the service port; the record is summed with the
//!    others of its conversation in a small table (`front`).
//! 2. `place`: which side is the interface (`direction::place`:
//!    flow-direction, inventory, a public peer) gives the direction, and
//!    the sums go to a cell of their row (`keys`, `cells`). Records that
//!    prove neither wait in cells keyed by one side's address, to be
//!    resolved at the end; rejected traffic to random ports may fold past
//!    a budget (`fold`). Direction is never dropped to save memory.
//! 3. `finish`: the interfaces' addresses are learned per family from
//!    exact counts (`learn`), waiting cells resolved, guessed ports
//!    corrected by the interface's other traffic, and cells summed into
//!    rows (`resolve`).
//!
//! Every decision is a function of the records alone (exact counts, or
//! sketches whose merged state does not depend on order), so the output
//! is the same for any thread count and any order of files.

mod cells;
pub mod direction;
mod fold;
mod front;
mod keys;
mod learn;
mod listen;
pub mod peers;
mod resolve;
mod slots;
mod summary;
#[cfg(test)]
mod tests;

use std::hint;
use std::sync::Arc;

use hashbrown::HashMap;

use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{has_ports, EniId, FlowRecord, Ip, LogStatus, PacketDirection};
use crate::flowlog::tgw::Attachments;
use cells::{family, Cell, EniStats, Span};
use direction::{server_is_dst, Evidence, Placement, Proof};
use fold::Fold;
pub use fold::{RejectedKeys, MAX_REJECTED_KEYS};
use front::{Flow, FlowKey, Front};
use keys::{CellDir, CellKey, Service, Side};
use learn::LearnedMap;
pub use listen::{Listener, OpenCell};
pub use peers::{PeerSet, PeerStat};
use slots::Slots;
pub use summary::{AddressSource, Direction, FamilyAddresses, InterfaceSummary, Row, Summary};

/// Interface id → its own addresses (from an inventory).
pub type Locals = HashMap<EniId, Vec<Ip>>;

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
    fold: Fold,
    /// Transit Gateway attachments' VPCs and lost packets, gathered on
    /// the attachments' own path (`record_odd`).
    attachments: Attachments,
}

impl Aggregate {
    /// A new aggregate; `locals` are interface addresses from an inventory.
    pub fn new(locals: Option<Arc<Locals>>) -> Aggregate {
        Aggregate::sharing(locals, Arc::default())
    }

    /// A new aggregate for one worker of a run: `keys` is shared by all of
    /// the run's workers, so that the rejected-key budget holds for the
    /// run, not per worker (see `fold`).
    pub fn sharing(locals: Option<Arc<Locals>>, keys: Arc<RejectedKeys>) -> Aggregate {
        Aggregate {
            locals,
            fold: Fold::new(keys),
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
        let (key, ..) = flow_key(rec);
        if let Some(out) = self.front.add(key, rec.flows, rec.packets, rec.bytes, span) {
            self.place(&out);
        }
    }

    /// A NODATA or SKIPDATA record: counted for its interface only.
    #[inline(never)]
    fn add_no_data(&mut self, rec: &FlowRecord, span: Span) {
        let stats = self.eni_stats(rec.interface);
        stats.span.widen(span);
        if rec.status == LogStatus::NoData {
            stats.nodata += rec.flows;
        } else {
            stats.skipdata += rec.flows;
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
        let (src, dst) = (k.src, k.dst);
        let stats = self.eni_stats(k.eni);
        stats.span.widen(f.span);
        stats.records += f.flows;
        let fam = &mut stats.family[family(src)];
        fam.records += f.flows;
        let (placement, key, peer) = locate(k, stats.inventory.as_deref());
        match placement {
            Placement::Known {
                inbound,
                proof: Proof::FlowDirection,
            } => {
                fam.flow_direction += f.flows;
                let own = if inbound { dst } else { src };
                *stats.own.get(own, || 0) += f.flows;
            }
            Placement::Neither => fam.neither += f.flows,
            _ => {}
        }
        let cell = match self.cells.last(&key) {
            Some(c) => c,
            None => self.cell_for(key),
        };
        cell.flows += f.flows;
        cell.packets = cell.packets.saturating_add(f.packets);
        cell.bytes = cell.bytes.saturating_add(f.bytes);
        cell.span.widen(f.span);
        cell.peers.add_in(key.peer_bound(), peer, f.flows, f.bytes);
    }

    /// The cell of a key not among the last used: its own, or, for
    /// rejected traffic to a rare port past the budget, its folded cell
    /// (which notes the port).
    #[inline(never)]
    fn cell_for(&mut self, key: CellKey) -> &mut Cell {
        if !key.foldable() {
            return self.cells.get_or_insert_with(key, Cell::default);
        }
        let folds = self.fold.observe(key.fold_hash());
        if self.fold.due() {
            sweep(&mut self.cells, self.fold.cut());
        }
        if !folds {
            return self.cells.get_or_insert_with(key, Cell::default);
        }
        let cell = self.cells.get_or_insert_with(key.folded(), Cell::default);
        cell.fold_port(key.port());
        cell
    }

    /// Places what the front table holds (before merging or finishing).
    fn drain_front(&mut self) {
        let mut front = std::mem::take(&mut self.front);
        front.drain(|f| self.place(f));
        self.front = front;
    }

    /// Combines another worker's aggregate into this one.
    pub fn merge_from(&mut self, mut o: Aggregate) {
        o.drain_front();
        // The smaller table goes into the larger, a slice at a time from
        // its end, each slice's memory given back before the next: the
        // two tables are never both whole (they were the end of a run's
        // peak memory).
        if o.cells.len() > self.cells.len() {
            std::mem::swap(&mut self.cells, &mut o.cells);
        }
        self.fold.merge(&o.fold);
        let mut list = o.cells.into_list();
        let slice = list.len() / 8 + 1;
        while !list.is_empty() {
            let at = list.len().saturating_sub(slice);
            for (k, c) in list.drain(at..) {
                self.cells.get_or_insert_with(k, Cell::default).merge(k, c);
            }
            list.shrink_to_fit();
        }
        for (k, s) in o.enis {
            self.enis.get_or_insert_with(k, EniStats::default).merge(s);
        }
        self.names.extend(o.names);
        self.attachments.merge(o.attachments);
    }

    /// Resolves directions and builds the summary.
    pub fn finish(mut self) -> Summary {
        let learned = self.settle();
        let overflow = (&self.cells)
            .into_iter()
            .filter(|(k, _)| k.is_folded())
            .map(|(_, c)| c.flows)
            .sum();
        let names = &self.names;
        let name = |e: EniId| -> Option<String> {
            if e == EniId::NONE {
                None
            } else {
                e.packed_text()
                    .or_else(|| names.get(&e).map(|s| s.to_string()))
            }
        };
        let interfaces = resolve::interfaces(&self.enis, &learned, name);
        let rows = resolve::rows(self.cells, &learned, name);
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
            overflow,
            attachments: self.attachments,
        }
    }
}

impl Aggregate {
    /// The end of the run up to the rows: what the front table holds
    /// placed, the last folds made, the interfaces' addresses learned.
    /// (`finish` and `listen::decide`.)
    fn settle(&mut self) -> LearnedMap {
        self.drain_front();
        sweep(&mut self.cells, self.fold.final_cut());
        learn::learn(&self.cells, &self.enis)
    }

    /// A record whose interface id is hashed (its text kept for the
    /// report) or a Transit Gateway attachment.
    ///
    /// An attachment's rows speak of the VPC behind it, as an interface's
    /// speak of the interface: `ingress` is traffic into that VPC through
    /// the transit gateway. AWS writes `flow-direction` relative to the
    /// attachment as the gateway's port (a packet entering the gateway
    /// from the VPC is `ingress`), so it is turned round here; the
    /// direction rules (`direction::place`) then apply unchanged.
    #[cold]
    #[inline(never)]
    fn record_odd(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        if rec.interface.is_hashed() && !self.names.contains_key(&rec.interface) {
            let tok = match ctx.format.index_of(&Field::InterfaceId) {
                Some(i) => ctx
                    .line
                    .split(|&b| b == b' ')
                    .filter(|t| !t.is_empty())
                    .nth(i),
                None => crate::flowlog::tgw::attachment_text(ctx.line, ctx.format),
            };
            if let Some(tok) = tok {
                self.names
                    .insert(rec.interface, String::from_utf8_lossy(tok).into());
            }
        }
        if !rec.interface.is_attachment() {
            return self.add(rec);
        }
        if rec.status == LogStatus::Ok {
            self.attachments.add(rec, ctx.line, ctx.format);
        }
        self.add(&turned_round(rec));
    }
}

/// A data record's key in the front table (`front`), whether its
/// destination listens (`direction::server_is_dst`), and whether its
/// service port is open to the end of the run's correction (`resolve`).
/// Shared by `Aggregate::add` and `Aggregate::listener`, so that the
/// cell a record is asked about is the cell it was added to.
#[inline(always)]
fn flow_key(rec: &FlowRecord) -> (FlowKey, bool, bool) {
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
    // The other port, where the end of the run may correct the guess.
    let open = matches!(
        evidence,
        Evidence::AmbiguousPorts | Evidence::RejectedFromServicePort
    );
    let alt = open as u64 * u64::MAX;
    // Without `flow-direction`, a record goes where its mirror (the
    // same conversation's other direction) goes: every rule of
    // `direction::place` is symmetric in the two sides once the
    // listener is known. So a response is keyed as its request
    // (client first, server second), and the two records of one
    // conversation in one window are summed in the front table and
    // placed once: on busy data that halves the records reaching the
    // full path.
    let (src, dst) = (
        rec.srcaddr.unwrap_or_default(),
        rec.dstaddr.unwrap_or_default(),
    );
    let mirror = !dst_server & rec.flow_direction.is_none();
    let key = FlowKey::new(
        rec.interface,
        hint::select_unpredictable(mirror, dst, src),
        hint::select_unpredictable(mirror, src, dst),
        Service::of_ports(port & ports, other & ports & alt, proto, rec.action),
        dst_server | mirror,
        rec.flow_direction,
    );
    (key, dst_server, open)
}

/// Where the records of a front-table key go: their placement on the
/// interface (`direction::place`, with the interface's inventory
/// addresses), their cell, and their peer. Shared by `Aggregate::place`
/// and `Aggregate::listener`.
#[inline(always)]
fn locate(k: &FlowKey, inventory: Option<&[Ip]>) -> (Placement, CellKey, Ip) {
    let (src, dst, dst_server) = (k.src, k.dst, k.dst_server());
    let placement = direction::place(src, dst, k.flow_direction(), inventory);
    let (dir, addr, peer) = match placement {
        Placement::Known { inbound, .. } => {
            let peer = if inbound { src } else { dst };
            let dir = if inbound == dst_server {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            (CellDir::Known(dir), Ip::default(), peer)
        }
        // Keyed by the private side: the interface's own address, so
        // one cell per row, but for a NAT gateway's transit records.
        Placement::PublicPeer { inbound } => {
            let (private, public) = if inbound { (dst, src) } else { (src, dst) };
            let side = if inbound == dst_server {
                Side::Server
            } else {
                Side::Client
            };
            (CellDir::PublicPeer(side), private, public)
        }
        // Traffic through the interface: it receives the initiator's
        // connection and forwards it (a NAT gateway serving a client),
        // so the rule is ingress.
        Placement::Neither => {
            let peer = if dst_server { src } else { dst };
            (CellDir::Known(Direction::Ingress), Ip::default(), peer)
        }
        // Keyed by the listening side, which is the interface's for a
        // server (many clients, one cell per service) and a peer for
        // a client (one cell per server and service).
        Placement::Unresolved => {
            let (server, client) = if dst_server { (dst, src) } else { (src, dst) };
            (CellDir::Unresolved(Side::Server), server, client)
        }
    };
    (
        placement,
        CellKey::with(k.eni, addr, k.service(), dir),
        peer,
    )
}

/// An attachment's record as its rows read it: `flow-direction` turned
/// round (see `Aggregate::record_odd`).
fn turned_round(rec: &FlowRecord) -> FlowRecord {
    let mut r = *rec;
    r.flow_direction = r.flow_direction.map(|d| match d {
        PacketDirection::Ingress => PacketDirection::Egress,
        PacketDirection::Egress => PacketDirection::Ingress,
    });
    r
}

/// Folds every foldable cell whose hash is below `cut` into its folded
/// cell (see `fold`), in place: the cells that fold are summed into a
/// few folded ones (one per interface, side, direction, protocol and
/// action) and dropped from the table.
fn sweep(cells: &mut Slots<CellKey, Cell>, cut: u64) {
    let below = |k: &CellKey| k.foldable() && k.fold_hash() < cut;
    if cut == 0 || !cells.iter().any(|(k, _)| below(k)) {
        return;
    }
    let mut folded: HashMap<CellKey, Cell> = HashMap::new();
    cells.retain(|k, c| {
        if !below(k) {
            return true;
        }
        let mut c = std::mem::take(c);
        c.fold_port(k.port());
        let f = k.folded();
        folded.entry(f).or_default().merge(f, c);
        false
    });
    for (k, c) in folded {
        cells.get_or_insert_with(k, Cell::default).merge(k, c);
    }
}

impl Processor for Aggregate {
    const WEIGHTED: bool = true;

    #[inline(always)]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        // Hashed ids and Transit Gateway attachments: the top two bits,
        // one test for both on the common path.
        if rec.interface.0 >> 126 != 0 {
            return self.record_odd(rec, ctx);
        }
        self.add(rec);
    }

    /// Lines only for odd interface ids (above), which always come with one.
    fn wants_lines(&self) -> bool {
        false
    }

    fn merge(&mut self, other: Self) {
        self.merge_from(other);
    }
}
