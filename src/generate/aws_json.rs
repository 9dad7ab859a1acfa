//! Inventory files: `describe-security-groups`, `describe-network-interfaces` and the
//! CloudFormation template, all consistent with the topology the flow logs describe.

use serde_json::{json, Map, Value};

use super::topology::{
    EniKind, Perm, Sg, Topology, ACCOUNT_ID, REGION, STACK_NAME, VPC_CIDR, VPC_ID,
};

const SEED_TEMPLATE: &str = include_str!("seed-template.json");
const VPC_LOGICAL_ID: &str = "BasicRetailStoreVPC0FA21CD5";
const VPC2_LOGICAL_ID: &str = "NetworkRetailStoreVPC2A069619D";

fn stack_id() -> String {
    format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/{}",
        super::topology::uuid_from("stack/retail-store")
    )
}

fn perm_json(topo: &Topology, p: &Perm) -> Value {
    let mut m = Map::new();
    m.insert("IpProtocol".into(), json!(p.proto));
    if let Some(f) = p.from {
        m.insert("FromPort".into(), json!(f));
    }
    if let Some(t) = p.to {
        m.insert("ToPort".into(), json!(t));
    }
    let desc = |c: &str, key: &str, d: &Option<String>| {
        let mut r = Map::new();
        r.insert(key.into(), json!(c));
        if let Some(d) = d {
            r.insert("Description".into(), json!(d));
        }
        Value::Object(r)
    };
    m.insert(
        "IpRanges".into(),
        p.v4.iter().map(|(c, d)| desc(c, "CidrIp", d)).collect(),
    );
    m.insert(
        "Ipv6Ranges".into(),
        p.v6.iter().map(|(c, d)| desc(c, "CidrIpv6", d)).collect(),
    );
    m.insert("PrefixListIds".into(), json!([]));
    m.insert(
        "UserIdGroupPairs".into(),
        p.groups
            .iter()
            .map(|(g, d)| {
                let mut r = Map::new();
                if let Some(d) = d {
                    r.insert("Description".into(), json!(d));
                }
                r.insert("GroupId".into(), json!(topo.sgs[*g].id));
                r.insert("UserId".into(), json!(ACCOUNT_ID));
                Value::Object(r)
            })
            .collect(),
    );
    Value::Object(m)
}

fn sg_tags(sg: &Sg) -> Value {
    let mut tags = Vec::new();
    if let Some(l) = sg.logical_id {
        tags.push(json!({"Key": "aws:cloudformation:logical-id", "Value": l}));
        tags.push(json!({"Key": "aws:cloudformation:stack-id", "Value": stack_id()}));
        tags.push(json!({"Key": "aws:cloudformation:stack-name", "Value": STACK_NAME}));
    }
    if sg.from_seed {
        tags.push(json!({"Key": "CreationDate", "Value": "2026-03-31"}));
        tags.push(json!({"Key": "Version", "Value": "1.0.4"}));
        tags.push(json!({"Key": "WorkshopName", "Value": "ECSImmersionDay"}));
    } else if sg.logical_id.is_some() {
        tags.push(json!({"Key": "Name", "Value": sg.name}));
    }
    Value::Array(tags)
}

/// `aws ec2 describe-security-groups` output.
pub fn security_groups(topo: &Topology) -> Value {
    let groups: Vec<Value> = topo
        .sgs
        .iter()
        .map(|sg| {
            json!({
                "Description": sg.description,
                "GroupName": sg.name,
                "IpPermissions": sg.ingress.iter().map(|p| perm_json(topo, p)).collect::<Vec<_>>(),
                "OwnerId": ACCOUNT_ID,
                "GroupId": sg.id,
                "IpPermissionsEgress": sg.egress.iter().map(|p| perm_json(topo, p)).collect::<Vec<_>>(),
                "Tags": sg_tags(sg),
                "VpcId": VPC_ID,
                "SecurityGroupArn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{}", sg.id),
            })
        })
        .collect();
    json!({ "SecurityGroups": groups })
}

fn dns_name(ip: &str) -> String {
    format!("ip-{}.ec2.internal", ip.replace('.', "-"))
}

