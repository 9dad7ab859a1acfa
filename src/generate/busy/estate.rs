//! The fixed estate of the busy profile: 4 accounts of 50 interfaces each (NAT gateways,
//! internet-facing ALB nodes, a bastion, public web servers, application and database
//! instances, private services, VPC endpoints), their security groups, and the peers:
//! public and private clients, scanners and internet destinations.
//!
//! Like the retail store, everything here comes from constants, not from `--seed`: the seed
//! only drives the traffic, so two datasets of different sizes describe the same estate.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::super::rng::{hex17, Rng};

pub const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "222233334444",
    "333344445555",
    "444455556666",
];
pub const REGION: &str = "eu-west-1";
/// Availability zones (name, id) of the two subnets of each tier.
pub const AZS: [(&str, &str); 2] = [("eu-west-1a", "euw1-az1"), ("eu-west-1b", "euw1-az2")];

pub const PUBLIC_CLIENTS_V4: usize = 17_000;
pub const PUBLIC_CLIENTS_V6: usize = 3_000;
pub const PRIVATE_CLIENTS: usize = 4_000;
pub const SCANNERS: usize = 3_000;
/// Share of scanners that probe random ports from random source ports.
pub const RANDOM_SCANNER_SHARE: f64 = 0.4;
const INTERNET_HOSTS_V4: usize = 600;
const INTERNET_HOSTS_V6: usize = 120;

/// Index into [`Estate::addrs`].
pub type AddrId = u32;

/// Ephemeral port range of an initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eph {
    /// Linux: 32768-60999.
    Linux,
    /// Windows (and macOS/iOS): 49152-65535.
    Windows,
    /// NAT devices (carrier NAT, NAT gateways, load balancers): 1024-65535.
    Wide,
}

