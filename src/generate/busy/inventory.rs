//! Inventory of the busy estate in the shapes of `aws ec2 describe-network-interfaces` and
//! `describe-security-groups` (the same shapes the retail store writes, see `aws_json`):
//! every interface with its primary and secondary private IPv4 addresses, its IPv6
//! addresses and its public address.

use serde_json::{json, Map, Value};

use super::super::rng::{hash_str, hex17};
use super::estate::{Estate, Perm, Role, AZS, REGION};

fn perm_json(e: &Estate, account: &str, p: &Perm) -> Value {
    let mut m = Map::new();
    m.insert("IpProtocol".into(), json!(p.proto));
    match p.ports {
        Some((a, b)) => {
            m.insert("FromPort".into(), json!(a));
            m.insert("ToPort".into(), json!(b));
        }
        None if p.proto == "icmp" => {
            m.insert("FromPort".into(), json!(-1));
            m.insert("ToPort".into(), json!(-1));
        }
        None => {}
    }
    m.insert(
        "IpRanges".into(),
        p.v4.iter().map(|c| json!({ "CidrIp": c })).collect(),
    );
    m.insert(
        "Ipv6Ranges".into(),
        p.v6.iter().map(|c| json!({ "CidrIpv6": c })).collect(),
    );
    m.insert("PrefixListIds".into(), json!([]));
    m.insert(
        "UserIdGroupPairs".into(),
        p.groups
            .iter()
            .map(|&g| json!({"GroupId": e.groups[g].id, "UserId": account}))
            .collect(),
    );
    Value::Object(m)
}

/// `aws ec2 describe-security-groups` output of all four accounts.
pub fn security_groups(e: &Estate) -> Value {
    let groups: Vec<Value> = e
        .groups
        .iter()
        .map(|g| {
            let acc = &e.accounts[g.account];
            let egress = Perm {
                proto: "-1",
                ports: None,
                v4: vec!["0.0.0.0/0".into()],
                v6: vec!["::/0".into()],
                groups: vec![],
            };
            json!({
                "Description": format!("{} tier", g.name),
                "GroupName": g.name,
                "IpPermissions": g.ingress.iter().map(|p| perm_json(e, acc.id, p)).collect::<Vec<_>>(),
                "OwnerId": acc.id,
                "GroupId": g.id,
                "IpPermissionsEgress": [perm_json(e, acc.id, &egress)],
                "Tags": [{"Key": "Name", "Value": g.name}],
                "VpcId": acc.vpc_id,
                "SecurityGroupArn": format!("arn:aws:ec2:{REGION}:{}:security-group/{}", acc.id, g.id),
            })
        })
        .collect();
    json!({ "SecurityGroups": groups })
}

fn dns_name(ip: &str) -> String {
    format!("ip-{}.{REGION}.compute.internal", ip.replace('.', "-"))
}

