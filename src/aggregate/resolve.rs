//! The end of the run: every cell gets its direction and row, and every
//! interface its addresses and how they were found.

use hashbrown::{HashMap, HashSet};

use super::cells::{family, Cell, EniStats, PortSet};
use super::keys::{CellDir, CellKey, Side};
use super::learn::LearnedMap;
use super::peers::{Bound, PeerSet};
use super::slots::Slots;
use super::summary::{AddressSource, Direction, FamilyAddresses, InterfaceSummary, Row};
use crate::flowlog::record::{Action, EniId, Ip};

/// A cell's row: its direction and service port, and whether the end of
/// the run turned its records' guess round (the other port, `alt` in its
/// key, is the service, and the other side listens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decided {
    pub dir: Direction,
    pub port: Option<u16>,
    pub turned: bool,
}

/// Gives each cell its direction (unresolved ones from the learned
/// addresses) and applies the corrections of guessed ports: `settle`
/// gets every cell's key and decision, in the order of `cells`. The one
/// place where a cell's direction and service port are decided, for
/// summarize's rows (`rows`) and for `scans` (`listen::decide`).
pub(super) fn decide(
    cells: &mut [(CellKey, Cell)],
    learned: &LearnedMap,
    mut settle: impl FnMut(&mut CellKey, Decided),
) {
    let dirs: Vec<Direction> = cells
        .iter_mut()
        .map(|(k, c)| resolve(k, c, learned))
        .collect();
    // Services the interface certainly offers or uses (flags or clear
    // port evidence) correct the guesses: a task answering the ALB from
    // 8080 to an ephemeral port that happens to be 5601 is ingress 8080,
    // because 8080 is where the task is seen serving.
    // (Rejected probes of a port say nothing of what the interface serves.)
    let certain: HashSet<(EniId, Direction, u8, u16)> = cells
        .iter()
        .zip(&dirs)
        .filter(|((k, _), _)| k.alt().is_none() && k.action() != Action::Reject)
        .filter_map(|((k, _), d)| Some((k.eni(), *d, k.proto(), k.port()?)))
        .collect();
    // Otherwise the port paired with more ports in the interface's
    // guessed records is the service: an ALB reaching its targets' 15000
    // from ephemeral ports anywhere in 1024-65535 pairs 15000 with
    // hundreds of ports, each ephemeral port with one or two.
    let mut fan: HashMap<(EniId, u8, u16), u32> = HashMap::new();
    for (k, _) in cells.iter().filter(|(k, _)| k.action() != Action::Reject) {
        if let (Some(p), Some(a)) = (k.port(), k.alt()) {
            *fan.entry((k.eni(), k.proto(), p)).or_default() += 1;
            *fan.entry((k.eni(), k.proto(), a)).or_default() += 1;
        }
    }
    // A rejected packet from a service port to another is taken for a
    // response (`direction::server_is_dst`) only if the interface called
    // that service on that peer (accepted): the peers of the accepted
    // rows such packets would belong to.
    let wanted: HashSet<(EniId, Direction, u8, u16)> = cells
        .iter()
        .zip(&dirs)
        .filter(|((k, _), _)| k.action() == Action::Reject && k.alt().is_some())
        .filter_map(|((k, _), d)| Some((k.eni(), *d, k.proto(), k.port()?)))
        .collect();
    let mut called: HashSet<(EniId, Direction, u8, u16, Ip)> = HashSet::new();
    if !wanted.is_empty() {
        for ((k, c), d) in cells.iter().zip(&dirs) {
            let Some(port) = k.port() else { continue };
            let key = (k.eni(), *d, k.proto(), port);
            if k.action() == Action::Accept && k.alt().is_none() && wanted.contains(&key) {
                for (ip, _) in c.peers.exact_unsorted().unwrap_or_default() {
                    called.insert((key.0, key.1, key.2, key.3, ip));
                }
            }
        }
    }
    for ((k, c), &dir) in cells.iter_mut().zip(&dirs) {
        let (mut dir, mut port, mut turned) = (dir, k.port(), false);
        if let (Some(alt), Some(p), Some(f)) = (k.alt(), k.port(), flip(dir)) {
            let correct = if k.action() == Action::Reject {
                let peers = c.peers.exact_unsorted().unwrap_or_default();
                !peers
                    .iter()
                    .any(|(ip, _)| called.contains(&(k.eni(), dir, k.proto(), p, *ip)))
            } else if certain.contains(&(k.eni(), dir, k.proto(), p)) {
                false
            } else if certain.contains(&(k.eni(), f, k.proto(), alt)) {
                true
            } else {
                // (Only pairs where the lower port won reach here: a port
                // outside the ephemeral range against one in it is decided
                // per record, `Evidence::EphemeralRange`.)
                let n = |port| fan.get(&(k.eni(), k.proto(), port)).copied().unwrap_or(0);
                n(alt) > 2 * n(p) + 1
            };
            if correct {
                dir = f;
                port = Some(alt);
                turned = true;
            }
        }
        settle(k, Decided { dir, port, turned });
    }
}