impl Eph {
    pub fn port(self, rng: &mut Rng) -> u16 {
        (match self {
            Eph::Linux => rng.range(32768, 60999),
            Eph::Windows => rng.range(49152, 65535),
            Eph::Wide => rng.range(1024, 65535),
        }) as u16
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// NAT gateway: no security group. `transit` NAT gateways log the client's leg with the
    /// packet addresses (neither is the NAT's own); the others as the AWS documentation's
    /// example shows (the NAT's private address in `dstaddr`/`srcaddr`).
    Nat { transit: bool },
    /// Internet-facing application load balancer node (dual-stack).
    Alb,
    /// Instance with a public address, SSH open to the world.
    Bastion,
    /// Instance with a public address serving 443 and 8443.
    PublicWeb,
    /// Application instance behind the ALB, serving `port`.
    App,
    /// Database or search node serving `port` to the applications.
    Db,
    /// Private service for on-premises clients (TCP 15000 and 9090, UDP 514).
    Private,
    /// Interface VPC endpoint (443 from the VPC).
    Endpoint,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Nat { transit: false } => "nat",
            Role::Nat { transit: true } => "nat-transit",
            Role::Alb => "alb",
            Role::Bastion => "bastion",
            Role::PublicWeb => "public-web",
            Role::App => "app",
            Role::Db => "db",
            Role::Private => "private-service",
            Role::Endpoint => "vpc-endpoint",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Iface {
    pub id: String,
    pub account: usize,
    pub role: Role,
    /// Index into the account's subnets ([`Account::subnets`]).
    pub subnet: usize,
    pub ip: AddrId,
    pub secondary: Vec<AddrId>,
    pub ipv6: Vec<AddrId>,
    pub public_ip: Option<String>,
    /// Index into [`Estate::groups`]; `None` for NAT gateways.
    pub group: Option<usize>,
    pub instance_id: Option<String>,
    /// Main service port (TCP) for App/Db; 0 otherwise.
    pub port: u16,
    /// Ephemeral range of the connections this interface opens.
    pub eph: Eph,
    /// Index of the database this application calls (App only).
    pub upstream: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Subnet {
    pub id: String,
    pub cidr: String,
    pub ipv6_cidr: String,
    pub az: usize,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: &'static str,
    pub vpc_id: String,
    pub vpc_cidr: String,
    pub flow_log_id: String,
    /// public-a, public-b, private-a, private-b, data-a, data-b.
    pub subnets: Vec<Subnet>,
    /// Interface indexes of this account, and their Zipf weights' running sum.
    pub ifaces: Vec<usize>,
    pub cumulative: Vec<f64>,
}

/// One permission of a group: protocol name, port range, IPv4/IPv6 CIDRs, source groups.
#[derive(Debug, Clone)]
pub struct Perm {
    pub proto: &'static str,
    pub ports: Option<(u16, u16)>,
    pub v4: Vec<String>,
    pub v6: Vec<String>,
    pub groups: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub account: usize,
    pub ingress: Vec<Perm>,
}

#[derive(Debug, Clone)]
pub struct AddrInfo {
    pub text: String,
    pub v6: bool,
    /// Inside a VPC or on-premises (traffic-path 1), not the internet (8).
    pub private: bool,
}

pub struct Estate {
    pub accounts: Vec<Account>,
    pub ifaces: Vec<Iface>,
    pub groups: Vec<Group>,
    pub addrs: Vec<AddrInfo>,
    pub public_v4: Vec<AddrId>,
    pub public_v6: Vec<AddrId>,
    pub private_clients: Vec<AddrId>,
    pub scanners: Vec<AddrId>,
    pub hosts_v4: Vec<AddrId>,
    pub hosts_v6: Vec<AddrId>,
    /// On-premises DNS resolver the applications query (UDP 53).
    pub resolver: AddrId,
}

/// Ports scanners that do not pick random ports try.
pub const SCAN_PORTS: [u16; 24] = [
    22, 23, 80, 443, 3389, 445, 8080, 8443, 5900, 3306, 6379, 9200, 25, 21, 1433, 27017, 2375,
    5432, 15000, 11211, 161, 53, 5601, 9090,
];

/// Services of the application and database tiers (port, how many interfaces of 24/10).
const APP_PORTS: [u16; 4] = [8080, 8443, 15000, 9000];
const DB_PORTS: [u16; 5] = [5432, 3306, 6379, 27017, 9200];

fn is_public_v4(a: u32) -> bool {
    let o = a >> 24;
    let ip = Ipv4Addr::from(a);
    !(o == 0
        || o == 10
        || o == 127
        || o >= 224
        || ip.is_private()
        || ip.is_link_local()
        || (a & 0xffc0_0000) == 0x6440_0000)
}

impl Estate {
    pub fn addr(&self, id: AddrId) -> &AddrInfo {
        &self.addrs[id as usize]
    }

    fn push(&mut self, text: String, v6: bool, private: bool) -> AddrId {
        self.addrs.push(AddrInfo { text, v6, private });
        (self.addrs.len() - 1) as AddrId
    }

    fn v4(&mut self, a: u32, private: bool) -> AddrId {
        self.push(Ipv4Addr::from(a).to_string(), false, private)
    }

    fn v6(&mut self, a: u128, private: bool) -> AddrId {
        self.push(Ipv6Addr::from(a).to_string(), true, private)
    }

    /// Public interfaces of an account that scanners can reach.
    pub fn exposed(&self, account: usize) -> impl Iterator<Item = usize> + '_ {
        self.accounts[account].ifaces.iter().copied().filter(|&i| {
            matches!(
                self.ifaces[i].role,
                Role::Alb | Role::Bastion | Role::PublicWeb
            )
        })
    }

    /// The interfaces of `account` with role `pred`.
    pub fn of_role(&self, account: usize, pred: impl Fn(Role) -> bool) -> Vec<usize> {
        self.accounts[account]
            .ifaces
            .iter()
            .copied()
            .filter(|&i| pred(self.ifaces[i].role))
            .collect()
    }

    /// Whether `iface`'s security groups admit a new inbound TCP/UDP connection to `port`
    /// from the internet (`0.0.0.0/0` or `::/0`).
    pub fn open_to_world(&self, iface: usize, proto: &str, port: u16) -> bool {
        let Some(g) = self.ifaces[iface].group else {
            return false;
        };
        self.groups[g].ingress.iter().any(|p| {
            p.proto == proto
                && p.ports.is_some_and(|(a, b)| (a..=b).contains(&port))
                && p.v4.iter().any(|c| c == "0.0.0.0/0")
        })
    }

    pub fn build() -> Estate {
        let mut e = Estate {
            accounts: Vec::new(),
            ifaces: Vec::new(),
            groups: Vec::new(),
            addrs: Vec::new(),
            public_v4: Vec::new(),
            public_v6: Vec::new(),
            private_clients: Vec::new(),
            scanners: Vec::new(),
            hosts_v4: Vec::new(),
            hosts_v6: Vec::new(),
            resolver: 0,
        };
        // Peers first, from one fixed stream; public ranges drawn at random, no duplicates.
        let mut rng = Rng::new(0xb05f_0000);
        let mut seen = std::collections::HashSet::new();
        let mut public4 = |rng: &mut Rng| loop {
            let a = rng.next_u64() as u32;
            if is_public_v4(a) && seen.insert(a) {
                break a;
            }
        };
        for _ in 0..PUBLIC_CLIENTS_V4 {
            let a = public4(&mut rng);
            let id = e.v4(a, false);
            e.public_v4.push(id);
        }
        for _ in 0..SCANNERS {
            let a = public4(&mut rng);
            let id = e.v4(a, false);
            e.scanners.push(id);
        }
        for _ in 0..INTERNET_HOSTS_V4 {
            let a = public4(&mut rng);
            let id = e.v4(a, false);
            e.hosts_v4.push(id);
        }
        for k in 0..PUBLIC_CLIENTS_V6 + INTERNET_HOSTS_V6 {
            // Global unicast 2a00::/12 .. 2a0f, random interface ids.
            let hi = 0x2a00_u128 + (rng.below(16) as u128);
            let a = hi << 112 | (rng.next_u64() as u128) << 48 | (rng.next_u64() as u128 >> 16);
            let id = e.v6(a, false);
            if k < PUBLIC_CLIENTS_V6 {
                e.public_v6.push(id);
            } else {
                e.hosts_v6.push(id);
            }
        }
        // On-premises clients behind VPN / Direct Connect: 10.200.0.0/16 and 172.20.0.0/16.
        e.resolver = e.v4(u32::from(Ipv4Addr::new(10, 200, 0, 2)), true);
        for k in 0..PRIVATE_CLIENTS as u32 {
            let base = if k % 3 == 0 {
                u32::from(Ipv4Addr::new(172, 20, 0, 0))
            } else {
                u32::from(Ipv4Addr::new(10, 200, 0, 0))
            };
            let a = base + 256 + k * 13 % 65000;
            let id = e.v4(a, true);
            e.private_clients.push(id);
        }
        for a in 0..ACCOUNTS.len() {
            build_account(&mut e, a);
        }
        zipf_weights(&mut e);
        e
    }
}

/// One account: its VPC, six subnets, eight groups and fifty interfaces.
fn build_account(e: &mut Estate, a: usize) {
    let acct = ACCOUNTS[a];
    let second = 10 + a as u32;
    let v6_base: u128 = (0x2a05_d018_0a00_u128 + ((a as u128) << 8)) << 80;
    let subnets: Vec<Subnet> = (0..6)
        .map(|s| Subnet {
            id: format!("subnet-{}", hex17(&format!("busy/{acct}/subnet/{s}"))),
            cidr: format!("10.{second}.{}.0/20", s * 16),
            ipv6_cidr: format!("{}/64", Ipv6Addr::from(v6_base | (s as u128) << 64)),
            az: s % 2,
        })
        .collect();
    e.accounts.push(Account {
        id: acct,
        vpc_id: format!("vpc-{}", hex17(&format!("busy/{acct}/vpc"))),
        vpc_cidr: format!("10.{second}.0.0/16"),
        flow_log_id: format!("fl-{}", hex17(&format!("busy/{acct}/flow-log"))),
        subnets,
        ifaces: Vec::new(),
        cumulative: Vec::new(),
    });
    let vpc = format!("10.{second}.0.0/16");
    let world = |ports: (u16, u16)| Perm {
        proto: "tcp",
        ports: Some(ports),
        v4: vec!["0.0.0.0/0".into()],
        v6: vec!["::/0".into()],
        groups: vec![],
    };
    let group = |e: &mut Estate, name: &str, ingress: Vec<Perm>| {
        e.groups.push(Group {
            id: format!("sg-{}", hex17(&format!("busy/{acct}/sg/{name}"))),
            name: name.to_string(),
            account: a,
            ingress,
        });
        e.groups.len() - 1
    };
    let alb_g = group(e, "alb", vec![world((443, 443)), world((80, 80))]);
    let bastion_g = group(e, "bastion", vec![world((22, 22))]);
    let web_g = group(
        e,
        "public-web",
        vec![world((443, 443)), world((8443, 8443))],
    );
    let onprem = vec!["10.200.0.0/16".to_string(), "172.20.0.0/16".to_string()];
    let app_g: Vec<usize> = APP_PORTS
        .iter()
        .map(|&p| {
            group(
                e,
                &format!("app-{p}"),
                vec![
                    Perm {
                        proto: "tcp",
                        ports: Some((p, p)),
                        v4: vec![],
                        v6: vec![],
                        groups: vec![alb_g],
                    },
                    Perm {
                        proto: "tcp",
                        ports: Some((p, p)),
                        v4: onprem.clone(),
                        v6: vec![],
                        groups: vec![],
                    },
                    Perm {
                        proto: "icmp",
                        ports: None,
                        v4: onprem.clone(),
                        v6: vec![],
                        groups: vec![],
                    },
                ],
            )
        })
        .collect();
    let db_g: Vec<usize> = DB_PORTS
        .iter()
        .map(|&p| {
            group(
                e,
                &format!("db-{p}"),
                vec![
                    Perm {
                        proto: "tcp",
                        ports: Some((p, p)),
                        v4: vec![],
                        v6: vec![],
                        groups: app_g.clone(),
                    },
                    Perm {
                        proto: "tcp",
                        ports: Some((p, p)),
                        v4: vec!["10.200.0.0/16".into()],
                        v6: vec![],
                        groups: vec![],
                    },
                ],
            )
        })
        .collect();
    let private_g = group(
        e,
        "private-service",
        vec![
            Perm {
                proto: "tcp",
                ports: Some((15000, 15000)),
                v4: onprem.clone(),
                v6: vec![],
                groups: app_g.clone(),
            },
            Perm {
                proto: "tcp",
                ports: Some((9090, 9090)),
                v4: onprem.clone(),
                v6: vec![],
                groups: vec![],
            },
            Perm {
                proto: "udp",
                ports: Some((514, 514)),
                v4: onprem.clone(),
                v6: vec![],
                groups: vec![],
            },
        ],
    );
    let vpce_g = group(
        e,
        "vpc-endpoint",
        vec![Perm {
            proto: "tcp",
            ports: Some((443, 443)),
            v4: vec![vpc],
            v6: vec![],
            groups: vec![],
        }],
    );

    // (role, subnet tier, group, port, dual-stack, secondary addresses)
    let mut plan: Vec<(Role, usize, Option<usize>, u16, bool, usize)> = Vec::new();
    plan.push((Role::Nat { transit: false }, 0, None, 0, false, 0));
    plan.push((Role::Nat { transit: true }, 0, None, 0, false, 0));
    for _ in 0..4 {
        plan.push((Role::Alb, 0, Some(alb_g), 443, true, 0));
    }
    plan.push((Role::Bastion, 0, Some(bastion_g), 22, false, 0));
    for k in 0..3 {
        plan.push((Role::PublicWeb, 0, Some(web_g), 443, k == 0, 0));
    }
    for k in 0..24 {
        // 8080 for most, then 8443, 15000 and 9000 (custom ports).
        let pi = [0, 0, 0, 1, 0, 2, 0, 3][k % 8];
        let secondary = if k % 5 == 1 { 1 + k % 2 } else { 0 };
        plan.push((
            Role::App,
            2,
            Some(app_g[pi]),
            APP_PORTS[pi],
            k % 4 == 0,
            secondary,
        ));
    }
    for k in 0..10 {
        let secondary = usize::from(k % 4 == 2);
        plan.push((
            Role::Db,
            4,
            Some(db_g[k % 5]),
            DB_PORTS[k % 5],
            k < 2,
            secondary,
        ));
    }
    for _ in 0..4 {
        plan.push((Role::Private, 2, Some(private_g), 15000, false, 0));
    }
    for _ in 0..2 {
        plan.push((Role::Endpoint, 2, Some(vpce_g), 443, false, 0));
    }
    debug_assert_eq!(plan.len(), 50);

    let mut host = [10u32; 6];
    let first = e.ifaces.len();
    for (k, (role, tier, group, port, dual, secondary)) in plan.into_iter().enumerate() {
        let s = tier + k % 2;
        let sub_base = u32::from(Ipv4Addr::new(10, second as u8, (s * 16) as u8, 0));
        let next = |host: &mut [u32; 6]| {
            host[s] += 1 + (host[s] * 7 % 5);
            sub_base + host[s]
        };
        let ip = next(&mut host);
        let ip = e.v4(ip, true);
        let secondary: Vec<AddrId> = (0..secondary)
            .map(|_| {
                let a = next(&mut host);
                e.v4(a, true)
            })
            .collect();
        let ipv6: Vec<AddrId> = if dual {
            // ALB nodes and every fourth application have two IPv6 addresses.
            let n = if role == Role::Alb || k % 8 == 0 {
                2
            } else {
                1
            };
            (0..n)
                .map(|j| {
                    let a = v6_base
                        | (s as u128) << 64
                        | (crate::generate::rng::hash_str(&format!("{acct}/{k}/{j}")) as u128
                            & 0xffff_ffff_ffff);
                    e.v6(a, true)
                })
                .collect()
        } else {
            Vec::new()
        };
        let public_ip = matches!(
            role,
            Role::Nat { .. } | Role::Alb | Role::Bastion | Role::PublicWeb
        )
        .then(|| {
            let h = crate::generate::rng::hash_str(&format!("busy/{acct}/eip/{k}"));
            format!(
                "52.{}.{}.{}",
                16 + (h % 32),
                h >> 8 & 0xff,
                1 + (h >> 16) % 254
            )
        });
        let instance_id = matches!(
            role,
            Role::Bastion | Role::PublicWeb | Role::App | Role::Db | Role::Private
        )
        .then(|| format!("i-{}", hex17(&format!("busy/{acct}/instance/{k}"))));
        let eph = match role {
            Role::Nat { .. } | Role::Alb => Eph::Wide,
            _ if k % 6 == 5 => Eph::Windows,
            _ => Eph::Linux,
        };
        e.ifaces.push(Iface {
            id: format!("eni-{}", hex17(&format!("busy/{acct}/eni/{k}"))),
            account: a,
            role,
            subnet: s,
            ip,
            secondary,
            ipv6,
            public_ip,
            group,
            instance_id,
            port,
            eph,
            upstream: None,
        });
        e.accounts[a].ifaces.push(first + k);
    }
    // Each application calls one database of the account (round robin).
    let dbs: Vec<usize> = e.of_role(a, |r| r == Role::Db);
    let apps: Vec<usize> = e.of_role(a, |r| r == Role::App);
    for (j, &app) in apps.iter().enumerate() {
        e.ifaces[app].upstream = Some(dbs[j % dbs.len()]);
    }
}

/// Zipf weights (s = 1.1) over all 200 interfaces in a fixed shuffled order, so every
/// account has a few heavy interfaces and a long tail.
fn zipf_weights(e: &mut Estate) {
    let n = e.ifaces.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(0x21bf);
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut weight = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        weight[i] = 1.0 / ((rank + 1) as f64).powf(1.1);
    }
    for acc in &mut e.accounts {
        let mut sum = 0.0;
        acc.cumulative = acc
            .ifaces
            .iter()
            .map(|&i| {
                sum += weight[i];
                sum
            })
            .collect();
    }
}
