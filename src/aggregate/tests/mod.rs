//! Unit tests of the aggregate, by what they test: `direction`,
//! `learn`ing, `fold`ing and merging; the helpers they share are here.

mod direction;
mod fold;
mod learn;

use super::front::Front;
use super::keys::{CellDir, CellKey, Side};
use super::learn::{own_addresses, Own, Sides};
use super::*;
use crate::flowlog::record::{Action, PacketDirection};
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

fn find(s: &Summary, eni: &str, dir: Direction, port: Option<u16>) -> Row {
    s.rows
        .iter()
        .find(|r| r.interface_id.as_deref() == Some(eni) && r.direction == dir && r.port == port)
        .unwrap_or_else(|| panic!("no row {eni} {dir:?} {port:?} in {:#?}", s.rows))
        .clone()
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

fn rows_of(s: &Summary) -> Vec<(String, Direction, Option<u16>, Action, u64)> {
    s.rows
        .iter()
        .map(|r| {
            let id = r.interface_id.clone().unwrap_or_default();
            (id, r.direction, r.port, r.action, r.flows)
        })
        .collect()
}

/// Records of a busy estate in miniature: servers with private and
/// public clients (IPv4 and IPv6), probes of random ports, rejected
/// service ports. `seed` varies them.
fn busy_records(n: usize, seed: u64) -> Vec<FlowRecord> {
    let mut rng = crate::XorShift(seed | 1);
    let mut next = |m: u64| rng.next() % m;
    let mut recs = Vec::new();
    for _ in 0..n {
        let e = next(6) as u32;
        let eni = EniId::from_bytes(format!("eni-0{e:x}").as_bytes());
        let v6 = e.is_multiple_of(3) && next(4) == 0;
        let own = if v6 {
            Ip(0x2600_0000_0000_0000_0000_0000_0000_0000 | e as u128)
        } else {
            Ip::v4(0x0a00_0100 | e)
        };
        let peer = match (v6, next(3)) {
            (true, _) => Ip(0x2001_0db8_0000_0000_0000_0000_0000_0000 | next(50) as u128),
            (false, 0) => Ip::v4(0x0a00_0200 | next(40) as u32),
            _ => Ip::v4(0xc633_6400 | next(200) as u32),
        };
        let (svc, eph) = (
            [443, 8080, 22][next(3) as usize],
            32768 + next(28000) as u16,
        );
        let mut r = FlowRecord {
            interface: eni,
            protocol: Some(6),
            packets: 1 + next(5),
            bytes: 40 + next(1000),
            start: Some(100 + next(50)),
            end: Some(160 + next(50)),
            action: Action::Accept,
            ..Default::default()
        };
        match next(4) {
            // A probe of a random port from a random port, or of SSH.
            0 => {
                let port = if next(2) == 0 {
                    22
                } else {
                    1024 + next(64000) as u16
                };
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(peer), Some(own), Some(next(65536) as u16), Some(port));
                r.action = Action::Reject;
            }
            // A request to the interface, or its response.
            1 => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(peer), Some(own), Some(eph), Some(svc))
            }
            2 => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(own), Some(peer), Some(svc), Some(eph))
            }
            // The interface calling the peer.
            _ => {
                (r.srcaddr, r.dstaddr, r.srcport, r.dstport) =
                    (Some(own), Some(peer), Some(eph), Some(svc))
            }
        }
        recs.push(r);
    }
    recs
}