/// Decides every cell (`decide`) and sums cells into rows. `name` gives
/// an interface's text. Cells are rewritten in place and sorted by row,
/// so that the end of a run with many rows holds the cells and the rows,
/// nothing more.
pub(super) fn rows(
    cells: Slots<CellKey, Cell>,
    learned: &LearnedMap,
    name: impl Fn(EniId) -> Option<String>,
) -> Vec<Row> {
    let mut cells = cells.into_list();
    decide(&mut cells, learned, |k, d| *k = k.row(d.dir, d.port));
    cells.sort_unstable_by_key(|(k, _)| k.row_order());
    let mut rows: Vec<Row> = Vec::new();
    let mut ports: Option<PortSet> = None;
    let mut last: Option<CellKey> = None;
    // From the end, a slice at a time, each slice's memory given back
    // before the next: the rows grow as the cells shrink (whole, the two
    // were the end of a run's peak memory). Descending, so that the cells
    // of a row stay together.
    let slice = cells.len() / 8 + 1;
    while !cells.is_empty() {
        let at = cells.len().saturating_sub(slice);
        for (k, cell) in cells.drain(at..).rev() {
            add_cell(&mut rows, &mut ports, &mut last, k, cell);
        }
        cells.shrink_to_fit();
    }
    finish_row(&mut rows, ports);
    rows.reverse();
    // An interface's text made once, not once per row (formatting it
    // was ~1,000 instructions a row, and busy runs have 250,000 rows).
    let mut names: HashMap<EniId, Option<String>> = HashMap::new();
    for r in rows.iter_mut() {
        r.interface_id = names.entry(r.eni).or_insert_with(|| name(r.eni)).clone();
    }
    rows.sort_by(|a, b| {
        let folded = |r: &Row| r.ports_folded.is_some();
        (
            &a.interface_id,
            a.direction,
            a.protocol,
            a.port,
            a.action,
            folded(a),
        )
            .cmp(&(
                &b.interface_id,
                b.direction,
                b.protocol,
                b.port,
                b.action,
                folded(b),
            ))
    });
    rows
}

/// Adds a cell to the row last pushed, or to a new one if its key
/// differs from the last cell's (cells come grouped by row).
fn add_cell(
    rows: &mut Vec<Row>,
    ports: &mut Option<PortSet>,
    last: &mut Option<CellKey>,
    k: CellKey,
    cell: Cell,
) {
    if *last != Some(k) {
        finish_row(rows, ports.take());
        *last = Some(k);
        let direction = match k.dir() {
            CellDir::Known(d) => d,
            _ => Direction::Unknown,
        };
        rows.push(Row {
            eni: k.eni(),
            interface_id: None,
            direction,
            protocol: k.proto(),
            port: k.port(),
            action: k.action(),
            flows: 0,
            packets: 0,
            bytes: 0,
            first_seen: None,
            last_seen: None,
            peers: PeerSet::default(),
            ports_folded: None,
        });
    }
    let row = rows.last_mut().expect("a row was pushed");
    row.flows += cell.flows;
    row.packets = row.packets.saturating_add(cell.packets);
    row.bytes = row.bytes.saturating_add(cell.bytes);
    row.add_span(cell.span.first(), cell.span.last());
    // Rejected rows keep few exact peers (`Bound::Small`), whatever
    // the bound of the cells they sum.
    let bound = match k.action() {
        Action::Reject => Bound::Small,
        _ => Bound::Full,
    };
    row.peers.merge_in(bound, cell.peers);
    if let Some(p) = cell.ports {
        match ports {
            Some(s) => s.union(&p),
            None => *ports = Some(p),
        }
    }
}

/// The folded ports of the row last pushed.
fn finish_row(rows: &mut [Row], ports: Option<PortSet>) {
    if let (Some(r), Some(p)) = (rows.last_mut(), ports) {
        r.ports_folded = Some(p.len());
    }
}

