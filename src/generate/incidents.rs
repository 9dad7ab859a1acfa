//! `--incidents`: a port scan, a data exfiltration and a lateral-movement sweep, with their
//! exact facts (written to manifest.json so tests can assert exact figures).

use serde::Serialize;

use super::format::{Rec, Status};
use super::rng::Rng;
use super::topology::{EniKind, Service, Topology};
use super::traffic::{eph, nat_records, Conn, Eph, TCP, WINDOW};

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub eni_id: String,
    pub private_ip: String,
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortScan {
    pub scanner_ip: String,
    pub source_port: u16,
    /// Distinct destination ports, sorted.
    pub ports_tried: Vec<u16>,
    pub distinct_ports: usize,
    /// Every port was probed on every target.
    pub targets: Vec<Target>,
    pub accepted_ports: Vec<u16>,
    /// One inbound REJECT record per (target, rejected port).
    pub reject_records: usize,
    /// Request + response records of the accepted 443 connections (2 per target).
    pub accept_records: usize,
    pub first_start: u64,
    pub last_end: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exfiltration {
    pub source_eni_id: String,
    pub source_ip: String,
    pub source_service: String,
    pub dst_ip: String,
    pub dst_port: u16,
    pub source_port: u16,
    pub via_nat_eni_id: String,
    pub nat_source_port: u16,
    /// Sum of `bytes` of the egress records source -> dst on the source ENI (equal to the
    /// NAT ENI's egress records towards dst).
    pub bytes_total: u64,
    pub packets_total: u64,
    /// Number of 60 s windows (one egress + one response record per window on the source ENI).
    pub windows: usize,
    pub records_on_source_eni: usize,
    pub records_on_nat_eni: usize,
    pub first_start: u64,
    pub last_end: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LateralTarget {
    pub ip: String,
    /// None: no ENI holds the address (only the source-side record exists).
    pub eni_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LateralMovement {
    pub source_eni_id: String,
    pub source_ip: String,
    pub source_service: String,
    pub ports: Vec<u16>,
    pub targets: Vec<LateralTarget>,
    pub distinct_targets: usize,
    /// (target, port) attempts; each gives one egress ACCEPT record on the source ENI
    /// (its security group allows all egress), with SYN only and no response.
    pub attempts: usize,
    pub source_side_accept_records: usize,
    /// Inbound REJECT records on the target ENIs (targets that are ENIs of the VPC).
    pub target_side_reject_records: usize,
    /// Attempts that got a response (none: no group allows 22/3389 from the catalog task).
    pub accepted_attempts: usize,
    pub first_start: u64,
    pub last_end: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentFacts {
    pub port_scan: PortScan,
    pub exfiltration: Exfiltration,
    pub lateral_movement: LateralMovement,
    pub total_records: usize,
}

/// All incident records (sorted by start) and their facts.
pub fn build(topo: &Topology, seed: u64, start: u64, hours: u64) -> (Vec<Rec>, IncidentFacts) {
    let mut rng = Rng::derive(seed, 0x1c1d_e475);
    let span = hours * 3600;
    let mut recs = Vec::new();
    let port_scan = port_scan(topo, &mut rng, start + span * 35 / 100, &mut recs);
    let exfiltration = exfil(topo, &mut rng, start + span / 5, span, &mut recs);
    let lateral_movement = lateral(topo, &mut rng, start + span * 60 / 100, &mut recs);
    recs.sort_by_key(|r| r.start);
    let facts = IncidentFacts {
        port_scan,
        exfiltration,
        lateral_movement,
        total_records: recs.len(),
    };
    (recs, facts)
}

fn port_scan(topo: &Topology, rng: &mut Rng, t0: u64, recs: &mut Vec<Rec>) -> PortScan {
    let mut ports: Vec<u16> = vec![
        21, 22, 23, 25, 53, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 2049, 2375,
        3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200, 11211, 27017,
    ];
    while ports.len() < 220 {
        let p = rng.range(1, 10000) as u16;
        if p != 80 && !ports.contains(&p) {
            ports.push(p);
        }
    }
    // Probe order: shuffled.
    for i in (1..ports.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        ports.swap(i, j);
    }
    let src = topo.incident_scanner;
    let sport = 54321;
    let probes = ports.len() * 2;
    let (mut reject, mut accept, mut first, mut last) = (0, 0, u64::MAX, 0);
    for (k, &p) in ports.iter().enumerate() {
        for (j, &alb) in topo.alb.iter().enumerate() {
            let t = t0 + ((k * 2 + j) as u64 * 110) / probes as u64;
            let dst = topo.enis[alb].ip;
            first = first.min(t);
            if p == 443 {
                let c = Conn {
                    client_eni: None,
                    server_eni: Some(alb),
                    c: src,
                    s: dst,
                    cport: sport,
                    sport: 443,
                    req: (3, 3 * 60),
                    resp: (2, 2 * 60),
                    first: true,
                    short: true,
                    start: t,
                    end: t + 1,
                    client_path: 0,
                };
                let n = recs.len();
                c.emit(rng, recs);
                accept += recs.len() - n;
                last = last.max(recs.iter().skip(n).map(|r| r.end).max().unwrap_or(t));
            } else {
                recs.push(Rec {
                    eni: alb as u16,
                    status: Status::Ok,
                    src,
                    dst,
                    pkt_src: src,
                    pkt_dst: dst,
                    sport,
                    dport: p,
                    proto: TCP,
                    packets: 1,
                    bytes: 44,
                    start: t,
                    end: t,
                    accept: false,
                    flags: 2,
                    ingress: true,
                    path: 0,
                });
                reject += 1;
                last = last.max(t);
            }
        }
    }
    let mut sorted = ports.clone();
    sorted.sort_unstable();
    PortScan {
        scanner_ip: topo.addr(src).text.clone(),
        source_port: sport,
        distinct_ports: sorted.len(),
        ports_tried: sorted,
        targets: topo
            .alb
            .iter()
            .map(|&e| Target {
                eni_id: topo.enis[e].id.clone(),
                private_ip: topo.addr(topo.enis[e].ip).text.clone(),
                public_ip: topo.enis[e].public_ip.map(String::from),
            })
            .collect(),
        accepted_ports: vec![443],
        reject_records: reject,
        accept_records: accept,
        first_start: first,
        last_end: last,
    }
}

fn exfil(topo: &Topology, rng: &mut Rng, t0: u64, span: u64, recs: &mut Vec<Rec>) -> Exfiltration {
    let task = topo.task(Service::Orders, 0);
    let t0 = t0 - t0 % WINDOW;
    let windows = ((span / 2).min(3 * 3600) / WINDOW).max(1) as usize;
    let per_window = 2_000_000_000 / windows as u64;
    let cport = eph(rng, Eph::Linux);
    let nat_port = eph(rng, Eph::Wide);
    let (mut bytes, mut packets, mut on_src, mut on_nat) = (0, 0, 0, 0);
    let n0 = recs.len();
    for w in 0..windows {
        let b = per_window * rng.range(70, 130) / 100;
        let p = b / 1398 + 1;
        let acks = p / 2 + 1;
        let start = t0 + w as u64 * WINDOW + rng.range(0, 1);
        let c = Conn {
            client_eni: Some(task),
            server_eni: None,
            c: topo.enis[task].ip,
            s: topo.exfil_dst,
            cport,
            sport: 443,
            req: (p, b),
            resp: (acks, acks * 52),
            first: w == 0,
            short: false,
            start,
            end: start + 57,
            client_path: 1,
        };
        let n = recs.len();
        c.emit(rng, recs);
        on_src += recs.len() - n;
        let n = recs.len();
        nat_records(topo, &c, nat_port, rng, recs);
        on_nat += recs.len() - n;
        bytes += b;
        packets += p;
    }
    Exfiltration {
        source_eni_id: topo.enis[task].id.clone(),
        source_ip: topo.addr(topo.enis[task].ip).text.clone(),
        source_service: "orders".into(),
        dst_ip: topo.addr(topo.exfil_dst).text.clone(),
        dst_port: 443,
        source_port: cport,
        via_nat_eni_id: topo.enis[topo.nat].id.clone(),
        nat_source_port: nat_port,
        bytes_total: bytes,
        packets_total: packets,
        windows,
        records_on_source_eni: on_src,
        records_on_nat_eni: on_nat,
        first_start: recs[n0..].iter().map(|r| r.start).min().unwrap_or(t0),
        last_end: recs[n0..].iter().map(|r| r.end).max().unwrap_or(t0),
    }
}

fn lateral(topo: &Topology, rng: &mut Rng, t0: u64, recs: &mut Vec<Rec>) -> LateralMovement {
    let src_eni = topo.task(Service::Catalog, 0);
    let src = topo.enis[src_eni].ip;
    let mut targets: Vec<(u32, Option<usize>)> = topo
        .enis
        .iter()
        .enumerate()
        .filter(|(i, e)| *i != src_eni && !matches!(e.kind, EniKind::Bastion | EniKind::Nat))
        .map(|(i, e)| (e.ip, Some(i)))
        .collect();
    targets.extend(topo.unused_internal.iter().map(|&a| (a, None)));
    // Sweep in address order, as a scanner would.
    targets.sort_by_key(|(a, _)| {
        topo.addr(*a)
            .text
            .parse::<std::net::Ipv4Addr>()
            .map(u32::from)
            .unwrap_or(0)
    });
    let ports = [22u16, 3389];
    let attempts = targets.len() * ports.len();
    let (mut src_side, mut tgt_side, mut first, mut last) = (0, 0, u64::MAX, 0);
    for (k, &(addr, eni)) in targets.iter().enumerate() {
        for (j, &port) in ports.iter().enumerate() {
            let t = t0 + ((k * ports.len() + j) as u64 * 170) / attempts as u64;
            let rec = Rec {
                eni: src_eni as u16,
                status: Status::Ok,
                src,
                dst: addr,
                pkt_src: src,
                pkt_dst: addr,
                sport: eph(rng, Eph::Linux),
                dport: port,
                proto: TCP,
                packets: 2,
                bytes: 120,
                start: t,
                end: t + 1,
                accept: true,
                flags: 2,
                ingress: false,
                path: 0,
            };
            recs.push(rec);
            src_side += 1;
            if let Some(e) = eni {
                recs.push(Rec {
                    eni: e as u16,
                    accept: false,
                    ingress: true,
                    ..rec
                });
                tgt_side += 1;
            }
            first = first.min(t);
            last = last.max(t + 1);
        }
    }
    LateralMovement {
        source_eni_id: topo.enis[src_eni].id.clone(),
        source_ip: topo.addr(src).text.clone(),
        source_service: "catalog".into(),
        ports: ports.to_vec(),
        distinct_targets: targets.len(),
        targets: targets
            .iter()
            .map(|&(a, e)| LateralTarget {
                ip: topo.addr(a).text.clone(),
                eni_id: e.map(|i| topo.enis[i].id.clone()),
            })
            .collect(),
        attempts,
        source_side_accept_records: src_side,
        target_side_reject_records: tgt_side,
        accepted_attempts: 0,
        first_start: first,
        last_end: last,
    }
}
