//! Normal (background) traffic of the retail store, generated per file from a per-file RNG.

use super::format::{Rec, Status};
use super::rng::Rng;
use super::topology::{AddrId, Service, Topology};

/// Aggregation window of Nitro ENIs.
pub const WINDOW: u64 = 60;

pub const TCP: u8 = 6;
pub const ICMP: u8 = 1;

/// Ports probed by the background internet scanners (all REJECTed by the ALB group).
const SCAN_PORTS: [u16; 16] = [
    22, 23, 3389, 3306, 6379, 8080, 445, 5900, 1433, 9200, 25, 21, 5432, 27017, 8443, 2375,
];

/// Ephemeral port range of the initiator.
#[derive(Debug, Clone, Copy)]
pub enum Eph {
    /// Linux (tasks): 32768-60999.
    Linux,
    /// Windows/macOS/iOS clients: 49152-65535.
    Iana,
    /// ALB and NAT gateway: 1024-65535.
    Wide,
}

/// A TCP connection observed in one aggregation window.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    pub client_eni: Option<usize>,
    pub server_eni: Option<usize>,
    pub c: AddrId,
    pub s: AddrId,
    pub cport: u16,
    pub sport: u16,
    /// (packets, bytes) client -> server
    pub req: (u64, u64),
    /// (packets, bytes) server -> client
    pub resp: (u64, u64),
    /// First window of the connection (carries SYN / SYN-ACK).
    pub first: bool,
    /// Connection also ends in this window (FIN).
    pub short: bool,
    pub start: u64,
    pub end: u64,
    /// `traffic-path` override of the client's egress record.
    pub client_path: u8,
}

impl Conn {
    pub fn records(&self) -> usize {
        self.client_eni.is_some() as usize * 2 + self.server_eni.is_some() as usize * 2
    }

    /// Push the request/response records on each end that is one of our ENIs.
    pub fn emit(&self, rng: &mut Rng, out: &mut Vec<Rec>) {
        let (fi, fr) = match (self.first, self.short) {
            (true, true) => {
                if rng.chance(0.15) {
                    (11, 27)
                } else {
                    (3, 19)
                }
            }
            (true, false) => (2, 18),
            _ => (0, 0),
        };
        let base =
            |eni: usize, src, dst, sport, dport, (p, b): (u64, u64), flags, ingress, start, end| {
                Rec {
                    eni: eni as u16,
                    status: Status::Ok,
                    src,
                    dst,
                    pkt_src: src,
                    pkt_dst: dst,
                    sport,
                    dport,
                    proto: TCP,
                    packets: p,
                    bytes: b,
                    start,
                    end,
                    accept: true,
                    flags,
                    ingress,
                    path: 0,
                }
            };
        if let Some(e) = self.client_eni {
            let mut r = base(
                e, self.c, self.s, self.cport, self.sport, self.req, fi, false, self.start,
                self.end,
            );
            r.path = self.client_path;
            out.push(r);
            out.push(base(
                e, self.s, self.c, self.sport, self.cport, self.resp, fr, true, self.start,
                self.end,
            ));
        }
        if let Some(e) = self.server_eni {
            // Each ENI has its own capture window boundaries: shift a little.
            let d = rng.range(0, 1);
            let (st, en) = (self.start + d, self.end + d);
            out.push(base(
                e, self.c, self.s, self.cport, self.sport, self.req, fi, true, st, en,
            ));
            out.push(base(
                e, self.s, self.c, self.sport, self.cport, self.resp, fr, false, st, en,
            ));
        }
    }
}

pub fn eph(rng: &mut Rng, kind: Eph) -> u16 {
    (match kind {
        Eph::Linux => rng.range(32768, 60999),
        Eph::Iana => rng.range(49152, 65535),
        Eph::Wide => rng.range(1024, 65535),
    }) as u16
}

/// (packets, bytes) with `packets` in `pk` and an average packet size in `avg`.
pub fn sized(rng: &mut Rng, pk: (u64, u64), avg: (u64, u64)) -> (u64, u64) {
    let p = rng.range(pk.0, pk.1);
    (p, p * rng.range(avg.0, avg.1))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Web,
    AlbTask,
    CheckoutOrders,
    Db,
    Dynamo,
    Endpoint,
    Nat,
    Scan,
    NoData,
    SkipData,
}

/// (kind, weight, minimum records)
const KINDS: [(Kind, u32, usize); 10] = [
    (Kind::Web, 3000, 2),
    (Kind::AlbTask, 2200, 4),
    (Kind::CheckoutOrders, 500, 4),
    (Kind::Db, 1900, 4),
    (Kind::Dynamo, 600, 2),
    (Kind::Endpoint, 500, 4),
    (Kind::Nat, 400, 6),
    (Kind::Scan, 200, 1),
    (Kind::NoData, 60, 1),
    (Kind::SkipData, 5, 1),
];

