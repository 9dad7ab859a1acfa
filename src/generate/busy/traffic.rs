//! Traffic of the busy estate, one event at a time, each record with its true row.
//!
//! Every conversation is logged as AWS logs it: each of our interfaces that sees it writes
//! one record per direction (request and response), responses come from the service port to
//! the client's ephemeral port, and the record's `flow-direction` and `tcp-flags` are set for
//! the formats that carry them. The true row is the security-group rule the flow needs on
//! that interface: ingress to the service port on the server, egress to it on the client.

use super::super::format::Status;
use super::super::rng::Rng;
use super::estate::{AddrId, Eph, Estate, Role, SCAN_PORTS};

/// Aggregation window (Nitro: 60 s).
pub const WINDOW: u64 = 60;
pub const ICMP: u8 = 1;
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
/// Share of events that are a scanner's probe (about 12% of records: probes are single
/// records, conversations four or more).
const SCAN_EVENTS: f64 = 0.38;

/// One record on one interface, with its true row.
#[derive(Debug, Clone, Copy)]
pub struct Rec {
    pub iface: u16,
    pub status: Status,
    pub src: AddrId,
    pub dst: AddrId,
    pub pkt_src: AddrId,
    pub pkt_dst: AddrId,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub packets: u64,
    pub bytes: u64,
    pub start: u64,
    pub end: u64,
    pub accept: bool,
    pub flags: u8,
    /// The packet arrives at the interface (`flow-direction` ingress).
    pub arriving: bool,
    /// True rule direction: the interface is the service side (ingress) or the client.
    pub rule_ingress: bool,
    /// True service port (`None` for protocols without ports).
    pub port: Option<u16>,
}

impl Rec {
    pub fn empty(iface: usize, status: Status, start: u64, end: u64) -> Rec {
        Rec {
            iface: iface as u16,
            status,
            src: 0,
            dst: 0,
            pkt_src: 0,
            pkt_dst: 0,
            sport: 0,
            dport: 0,
            proto: 0,
            packets: 0,
            bytes: 0,
            start,
            end,
            accept: false,
            flags: 0,
            arriving: false,
            rule_ingress: false,
            port: None,
        }
    }
}

/// One end of a conversation that is one of our interfaces, with the addresses its records
/// show (`own_in` in `dstaddr` of arriving packets, `own_out` in `srcaddr` of leaving ones).
#[derive(Debug, Clone, Copy)]
struct End {
    iface: usize,
    own_in: AddrId,
    own_out: AddrId,
}

/// A conversation in one aggregation window.
#[derive(Debug, Clone, Copy)]
struct Conv {
    client: Option<End>,
    server: Option<End>,
    /// Packet-level addresses.
    c: AddrId,
    s: AddrId,
    cport: u16,
    sport: u16,
    proto: u8,
    req: (u64, u64),
    /// `None`: no response (a rejected probe).
    resp: Option<(u64, u64)>,
    req_accept: bool,
    resp_accept: bool,
    first: bool,
    short: bool,
    start: u64,
    end: u64,
}

impl Conv {
    fn records(&self) -> usize {
        let per = 1 + self.resp.is_some() as usize;
        (self.client.is_some() as usize + self.server.is_some() as usize) * per
    }

    fn flags(&self) -> (u8, u8) {
        if self.proto != TCP {
            return (0, 0);
        }
        if self.resp.is_none() {
            return (2, 0);
        }
        match (self.first, self.short) {
            (true, true) => (3, 19),
            (true, false) => (2, 18),
            _ => (0, 0),
        }
    }

