//! Direction, decided here and only here, from what each record proves.
//!
//! `direction` in a row is the direction of the security-group rule the
//! flow needs, not of the packet: a task's response from port 8080 to an
//! ALB's ephemeral port is *ingress* to 8080 on the task. Two questions
//! decide it, each with its evidence, strongest first.
//!
//! Which side listens (`server_is_dst`), so which port is the service's:
//! 1. `tcp-flags`: SYN-ACK (18) is sent by the server; SYN without ACK by
//!    the client. AWS ORs flags over the window and reports a pure-ACK
//!    record as 0, so later windows of long connections carry no signal.
//! 2. REJECT: a security group never rejects the response to a connection
//!    it let through, so a rejected packet is a request to its
//!    destination port. But a stateless network ACL can reject a
//!    response: from a service port to another, a rejected packet is
//!    taken for one (which keeps it out of `scans`), and the end of the
//!    run books it as the request it then is unless the interface was seen
//!    calling that service on that peer (`resolve`).
//! 3. Ports: a port below 1024 or a well-known service port beats an
//!    ephemeral one (Linux 32768-60999, Windows and ALB/NAT up to 65535);
//!    otherwise the lower port is the server's, open to correction from
//!    the interface's other traffic (`resolve`).
//!
//! Which side is the interface (`place`), so whether the listener is it
//! (ingress) or its peer (egress):
//! 1. `flow-direction` (v5): written in the record.
//! 2. The inventory's addresses (`--interfaces`).
//! 3. One side a public IPv4 address, the other private: the private side
//!    is the interface (flow logs never show an interface's public IPv4;
//!    it is translated at the internet gateway).
//! 4. The rest (private to private, IPv6, public to public) waits for the
//!    interface's addresses, learned per family from exact counts at the
//!    end of the run (`learn`), so that it depends on the records only.

use crate::flowlog::record::{has_ports, Action, FlowRecord, Ip, PacketDirection};

/// Ports commonly listened on above 1023 (databases, caches, app servers).
const SERVICE_PORTS: &[u16] = &[
    1433, 1521, 2049, 2181, 2375, 2376, 2379, 3000, 3306, 3389, 4369, 5000, 5432, 5439, 5601, 5672,
    5900, 5984, 6379, 6443, 7000, 7001, 7199, 8000, 8008, 8080, 8081, 8088, 8443, 8500, 8888, 9000,
    9042, 9090, 9092, 9093, 9200, 9300, 9418, 10250, 11211, 15672, 27017, 50051,
];

/// One bit per port: below 1024 or in `SERVICE_PORTS`. Built at compile
/// time; a lookup replaces a binary search that ran four times per record
/// with data-dependent branches (3% of a single-thread profile).
static SERVICE_BITMAP: [u64; 1024] = {
    let mut bits = [0u64; 1024];
    let mut p = 0;
    while p < 1024 {
        bits[p / 64] |= 1 << (p % 64);
        p += 1;
    }
    let mut i = 0;
    while i < SERVICE_PORTS.len() {
        let p = SERVICE_PORTS[i] as usize;
        bits[p / 64] |= 1 << (p % 64);
        i += 1;
    }
    bits
};

/// Start of the ephemeral port range common to Linux (32768-60999) and
/// Windows (49152-65535).
const EPHEMERAL: u16 = 32768;

/// True if a port is a well-known service port.
#[inline]
pub fn is_service_port(p: u16) -> bool {
    SERVICE_BITMAP[p as usize / 64] >> (p % 64) & 1 == 1
}

/// How the server side was decided (kept for diagnostics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    TcpFlags,
    /// One port is a service port (or below 1024) and the other is not.
    Ports,
    /// Both or neither are service ports, and one is in the ephemeral
    /// range: the other listens. Settled here, so that the cell does not
    /// keep the ephemeral port to correct later: every ephemeral port of
    /// every conversation was a cell of its own (750,000 cells at 50
    /// million busy records, against 1,700 output rows of accepted
    /// traffic), where a service on a port in the ephemeral range called
    /// from a port below it is the rare case this gets wrong.
    EphemeralRange,
    /// Both or neither are service ports, both in or both out of the
    /// ephemeral range: the lower port, open to correction from the
    /// interface's other traffic (see `resolve`).
    AmbiguousPorts,
    /// A rejected packet: a request to its destination port.
    Rejected,
    /// A rejected packet from a service port to another port: a response
    /// rejected by a network ACL if the interface called that service on
    /// that peer, else a request (a scanner's source port can be
    /// anything); the aggregate tells which at the end (`resolve`).
    RejectedFromServicePort,
    NoPorts,
}