/// Generator of one file's background traffic.
pub struct FileGen<'a> {
    pub topo: &'a Topology,
    pub rng: Rng,
    /// Latest window start allowed (records end before the file interval ends).
    pub t_max: u64,
}

impl<'a> FileGen<'a> {
    fn window(&mut self, t: u64, short: bool) -> (u64, u64) {
        let start = t + self.rng.range(0, 5);
        let dur = if short {
            self.rng.range(0, 8)
        } else {
            self.rng.range(20, WINDOW - 1)
        };
        (start, start + dur)
    }

    fn task_of(&mut self, svc: Service) -> usize {
        let i = self.rng.below(2) as usize;
        self.topo.task(svc, i)
    }

    fn any_task(&mut self) -> usize {
        let s = *self.rng.pick(&Service::ALL);
        self.task_of(s)
    }

    /// Emit a connection and, when it is long-lived, its later windows (flags 0).
    fn conn_with_tail(&mut self, mut c: Conn, cap: usize, long_p: f64, out: &mut Vec<Rec>) {
        c.emit(&mut self.rng, out);
        if c.short || !self.rng.chance(long_p) {
            return;
        }
        let per = c.records();
        let mut used = per;
        let windows = self.rng.range(1, 6);
        for _ in 0..windows {
            let next = c.start - c.start % WINDOW + WINDOW;
            if used + per > cap || next > self.t_max {
                break;
            }
            c.first = false;
            c.start = next + self.rng.range(0, 2);
            c.end = c.start + self.rng.range(40, WINDOW - 3);
            // Traffic of a later window: new volumes, at least a couple of segments each way.
            let scale = |rng: &mut Rng, (p, b): (u64, u64)| {
                let f = rng.range(25, 200);
                let np = (p * f / 100).max(2);
                (np, (b * f / 100).max(np * 52))
            };
            c.req = scale(&mut self.rng, c.req);
            c.resp = scale(&mut self.rng, c.resp);
            c.emit(&mut self.rng, out);
            used += per;
        }
    }

