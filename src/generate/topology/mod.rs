//! The fixed retail-store topology: subnets, security groups, network interfaces and the
//! address pools of the peers. Everything here is derived from constants (not from `--seed`),
//! so every dataset describes the same VPC and 10x more records means the same distinct peers.
//!
//! `Topology::build` runs three steps, one file each: `groups` (security groups and rules),
//! `interfaces` (subnets and network interfaces), `pools` (peer addresses).

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

mod groups;
mod interfaces;
mod pools;

use super::rng::{hex17, Rng};

pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const VPC_ID: &str = "vpc-0a1b2c3d4e5f60718";
pub const VPC_CIDR: &str = "10.0.0.0/16";
pub const VPC_IPV6_CIDR: &str = "2600:1f18:4a3:6a00::/56";
pub const FLOW_LOG_ID: &str = "fl-0a1b2c3d4e5f60718";
pub const STACK_NAME: &str = "retail-store";
/// AWS account of the ECS (Fargate) service that creates awsvpc task ENIs.
pub const ECS_REQUESTER_ID: &str = "578734482556";

/// Index of an address in [`Topology::addrs`].
pub type AddrId = u32;

/// Value of `traffic-path` when a packet leaves an ENI towards this address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Another resource in the same VPC (1).
    Vpc,
    /// Gateway VPC endpoint, Nitro (7).
    GatewayEndpoint,
    /// Internet gateway, Nitro (8).
    Internet,
}

