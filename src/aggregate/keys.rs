//! Cell keys: what a record's traffic is counted under before the end of
//! the run, packed into a few words so that comparing and hashing one is
//! a handful of instructions (field by field, an `Option` at a time, it
//! was ~20 for a comparison and ten hasher rounds for a hash, on every
//! record).

use super::direction::is_service_port;
use super::peers::{Bound, Words};
use super::summary::Direction;
use crate::flowlog::record::{Action, EniId, Ip};

/// A cell's direction: decided, or waiting for the interface's learned
/// addresses (`direction::Placement::Unresolved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CellDir {
    Known(Direction),
    /// Interface addresses not known yet: whether `addr` in the key is
    /// one of them decides, at the end of the run.
    Unresolved(Side),
    /// A record between a public IPv4 peer and `addr`, a private address:
    /// the interface's own, unless the interface forwards traffic that is
    /// neither's (a NAT gateway's transit records), which its learned
    /// addresses tell at the end of the run.
    PublicPeer(Side),
}

/// Which side of its records an unresolved cell's `addr` is; the other
/// side is in the cell's peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Side {
    Server,
    Client,
}

/// The service of a record's key, packed into the low 44 bits of a word:
/// port (bit 16 set when present) | alt << 17 (the same) | protocol << 34
/// | action << 42. Shared by `CellKey` and `front::FlowKey`, whose upper
/// bits hold their own fields, so that a record summed in the front table
/// reaches its cell without being unpacked and packed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Service(pub u64);

impl Service {
    const BITS: u64 = (1 << 44) - 1;

    /// `alt` is the other side's port when the service port may be
    /// corrected at the end (`Evidence::AmbiguousPorts`,
    /// `Evidence::RejectedFromServicePort`).
    #[cfg(test)]
    pub fn new(port: Option<u16>, alt: Option<u16>, proto: u8, action: Action) -> Service {
        Service::of_ports(Service::pack(port), Service::pack(alt), proto, action)
    }

    /// A port as `Service` packs it: 17 bits, the top one set when there
    /// is a port, so that port 0 and no port differ.
    #[inline(always)]
    pub fn pack(p: Option<u16>) -> u64 {
        p.map_or(0, |p| 0x1_0000 | p as u64)
    }

    /// `new` with ports already packed by `pack`.
    #[inline(always)]
    pub fn of_ports(port: u64, alt: u64, proto: u8, action: Action) -> Service {
        Service(port | alt << 17 | (proto as u64) << 34 | (action as u64) << 42)
    }

    /// The service in the low bits of `word`.
    pub fn of(word: u64) -> Service {
        Service(word & Service::BITS)
    }

    pub fn port(self) -> Option<u16> {
        (self.0 & 0x1_0000 != 0).then_some(self.0 as u16)
    }

    pub fn alt(self) -> Option<u16> {
        (self.0 >> 17 & 0x1_0000 != 0).then_some((self.0 >> 17) as u16)
    }

    pub fn proto(self) -> u8 {
        (self.0 >> 34) as u8
    }

    pub fn action(self) -> Action {
        match self.0 >> 42 & 3 {
            0 => Action::Accept,
            1 => Action::Reject,
            _ => Action::Unknown,
        }
    }
}

/// A cell's key in five 8-byte words (the interface and the address as
/// two words each, not as `u128`s: aligned to 16 bytes, they made every
/// cell 16 bytes larger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CellKey {
    eni: Words,
    /// Unresolved cells only (else unspecified): one side's address.
    addr: Words,
    /// `Service` | direction << 44 | folded << 47 (`CellKey::with`).
    small: u64,
}

const FOLDED: u64 = 1 << 47;

impl super::slots::SlotKey for CellKey {
    /// The interface's and the address's words xored (each varies in its
    /// low word: ENI digits, IPv4), then the packed service.
    #[inline(always)]
    fn words(&self) -> [u64; 3] {
        let ([e0, e1], [a0, a1]) = (self.eni.words(), self.addr.words());
        [e0 ^ a0.rotate_left(32), e1 ^ a1, self.small]
    }
}