/// True when the destination is the listening side.
#[inline]
pub fn server_is_dst(rec: &FlowRecord, protocol: u8) -> (bool, Evidence) {
    if !has_ports(protocol) {
        return (true, Evidence::NoPorts);
    }
    if protocol == 6 {
        if let Some(f) = rec.tcp_flags {
            if f & 0x12 == 0x12 {
                return (false, Evidence::TcpFlags);
            }
            if f & 0x02 != 0 {
                return (true, Evidence::TcpFlags);
            }
        }
    }
    let sp = rec.srcport.unwrap_or(0);
    let dp = rec.dstport.unwrap_or(0);
    if rec.action == Action::Reject {
        return if is_service_port(sp) && !is_service_port(dp) {
            (false, Evidence::RejectedFromServicePort)
        } else {
            (true, Evidence::Rejected)
        };
    }
    let evidence = if is_service_port(sp) != is_service_port(dp) {
        Evidence::Ports
    } else if (sp >= EPHEMERAL) != (dp >= EPHEMERAL) {
        Evidence::EphemeralRange
    } else {
        Evidence::AmbiguousPorts
    };
    (dst_is_server_by_ports(sp, dp), evidence)
}

/// Port heuristic: a service port beats a non-service port; an
/// ephemeral-range port loses to one outside it; else the lower wins.
#[inline]
pub fn dst_is_server_by_ports(sp: u16, dp: u16) -> bool {
    let (s_svc, d_svc) = (is_service_port(sp), is_service_port(dp));
    if s_svc != d_svc {
        return d_svc;
    }
    let (s_eph, d_eph) = (sp >= EPHEMERAL, dp >= EPHEMERAL);
    if s_eph != d_eph {
        return s_eph;
    }
    dp <= sp
}

/// Which side of a record is the interface, and what proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// The packet arrived at the interface (`inbound`: its destination is
    /// the interface's side) or left it.
    Known { inbound: bool, proof: Proof },
    /// One side a public IPv4 address, the other private: the private
    /// side is the interface (`inbound`: the destination is private),
    /// unless the interface forwards others' traffic (see `learn`).
    PublicPeer { inbound: bool },
    /// The inventory lists the interface's addresses and neither side is
    /// one of them (transit through a NAT gateway, an unlisted address).
    Neither,
    /// Decided at the end from the interface's learned addresses.
    Unresolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proof {
    FlowDirection,
    Inventory,
}

/// Places a record on its interface (rules 1-4 above). Without
/// `flow-direction`, a record and its mirror (sides and `dst_server`
/// swapped) get the same row, which `Aggregate::add` relies on to key a
/// response as its request. (But for an inventory listing both sides, an
/// interface calling one of its own addresses: keyed as the request, both
/// records are ingress to the listener.)
#[inline]
pub(super) fn place(
    src: Ip,
    dst: Ip,
    flow_direction: Option<PacketDirection>,
    inventory: Option<&[Ip]>,
) -> Placement {
    if let Some(pd) = flow_direction {
        return Placement::Known {
            inbound: pd == PacketDirection::Ingress,
            proof: Proof::FlowDirection,
        };
    }
    if let Some(own) = inventory {
        return if own.contains(&dst) {
            Placement::Known {
                inbound: true,
                proof: Proof::Inventory,
            }
        } else if own.contains(&src) {
            Placement::Known {
                inbound: false,
                proof: Proof::Inventory,
            }
        } else {
            Placement::Neither
        };
    }
    match (is_public_v4(src), is_public_v4(dst)) {
        (true, false) if is_private_v4(dst) => Placement::PublicPeer { inbound: true },
        (false, true) if is_private_v4(src) => Placement::PublicPeer { inbound: false },
        _ => Placement::Unresolved,
    }
}