fn flip(d: Direction) -> Option<Direction> {
    match d {
        Direction::Egress => Some(Direction::Ingress),
        Direction::Ingress => Some(Direction::Egress),
        Direction::Unknown => None,
    }
}

/// A cell's direction. An unresolved cell's `addr` is one side of its
/// records: if it is the interface's, the records are to (server side)
/// or from (client side) the interface; if not, the other side is the
/// interface and `addr` is its one peer. A public-peer cell's `addr` is
/// the private side: the interface's, unless the interface has learned
/// addresses and this is none of them: then the records pass through it
/// (a NAT gateway's transit), which serves the initiator (ingress), and
/// `addr`, when the client, is the peer.
fn resolve(key: &CellKey, cell: &mut Cell, learned: &LearnedMap) -> Direction {
    let own = learned
        .get(&key.eni())
        .and_then(|f| f[family(key.addr())].as_ref())
        .filter(|l| !l.addresses.is_empty())
        .map(|l| l.addresses.contains(&key.addr()));
    let (dir, peer_is_addr) = match (key.dir(), own) {
        (CellDir::Known(dir), _) => (dir, false),
        (CellDir::Unresolved(_), None) => (Direction::Unknown, false),
        (CellDir::Unresolved(side), Some(own)) | (CellDir::PublicPeer(side), Some(own @ true)) => {
            let dir = match (side, own) {
                (Side::Server, true) | (Side::Client, false) => Direction::Ingress,
                (Side::Client, true) | (Side::Server, false) => Direction::Egress,
            };
            (dir, !own)
        }
        // Not learned: the private side is the interface's (rule 3).
        (CellDir::PublicPeer(side), None) => match side {
            Side::Server => (Direction::Ingress, false),
            Side::Client => (Direction::Egress, false),
        },
        (CellDir::PublicPeer(side), Some(false)) => (Direction::Ingress, side == Side::Client),
    };
    if peer_is_addr {
        let mut p = PeerSet::default();
        p.add(key.addr(), cell.flows, cell.bytes);
        cell.peers = p;
    }
    dir
}

/// The interfaces' summaries, sorted by id: their addresses by family and
/// how they were found.
pub(super) fn interfaces(
    enis: &Slots<EniId, EniStats>,
    learned: &LearnedMap,
    name: impl Fn(EniId) -> Option<String>,
) -> Vec<InterfaceSummary> {
    let mut out: Vec<InterfaceSummary> = enis
        .iter()
        .map(|(e, s)| {
            let fam = |f: usize| -> Option<FamilyAddresses> {
                let st = s.family[f];
                if st.records == 0 {
                    return None;
                }
                let learned = learned.get(e).and_then(|l| l[f].as_ref());
                let (addresses, source, share) = if let Some(inv) = &s.inventory {
                    let a = inv.iter().copied().filter(|ip| family(*ip) == f).collect();
                    let share = 1.0 - st.neither as f64 / st.records as f64;
                    (a, AddressSource::Inventory, share)
                } else {
                    let (a, share) =
                        learned.map_or((Vec::new(), 0.0), |l| (l.addresses.clone(), l.share));
                    let source = if st.flow_direction == st.records {
                        AddressSource::FlowDirection
                    } else if a.is_empty() {
                        AddressSource::Unknown
                    } else {
                        AddressSource::Learned
                    };
                    (a, source, share)
                };
                Some(FamilyAddresses {
                    addresses,
                    source,
                    records: st.records,
                    share,
                })
            };
            let (ipv4, ipv6) = (fam(0), fam(1));
            let fd: u64 = s.family.iter().map(|f| f.flow_direction).sum();
            let (addresses, address_source) = if let Some(inv) = &s.inventory {
                (inv.clone(), AddressSource::Inventory)
            } else {
                let mut a: Vec<Ip> = [&ipv4, &ipv6]
                    .into_iter()
                    .flatten()
                    .flat_map(|f| f.addresses.iter().copied())
                    .collect();
                a.sort();
                let source = if s.records > 0 && fd == s.records {
                    AddressSource::FlowDirection
                } else if a.is_empty() {
                    AddressSource::Unknown
                } else {
                    AddressSource::Learned
                };
                (a, source)
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
                address_source,
                ipv4,
                ipv6,
            }
        })
        .collect();
    out.sort_by(|a, b| a.interface_id.cmp(&b.interface_id));
    out
}
