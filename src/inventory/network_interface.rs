//! `describe-network-interfaces` parsing and service-ENI classification.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;

use super::util::{kind, label, opt_array, opt_object, opt_str};
use super::{InterfaceKind, InventoryError, NetworkInterface};

/// Parse `{"NetworkInterfaces": [...]}`.
pub(crate) fn parse_file(path: &Path, v: &Value) -> Result<Vec<NetworkInterface>, InventoryError> {
    let items = match v.get("NetworkInterfaces") {
        Some(Value::Array(a)) if v.is_object() => a,
        Some(other) if v.is_object() => {
            return Err(InventoryError::invalid(
                path,
                format!("NetworkInterfaces should be an array, got {}", kind(other)),
            ))
        }
        _ => {
            return Err(InventoryError::invalid(
                path,
                format!(
                    "expected an object with \"NetworkInterfaces\" (describe-network-interfaces), got {}",
                    kind(v)
                ),
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse_interface(item).map_err(|m| {
                let id = item.get("NetworkInterfaceId").and_then(Value::as_str);
                InventoryError::invalid(path, format!("NetworkInterfaces[{i}]{}: {m}", label(id)))
            })
        })
        .collect()
}

fn ip(s: &str, field: &str) -> Result<IpAddr, String> {
    s.trim().parse().map_err(|_| format!("bad {field} {s:?}"))
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn parse_interface(e: &Value) -> Result<NetworkInterface, String> {
    if !e.is_object() {
        return Err(format!("expected an object, got {}", kind(e)));
    }
    let id = opt_str(e, "NetworkInterfaceId")?
        .ok_or("missing NetworkInterfaceId")?
        .trim()
        .to_string();
    let attachment = opt_object(e, "Attachment")?;
    let att_str = |k: &str| -> Result<Option<String>, String> {
        match attachment {
            Some(a) => opt_str(a, k)
                .map(|o| o.map(str::to_string))
                .map_err(|m| format!("Attachment: {m}")),
            None => Ok(None),
        }
    };
    let mut eni = NetworkInterface {
        id,
        kind: InterfaceKind::Other,
        interface_type: opt_str(e, "InterfaceType")?
            .unwrap_or("interface")
            .to_string(),
        description: opt_str(e, "Description")?.unwrap_or_default().to_string(),
        requester_id: opt_str(e, "RequesterId")?.map(str::to_string),
        status: opt_str(e, "Status")?.map(str::to_string),
        vpc_id: opt_str(e, "VpcId")?.map(str::to_string),
        subnet_id: opt_str(e, "SubnetId")?.map(str::to_string),
        instance_id: att_str("InstanceId")?,
        private_ips: Vec::new(),
        ipv6: Vec::new(),
        public_ips: Vec::new(),
        prefixes: Vec::new(),
        group_ids: Vec::new(),
    };
    let public_of = |obj: &Value| -> Result<Option<IpAddr>, String> {
        match opt_object(obj, "Association")? {
            Some(a) => match opt_str(a, "PublicIp").map_err(|m| format!("Association: {m}"))? {
                Some(p) => ip(p, "Association.PublicIp").map(Some),
                None => Ok(None),
            },
            None => Ok(None),
        }
    };
    if let Some(p) = opt_str(e, "PrivateIpAddress")? {
        eni.private_ips.push(ip(p, "PrivateIpAddress")?);
    }
    if let Some(p) = public_of(e)? {
        push_unique(&mut eni.public_ips, p);
    }
    for (i, a) in opt_array(e, "PrivateIpAddresses")?.iter().enumerate() {
        let ctx = |m: String| format!("PrivateIpAddresses[{i}]: {m}");
        if let Some(p) = opt_str(a, "PrivateIpAddress").map_err(ctx)? {
            let addr = ip(p, "PrivateIpAddress").map_err(ctx)?;
            if a.get("Primary") == Some(&Value::Bool(true)) {
                eni.private_ips.retain(|x| *x != addr);
                eni.private_ips.insert(0, addr);
            } else {
                push_unique(&mut eni.private_ips, addr);
            }
        }
        if let Some(p) = public_of(a).map_err(ctx)? {
            push_unique(&mut eni.public_ips, p);
        }
    }
    for (i, a) in opt_array(e, "Ipv6Addresses")?.iter().enumerate() {
        let ctx = |m: String| format!("Ipv6Addresses[{i}]: {m}");
        if let Some(p) = opt_str(a, "Ipv6Address").map_err(ctx)? {
            push_unique(&mut eni.ipv6, ip(p, "Ipv6Address").map_err(ctx)?);
        }
    }
    if let Some(p) = opt_str(e, "Ipv6Address")? {
        push_unique(&mut eni.ipv6, ip(p, "Ipv6Address")?);
    }
    for (list, field) in [
        ("Ipv4Prefixes", "Ipv4Prefix"),
        ("Ipv6Prefixes", "Ipv6Prefix"),
    ] {
        for (i, a) in opt_array(e, list)?.iter().enumerate() {
            let ctx = |m: String| format!("{list}[{i}]: {m}");
            if let Some(p) = opt_str(a, field).map_err(ctx)? {
                let net: IpNet = p
                    .trim()
                    .parse()
                    .map_err(|_| ctx(format!("bad {field} {p:?}")))?;
                push_unique(&mut eni.prefixes, net);
            }
        }
    }
    for (i, g) in opt_array(e, "Groups")?.iter().enumerate() {
        let ctx = |m: String| format!("Groups[{i}]: {m}");
        if let Some(id) = opt_str(g, "GroupId").map_err(ctx)? {
            push_unique(&mut eni.group_ids, id.trim().to_string());
        }
    }
    let owner = att_str("InstanceOwnerId")?;
    eni.kind = classify(
        &eni.interface_type,
        &eni.description,
        eni.requester_id.as_deref(),
        owner.as_deref(),
        eni.instance_id.as_deref(),
    );
    Ok(eni)
}

/// Classify an interface from `InterfaceType`, `Description`, `RequesterId` and
/// `Attachment.InstanceOwnerId` / `Attachment.InstanceId` (DOMAIN.md 2.3).
pub fn classify(
    interface_type: &str,
    description: &str,
    requester_id: Option<&str>,
    instance_owner_id: Option<&str>,
    instance_id: Option<&str>,
) -> InterfaceKind {
    use InterfaceKind::*;
    match interface_type {
        "load_balancer" => {
            return if description.starts_with("ELB net/") {
                NetworkLoadBalancer
            } else {
                LoadBalancer
            }
        }
        "network_load_balancer" => return NetworkLoadBalancer,
        "natGateway" | "nat_gateway" => return NatGateway,
        "vpc_endpoint" | "gateway_load_balancer_endpoint" => return VpcEndpoint,
        "lambda" => return Lambda,
        _ => {}
    }
    let d = description.trim();
    let requester = requester_id.unwrap_or_default();
    if d.starts_with("ELB net/") {
        return NetworkLoadBalancer;
    }
    if d.starts_with("ELB app/") || instance_owner_id == Some("amazon-elb") {
        return LoadBalancer;
    }
    if d.starts_with("ELB ") && !d.starts_with("ELB gwy/") {
        // classic load balancer: "ELB my-lb"
        return LoadBalancer;
    }
    if d.starts_with("Interface for NAT Gateway") {
        return NatGateway;
    }
    if d.starts_with("VPC Endpoint Interface") {
        return VpcEndpoint;
    }
    if d.starts_with("AWS Lambda VPC ENI") {
        return Lambda;
    }
    if d.starts_with("arn:aws") && d.contains(":ecs:") {
        return EcsTask;
    }
    if d == "RDSNetworkInterface"
        || requester == "amazon-rds"
        || instance_owner_id == Some("amazon-rds")
    {
        return Rds;
    }
    if d.starts_with("ElastiCache") || requester == "amazon-elasticache" {
        return ElastiCache;
    }
    if instance_id.is_some() {
        return Instance;
    }
    Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use InterfaceKind::*;

    #[test]
    fn classification() {
        let c = |t: &str, d: &str, r: Option<&str>, o: Option<&str>, i: Option<&str>| {
            classify(t, d, r, o, i)
        };
        assert_eq!(
            c(
                "interface",
                "ELB app/my-alb/50dc6c495c0c9188",
                Some("amazon-elb"),
                Some("amazon-elb"),
                None
            ),
            LoadBalancer
        );
        assert_eq!(
            c(
                "interface",
                "ELB my-classic",
                None,
                Some("amazon-elb"),
                None
            ),
            LoadBalancer
        );
        assert_eq!(
            c(
                "network_load_balancer",
                "ELB net/my-nlb/1",
                None,
                None,
                None
            ),
            NetworkLoadBalancer
        );
        assert_eq!(
            c("interface", "ELB net/my-nlb/1", None, None, None),
            NetworkLoadBalancer
        );
        assert_eq!(
            c(
                "natGateway",
                "Interface for NAT Gateway nat-0123",
                None,
                None,
                None
            ),
            NatGateway
        );
        assert_eq!(
            c(
                "interface",
                "Interface for NAT Gateway nat-0123",
                None,
                None,
                None
            ),
            NatGateway
        );
        assert_eq!(
            c(
                "vpc_endpoint",
                "VPC Endpoint Interface vpce-1",
                None,
                None,
                None
            ),
            VpcEndpoint
        );
        assert_eq!(
            c(
                "interface",
                "VPC Endpoint Interface vpce-1",
                None,
                None,
                None
            ),
            VpcEndpoint
        );
        assert_eq!(
            c("lambda", "AWS Lambda VPC ENI-fn-abc", None, None, None),
            Lambda
        );
        assert_eq!(
            c(
                "interface",
                "AWS Lambda VPC ENI-fn-abc",
                Some("123:awslambda_1"),
                None,
                None
            ),
            Lambda
        );
        assert_eq!(
            c(
                "interface",
                "arn:aws:ecs:us-east-1:1:attachment/x",
                Some("578734482556"),
                Some("5"),
                None
            ),
            EcsTask
        );
        assert_eq!(
            c(
                "interface",
                "RDSNetworkInterface",
                Some("amazon-rds"),
                Some("amazon-rds"),
                None
            ),
            Rds
        );
        assert_eq!(
            c(
                "interface",
                "ElastiCache my-redis-001",
                Some("amazon-elasticache"),
                None,
                None
            ),
            ElastiCache
        );
        assert_eq!(
            c(
                "interface",
                "Primary network interface",
                None,
                Some("1"),
                Some("i-1")
            ),
            Instance
        );
        assert_eq!(c("interface", "", None, None, None), Other);
        assert_eq!(c("efa", "", None, None, None), Other);
        assert_eq!(Rds.to_string(), "rds");
        assert_eq!(NatGateway.to_string(), "nat-gateway");
        assert_eq!(EcsTask.to_string(), "ecs-task");
        assert_eq!(LoadBalancer.to_string(), "alb");
        for k in [
            LoadBalancer,
            NetworkLoadBalancer,
            NatGateway,
            VpcEndpoint,
            Lambda,
            EcsTask,
            Rds,
            ElastiCache,
            Instance,
            Other,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.label()));
        }
    }

    #[test]
    fn addresses_and_prefixes() {
        let v = json!({"NetworkInterfaces": [{
            "NetworkInterfaceId": "eni-1", "InterfaceType": "interface", "Description": "x",
            "PrivateIpAddress": "10.0.0.5",
            "PrivateIpAddresses": [
                {"PrivateIpAddress": "10.0.0.6", "Primary": false},
                {"PrivateIpAddress": "10.0.0.5", "Primary": true, "Association": {"PublicIp": "3.3.3.3"}}],
            "Association": {"PublicIp": "3.3.3.3"},
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8::5"}],
            "Ipv4Prefixes": [{"Ipv4Prefix": "10.0.1.16/28"}],
            "Ipv6Prefixes": [{"Ipv6Prefix": "2001:db8:1::/80"}],
            "Groups": [{"GroupId": "sg-1", "GroupName": "a"}, {"GroupId": "sg-2"}],
            "Attachment": {"InstanceId": "i-1", "InstanceOwnerId": "1"}}]});
        let e = &parse_file(Path::new("eni.json"), &v).unwrap()[0];
        assert_eq!(
            e.private_ips,
            vec![
                "10.0.0.5".parse::<IpAddr>().unwrap(),
                "10.0.0.6".parse().unwrap()
            ]
        );
        assert_eq!(e.public_ips.len(), 1);
        assert_eq!(e.ipv6.len(), 1);
        assert_eq!(e.prefixes.len(), 2);
        assert_eq!(e.group_ids, vec!["sg-1", "sg-2"]);
        assert_eq!(e.kind, Instance);
        assert_eq!(e.instance_id.as_deref(), Some("i-1"));
    }

    #[test]
    fn errors_name_the_interface() {
        let v = json!({"NetworkInterfaces": [{"NetworkInterfaceId": "eni-9", "PrivateIpAddress": "10.0.0.999"}]});
        let e = parse_file(Path::new("eni.json"), &v)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "eni.json: NetworkInterfaces[0] (eni-9): bad PrivateIpAddress \"10.0.0.999\""
        );
        let e = parse_file(Path::new("eni.json"), &json!({"SecurityGroups": []}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NetworkInterfaces"), "{e}");
        assert!(parse_file(Path::new("eni.json"), &json!({"NetworkInterfaces": [{}]})).is_err());
    }
}