    fn emit(&self, rng: &mut Rng, out: &mut Vec<Rec>) {
        let (fq, fr) = self.flags();
        let port = crate::flowlog::record::has_ports(self.proto).then_some(self.sport);
        let rec = |e: &End,
                   src,
                   dst,
                   pkt_src,
                   pkt_dst,
                   sport,
                   dport,
                   (p, b): (u64, u64),
                   flags,
                   arriving,
                   accept,
                   rule_ingress,
                   start,
                   end| Rec {
            iface: e.iface as u16,
            status: Status::Ok,
            src,
            dst,
            pkt_src,
            pkt_dst,
            sport,
            dport,
            proto: self.proto,
            packets: p,
            bytes: b,
            start,
            end,
            accept,
            flags,
            arriving,
            rule_ingress,
            port,
        };
        if let Some(e) = &self.client {
            out.push(rec(
                e,
                e.own_out,
                self.s,
                self.c,
                self.s,
                self.cport,
                self.sport,
                self.req,
                fq,
                false,
                self.req_accept,
                false,
                self.start,
                self.end,
            ));
            if let Some(r) = self.resp {
                out.push(rec(
                    e,
                    self.s,
                    e.own_in,
                    self.s,
                    self.c,
                    self.sport,
                    self.cport,
                    r,
                    fr,
                    true,
                    self.resp_accept,
                    false,
                    self.start,
                    self.end,
                ));
            }
        }
        if let Some(e) = &self.server {
            // Each interface has its own capture window boundaries.
            let d = rng.range(0, 1);
            let (st, en) = (self.start + d, self.end + d);
            out.push(rec(
                e,
                self.c,
                e.own_in,
                self.c,
                self.s,
                self.cport,
                self.sport,
                self.req,
                fq,
                true,
                self.req_accept,
                true,
                st,
                en,
            ));
            if let Some(r) = self.resp {
                out.push(rec(
                    e,
                    e.own_out,
                    self.c,
                    self.s,
                    self.c,
                    self.sport,
                    self.cport,
                    r,
                    fr,
                    false,
                    self.resp_accept,
                    true,
                    st,
                    en,
                ));
            }
        }
    }
}

fn sized(rng: &mut Rng, pk: (u64, u64), avg: (u64, u64)) -> (u64, u64) {
    let p = rng.range(pk.0, pk.1);
    (p, p * rng.range(avg.0, avg.1))
}

/// Generator of one file's traffic (one account).
pub struct FileGen<'a> {
    pub estate: &'a Estate,
    pub account: usize,
    pub rng: Rng,
    /// Latest window start (records end before the file's interval ends).
    pub t_max: u64,
}

impl<'a> FileGen<'a> {
    fn window(&mut self, t: u64, short: bool) -> (u64, u64) {
        let start = t + self.rng.range(0, 5);
        let dur = if short {
            self.rng.range(0, 8)
        } else {
            self.rng.range(20, WINDOW - 2)
        };
        (start, start + dur)
    }

    /// An interface of the account drawn by its Zipf weight.
    fn anchor(&mut self) -> usize {
        let acc = &self.estate.accounts[self.account];
        let total = *acc.cumulative.last().expect("account has interfaces");
        let x = self.rng.unit() * total;
        let k = acc
            .cumulative
            .partition_point(|&c| c <= x)
            .min(acc.ifaces.len() - 1);
        acc.ifaces[k]
    }

    fn pick_role(&mut self, pred: impl Fn(Role) -> bool) -> usize {
        let v = self.estate.of_role(self.account, pred);
        *self.rng.pick(&v)
    }

    /// The interface as a server: which of its addresses the client targets (a secondary
    /// IPv4 now and then) and what its records show (the primary in `dstaddr`, AWS rewrites
    /// secondary destinations; the address the packet left from in `srcaddr`).
    fn server_end(&mut self, i: usize, v6: bool) -> (End, AddrId) {
        let f = &self.estate.ifaces[i];
        if v6 {
            let a = *self.rng.pick(&f.ipv6);
            return (
                End {
                    iface: i,
                    own_in: a,
                    own_out: a,
                },
                a,
            );
        }
        if !f.secondary.is_empty() && self.rng.chance(0.4) {
            let a = *self.rng.pick(&f.secondary);
            return (
                End {
                    iface: i,
                    own_in: f.ip,
                    own_out: a,
                },
                a,
            );
        }
        (
            End {
                iface: i,
                own_in: f.ip,
                own_out: f.ip,
            },
            f.ip,
        )
    }

    fn client_end(&mut self, i: usize, v6: bool) -> (End, AddrId) {
        let f = &self.estate.ifaces[i];
        let a = if v6 { *self.rng.pick(&f.ipv6) } else { f.ip };
        (
            End {
                iface: i,
                own_in: a,
                own_out: a,
            },
            a,
        )
    }