/// An IPv4 address a VPC numbers interfaces from: RFC 1918 and the
/// shared range 100.64.0.0/10.
#[inline]
pub fn is_private_v4(ip: Ip) -> bool {
    let a = ip.0 as u32;
    ip.is_v4() && (a >> 24 == 10 || a >> 20 == 0xac1 || a >> 16 == 0xc0a8 || a >> 22 == 0x191)
}

/// An IPv4 address routed on the internet: not private, and not
/// this-network (0/8), loopback (127/8), link-local (169.254/16: the
/// instance metadata and time services) or multicast and above (224/3).
/// Never an interface's own address in a flow log. (A VPC numbered from a
/// public range as if private would be misplaced by rule 3.)
#[inline]
pub fn is_public_v4(ip: Ip) -> bool {
    let a = ip.0 as u32;
    ip.is_v4()
        && !is_private_v4(ip)
        && !(a >> 24 == 0 || a >> 24 == 127 || a >> 16 == 0xa9fe || a >> 29 == 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(sp: u16, dp: u16, flags: Option<u16>) -> FlowRecord {
        FlowRecord {
            srcport: Some(sp),
            dstport: Some(dp),
            tcp_flags: flags,
            ..Default::default()
        }
    }

    #[test]
    fn service_ports_sorted() {
        assert!(SERVICE_PORTS.windows(2).all(|w| w[0] < w[1]));
        for p in 0..=u16::MAX {
            assert_eq!(
                is_service_port(p),
                p < 1024 || SERVICE_PORTS.contains(&p),
                "{p}"
            );
        }
    }

    #[test]
    fn flags_beat_ports() {
        // A response from 8080 to an ALB ephemeral port: SYN-ACK says src is server.
        assert_eq!(
            server_is_dst(&rec(8080, 49152, Some(18)), 6),
            (false, Evidence::TcpFlags)
        );
        assert_eq!(
            server_is_dst(&rec(8080, 49152, Some(19)), 6),
            (false, Evidence::TcpFlags)
        );
        // A client that happens to use a low source port, seen by its SYN.
        assert_eq!(
            server_is_dst(&rec(443, 40000, Some(2)), 6),
            (true, Evidence::TcpFlags)
        );
        assert_eq!(
            server_is_dst(&rec(40000, 443, Some(3)), 6),
            (true, Evidence::TcpFlags)
        );
    }

    #[test]
    fn a_rejected_packet_is_a_request_unless_it_may_be_a_response() {
        let mut r = rec(20000, 34896, None);
        r.action = Action::Reject;
        // Ports alone would pick 20000 (outside the ephemeral range).
        assert_eq!(server_is_dst(&r, 6), (true, Evidence::Rejected));
        r.srcport = Some(443);
        assert_eq!(
            server_is_dst(&r, 6),
            (false, Evidence::RejectedFromServicePort)
        );
        // SYN-ACK: a response, whatever its action.
        r.tcp_flags = Some(18);
        assert_eq!(server_is_dst(&r, 6), (false, Evidence::TcpFlags));
    }

    #[test]
    fn port_heuristics() {
        assert!(dst_is_server_by_ports(49152, 8080));
        assert!(!dst_is_server_by_ports(8080, 49152));
        assert!(!dst_is_server_by_ports(5432, 33000));
        assert!(dst_is_server_by_ports(2000, 22));
        assert!(dst_is_server_by_ports(40000, 20000)); // ephemeral vs not
        assert!(dst_is_server_by_ports(20001, 20000)); // lower wins
        assert_eq!(server_is_dst(&rec(0, 0, None), 1).1, Evidence::NoPorts);
        // Neither a service port: the one outside the ephemeral range
        // listens, settled per record; both on one side of it: the lower,
        // open to correction.
        assert_eq!(
            server_is_dst(&rec(40000, 15000, None), 6),
            (true, Evidence::EphemeralRange)
        );
        assert_eq!(
            server_is_dst(&rec(15000, 2000, None), 6),
            (true, Evidence::AmbiguousPorts)
        );
        assert_eq!(
            server_is_dst(&rec(5601, 8080, None), 6),
            (false, Evidence::AmbiguousPorts)
        );
        // Flags 0 (pure ACK window): ports decide.
        assert_eq!(
            server_is_dst(&rec(8080, 49152, Some(0)), 6),
            (false, Evidence::Ports)
        );
    }
}