/// `aws ec2 describe-network-interfaces` output of all four accounts.
pub fn network_interfaces(e: &Estate) -> Value {
    let enis: Vec<Value> = e
        .ifaces
        .iter()
        .map(|f| {
            let acc = &e.accounts[f.account];
            let subnet = &acc.subnets[f.subnet];
            let ip = e.addr(f.ip).text.clone();
            let h = hash_str(&f.id);
            let association = f.public_ip.as_ref().map(|p| {
                json!({
                    "IpOwnerId": if matches!(f.role, Role::Nat { .. }) { acc.id } else { "amazon" },
                    "PublicDnsName": format!("ec2-{}.{REGION}.compute.amazonaws.com", p.replace('.', "-")),
                    "PublicIp": p,
                })
            });
            let mut private = Vec::new();
            let mut primary = Map::new();
            if let Some(a) = &association {
                primary.insert("Association".into(), a.clone());
            }
            primary.insert("Primary".into(), json!(true));
            primary.insert("PrivateDnsName".into(), json!(dns_name(&ip)));
            primary.insert("PrivateIpAddress".into(), json!(ip));
            private.push(Value::Object(primary));
            for &s in &f.secondary {
                let t = &e.addr(s).text;
                private.push(json!({"Primary": false, "PrivateDnsName": dns_name(t), "PrivateIpAddress": t}));
            }
            let (kind, description, requester): (&str, String, Option<&str>) = match f.role {
                Role::Nat { .. } => (
                    "nat_gateway",
                    format!("Interface for NAT Gateway nat-{}", hex17(&format!("{}/nat", f.id))),
                    Some("amazon-nat"),
                ),
                Role::Alb => (
                    "interface",
                    format!("ELB app/web-{}/{:016x}", acc.id, hash_str(acc.id)),
                    Some("amazon-elb"),
                ),
                Role::Endpoint => (
                    "vpc_endpoint",
                    format!("VPC Endpoint Interface vpce-{}", hex17(&format!("{}/vpce", f.id))),
                    Some("727180483921"),
                ),
                r => ("interface", format!("{} instance", r.name()), None),
            };
            let mut attachment = Map::new();
            attachment.insert("AttachTime".into(), json!("2025-10-01T08:00:00+00:00"));
            attachment.insert(
                "AttachmentId".into(),
                json!(format!("eni-attach-{}", hex17(&format!("{}/attach", f.id)))),
            );
            attachment.insert("DeleteOnTermination".into(), json!(f.instance_id.is_some()));
            attachment.insert("DeviceIndex".into(), json!(u32::from(f.instance_id.is_none())));
            if let Some(i) = &f.instance_id {
                attachment.insert("InstanceId".into(), json!(i));
                attachment.insert("InstanceOwnerId".into(), json!(acc.id));
            } else {
                attachment.insert("InstanceOwnerId".into(), json!(requester.unwrap_or("amazon")));
            }
            attachment.insert("NetworkCardIndex".into(), json!(0));
            attachment.insert("Status".into(), json!("attached"));

            let mut m = Map::new();
            if let Some(a) = association {
                m.insert("Association".into(), a);
            }
            m.insert("Attachment".into(), Value::Object(attachment));
            m.insert("AvailabilityZone".into(), json!(AZS[subnet.az].0));
            m.insert("Description".into(), json!(description));
            m.insert(
                "Groups".into(),
                f.group
                    .iter()
                    .map(|&g| json!({"GroupId": e.groups[g].id, "GroupName": e.groups[g].name}))
                    .collect(),
            );
            m.insert("InterfaceType".into(), json!(kind));
            m.insert(
                "Ipv6Addresses".into(),
                f.ipv6
                    .iter()
                    .enumerate()
                    .map(|(k, &a)| json!({"Ipv6Address": e.addr(a).text, "IsPrimaryIpv6": k == 0}))
                    .collect(),
            );
            m.insert(
                "MacAddress".into(),
                json!(format!(
                    "06:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    h >> 40 & 0xff,
                    h >> 32 & 0xff,
                    h >> 24 & 0xff,
                    h >> 16 & 0xff,
                    h >> 8 & 0xff
                )),
            );
            m.insert("NetworkInterfaceId".into(), json!(f.id));
            m.insert("OwnerId".into(), json!(acc.id));
            m.insert("PrivateDnsName".into(), json!(dns_name(&ip)));
            m.insert("PrivateIpAddress".into(), json!(ip));
            m.insert("PrivateIpAddresses".into(), Value::Array(private));
            m.insert("Ipv4Prefixes".into(), json!([]));
            m.insert("Ipv6Prefixes".into(), json!([]));
            if let Some(r) = requester {
                m.insert("RequesterId".into(), json!(r));
            }
            m.insert("RequesterManaged".into(), json!(requester.is_some()));
            m.insert("SourceDestCheck".into(), json!(!matches!(f.role, Role::Nat { .. })));
            m.insert("Status".into(), json!("in-use"));
            m.insert("SubnetId".into(), json!(subnet.id));
            m.insert("TagSet".into(), json!([]));
            m.insert("VpcId".into(), json!(acc.vpc_id));
            Value::Object(m)
        })
        .collect();
    json!({ "NetworkInterfaces": enis })
}
