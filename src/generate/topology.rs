//! The fixed retail-store topology: subnets, security groups, network interfaces and the
//! address pools of the peers. Everything here is derived from constants (not from `--seed`),
//! so every dataset describes the same VPC and 10x more records means the same distinct peers.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

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

    fn build_sgs(&mut self) {
        let sg = |key: &'static str, name, description, logical_id, from_seed| Sg {
            key,
            id: format!("sg-{}", hex17(&format!("sg/{key}"))),
            name,
            description,
            logical_id,
            from_seed,
            ingress: vec![],
            egress: vec![Perm::all_out()],
        };
        self.sgs = vec![
            sg(
                "orders-task",
                "retail-store-ecs-orders-task",
                "Security Group for ECS Orders Task",
                Some("NetworkOrdersSecurityGroupA7D5A931"),
                true,
            ),
            sg(
                "orders-rds",
                "retail-store-ecs-orders-rds",
                "Security group for Orders RDS instance",
                Some("NetworkOrdersRDSSecurityGroupD378DF87"),
                true,
            ),
            sg(
                "checkout-task",
                "retail-store-ecs-checkout-task",
                "Security Group for ECS Checkout Task",
                Some("NetworkCheckoutSecurityGroupFBC9C26C"),
                true,
            ),
            sg(
                "redis",
                "retail-store-ecs-redis",
                "Security group for Redis cluster",
                Some("NetworkRedisSecurityGroupF069D970"),
                true,
            ),
            sg(
                "catalog-task",
                "retail-store-ecs-catalog-task",
                "Security Group for ECS Catalog Task",
                Some("NetworkCatalogSecurityGroupEFFC643F"),
                true,
            ),
            sg(
                "catalog-rds",
                "retail-store-ecs-catalog-rds",
                "Security group for Catalog RDS instance",
                Some("NetworkCatalogRDSSecurityGroupFFE0C2BE"),
                true,
            ),
            sg(
                "carts-task",
                "retail-store-ecs-carts",
                "Security Group for ECS Cart Task VPC2",
                Some("NetworkCartSecurityGroupVPC27CCFCFC6"),
                true,
            ),
            sg(
                "guardduty",
                "retail-store-ecs-guardduty-vpclattice",
                "Security Group for GuardDuty VPC Endpoint",
                Some("NetworkGuardDutyEndpointSecurityGroupVPCLatticeEA4520D9"),
                true,
            ),
            sg(
                "alb",
                "retail-store-alb",
                "Security group for the retail-store Application Load Balancer",
                Some("NetworkAlbSecurityGroup5C0E3B1D"),
                false,
            ),
            sg(
                "bastion",
                "retail-store-bastion",
                "Security group for the retail-store bastion host",
                Some("NetworkBastionSecurityGroup8D2A4F6E"),
                false,
            ),
            sg(
                "vpce",
                "retail-store-vpce",
                "Security group for the retail-store interface VPC endpoints",
                Some("NetworkVpcEndpointSecurityGroup1F7B9C3A"),
                false,
            ),
            sg(
                "default",
                "default",
                "default VPC security group",
                None,
                false,
            ),
        ];
        let idx = |s: &Self, k: &str| s.sg(k);
        let (orders, checkout, catalog) = (
            idx(self, "orders-task"),
            idx(self, "checkout-task"),
            idx(self, "catalog-task"),
        );
        let default = idx(self, "default");
        for k in ["orders-task", "checkout-task", "catalog-task", "carts-task"] {
            let i = idx(self, k);
            self.sgs[i]
                .ingress
                .push(Perm::tcp(8080, 8080).cidr("0.0.0.0/0", "Allow inbound 8080 traffic"));
        }
        // Unused extra rule (nobody connects to 9000-9100).
        self.sgs[orders]
            .ingress
            .push(Perm::tcp(9000, 9100).cidr(VPC_CIDR, "Metrics and admin ports from the VPC"));
        // Range rule of which only 8080 is used.
        self.sgs[catalog]
            .ingress
            .push(Perm::tcp(8080, 8090).cidr(VPC_CIDR, "Catalog service ports from the VPC"));
        let i = idx(self, "orders-rds");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(5432, 5432).group(orders, "Allow PostgreSQL access"));
        let i = idx(self, "redis");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(6379, 6379).group(checkout, "Allow Redis access"));
        let i = idx(self, "catalog-rds");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(3306, 3306).group(catalog, "Allow MySQL access"));
        let i = idx(self, "guardduty");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(443, 443).cidr(VPC_CIDR, "from 10.0.0.0/16:443"));
        let i = idx(self, "alb");
        self.sgs[i].ingress.push(
            Perm::tcp(443, 443)
                .cidr("0.0.0.0/0", "HTTPS from anywhere")
                .cidr6("::/0", "HTTPS from anywhere (IPv6)"),
        );
        self.sgs[i]
            .ingress
            .push(Perm::tcp(80, 80).cidr("0.0.0.0/0", "HTTP redirect to HTTPS"));
        let i = idx(self, "bastion");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(22, 22).cidr("0.0.0.0/0", "SSH access"));
        let i = idx(self, "vpce");
        self.sgs[i]
            .ingress
            .push(Perm::tcp(443, 443).cidr(VPC_CIDR, "HTTPS from the VPC"));
        self.sgs[default].ingress.push(Perm {
            proto: "-1",
            from: None,
            to: None,
            v4: vec![],
            v6: vec![],
            groups: vec![(default, None)],
        });
        self.sgs[default].egress = vec![Perm {
            proto: "-1",
            from: None,
            to: None,
            v4: vec![("0.0.0.0/0", None)],
            v6: vec![],
            groups: vec![],
        }];
    }

    fn build_enis(&mut self) {
        struct Spec {
            key: &'static str,
            kind: EniKind,
            subnet: &'static str,
            ip: &'static str,
            ipv6: Option<&'static str>,
            public_ip: Option<&'static str>,
            sg: Option<&'static str>,
        }
        let s = |key, kind, subnet, ip, sg| Spec {
            key,
            kind,
            subnet,
            ip,
            ipv6: None,
            public_ip: None,
            sg,
        };
        use EniKind::*;
        use Service::*;
        let specs = vec![
            Spec {
                ipv6: Some("2600:1f18:4a3:6a00:5c1e:8a4b:2f0d:91c3"),
                public_ip: Some("3.215.44.182"),
                ..s("alb-a", Alb, "public-a", "10.0.0.37", Some("alb"))
            },
            Spec {
                ipv6: Some("2600:1f18:4a3:6a01:b7f2:13d9:6e40:a512"),
                public_ip: Some("54.85.201.33"),
                ..s("alb-b", Alb, "public-b", "10.0.1.154", Some("alb"))
            },
            Spec {
                public_ip: Some("44.207.118.9"),
                ..s("nat", Nat, "public-a", "10.0.0.211", None)
            },
            Spec {
                public_ip: Some("18.232.61.140"),
                ..s("bastion", Bastion, "public-b", "10.0.1.25", Some("bastion"))
            },
            s(
                "orders-1",
                Task(Orders),
                "app-a",
                "10.0.10.41",
                Some("orders-task"),
            ),
            s(
                "orders-2",
                Task(Orders),
                "app-b",
                "10.0.11.87",
                Some("orders-task"),
            ),
            s(
                "checkout-1",
                Task(Checkout),
                "app-a",
                "10.0.10.52",
                Some("checkout-task"),
            ),
            s(
                "checkout-2",
                Task(Checkout),
                "app-b",
                "10.0.11.118",
                Some("checkout-task"),
            ),
            s(
                "catalog-1",
                Task(Catalog),
                "app-a",
                "10.0.10.73",
                Some("catalog-task"),
            ),
            s(
                "catalog-2",
                Task(Catalog),
                "app-b",
                "10.0.11.29",
                Some("catalog-task"),
            ),
            s(
                "carts-1",
                Task(Carts),
                "app-a",
                "10.0.10.96",
                Some("carts-task"),
            ),
            s(
                "carts-2",
                Task(Carts),
                "app-b",
                "10.0.11.143",
                Some("carts-task"),
            ),
            s(
                "orders-db",
                OrdersDb,
                "db-a",
                "10.0.20.15",
                Some("orders-rds"),
            ),
            s(
                "catalog-db",
                CatalogDb,
                "db-b",
                "10.0.21.44",
                Some("catalog-rds"),
            ),
            s("redis", Redis, "db-a", "10.0.20.118", Some("redis")),
            s("vpce-a", Vpce, "app-a", "10.0.10.200", Some("vpce")),
            s("vpce-b", Vpce, "app-b", "10.0.11.200", Some("vpce")),
            s(
                "guardduty",
                GuardDuty,
                "app-a",
                "10.0.10.210",
                Some("guardduty"),
            ),
        ];
        let vpce_id = format!("vpce-{}", hex17("vpce/interface"));
        let gd_vpce_id = format!("vpce-{}", hex17("vpce/guardduty"));
        let nat_id = format!("nat-{}", hex17("nat/retail-store"));
        for sp in specs {
            let ip = self.add_addr(sp.ip.to_string(), None, PathKind::Vpc);
            let ipv6 = sp
                .ipv6
                .map(|a| self.add_addr(a.to_string(), None, PathKind::Vpc));
            let subnet = self
                .subnets
                .iter()
                .position(|x| x.key == sp.subnet)
                .expect("subnet");
            let sgs = sp.sg.map(|k| vec![self.sg(k)]).unwrap_or_default();
            let (itype, description, requester, managed, owner, instance, dev): (
                &'static str,
                String,
                Option<&'static str>,
                bool,
                String,
                Option<String>,
                u32,
            ) = match sp.kind {
                Alb => (
                    "interface",
                    format!("ELB app/retail-store-alb/{}", self.alb_lb_id),
                    Some("amazon-elb"),
                    true,
                    "amazon-elb".into(),
                    None,
                    1,
                ),
                Nat => (
                    "nat_gateway",
                    format!("Interface for NAT Gateway {nat_id}"),
                    Some("amazon-aws"),
                    true,
                    "amazon-aws".into(),
                    None,
                    1,
                ),
                Bastion => (
                    "interface",
                    String::new(),
                    None,
                    false,
                    ACCOUNT_ID.into(),
                    Some(format!("i-{}", hex17("instance/bastion"))),
                    0,
                ),
                Task(_) => (
                    "interface",
                    format!(
                        "arn:aws:ecs:{REGION}:{ACCOUNT_ID}:attachment/{}",
                        uuid_from(&format!("attachment/{}", sp.key))
                    ),
                    Some(ECS_REQUESTER_ID),
                    true,
                    ECS_REQUESTER_ID.into(),
                    None,
                    1,
                ),
                OrdersDb | CatalogDb => (
                    "interface",
                    "RDSNetworkInterface".into(),
                    Some("amazon-rds"),
                    true,
                    "amazon-rds".into(),
                    None,
                    1,
                ),
                Redis => (
                    "interface",
                    "ElastiCache retail-store-redis".into(),
                    Some("amazon-elasticache"),
                    true,
                    "amazon-elasticache".into(),
                    None,
                    1,
                ),
                Vpce => (
                    "vpc_endpoint",
                    format!("VPC Endpoint Interface {vpce_id}"),
                    Some("727180483921"),
                    true,
                    "727180483921".into(),
                    None,
                    1,
                ),
                GuardDuty => (
                    "vpc_endpoint",
                    format!("VPC Endpoint Interface {gd_vpce_id}"),
                    Some("727180483921"),
                    true,
                    "727180483921".into(),
                    None,
                    1,
                ),
            };
            self.enis.push(Eni {
                key: sp.key,
                kind: sp.kind,
                id: format!("eni-{}", hex17(&format!("eni/{}", sp.key))),
                subnet,
                ip,
                ipv6,
                public_ip: sp.public_ip,
                sgs,
                instance_id: instance,
                interface_type: itype,
                description,
                requester_id: requester,
                requester_managed: managed,
                attachment_owner: owner,
                device_index: dev,
            });
        }
        let k = |t: &Self, key: &str| t.eni_by_key(key);
        self.alb = [k(self, "alb-a"), k(self, "alb-b")];
        self.nat = k(self, "nat");
        self.bastion = k(self, "bastion");
        for s in Service::ALL {
            self.tasks[s as usize] = [
                k(self, &format!("{}-1", s.name())),
                k(self, &format!("{}-2", s.name())),
            ];
        }
        self.orders_db = k(self, "orders-db");
        self.catalog_db = k(self, "catalog-db");
        self.redis = k(self, "redis");
        self.vpce = [k(self, "vpce-a"), k(self, "vpce-b")];
        self.guardduty = k(self, "guardduty");
    }

    fn build_pools(&mut self) {
        let mut rng = Rng::new(0x07e7_a115_702e);
        let mut seen: HashSet<String> = self.addrs.iter().map(|a| a.text.clone()).collect();
        // Known internet scanners (background noise, REJECTed at the ALB).
        for a in [
            "45.148.10.84",
            "193.163.125.17",
            "185.242.226.102",
            "167.94.138.45",
            "162.216.149.201",
            "89.248.165.73",
            "71.6.199.23",
            "94.102.61.14",
            "80.82.77.139",
            "198.235.24.166",
        ] {
            seen.insert(a.to_string());
            let id = self.add_addr(a.to_string(), None, PathKind::Internet);
            self.scanners.push(id);
        }
        const FIRST: [u8; 40] = [
            24, 31, 37, 46, 50, 62, 66, 67, 68, 69, 70, 73, 75, 76, 77, 78, 81, 82, 84, 86, 87, 88,
            90, 92, 95, 96, 97, 98, 99, 107, 108, 109, 112, 121, 124, 151, 173, 174, 176, 187,
        ];
        while self.clients_v4.len() < 3000 {
            let a = Ipv4Addr::new(
                *rng.pick(&FIRST),
                rng.range(0, 255) as u8,
                rng.range(0, 255) as u8,
                rng.range(1, 254) as u8,
            )
            .to_string();
            if seen.insert(a.clone()) {
                let id = self.add_addr(a, None, PathKind::Internet);
                self.clients_v4.push(id);
            }
        }
        const V6: [(u16, u16); 5] = [
            (0x2600, 0x1700),
            (0x2601, 0x0040),
            (0x2607, 0xfb90),
            (0x2a01, 0x0e0a),
            (0x2a02, 0x0c7c),
        ];
        while self.clients_v6.len() < 300 {
            let (p0, p1) = *rng.pick(&V6);
            let r = |rng: &mut Rng| rng.range(0, 0xffff) as u16;
            let a = Ipv6Addr::new(
                p0,
                p1,
                r(&mut rng),
                r(&mut rng),
                r(&mut rng),
                r(&mut rng),
                r(&mut rng),
                r(&mut rng),
            )
            .to_string();
            if seen.insert(a.clone()) {
                let id = self.add_addr(a, None, PathKind::Internet);
                self.clients_v6.push(id);
            }
        }
        for (a, svc) in [
            ("104.18.12.33", None),
            ("151.101.65.195", None),
            ("52.94.236.248", Some("AMAZON")),
            ("140.82.114.4", None),
        ] {
            let id = self.add_addr(a.to_string(), svc, PathKind::Internet);
            self.nat_dests.push(id);
        }
        for a in [
            "3.218.180.11",
            "3.218.181.167",
            "3.218.182.60",
            "3.218.183.9",
        ] {
            let id = self.add_addr(a.to_string(), Some("DYNAMODB"), PathKind::GatewayEndpoint);
            self.dynamodb.push(id);
        }
        self.incident_scanner = self.add_addr("203.0.113.66".into(), None, PathKind::Internet);
        self.exfil_dst = self.add_addr("198.51.100.77".into(), None, PathKind::Internet);
        // 17 internal addresses that no ENI holds (targets of the lateral-movement sweep).
        for (net, hosts) in [
            ("10.0.10", &[11u8, 19, 34, 58, 64, 88, 131][..]),
            ("10.0.11", &[12, 45, 77, 160, 201][..]),
            ("10.0.20", &[30, 51, 99][..]),
            ("10.0.21", &[17, 80][..]),
        ] {
            for h in hosts {
                let a = format!("{net}.{h}");
                assert!(
                    seen.insert(a.clone()),
                    "unused internal address collides: {a}"
                );
                let id = self.add_addr(a, None, PathKind::Vpc);
                self.unused_internal.push(id);
            }
        }
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