/// `aws ec2 describe-network-interfaces` output.
pub fn network_interfaces(topo: &Topology) -> Value {
    let enis: Vec<Value> = topo
        .enis
        .iter()
        .map(|e| {
            let subnet = &topo.subnets[e.subnet];
            let ip = topo.addr(e.ip).text.clone();
            let h = super::rng::hash_str(&e.id);
            let association = e.public_ip.map(|p| {
                let mut a = Map::new();
                if e.kind == EniKind::Nat {
                    a.insert(
                        "AllocationId".into(),
                        json!(format!(
                            "eipalloc-{}",
                            super::rng::hex17(&format!("eip/{}", e.key))
                        )),
                    );
                    a.insert(
                        "AssociationId".into(),
                        json!(format!(
                            "eipassoc-{}",
                            super::rng::hex17(&format!("eipassoc/{}", e.key))
                        )),
                    );
                    a.insert("IpOwnerId".into(), json!(ACCOUNT_ID));
                } else {
                    a.insert("IpOwnerId".into(), json!("amazon"));
                }
                a.insert(
                    "PublicDnsName".into(),
                    json!(format!(
                        "ec2-{}.compute-1.amazonaws.com",
                        p.replace('.', "-")
                    )),
                );
                a.insert("PublicIp".into(), json!(p));
                Value::Object(a)
            });
            let mut primary = Map::new();
            if let Some(a) = &association {
                primary.insert("Association".into(), a.clone());
            }
            primary.insert("Primary".into(), json!(true));
            primary.insert("PrivateDnsName".into(), json!(dns_name(&ip)));
            primary.insert("PrivateIpAddress".into(), json!(ip));
            let mut attachment = Map::new();
            attachment.insert("AttachTime".into(), json!("2025-11-03T09:12:44+00:00"));
            let attach_prefix = if matches!(e.kind, EniKind::Bastion) {
                "eni-attach"
            } else {
                "ela-attach"
            };
            attachment.insert(
                "AttachmentId".into(),
                json!(format!(
                    "{attach_prefix}-{}",
                    super::rng::hex17(&format!("attach/{}", e.key))
                )),
            );
            attachment.insert(
                "DeleteOnTermination".into(),
                json!(matches!(e.kind, EniKind::Bastion)),
            );
            attachment.insert("DeviceIndex".into(), json!(e.device_index));
            if let Some(i) = &e.instance_id {
                attachment.insert("InstanceId".into(), json!(i));
            }
            attachment.insert("InstanceOwnerId".into(), json!(e.attachment_owner));
            attachment.insert("NetworkCardIndex".into(), json!(0));
            attachment.insert("Status".into(), json!("attached"));

            let mut m = Map::new();
            if let Some(a) = association {
                m.insert("Association".into(), a);
            }
            m.insert("Attachment".into(), Value::Object(attachment));
            m.insert("AvailabilityZone".into(), json!(subnet.az));
            m.insert("Description".into(), json!(e.description));
            m.insert(
                "Groups".into(),
                e.sgs
                    .iter()
                    .map(|&g| json!({"GroupId": topo.sgs[g].id, "GroupName": topo.sgs[g].name}))
                    .collect(),
            );
            m.insert("InterfaceType".into(), json!(e.interface_type));
            m.insert(
                "Ipv6Addresses".into(),
                e.ipv6
                    .iter()
                    .map(|&a| json!({"Ipv6Address": topo.addr(a).text, "IsPrimaryIpv6": false}))
                    .collect(),
            );
            m.insert(
                "MacAddress".into(),
                json!(format!(
                    "0e:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    h >> 40 & 0xff,
                    h >> 32 & 0xff,
                    h >> 24 & 0xff,
                    h >> 16 & 0xff,
                    h >> 8 & 0xff
                )),
            );
            m.insert("NetworkInterfaceId".into(), json!(e.id));
            m.insert("OwnerId".into(), json!(ACCOUNT_ID));
            m.insert("PrivateDnsName".into(), json!(dns_name(&ip)));
            m.insert("PrivateIpAddress".into(), json!(ip));
            m.insert("PrivateIpAddresses".into(), json!([Value::Object(primary)]));
            m.insert("Ipv4Prefixes".into(), json!([]));
            m.insert("Ipv6Prefixes".into(), json!([]));
            if let Some(r) = e.requester_id {
                m.insert("RequesterId".into(), json!(r));
            }
            m.insert("RequesterManaged".into(), json!(e.requester_managed));
            m.insert("SourceDestCheck".into(), json!(e.kind != EniKind::Nat));
            m.insert("Status".into(), json!("in-use"));
            m.insert("SubnetId".into(), json!(subnet.id));
            m.insert("TagSet".into(), json!([]));
            m.insert("VpcId".into(), json!(VPC_ID));
            Value::Object(m)
        })
        .collect();
    json!({ "NetworkInterfaces": enis })
}