    /// Emit one event starting at `t` with between 1 and `cap` records.
    pub fn event(&mut self, t: u64, cap: usize, out: &mut Vec<Rec>) {
        debug_assert!(cap >= 1);
        let total: u32 = KINDS.iter().filter(|k| k.2 <= cap).map(|k| k.1).sum();
        let mut x = self.rng.below(total as u64) as u32;
        let mut kind = Kind::NoData;
        for (k, w, min) in KINDS {
            if min > cap {
                continue;
            }
            if x < w {
                kind = k;
                break;
            }
            x -= w;
        }
        let topo = self.topo;
        match kind {
            Kind::Web => {
                let alb = topo.alb[self.rng.below(2) as usize];
                let v6 = self.rng.chance(0.05);
                let (c, s) = if v6 {
                    let c = topo.clients_v6[self.rng.skewed(topo.clients_v6.len())];
                    (c, topo.enis[alb].ipv6.expect("ALB has IPv6"))
                } else {
                    (
                        topo.clients_v4[self.rng.skewed(topo.clients_v4.len())],
                        topo.enis[alb].ip,
                    )
                };
                // Port 80 is open to IPv4 only (the ALB group has no ::/0 rule for it).
                let p80 = self.rng.chance(0.03);
                let port = if p80 && !v6 { 80 } else { 443 };
                let cport = eph(
                    &mut self.rng,
                    if c % 10 < 7 { Eph::Iana } else { Eph::Linux },
                );
                let short = port == 80 || self.rng.chance(0.5);
                let (start, end) = self.window(t, short);
                let req = sized(&mut self.rng, (5, 40), (60, 420));
                let resp = if port == 80 {
                    sized(&mut self.rng, (3, 5), (60, 160))
                } else {
                    sized(&mut self.rng, (8, 90), (700, 1420))
                };
                let conn = Conn {
                    client_eni: None,
                    server_eni: Some(alb),
                    c,
                    s,
                    cport,
                    sport: port,
                    req,
                    resp,
                    first: true,
                    short,
                    start,
                    end,
                    client_path: 0,
                };
                self.conn_with_tail(conn, cap, 0.25, out);
            }
            Kind::AlbTask => {
                let alb = topo.alb[self.rng.below(2) as usize];
                let svc = match self.rng.below(100) {
                    0..=19 => Service::Orders,
                    20..=34 => Service::Checkout,
                    35..=74 => Service::Catalog,
                    _ => Service::Carts,
                };
                let task = self.task_of(svc);
                let health = self.rng.chance(0.15);
                let (start, end) = self.window(t, health);
                let (req, resp) = if health {
                    (
                        sized(&mut self.rng, (3, 5), (80, 140)),
                        sized(&mut self.rng, (3, 5), (90, 200)),
                    )
                } else {
                    (
                        sized(&mut self.rng, (4, 24), (90, 600)),
                        sized(&mut self.rng, (4, 40), (500, 1400)),
                    )
                };
                let conn = Conn {
                    client_eni: Some(alb),
                    server_eni: Some(task),
                    c: topo.enis[alb].ip,
                    s: topo.enis[task].ip,
                    cport: eph(&mut self.rng, Eph::Wide),
                    sport: 8080,
                    req,
                    resp,
                    first: true,
                    short: health,
                    start,
                    end,
                    client_path: 0,
                };
                self.conn_with_tail(conn, cap, 0.5, out);
            }
            Kind::CheckoutOrders => {
                let (c, s) = (
                    self.task_of(Service::Checkout),
                    self.task_of(Service::Orders),
                );
                self.internal(
                    t,
                    cap,
                    c,
                    s,
                    8080,
                    ((4, 16), (120, 700)),
                    ((4, 20), (200, 1200)),
                    0.3,
                    out,
                );
            }
            Kind::Db => {
                let (c, s, port) = match self.rng.below(100) {
                    0..=34 => (self.task_of(Service::Orders), topo.orders_db, 5432),
                    35..=74 => (self.task_of(Service::Catalog), topo.catalog_db, 3306),
                    _ => (self.task_of(Service::Checkout), topo.redis, 6379),
                };
                self.internal(
                    t,
                    cap,
                    c,
                    s,
                    port,
                    ((3, 30), (70, 300)),
                    ((3, 40), (120, 1200)),
                    0.6,
                    out,
                );
            }
            Kind::Dynamo => {
                let task = self.task_of(Service::Carts);
                let d = *self.rng.pick(&topo.dynamodb);
                let short = self.rng.chance(0.4);
                let (start, end) = self.window(t, short);
                let conn = Conn {
                    client_eni: Some(task),
                    server_eni: None,
                    c: topo.enis[task].ip,
                    s: d,
                    cport: eph(&mut self.rng, Eph::Linux),
                    sport: 443,
                    req: sized(&mut self.rng, (4, 30), (90, 500)),
                    resp: sized(&mut self.rng, (4, 30), (200, 1300)),
                    first: true,
                    short,
                    start,
                    end,
                    client_path: 0,
                };
                self.conn_with_tail(conn, cap, 0.3, out);
            }
            Kind::Endpoint => {
                let task = self.any_task();
                let server = if self.rng.chance(0.12) {
                    topo.guardduty
                } else {
                    // Same-AZ endpoint ENI (DNS of interface endpoints prefers the local AZ).
                    topo.vpce[if topo.enis[task].key.ends_with('1') {
                        0
                    } else {
                        1
                    }]
                };
                self.internal(
                    t,
                    cap,
                    task,
                    server,
                    443,
                    ((4, 20), (90, 600)),
                    ((4, 30), (300, 1400)),
                    0.2,
                    out,
                );
            }
            Kind::Nat => self.nat_flow(t, out),
            Kind::Scan => {
                let alb = topo.alb[self.rng.below(2) as usize];
                let src = *self.rng.pick(&topo.scanners);
                let (start, end) = self.window(t, true);
                let icmp = self.rng.chance(0.15);
                let (packets, per) = (self.rng.range(1, 2), if icmp { 84 } else { 44 });
                out.push(Rec {
                    eni: alb as u16,
                    status: Status::Ok,
                    src,
                    dst: topo.enis[alb].ip,
                    pkt_src: src,
                    pkt_dst: topo.enis[alb].ip,
                    sport: if icmp {
                        0
                    } else {
                        eph(&mut self.rng, Eph::Wide)
                    },
                    dport: if icmp { 0 } else { *self.rng.pick(&SCAN_PORTS) },
                    proto: if icmp { ICMP } else { TCP },
                    packets,
                    bytes: packets * per,
                    start,
                    end,
                    accept: false,
                    flags: if icmp { 0 } else { 2 },
                    ingress: true,
                    path: 0,
                });
            }
            Kind::NoData => {
                // Any ENI except the bastion (which has its own NODATA schedule).
                let mut e = self.rng.below(topo.enis.len() as u64 - 1) as usize;
                if e >= topo.bastion {
                    e += 1;
                }
                let s = t - t % WINDOW;
                out.push(Rec::empty(
                    e,
                    Status::NoData,
                    s,
                    s + WINDOW - 1 - self.rng.range(0, 3),
                ));
            }
            Kind::SkipData => {
                let busy = [topo.alb[0], topo.alb[1], topo.nat, self.any_task()];
                let e = *self.rng.pick(&busy);
                let s = t - t % WINDOW;
                out.push(Rec::empty(e, Status::SkipData, s, s + WINDOW - 1));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn internal(
        &mut self,
        t: u64,
        cap: usize,
        c: usize,
        s: usize,
        port: u16,
        req: ((u64, u64), (u64, u64)),
        resp: ((u64, u64), (u64, u64)),
        long_p: f64,
        out: &mut Vec<Rec>,
    ) {
        let short = self.rng.chance(0.3);
        let (start, end) = self.window(t, short);
        let conn = Conn {
            client_eni: Some(c),
            server_eni: Some(s),
            c: self.topo.enis[c].ip,
            s: self.topo.enis[s].ip,
            cport: eph(&mut self.rng, Eph::Linux),
            sport: port,
            req: sized(&mut self.rng, req.0, req.1),
            resp: sized(&mut self.rng, resp.0, resp.1),
            first: true,
            short,
            start,
            end,
            client_path: 0,
        };
        self.conn_with_tail(conn, cap, long_p, out);
    }

    /// Task -> internet :443 through the NAT gateway: 2 records on the task, 4 on the NAT ENI.
    fn nat_flow(&mut self, t: u64, out: &mut Vec<Rec>) {
        let topo = self.topo;
        let svc = match self.rng.below(10) {
            0..=3 => Service::Checkout,
            4..=6 => Service::Orders,
            7..=8 => Service::Catalog,
            _ => Service::Carts,
        };
        let task = self.task_of(svc);
        let dst = *self.rng.pick(&topo.nat_dests);
        let short = self.rng.chance(0.6);
        let (start, end) = self.window(t, short);
        let req = sized(&mut self.rng, (5, 25), (90, 700));
        let resp = sized(&mut self.rng, (5, 40), (300, 1400));
        let first = true;
        let conn = Conn {
            client_eni: Some(task),
            server_eni: None,
            c: topo.enis[task].ip,
            s: dst,
            cport: eph(&mut self.rng, Eph::Linux),
            sport: 443,
            req,
            resp,
            first,
            short,
            start,
            end,
            client_path: 1,
        };
        conn.emit(&mut self.rng, out);
        let nat_port = eph(&mut self.rng, Eph::Wide);
        nat_records(topo, &conn, nat_port, &mut self.rng, out);
    }
}

/// The four records a NAT gateway ENI logs for a connection `conn` from a private client.
pub fn nat_records(topo: &Topology, conn: &Conn, nat_port: u16, rng: &mut Rng, out: &mut Vec<Rec>) {
    let nat = topo.nat;
    let nip = topo.enis[nat].ip;
    let (fi, fr) = match (conn.first, conn.short) {
        (true, true) => (3, 19),
        (true, false) => (2, 18),
        _ => (0, 0),
    };
    let d = rng.range(0, 1);
    let (start, end) = (conn.start + d, conn.end + d);
    let rec = |src, dst, pkt_src, pkt_dst, sport, dport, (p, b): (u64, u64), flags, ingress| Rec {
        eni: nat as u16,
        status: Status::Ok,
        src,
        dst,
        pkt_src,
        pkt_dst,
        sport,
        dport,
        proto: TCP,
        packets: p,
        bytes: b,
        start,
        end,
        accept: true,
        flags,
        ingress,
        path: 0,
    };
    // client -> NAT (arrives at the NAT ENI; dstaddr is the NAT's private IP)
    out.push(rec(
        conn.c, nip, conn.c, conn.s, conn.cport, conn.sport, conn.req, fi, true,
    ));
    // NAT -> internet (source translated)
    out.push(rec(
        nip, conn.s, nip, conn.s, nat_port, conn.sport, conn.req, fi, false,
    ));
    // internet -> NAT
    out.push(rec(
        conn.s, nip, conn.s, nip, conn.sport, nat_port, conn.resp, fr, true,
    ));
    // NAT -> client (srcaddr is the NAT's private IP, pkt-srcaddr the internet host)
    out.push(rec(
        nip, conn.c, conn.s, conn.c, conn.sport, conn.cport, conn.resp, fr, false,
    ));
}