impl CellKey {
    #[cfg(test)]
    pub fn new(
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
    pub fn with(eni: EniId, addr: Ip, service: Service, dir: CellDir) -> CellKey {
        let dir = match dir {
            CellDir::Known(d) => d as u64,
            CellDir::Unresolved(Side::Server) => 3,
            CellDir::Unresolved(Side::Client) => 4,
            CellDir::PublicPeer(Side::Server) => 5,
            CellDir::PublicPeer(Side::Client) => 6,
        };
        CellKey {
            eni: Words::of(Ip(eni.0)),
            addr: Words::of(addr),
            small: service.0 | dir << 44,
        }
    }

    pub fn eni(&self) -> EniId {
        EniId(self.eni.ip().0)
    }

    pub fn addr(&self) -> Ip {
        self.addr.ip()
    }

    pub fn port(&self) -> Option<u16> {
        Service::of(self.small).port()
    }

    pub fn alt(&self) -> Option<u16> {
        Service::of(self.small).alt()
    }

    pub fn proto(&self) -> u8 {
        Service::of(self.small).proto()
    }

    pub fn action(&self) -> Action {
        Service::of(self.small).action()
    }

    pub fn dir(&self) -> CellDir {
        match self.small >> 44 & 7 {
            0 => CellDir::Known(Direction::Ingress),
            1 => CellDir::Known(Direction::Egress),
            2 => CellDir::Known(Direction::Unknown),
            3 => CellDir::Unresolved(Side::Server),
            4 => CellDir::Unresolved(Side::Client),
            5 => CellDir::PublicPeer(Side::Server),
            _ => CellDir::PublicPeer(Side::Client),
        }
    }

    /// The key of a cell's row once its direction and port are decided:
    /// the side's address and the other port dropped, so that cells of
    /// one row have one key.
    pub fn row(&self, dir: Direction, port: Option<u16>) -> CellKey {
        let service = Service::of_ports(Service::pack(port), 0, self.proto(), self.action());
        let mut k = CellKey::with(self.eni(), Ip::default(), service, CellDir::Known(dir));
        k.small |= self.small & FOLDED;
        k
    }

    /// The order of rows: interface, direction, protocol, port, action,
    /// folded last.
    pub fn row_order(&self) -> (EniId, u64, u8, Option<u16>, u64, bool) {
        let dir = self.small >> 44 & 7;
        (
            self.eni(),
            dir,
            self.proto(),
            self.port(),
            self.small >> 42 & 3,
            self.is_folded(),
        )
    }

    /// True for a cell of rejected traffic to many ports, folded past the
    /// budget (see `fold`): its port is none, its ports are in the cell.
    pub fn is_folded(&self) -> bool {
        self.small & FOLDED != 0
    }

    /// The peer bound of the cell: small for rejected traffic placed on
    /// its row's side (rules are never built from it), full for accepted
    /// traffic, for rejected cells whose port may be corrected (the
    /// correction looks at their exact peers) and for unresolved cells
    /// (whose peers help learn the interface's addresses).
    #[inline]
    pub fn peer_bound(&self) -> Bound {
        match self.dir() {
            CellDir::Known(_) | CellDir::PublicPeer(_)
                if self.action() == Action::Reject && self.alt().is_none() =>
            {
                Bound::Small
            }
            _ => Bound::Full,
        }
    }

    /// Rejected traffic to a port outside the service list, whose port is
    /// not open to correction: what may fold once there is too much of it
    /// (random-port probes). Everything else stays exact.
    #[inline]
    pub fn foldable(&self) -> bool {
        self.action() == Action::Reject
            && !self.is_folded()
            && self.alt().is_none()
            && self.port().is_some_and(|p| !is_service_port(p))
    }

    /// The key this one folds into: the same interface, side and
    /// direction, protocol and action, and no port.
    pub fn folded(&self) -> CellKey {
        // Ports are the low 34 bits; protocol, action and direction above.
        CellKey {
            eni: self.eni,
            addr: self.addr,
            small: self.small & !((1 << 34) - 1) | FOLDED,
        }
    }

    /// The hash that decides whether a foldable key folds: of what names
    /// its row apart from the direction (the interface, protocol, port and
    /// action), so that the decision is the same for the key in every
    /// worker, resolved or not.
    #[inline]
    pub fn fold_hash(&self) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let service = self.small & ((1 << 17) - 1) | self.small & (0x3ff << 34);
        let [e0, e1] = self.eni.words();
        let mut z = e0 ^ e1.rotate_left(23) ^ service.wrapping_mul(K);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
