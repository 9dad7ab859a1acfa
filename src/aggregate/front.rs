//! A small direct-mapped table in front of the cells, summing the records
//! of one conversation before the aggregator's full work is done for them.
//!
//! Everything `Aggregate` decides for a data record (direction, cell,
//! peer) depends only on the fields in `FlowKey`: the interface, both
//! addresses, the service port (and the other port when the service port
//! was a guess), the protocol, the action, which side listens and the
//! `flow-direction` field. Records with equal keys (the same client and
//! server on one service, over many connections and capture windows) can
//! therefore be summed first and placed once, with their counts as
//! weights: flows, packets and bytes add, time spans widen, and a peer's
//! flows and bytes add. The result is the same whatever the grouping
//! (saturating sums of unsigned numbers do not depend on order), and
//! whether a key folds (`fold`) depends on the key alone.
//!
//! A record costs one hash of its key, one slot compared and four fields
//! updated; the full path (interface statistics, cell lookup, peer set,
//! ~300 instructions) runs once per key instead of once per record. A key
//! that lands on a slot held by another key pushes the old entry out to
//! the full path: memory stays fixed, and any input still comes out right,
//! only with less summed first (a port scan, with a new key per record).

use super::cells::Span;
use super::keys::Service;
use crate::flowlog::record::{EniId, Ip, PacketDirection};

/// Records over which the table's use is judged, the share of them that
/// must find their key for the table to stay in use, and how many records
/// then pass straight through before it is tried again. When nearly every
/// record is a conversation of its own, the table only adds work (20%
/// more instructions on such data without this check, 7% with it) and
/// scrambles the order in which the full path sees records, which defeats
/// its `Slots` last-entry checks.
const EPOCH: u64 = 8192;
const MIN_SUMMED: u64 = EPOCH / 4;
const PAUSE: u64 = 16 * EPOCH;

/// Slots in the table: 4096 × 96 bytes, which stays in the L2 cache of
/// any current server core. (The generated benchmark data has ~1,200
/// distinct keys per 9,000-record chunk.)
const BITS: u32 = 12;
const SLOTS: usize = 1 << BITS;

/// What decides where a data record goes. `small` packs the rest
/// (`FlowKey::new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct FlowKey {
    pub eni: EniId,
    pub src: Ip,
    pub dst: Ip,
    /// `Service` (port, alt, protocol, action) | dst_server << 44 |
    /// flow-direction << 45 (0 none, 1 ingress, 2 egress).
    small: u64,
}

impl FlowKey {
    #[inline(always)]
    pub fn new(
        eni: EniId,
        src: Ip,
        dst: Ip,
        service: Service,
        dst_server: bool,
        flow_direction: Option<PacketDirection>,
    ) -> FlowKey {
        let fd = match flow_direction {
            None => 0u64,
            Some(PacketDirection::Ingress) => 1,
            Some(PacketDirection::Egress) => 2,
        };
        FlowKey {
            eni,
            src,
            dst,
            small: service.0 | (dst_server as u64) << 44 | fd << 45,
        }
    }

    pub fn service(&self) -> Service {
        Service::of(self.small)
    }

    pub fn dst_server(&self) -> bool {
        self.small >> 44 & 1 == 1
    }

    pub fn flow_direction(&self) -> Option<PacketDirection> {
        match self.small >> 45 & 3 {
            1 => Some(PacketDirection::Ingress),
            2 => Some(PacketDirection::Egress),
            _ => None,
        }
    }

    /// The slot: the low words of the addresses and interface (where
    /// IPv4 addresses and ENI digits vary) and the packed fields, mixed
    /// by multiplication; the top bits are the best mixed.
    #[inline(always)]
    fn slot(&self) -> usize {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let h = (self.src.0 as u64)
            ^ (self.dst.0 as u64).rotate_left(32)
            ^ (self.eni.0 as u64).wrapping_mul(K)
            ^ self.small.rotate_left(17);
        (h.wrapping_mul(K) >> (64 - BITS)) as usize
    }
}

/// The records of one key, summed. `flows == 0`: an empty slot.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flow {
    pub key: FlowKey,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Front {
    /// Allocated at the first record (an aggregate that only merges
    /// others never needs it).
    slots: Option<Box<[Flow; SLOTS]>>,
    /// Records added since the table was last judged, and how many of
    /// them found their key in it.
    seen: u64,
    summed: u64,
    /// Records still to pass through without the table.
    bypass: u64,
}

