//! The retail store's security groups and their rules (`Topology::sgs`).

use super::*;

impl Topology {
    pub(super) fn build_sgs(&mut self) {
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
}
