//! Who initiated a flow, and so which side's port is the service port.
//!
//! Security groups are stateful: a request and its response are two
//! records (on each interface that sees them), and only the request says
//! which rule was used. The listening side is decided by, strongest first:
//! 1. `tcp-flags`: SYN-ACK (18) is sent by the server; SYN without ACK by
//!    the client. AWS ORs flags over the window and reports a pure-ACK
//!    record as 0, so later windows of long connections carry no signal.
//! 2. Ports: a port below 1024 or a well-known service port beats an
//!    ephemeral one (Linux 32768-60999, Windows and ALB/NAT up to 65535);
//!    otherwise the lower port is the server's.
//!
//! Whether the interface is that server (ingress) or the client (egress)
//! then depends on which address is the interface's own: see `locals`.

use crate::flowlog::record::{has_ports, FlowRecord};

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
    /// Both or neither are service ports: decided by the ephemeral range
    /// or the lower port, and open to correction from the interface's
    /// other traffic (see `Aggregate::finish`).
    AmbiguousPorts,
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
    let evidence = if is_service_port(sp) == is_service_port(dp) {
        Evidence::AmbiguousPorts
    } else {
        Evidence::Ports
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
    let (s_eph, d_eph) = (sp >= 32768, dp >= 32768);
    if s_eph != d_eph {
        return s_eph;
    }
    dp <= sp
}

/// The service port of a record as summarize books it before its
/// end-of-run correction of ambiguous ports (see `Aggregate::finish`): the
/// listening side's port by `server_is_dst`, `None` for protocols without
/// ports. `top --by port` ranks by it and `scans` counts only records whose
/// destination it says is the server, so neither can decide a record
/// differently from summarize's per-record rule.
#[inline]
pub fn service_port(rec: &FlowRecord, protocol: u8) -> Option<u16> {
    if !has_ports(protocol) {
        return None;
    }
    if server_is_dst(rec, protocol).0 {
        rec.dstport
    } else {
        rec.srcport
    }
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
    fn port_heuristics() {
        assert!(dst_is_server_by_ports(49152, 8080));
        assert!(!dst_is_server_by_ports(8080, 49152));
        assert!(!dst_is_server_by_ports(5432, 33000));
        assert!(dst_is_server_by_ports(2000, 22));
        assert!(dst_is_server_by_ports(40000, 20000)); // ephemeral vs not
        assert!(dst_is_server_by_ports(20001, 20000)); // lower wins
        assert_eq!(server_is_dst(&rec(0, 0, None), 1).1, Evidence::NoPorts);
        // Flags 0 (pure ACK window): ports decide.
        assert_eq!(
            server_is_dst(&rec(8080, 49152, Some(0)), 6),
            (false, Evidence::Ports)
        );
    }
}