impl Front {
    /// Adds one record, which stands for `flows` records (1, or more for
    /// a pre-aggregated line); returns the entry it pushed out, if any,
    /// which the caller must place (or the record itself, while the table
    /// is not in use).
    #[inline(always)]
    pub fn add(
        &mut self,
        key: FlowKey,
        flows: u64,
        packets: u64,
        bytes: u64,
        span: Span,
    ) -> Option<Flow> {
        let new = Flow {
            key,
            flows,
            packets,
            bytes,
            span,
        };
        if self.bypass > 0 {
            self.bypass -= 1;
            return Some(new);
        }
        let slots = self.slots.get_or_insert_with(|| {
            let v = vec![Flow::default(); SLOTS].into_boxed_slice();
            v.try_into().expect("SLOTS entries")
        });
        // (The mask is a no-op that spares a bounds check.)
        let f = &mut slots[key.slot() & (SLOTS - 1)];
        self.seen += 1;
        if f.key == key && f.flows != 0 {
            f.flows += flows;
            f.packets = f.packets.saturating_add(packets);
            f.bytes = f.bytes.saturating_add(bytes);
            f.span.widen(span);
            self.summed += 1;
            return None;
        }
        let old = std::mem::replace(f, new);
        if self.seen >= EPOCH {
            if self.summed < MIN_SUMMED {
                self.bypass = PAUSE;
            }
            (self.seen, self.summed) = (0, 0);
        }
        (old.flows != 0).then_some(old)
    }

    /// A table that passes every record straight through (for tests that
    /// compare the aggregate with and without it).
    #[cfg(test)]
    pub fn passthrough() -> Front {
        Front {
            bypass: u64::MAX,
            ..Front::default()
        }
    }

    /// Empties the table, handing every entry to `place` (in slot order:
    /// the aggregate's result does not depend on the order).
    pub fn drain(&mut self, mut place: impl FnMut(&Flow)) {
        let slots = self.slots.iter_mut().flat_map(|s| s.iter_mut());
        for f in slots.filter(|f| f.flows != 0) {
            place(f);
            f.flows = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::record::Action;

    #[test]
    fn key_fields_round_trip() {
        for (port, alt, proto, action, ds, fd) in [
            (Some(443), None, 6, Action::Accept, true, None),
            (
                None,
                None,
                1,
                Action::Reject,
                false,
                Some(PacketDirection::Egress),
            ),
            (
                Some(0),
                Some(65535),
                17,
                Action::Unknown,
                true,
                Some(PacketDirection::Ingress),
            ),
            (Some(65535), Some(0), 255, Action::Accept, false, None),
        ] {
            let service = Service::new(port, alt, proto, action);
            let k = FlowKey::new(EniId(7), Ip::v4(1), Ip::v4(2), service, ds, fd);
            let s = k.service();
            assert_eq!(
                (
                    s.port(),
                    s.alt(),
                    s.proto(),
                    s.action(),
                    k.dst_server(),
                    k.flow_direction()
                ),
                (port, alt, proto, action, ds, fd)
            );
            assert!(k.slot() < SLOTS);
        }
    }

    fn key(n: u32) -> FlowKey {
        let service = Service::new(Some(80), None, 6, Action::Accept);
        FlowKey::new(EniId(1), Ip::v4(n), Ip::v4(9), service, true, None)
    }

    fn span(t: u64) -> Span {
        Span { first: t, last: t }
    }

    #[test]
    fn sums_equal_keys_and_pushes_out_others() {
        let mut f = Front::default();
        let mut out = Vec::new();
        // 3,000 keys, each seen ten times: most are summed, those that
        // share a slot push each other out, and every record is
        // accounted for once.
        for round in 0..10 {
            for n in 0..3_000u32 {
                out.extend(f.add(key(n), 1, 2, 100, span(n as u64 + round)));
            }
        }
        assert!(out.len() < 15_000, "{}", out.len());
        f.drain(|e| out.push(*e));
        assert_eq!(out.iter().map(|e| e.flows).sum::<u64>(), 30_000);
        assert_eq!(out.iter().map(|e| e.packets).sum::<u64>(), 60_000);
        assert_eq!(out.iter().map(|e| e.bytes).sum::<u64>(), 3_000_000);
        assert!(out.iter().all(|e| e.span.last - e.span.first < e.flows));
        assert!(out
            .iter()
            .any(|e| e.flows == 10 && e.span.last == e.span.first + 9));
        let mut drained = 0;
        f.drain(|_| drained += 1);
        assert_eq!(drained, 0);
    }

    #[test]
    fn a_key_per_record_turns_the_table_off_for_a_while() {
        let mut f = Front::default();
        let mut n = 0;
        for _ in 0..EPOCH {
            n += 1;
            f.add(key(n), 1, 1, 1, span(0));
        }
        // Bypassed: each record comes straight back.
        for _ in 0..PAUSE {
            n += 1;
            let out = f.add(key(n), 1, 1, 1, span(0)).unwrap();
            assert_eq!((out.key, out.flows), (key(n), 1));
        }
        // In use again: a new key is held.
        n += 1;
        assert!(f
            .add(key(n), 1, 1, 1, span(0))
            .is_none_or(|out| out.key != key(n)));
    }
}