    /// Emit a conversation and, for long ones, its later windows (no SYN flags).
    fn with_tail(&mut self, mut c: Conv, cap: usize, long_p: f64, out: &mut Vec<Rec>) {
        c.emit(&mut self.rng, out);
        if c.short || c.resp.is_none() || !self.rng.chance(long_p) {
            return;
        }
        let per = c.records();
        let mut used = per;
        for _ in 0..self.rng.range(1, 5) {
            let next = c.start - c.start % WINDOW + WINDOW;
            if used + per > cap || next > self.t_max {
                break;
            }
            c.first = false;
            c.start = next + self.rng.range(0, 2);
            c.end = c.start + self.rng.range(40, WINDOW - 3);
            let f = self.rng.range(25, 200);
            c.req = ((c.req.0 * f / 100).max(2), (c.req.1 * f / 100).max(104));
            c.resp = c
                .resp
                .map(|(p, b)| ((p * f / 100).max(2), (b * f / 100).max(104)));
            c.emit(&mut self.rng, out);
            used += per;
        }
    }

    /// A TCP/UDP conversation between two of our interfaces or one of ours and a peer.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        t: u64,
        client: Option<End>,
        server: Option<End>,
        c: AddrId,
        s: AddrId,
        cport: u16,
        sport: u16,
        proto: u8,
    ) -> Conv {
        let short = proto == UDP || self.rng.chance(0.4);
        let (start, end) = self.window(t, short);
        let req = sized(&mut self.rng, (2, 30), (60, 600));
        let resp = Some(sized(&mut self.rng, (2, 60), (120, 1400)));
        Conv {
            client,
            server,
            c,
            s,
            cport,
            sport,
            proto,
            req,
            resp,
            req_accept: true,
            resp_accept: true,
            first: true,
            short,
            start,
            end,
        }
    }

    /// Emit one event at `t` with between 1 and `cap` records.
    pub fn event(&mut self, t: u64, cap: usize, out: &mut Vec<Rec>) {
        if cap < 8 {
            return self.small(t, out);
        }
        if self.rng.chance(SCAN_EVENTS) {
            // Scanners sweep every public address alike, whatever its own traffic.
            let exposed: Vec<usize> = self.estate.exposed(self.account).collect();
            let target = *self.rng.pick(&exposed);
            return self.scan(t, target, out);
        }
        let i = self.anchor();
        if self.rng.chance(0.0004) {
            let s = t - t % WINDOW;
            return out.push(Rec::empty(i, Status::SkipData, s, s + WINDOW - 1));
        }
        let role = self.estate.ifaces[i].role;
        let x = self.rng.below(100);
        match role {
            Role::Alb => match x {
                0..=69 => self.public_client(t, i, cap, out),
                70..=84 => self.alb_to_app(t, Some(i), None, cap, out),
                85..=96 => self.scan(t, i, out),
                _ => self.small(t, out),
            },
            Role::Bastion => match x {
                0..=29 => self.public_client(t, i, cap, out),
                _ => self.scan(t, i, out),
            },
            Role::PublicWeb => match x {
                0..=64 => self.public_client(t, i, cap, out),
                _ => self.scan(t, i, out),
            },
            Role::Nat { .. } => self.via_nat(t, None, Some(i), out),
            Role::App => match x {
                0..=29 => self.alb_to_app(t, None, Some(i), cap, out),
                30..=49 => self.app_to_db(t, i, None, cap, out),
                50..=64 => self.via_nat(t, Some(i), None, out),
                65..=72 => self.call_endpoint(t, Some(i), None, cap, out),
                73..=77 => self.dns(t, i, out),
                78..=89 => self.private_client(t, i, cap, out),
                90..=94 => self.ipv6_out(t, i, cap, out),
                95..=96 => self.app_to_private(t, i, cap, out),
                _ => self.ping(t, i, out),
            },
            Role::Db => match x {
                0..=74 => self.app_to_db(t, 0, Some(i), cap, out),
                75..=92 => self.private_client(t, i, cap, out),
                _ => self.private_probe(t, i, out),
            },
            Role::Private => match x {
                0..=79 => self.private_client(t, i, cap, out),
                _ => self.private_probe(t, i, out),
            },
            Role::Endpoint => self.call_endpoint(t, None, Some(i), cap, out),
        }
    }

    /// Events of one record: NODATA, SKIPDATA, a rejected probe.
    fn small(&mut self, t: u64, out: &mut Vec<Rec>) {
        let i = self.anchor();
        let s = t - t % WINDOW;
        match self.rng.below(100) {
            0..=9 => out.push(Rec::empty(
                i,
                Status::NoData,
                s,
                s + WINDOW - 1 - self.rng.range(0, 3),
            )),
            10 => out.push(Rec::empty(i, Status::SkipData, s, s + WINDOW - 1)),
            _ => {
                let exposed: Vec<usize> = self.estate.exposed(self.account).collect();
                let target = *self.rng.pick(&exposed);
                self.scan_one(t, target, false, out);
            }
        }
    }

    /// An internet client to a public service (ALB 443/80, bastion 22, public web 443/8443).
    fn public_client(&mut self, t: u64, i: usize, cap: usize, out: &mut Vec<Rec>) {
        let e = self.estate;
        let f = &e.ifaces[i];
        let v6 = !f.ipv6.is_empty() && self.rng.chance(0.2);
        let k = self.rng.unit();
        let c = if v6 {
            e.public_v6[(k * k * e.public_v6.len() as f64) as usize]
        } else {
            e.public_v4[(k * k * e.public_v4.len() as f64) as usize]
        };
        let port = match f.role {
            Role::Alb if self.rng.chance(0.05) => 80,
            Role::Bastion => 22,
            Role::PublicWeb if self.rng.chance(0.3) => 8443,
            _ => 443,
        };
        // Clients: Windows, Linux or behind a carrier NAT, by address.
        let eph = [Eph::Windows, Eph::Windows, Eph::Linux, Eph::Wide][c as usize % 4];
        let cport = eph.port(&mut self.rng);
        let (server, s) = self.server_end(i, v6);
        let mut conv = self.conv(t, None, Some(server), c, s, cport, port, TCP);
        conv.resp = Some(sized(&mut self.rng, (4, 90), (500, 1420)));
        self.with_tail(conv, cap, 0.3, out);
    }

    /// An ALB node to an application target (records on both when both are given or drawn).
    fn alb_to_app(
        &mut self,
        t: u64,
        alb: Option<usize>,
        app: Option<usize>,
        cap: usize,
        out: &mut Vec<Rec>,
    ) {
        let alb = alb.unwrap_or_else(|| self.pick_role(|r| r == Role::Alb));
        let app = app.unwrap_or_else(|| self.pick_role(|r| r == Role::App));
        let port = self.estate.ifaces[app].port;
        let (client, c) = self.client_end(alb, false);
        let (server, s) = self.server_end(app, false);
        let cport = Eph::Wide.port(&mut self.rng);
        let conv = self.conv(t, Some(client), Some(server), c, s, cport, port, TCP);
        self.with_tail(conv, cap, 0.5, out);
    }

    fn app_to_db(&mut self, t: u64, app: usize, db: Option<usize>, cap: usize, out: &mut Vec<Rec>) {
        let (app, db) = match db {
            Some(db) => {
                let apps: Vec<usize> = self.estate.of_role(self.account, |r| r == Role::App);
                let users: Vec<usize> = apps
                    .iter()
                    .copied()
                    .filter(|&a| self.estate.ifaces[a].upstream == Some(db))
                    .collect();
                (
                    *self.rng.pick(if users.is_empty() { &apps } else { &users }),
                    db,
                )
            }
            None => (
                app,
                self.estate.ifaces[app]
                    .upstream
                    .expect("app has a database"),
            ),
        };
        let e = self.estate;
        let v6 =
            !e.ifaces[app].ipv6.is_empty() && !e.ifaces[db].ipv6.is_empty() && self.rng.chance(0.5);
        let (client, c) = self.client_end(app, v6);
        let (server, s) = self.server_end(db, v6);
        let cport = e.ifaces[app].eph.port(&mut self.rng);
        let conv = self.conv(
            t,
            Some(client),
            Some(server),
            c,
            s,
            cport,
            e.ifaces[db].port,
            TCP,
        );
        self.with_tail(conv, cap, 0.6, out);
    }

    fn app_to_private(&mut self, t: u64, app: usize, cap: usize, out: &mut Vec<Rec>) {
        let svc = self.pick_role(|r| r == Role::Private);
        let (client, c) = self.client_end(app, false);
        let (server, s) = self.server_end(svc, false);
        let cport = self.estate.ifaces[app].eph.port(&mut self.rng);
        let conv = self.conv(t, Some(client), Some(server), c, s, cport, 15000, TCP);
        self.with_tail(conv, cap, 0.3, out);
    }

    fn call_endpoint(
        &mut self,
        t: u64,
        app: Option<usize>,
        vpce: Option<usize>,
        cap: usize,
        out: &mut Vec<Rec>,
    ) {
        let app = app.unwrap_or_else(|| self.pick_role(|r| r == Role::App));
        let vpce = vpce.unwrap_or_else(|| self.pick_role(|r| r == Role::Endpoint));
        let (client, c) = self.client_end(app, false);
        let (server, s) = self.server_end(vpce, false);
        let cport = self.estate.ifaces[app].eph.port(&mut self.rng);
        let conv = self.conv(t, Some(client), Some(server), c, s, cport, 443, TCP);
        self.with_tail(conv, cap, 0.2, out);
    }

    /// DNS to the on-premises resolver: UDP from an ephemeral port to 53, client side only.
    fn dns(&mut self, t: u64, app: usize, out: &mut Vec<Rec>) {
        let (client, c) = self.client_end(app, false);
        let cport = self.estate.ifaces[app].eph.port(&mut self.rng);
        let mut conv = self.conv(
            t,
            Some(client),
            None,
            c,
            self.estate.resolver,
            cport,
            53,
            UDP,
        );
        conv.req = sized(&mut self.rng, (1, 4), (60, 90));
        conv.resp = Some(sized(&mut self.rng, (1, 4), (90, 300)));
        conv.emit(&mut self.rng, out);
    }

    /// An application reaching the internet over IPv6 directly (egress-only gateway) when
    /// dual-stack, otherwise through a NAT gateway.
    fn ipv6_out(&mut self, t: u64, app: usize, cap: usize, out: &mut Vec<Rec>) {
        if self.estate.ifaces[app].ipv6.is_empty() {
            return self.via_nat(t, Some(app), None, out);
        }
        let (client, c) = self.client_end(app, true);
        let s = *self.rng.pick(&self.estate.hosts_v6);
        let cport = self.estate.ifaces[app].eph.port(&mut self.rng);
        let conv = self.conv(t, Some(client), None, c, s, cport, 443, TCP);
        self.with_tail(conv, cap, 0.3, out);
    }

    /// An application to an internet host on 443 (or 80) through a NAT gateway: two records
    /// on the application, four on the NAT gateway. Now and then a network ACL rejects the
    /// response at the application (REJECT on its inbound record of its own conversation).
    fn via_nat(&mut self, t: u64, app: Option<usize>, nat: Option<usize>, out: &mut Vec<Rec>) {
        let app = app.unwrap_or_else(|| self.pick_role(|r| r == Role::App));
        let nat = nat.unwrap_or_else(|| self.pick_role(|r| matches!(r, Role::Nat { .. })));
        let e = self.estate;
        let (client, c) = self.client_end(app, false);
        let h = *self.rng.pick(&e.hosts_v4);
        let cport = e.ifaces[app].eph.port(&mut self.rng);
        let sport = if self.rng.chance(0.1) { 80 } else { 443 };
        let mut conv = self.conv(t, Some(client), None, c, h, cport, sport, TCP);
        conv.resp_accept = !self.rng.chance(0.02);
        conv.emit(&mut self.rng, out);

        let (fq, fr) = conv.flags();
        let n = e.ifaces[nat].ip;
        let transit = matches!(e.ifaces[nat].role, Role::Nat { transit: true });
        let nport = Eph::Wide.port(&mut self.rng);
        let d = self.rng.range(0, 1);
        let (start, end) = (conv.start + d, conv.end + d);
        let resp = conv.resp.expect("NAT conversations have a response");
        let rec = |src,
                   dst,
                   pkt_src,
                   pkt_dst,
                   sp,
                   dp,
                   (p, b): (u64, u64),
                   flags,
                   arriving,
                   rule_ingress| Rec {
            iface: nat as u16,
            status: Status::Ok,
            src,
            dst,
            pkt_src,
            pkt_dst,
            sport: sp,
            dport: dp,
            proto: TCP,
            packets: p,
            bytes: b,
            start,
            end,
            accept: true,
            flags,
            arriving,
            rule_ingress,
            port: Some(sport),
        };
        // The client's leg (the NAT serves the application: ingress), then the translated
        // leg to the internet (the NAT is the client: egress).
        let (in_dst, out_src) = if transit { (h, h) } else { (n, n) };
        out.push(rec(c, in_dst, c, h, cport, sport, conv.req, fq, true, true));
        out.push(rec(n, h, n, h, nport, sport, conv.req, fq, false, false));
        out.push(rec(h, n, h, n, sport, nport, resp, fr, true, false));
        out.push(rec(out_src, c, h, c, sport, cport, resp, fr, false, true));
    }

    /// An on-premises client to the interface's service (TCP, or UDP 514 for syslog).
    fn private_client(&mut self, t: u64, i: usize, cap: usize, out: &mut Vec<Rec>) {
        let e = self.estate;
        let k = self.rng.unit();
        let c = e.private_clients[(k * k * e.private_clients.len() as f64) as usize];
        let f = &e.ifaces[i];
        let (port, proto) = match f.role {
            Role::Private => *self
                .rng
                .pick(&[(15000, TCP), (15000, TCP), (9090, TCP), (514, UDP)]),
            _ => (f.port, TCP),
        };
        let eph = [Eph::Linux, Eph::Windows, Eph::Linux][c as usize % 3];
        let cport = eph.port(&mut self.rng);
        let (server, s) = self.server_end(i, false);
        let mut conv = self.conv(t, None, Some(server), c, s, cport, port, proto);
        if proto == UDP {
            // Syslog: one way, no answer.
            conv.resp = None;
        }
        self.with_tail(conv, cap, 0.4, out);
    }

    /// An on-premises host trying a port the group does not open: one REJECT record.
    fn private_probe(&mut self, t: u64, i: usize, out: &mut Vec<Rec>) {
        let e = self.estate;
        let c = *self.rng.pick(&e.private_clients);
        let port = *self.rng.pick(&[22, 3389, 445, 8080, 5985]);
        let (server, s) = self.server_end(i, false);
        let cport = Eph::Linux.port(&mut self.rng);
        let mut conv = self.conv(t, None, Some(server), c, s, cport, port, TCP);
        conv.resp = None;
        conv.req_accept = false;
        conv.short = true;
        conv.req = (self.rng.range(1, 3), 60);
        conv.req.1 *= conv.req.0;
        conv.emit(&mut self.rng, out);
    }

    /// An on-premises host pinging an application (ICMP echo and reply).
    fn ping(&mut self, t: u64, i: usize, out: &mut Vec<Rec>) {
        let c = *self.rng.pick(&self.estate.private_clients);
        let (server, s) = self.server_end(i, false);
        let mut conv = self.conv(t, None, Some(server), c, s, 0, 0, ICMP);
        conv.req = (4, 336);
        conv.resp = Some((4, 336));
        conv.emit(&mut self.rng, out);
    }

    fn scan(&mut self, t: u64, i: usize, out: &mut Vec<Rec>) {
        self.scan_one(t, i, true, out)
    }

    /// A scanner's probe of `i`: a random port from a random source port (40% of scanners)
    /// or a common port from an ephemeral one. REJECT unless the port is open to the world;
    /// then ACCEPT and the SYN-ACK back (when `answer` allows two records).
    fn scan_one(&mut self, t: u64, i: usize, answer: bool, out: &mut Vec<Rec>) {
        let e = self.estate;
        let k = self.rng.below(e.scanners.len() as u64) as usize;
        let c = e.scanners[k];
        let random = (k as f64) < e.scanners.len() as f64 * super::estate::RANDOM_SCANNER_SHARE;
        let icmp = !random && self.rng.chance(0.05);
        let (cport, port) = if random {
            (
                self.rng.range(1, 65535) as u16,
                self.rng.range(1, 65535) as u16,
            )
        } else {
            (Eph::Wide.port(&mut self.rng), *self.rng.pick(&SCAN_PORTS))
        };
        let open = !icmp && e.open_to_world(i, "tcp", port);
        if open && !answer {
            // No room for the answer: probe a closed port instead.
            return self.scan_one(t, i, false, out);
        }
        let (server, s) = self.server_end(i, false);
        let proto = if icmp { ICMP } else { TCP };
        let (cport, port) = if icmp { (0, 0) } else { (cport, port) };
        let mut conv = self.conv(t, None, Some(server), c, s, cport, port, proto);
        conv.short = true;
        conv.req = (self.rng.range(1, 2), 0);
        conv.req.1 = conv.req.0 * if icmp { 84 } else { 44 };
        if open {
            conv.resp = Some((conv.req.0, conv.req.0 * 44));
            conv.short = false;
        } else {
            conv.resp = None;
            conv.req_accept = false;
        }
        conv.emit(&mut self.rng, out);
    }
}
