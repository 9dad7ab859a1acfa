//! The address pools of the peers: clients, scanners, NAT destinations, AWS services.

use super::*;

impl Topology {
    pub(super) fn build_pools(&mut self) {
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
