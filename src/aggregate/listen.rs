//! Which side of a record listens, as summarize books it, for commands
//! that follow records one by one (`scans`).
//!
//! Most records decide it alone (`direction::server_is_dst`: tcp-flags, a
//! REJECT, clear port evidence). The rest (`Evidence::AmbiguousPorts`,
//! `Evidence::RejectedFromServicePort`: about 1% of busy records) are
//! decided at the end of the run for their whole cell, from the
//! interface's other traffic and learned addresses (`resolve::decide`).
//! Such a record's answer is its cell (`OpenCell`) and its own guess; the
//! aggregate, fed the same records, tells at the end whether each cell
//! asked about kept its guess or turned it round (`Aggregate::decide`).
//! So a caller never decides a port itself, and the rule stays in one
//! place.

use hashbrown::HashMap;

use super::keys::CellKey;
use super::{flow_key, locate, resolve, turned_round, Aggregate};
use crate::flowlog::record::FlowRecord;

/// Which side of a record listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Decided by the record alone: true when its destination listens.
    Known(bool),
    /// Decided at the end of the run for the record's cell: `dst` is the
    /// record's own guess (its destination listens), which the cell's
    /// decision keeps or turns round (`Aggregate::decide`).
    Open { cell: OpenCell, dst: bool },
}

/// The cell of a record whose listening side the end of the run decides
/// (what `Aggregate::decide` is asked about). Hashable, so that a caller
/// can keep each once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenCell(CellKey);

impl Aggregate {
    /// Which side of `rec` listens, as this aggregate books it when `rec`
    /// is added (`add`, or `record` for any interface): the same key and
    /// placement (with the same inventory addresses), so an open record's
    /// cell is the one it went to.
    #[inline]
    pub fn listener(&self, rec: &FlowRecord) -> Listener {
        let (_, dst, open) = flow_key(rec);
        if !open {
            return Listener::Known(dst);
        }
        self.open_cell(rec, dst)
    }

    #[cold]
    #[inline(never)]
    fn open_cell(&self, rec: &FlowRecord, dst: bool) -> Listener {
        // An attachment's records are added turned round (`record_odd`).
        let turned;
        let rec = if rec.interface.is_attachment() {
            turned = turned_round(rec);
            &turned
        } else {
            rec
        };
        let (key, ..) = flow_key(rec);
        let inventory = self.locals.as_ref().and_then(|l| l.get(&key.eni));
        let (_, cell, _) = locate(&key, inventory.map(Vec::as_slice));
        Listener::Open {
            cell: OpenCell(cell),
            dst,
        }
    }

    /// Ends the run as `finish` does up to the rows, and tells for each
    /// cell asked whether its records' guess was turned round (then the
    /// side a record guessed is the client, and the other listens). A
    /// cell the aggregate never saw keeps its guess.
    pub fn decide(mut self, asked: &[OpenCell]) -> Vec<bool> {
        let learned = self.settle();
        let at: HashMap<CellKey, usize> = asked.iter().enumerate().map(|(i, c)| (c.0, i)).collect();
        let mut turned = vec![false; asked.len()];
        let mut cells = self.cells.into_list();
        resolve::decide(&mut cells, &learned, |k, d| {
            if let Some(&i) = at.get(k) {
                turned[i] = d.turned;
            }
        });
        turned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::record::{Action, Ip};

    fn rec(src: &str, dst: &str, sp: u16, dp: u16, action: Action) -> FlowRecord {
        let ip = |s: &str| Ip::from(s.parse::<std::net::IpAddr>().unwrap());
        FlowRecord {
            srcaddr: Some(ip(src)),
            dstaddr: Some(ip(dst)),
            srcport: Some(sp),
            dstport: Some(dp),
            protocol: Some(6),
            action,
            start: Some(1_700_000_000),
            end: Some(1_700_000_060),
            ..Default::default()
        }
    }

    /// A rejected packet from port 53 to another port: a response unless
    /// the interface called 53 on that peer. The end of the run turns the
    /// guess round (a probe of 20000) for a stranger, and keeps it (a
    /// response to 20001) for a peer the interface called.
    #[test]
    fn an_open_record_is_decided_with_its_cell() {
        let mut agg = Aggregate::default();
        let probe = rec("203.0.113.50", "10.0.1.5", 53, 20000, Action::Reject);
        let late = rec("198.51.100.7", "10.0.1.5", 53, 20001, Action::Reject);
        let call = rec("10.0.1.5", "198.51.100.7", 40000, 53, Action::Accept);
        for r in [&probe, &late, &call] {
            agg.add(r);
        }
        assert_eq!(agg.listener(&call), Listener::Known(true));
        let (
            Listener::Open {
                cell: a,
                dst: false,
            },
            Listener::Open {
                cell: b,
                dst: false,
            },
        ) = (agg.listener(&probe), agg.listener(&late))
        else {
            panic!("open, guessed a response: {:?}", agg.listener(&probe));
        };
        assert_ne!(a, b);
        assert_eq!(agg.decide(&[a, b]), vec![true, false]);
    }
}