fn cfn_rule(p: &Perm, topo: &Topology) -> Vec<Value> {
    let mut out = Vec::new();
    let base = |extra: (&str, Value), d: &Option<String>| {
        let mut m = Map::new();
        m.insert(extra.0.into(), extra.1);
        if let Some(d) = d {
            m.insert("Description".into(), json!(d));
        }
        if let Some(f) = p.from {
            m.insert("FromPort".into(), json!(f));
        }
        m.insert("IpProtocol".into(), json!(p.proto));
        if let Some(t) = p.to {
            m.insert("ToPort".into(), json!(t));
        }
        Value::Object(m)
    };
    for (c, d) in &p.v4 {
        out.push(base(("CidrIp", json!(c)), d));
    }
    for (c, d) in &p.v6 {
        out.push(base(("CidrIpv6", json!(c)), d));
    }
    for (g, d) in &p.groups {
        let l = topo.sgs[*g].logical_id.unwrap_or("");
        out.push(base(
            (
                "SourceSecurityGroupId",
                json!({"Fn::GetAtt": [l, "GroupId"]}),
            ),
            d,
        ));
    }
    out
}

/// The seed template (security-group resources unchanged) plus the groups, rules and VPCs
/// the seed lacks. GroupName of every group equals its live GroupName.
pub fn template(topo: &Topology) -> anyhow::Result<Value> {
    let mut t: Value = serde_json::from_str(SEED_TEMPLATE)?;
    let resources = t
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| anyhow::anyhow!("seed template has no Resources"))?;
    for key in ["alb", "bastion", "vpce"] {
        let sg = &topo.sgs[topo.sg(key)];
        let logical = sg.logical_id.expect("added group has a logical id");
        let ingress: Vec<Value> = sg.ingress.iter().flat_map(|p| cfn_rule(p, topo)).collect();
        let egress: Vec<Value> = sg.egress.iter().flat_map(|p| cfn_rule(p, topo)).collect();
        resources.insert(
            logical.into(),
            json!({
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": sg.description,
                    "GroupName": sg.name,
                    "SecurityGroupEgress": egress,
                    "SecurityGroupIngress": ingress,
                    "Tags": [{"Key": "Name", "Value": sg.name}],
                    "VpcId": {"Ref": VPC_LOGICAL_ID}
                }
            }),
        );
    }
    // Rules the seed groups lack, as separate ingress resources (seed resources unchanged).
    for (key, logical, from, to) in [
        (
            "orders-task",
            "NetworkOrdersSecurityGroupIngressAdminPorts9000to9100E41B7A20",
            9000,
            9100,
        ),
        (
            "catalog-task",
            "NetworkCatalogSecurityGroupIngressServicePorts8080to80903C95D1F4",
            8080,
            8090,
        ),
    ] {
        let sg = &topo.sgs[topo.sg(key)];
        let p = sg
            .ingress
            .iter()
            .find(|p| p.from == Some(from) && p.to == Some(to))
            .expect("extra rule present in topology");
        let (cidr, desc) = &p.v4[0];
        resources.insert(
            logical.into(),
            json!({
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "CidrIp": cidr,
                    "Description": desc,
                    "FromPort": from,
                    "GroupId": {"Fn::GetAtt": [sg.logical_id.expect("seed group"), "GroupId"]},
                    "IpProtocol": "tcp",
                    "ToPort": to
                }
            }),
        );
    }
    // The seed refers to two VPC logical ids; both are the one live VPC.
    for (logical, name) in [
        (VPC_LOGICAL_ID, "BasicRetailStoreVPC"),
        (VPC2_LOGICAL_ID, "RetailStoreVPC2"),
    ] {
        resources.insert(
            logical.into(),
            json!({
                "Type": "AWS::EC2::VPC",
                "Properties": {
                    "CidrBlock": VPC_CIDR,
                    "EnableDnsHostnames": true,
                    "EnableDnsSupport": true,
                    "Tags": [{"Key": "Name", "Value": name}]
                },
                "Metadata": {"flowscope:live-vpc-id": VPC_ID}
            }),
        );
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live rules of the seed groups equal the seed template's rules plus the two
    /// separate ingress resources.
    #[test]
    fn live_groups_match_template() {
        let topo = Topology::build();
        let t = template(&topo).unwrap();
        let res = t["Resources"].as_object().unwrap();
        let seed: Value = serde_json::from_str(SEED_TEMPLATE).unwrap();
        for (k, v) in seed["Resources"].as_object().unwrap() {
            assert_eq!(&res[k], v, "seed resource {k} unchanged");
        }
        for sg in &topo.sgs {
            let Some(l) = sg.logical_id else { continue };
            let props = &res[l]["Properties"];
            assert_eq!(props["GroupName"], json!(sg.name));
            let mut n = props["SecurityGroupIngress"].as_array().unwrap().len();
            n += res
                .values()
                .filter(|r| {
                    r["Type"] == "AWS::EC2::SecurityGroupIngress"
                        && r["Properties"]["GroupId"]["Fn::GetAtt"][0] == json!(l)
                })
                .count();
            let live: usize = sg
                .ingress
                .iter()
                .map(|p| p.v4.len() + p.v6.len() + p.groups.len())
                .sum();
            assert_eq!(n, live, "ingress rule count of {}", sg.name);
        }
    }
}
