//! The retail store's network interfaces: subnets, addresses, groups (`Topology::enis`).

use super::*;

impl Topology {
    pub(super) fn build_enis(&mut self) {
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
}