impl PathKind {
    pub fn code(self) -> u8 {
        match self {
            PathKind::Vpc => 1,
            PathKind::GatewayEndpoint => 7,
            PathKind::Internet => 8,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AddrInfo {
    pub text: String,
    pub v6: bool,
    /// `pkt-*-aws-service` value for this address, if it is in a published AWS range.
    pub aws_service: Option<&'static str>,
    pub path: PathKind,
}

#[derive(Debug, Clone)]
pub struct Subnet {
    pub key: &'static str,
    pub id: String,
    pub cidr: &'static str,
    pub ipv6_cidr: Option<&'static str>,
    pub az: &'static str,
    pub az_id: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Orders,
    Checkout,
    Catalog,
    Carts,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Orders,
        Service::Checkout,
        Service::Catalog,
        Service::Carts,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Service::Orders => "orders",
            Service::Checkout => "checkout",
            Service::Catalog => "catalog",
            Service::Carts => "carts",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EniKind {
    Alb,
    Nat,
    Bastion,
    Task(Service),
    OrdersDb,
    CatalogDb,
    Redis,
    Vpce,
    GuardDuty,
}

#[derive(Debug, Clone)]
pub struct Eni {
    /// Role key, e.g. `alb-a`, `orders-1`.
    pub key: &'static str,
    pub kind: EniKind,
    pub id: String,
    pub subnet: usize,
    pub ip: AddrId,
    pub ipv6: Option<AddrId>,
    pub public_ip: Option<&'static str>,
    /// Indexes into [`Topology::sgs`].
    pub sgs: Vec<usize>,
    pub instance_id: Option<String>,
    pub interface_type: &'static str,
    pub description: String,
    pub requester_id: Option<&'static str>,
    pub requester_managed: bool,
    pub attachment_owner: String,
    pub device_index: u32,
}

/// One `IpPermission` of `describe-security-groups`.
#[derive(Debug, Clone)]
pub struct Perm {
    pub proto: &'static str,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub v4: Vec<(&'static str, Option<String>)>,
    pub v6: Vec<(&'static str, Option<String>)>,
    /// (sg index, description)
    pub groups: Vec<(usize, Option<String>)>,
}

impl Perm {
    fn tcp(from: i32, to: i32) -> Perm {
        Perm {
            proto: "tcp",
            from: Some(from),
            to: Some(to),
            v4: vec![],
            v6: vec![],
            groups: vec![],
        }
    }
    fn all_out() -> Perm {
        Perm {
            proto: "-1",
            from: None,
            to: None,
            v4: vec![(
                "0.0.0.0/0",
                Some("Allow all outbound traffic by default".into()),
            )],
            v6: vec![],
            groups: vec![],
        }
    }
    fn cidr(mut self, c: &'static str, d: &str) -> Perm {
        self.v4.push((c, Some(d.to_string())));
        self
    }
    fn cidr6(mut self, c: &'static str, d: &str) -> Perm {
        self.v6.push((c, Some(d.to_string())));
        self
    }
    fn group(mut self, g: usize, d: &str) -> Perm {
        self.groups.push((g, Some(d.to_string())));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Sg {
    pub key: &'static str,
    pub id: String,
    pub name: &'static str,
    pub description: &'static str,
    /// CloudFormation logical id in template.json (None for the VPC default group).
    pub logical_id: Option<&'static str>,
    /// Whether the group comes from the seed template (carries the seed's tags).
    pub from_seed: bool,
    pub ingress: Vec<Perm>,
    pub egress: Vec<Perm>,
}

#[derive(Debug, Clone)]
pub struct Topology {
    pub addrs: Vec<AddrInfo>,
    pub subnets: Vec<Subnet>,
    pub sgs: Vec<Sg>,
    pub enis: Vec<Eni>,
    pub alb: [usize; 2],
    pub nat: usize,
    pub bastion: usize,
    pub tasks: [[usize; 2]; 4],
    pub orders_db: usize,
    pub catalog_db: usize,
    pub redis: usize,
    pub vpce: [usize; 2],
    pub guardduty: usize,
    pub clients_v4: Vec<AddrId>,
    pub clients_v6: Vec<AddrId>,
    pub scanners: Vec<AddrId>,
    pub nat_dests: Vec<AddrId>,
    pub dynamodb: Vec<AddrId>,
    /// Addresses used by `--incidents` only.
    pub incident_scanner: AddrId,
    pub exfil_dst: AddrId,
    pub unused_internal: Vec<AddrId>,
    pub alb_lb_id: String,
}

impl Topology {
    pub fn sg(&self, key: &str) -> usize {
        self.sgs
            .iter()
            .position(|s| s.key == key)
            .expect("known security group key")
    }
    pub fn task(&self, s: Service, i: usize) -> usize {
        self.tasks[s as usize][i]
    }
    pub fn addr(&self, id: AddrId) -> &AddrInfo {
        &self.addrs[id as usize]
    }
    pub fn eni_by_key(&self, key: &str) -> usize {
        self.enis
            .iter()
            .position(|e| e.key == key)
            .expect("known ENI key")
    }

    fn add_addr(
        &mut self,
        text: String,
        aws_service: Option<&'static str>,
        path: PathKind,
    ) -> AddrId {
        let v6 = text.contains(':');
        self.addrs.push(AddrInfo {
            text,
            v6,
            aws_service,
            path,
        });
        (self.addrs.len() - 1) as AddrId
    }

    pub fn build() -> Topology {
        let mut t = Topology {
            addrs: Vec::new(),
            subnets: Vec::new(),
            sgs: Vec::new(),
            enis: Vec::new(),
            alb: [0; 2],
            nat: 0,
            bastion: 0,
            tasks: [[0; 2]; 4],
            orders_db: 0,
            catalog_db: 0,
            redis: 0,
            vpce: [0; 2],
            guardduty: 0,
            clients_v4: Vec::new(),
            clients_v6: Vec::new(),
            scanners: Vec::new(),
            nat_dests: Vec::new(),
            dynamodb: Vec::new(),
            incident_scanner: 0,
            exfil_dst: 0,
            unused_internal: Vec::new(),
            alb_lb_id: format!("{:016x}", super::rng::hash_str("alb/retail-store-alb")),
        };

        let subnet = |key: &'static str, cidr, v6, az, az_id| Subnet {
            key,
            id: format!("subnet-{}", hex17(&format!("subnet/{key}"))),
            cidr,
            ipv6_cidr: v6,
            az,
            az_id,
        };
        t.subnets = vec![
            subnet(
                "public-a",
                "10.0.0.0/24",
                Some("2600:1f18:4a3:6a00::/64"),
                "us-east-1a",
                "use1-az1",
            ),
            subnet(
                "public-b",
                "10.0.1.0/24",
                Some("2600:1f18:4a3:6a01::/64"),
                "us-east-1b",
                "use1-az2",
            ),
            subnet("app-a", "10.0.10.0/24", None, "us-east-1a", "use1-az1"),
            subnet("app-b", "10.0.11.0/24", None, "us-east-1b", "use1-az2"),
            subnet("db-a", "10.0.20.0/24", None, "us-east-1a", "use1-az1"),
            subnet("db-b", "10.0.21.0/24", None, "us-east-1b", "use1-az2"),
        ];

        t.build_sgs();
        t.build_enis();
        t.build_pools();
        t
    }
}

/// Deterministic UUID-looking string derived from a name.
pub fn uuid_from(name: &str) -> String {
    let a = super::rng::hash_str(name);
    let b = super::rng::hash_str(&format!("{name}#2"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_is_consistent() {
        let t = Topology::build();
        assert_eq!(t.enis.len(), 18);
        let ids: HashSet<_> = t.enis.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), t.enis.len());
        for e in &t.enis {
            assert_eq!(e.id.len(), 4 + 17);
        }
        for s in &t.sgs {
            assert_eq!(s.id.len(), 3 + 17);
        }
        assert!(t.enis[t.nat].sgs.is_empty());
        let texts: HashSet<_> = t.addrs.iter().map(|a| a.text.clone()).collect();
        assert_eq!(texts.len(), t.addrs.len(), "addresses are unique");
        assert_eq!(t.unused_internal.len(), 17);
    }
}
