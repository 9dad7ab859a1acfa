//! `describe-security-groups` and `describe-security-group-rules` parsing.

use std::collections::HashMap;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;

use super::util::{kind, label, opt_array, opt_int, opt_str};
use super::{InventoryError, Protocol, Rule, RuleDirection, RuleTarget, SecurityGroup};

/// Port/type fields of a rule after normalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ports {
    pub from_port: Option<u16>,
    pub to_port: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
}

/// Interpret FromPort/ToPort for a protocol (DOMAIN.md 2.1): tcp/udp → inclusive port range
/// (-1/absent = unbounded), icmp/icmpv6 → type/code (-1/absent = all), anything else → ignored.
pub(crate) fn normalize_ports(
    protocol: Protocol,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Ports, String> {
    let mut p = Ports::default();
    if protocol.has_ports() {
        let port = |v: Option<i64>, name: &str| -> Result<Option<u16>, String> {
            match v {
                None | Some(-1) => Ok(None),
                Some(x) => u16::try_from(x)
                    .map(Some)
                    .map_err(|_| format!("bad {name} {x} (0..=65535 or -1)")),
            }
        };
        p.from_port = port(from, "FromPort")?;
        p.to_port = port(to, "ToPort")?;
        if let (Some(a), Some(b)) = (p.from_port, p.to_port) {
            if a > b {
                return Err(format!("FromPort {a} is greater than ToPort {b}"));
            }
        }
    } else if protocol.is_icmp() {
        let byte = |v: Option<i64>, name: &str| -> Result<Option<u8>, String> {
            match v {
                None | Some(-1) => Ok(None),
                Some(x) => u8::try_from(x)
                    .map(Some)
                    .map_err(|_| format!("bad ICMP {name} {x} (0..=255 or -1)")),
            }
        };
        p.icmp_type = byte(from, "type (FromPort)")?;
        p.icmp_code = byte(to, "code (ToPort)")?;
    }
    Ok(p)
}

pub(crate) fn parse_cidr(s: &str, field: &str) -> Result<IpNet, String> {
    let t = s.trim();
    let parsed = t.parse::<IpNet>().or_else(|_| {
        // a bare address is a host route
        t.parse::<std::net::IpAddr>().map(IpNet::from)
    });
    match parsed {
        Ok(n) => {
            let v6 = field.ends_with("v6");
            let v4 = matches!(field, "CidrIp" | "CidrIpv4");
            if (v6 && !matches!(n, IpNet::V6(_))) || (v4 && !matches!(n, IpNet::V4(_))) {
                Err(format!("bad {field} {s:?} (wrong address family)"))
            } else {
                Ok(n)
            }
        }
        Err(_) => Err(format!("bad {field} {s:?}")),
    }
}

fn protocol_of(obj: &Value) -> Result<Protocol, String> {
    match obj.get("IpProtocol") {
        None | Some(Value::Null) => Err("missing IpProtocol".to_string()),
        Some(v) => Protocol::from_value(v).ok_or_else(|| format!("bad IpProtocol {v}")),
    }
}

/// Accumulates groups and rules from several files.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    groups: Vec<SecurityGroup>,
    /// (group index, rule index, GroupName) for UserIdGroupPairs without GroupId
    by_name: Vec<(usize, usize, String)>,
    /// rules from describe-security-group-rules, with the owner of their group
    rules: Vec<(Rule, Option<String>)>,
    saw_rules_output: bool,
    /// The files read, and for each group the index of its file: the same group in two files
    /// (two snapshots of one account) must be identical, within one file it is merged.
    files: Vec<std::path::PathBuf>,
    group_file: Vec<usize>,
}

/// Parse one file holding `SecurityGroups` and/or `SecurityGroupRules`.
pub(crate) fn parse_file(path: &Path, v: &Value, out: &mut Loaded) -> Result<(), InventoryError> {
    let Value::Object(map) = v else {
        return Err(InventoryError::invalid(
            path,
            format!(
                "expected an object with \"SecurityGroups\" (describe-security-groups) or \"SecurityGroupRules\" (describe-security-group-rules), got {}",
                kind(v)
            ),
        ));
    };
    let groups = map.get("SecurityGroups");
    let rules = map.get("SecurityGroupRules");
    let file = out.files.len();
    out.files.push(path.to_path_buf());
    if groups.is_none() && rules.is_none() {
        return Err(InventoryError::invalid(
            path,
            "expected an object with \"SecurityGroups\" (describe-security-groups) or \"SecurityGroupRules\" (describe-security-group-rules)",
        ));
    }
    if let Some(g) = groups {
        let Value::Array(items) = g else {
            return Err(InventoryError::invalid(
                path,
                format!("SecurityGroups should be an array, got {}", kind(g)),
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let gi = out.groups.len();
            let (group, names) = parse_group(item).map_err(|m| {
                let id = item.get("GroupId").and_then(Value::as_str);
                InventoryError::invalid(path, format!("SecurityGroups[{i}]{}: {m}", label(id)))
            })?;
            out.by_name
                .extend(names.into_iter().map(|(ri, n)| (gi, ri, n)));
            out.groups.push(group);
            out.group_file.push(file);
        }
    }
    if let Some(r) = rules {
        let Value::Array(items) = r else {
            return Err(InventoryError::invalid(
                path,
                format!("SecurityGroupRules should be an array, got {}", kind(r)),
            ));
        };
        out.saw_rules_output = true;
        for (i, item) in items.iter().enumerate() {
            let rule = parse_rule_record(item).map_err(|m| {
                let id = item.get("SecurityGroupRuleId").and_then(Value::as_str);
                InventoryError::invalid(path, format!("SecurityGroupRules[{i}]{}: {m}", label(id)))
            })?;
            out.rules.push(rule);
        }
    }
    Ok(())
}

type NameRefs = Vec<(usize, String)>;

pub(super) fn parse_group(g: &Value) -> Result<(SecurityGroup, NameRefs), String> {
    if !g.is_object() {
        return Err(format!("expected an object, got {}", kind(g)));
    }
    let group_id = opt_str(g, "GroupId")?
        .ok_or("missing GroupId")?
        .trim()
        .to_string();
    let mut sg = SecurityGroup {
        group_id,
        group_name: opt_str(g, "GroupName")?.unwrap_or_default().to_string(),
        description: opt_str(g, "Description")?.unwrap_or_default().to_string(),
        vpc_id: opt_str(g, "VpcId")?.map(str::to_string),
        owner_id: opt_str(g, "OwnerId")?.map(str::to_string),
        rules: Vec::new(),
        tags: Vec::new(),
    };
    for (i, t) in opt_array(g, "Tags")?.iter().enumerate() {
        let k = opt_str(t, "Key").map_err(|m| format!("Tags[{i}]: {m}"))?;
        let v = opt_str(t, "Value").map_err(|m| format!("Tags[{i}]: {m}"))?;
        if let Some(k) = k {
            sg.tags
                .push((k.to_string(), v.unwrap_or_default().to_string()));
        }
    }
    let mut names = Vec::new();
    for (key, direction) in [
        ("IpPermissions", RuleDirection::Ingress),
        ("IpPermissionsEgress", RuleDirection::Egress),
    ] {
        for (i, perm) in opt_array(g, key)?.iter().enumerate() {
            expand_permission(&mut sg, direction, perm, &mut names)
                .map_err(|m| format!("{key}[{i}]: {m}"))?;
        }
    }
    Ok((sg, names))
}

/// One `IpPermission` → one rule per source.
fn expand_permission(
    sg: &mut SecurityGroup,
    direction: RuleDirection,
    perm: &Value,
    names: &mut NameRefs,
) -> Result<(), String> {
    if !perm.is_object() {
        return Err(format!("expected an object, got {}", kind(perm)));
    }
    let protocol = protocol_of(perm)?;
    let ports = normalize_ports(
        protocol,
        opt_int(perm, "FromPort")?,
        opt_int(perm, "ToPort")?,
    )?;
    let mut push = |target: RuleTarget, desc: Option<&str>| {
        sg.rules.push(Rule {
            group_id: sg.group_id.clone(),
            direction,
            protocol,
            from_port: ports.from_port,
            to_port: ports.to_port,
            icmp_type: ports.icmp_type,
            icmp_code: ports.icmp_code,
            target,
            description: desc.map(str::to_string),
            rule_id: None,
        });
        sg.rules.len() - 1
    };
    for (list, field) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
        for (i, r) in opt_array(perm, list)?.iter().enumerate() {
            let ctx = |m: String| format!("{list}[{i}]: {m}");
            let c = opt_str(r, field)
                .map_err(ctx)?
                .ok_or_else(|| ctx(format!("missing {field}")))?;
            let net = parse_cidr(c, field).map_err(ctx)?;
            push(
                RuleTarget::Cidr(net),
                opt_str(r, "Description").map_err(ctx)?,
            );
        }
    }
    for (i, r) in opt_array(perm, "PrefixListIds")?.iter().enumerate() {
        let ctx = |m: String| format!("PrefixListIds[{i}]: {m}");
        let id = opt_str(r, "PrefixListId")
            .map_err(ctx)?
            .ok_or_else(|| ctx("missing PrefixListId".into()))?;
        push(
            RuleTarget::PrefixList(id.to_string()),
            opt_str(r, "Description").map_err(ctx)?,
        );
    }
    for (i, r) in opt_array(perm, "UserIdGroupPairs")?.iter().enumerate() {
        let ctx = |m: String| format!("UserIdGroupPairs[{i}]: {m}");
        let gid = opt_str(r, "GroupId").map_err(ctx)?;
        let gname = opt_str(r, "GroupName").map_err(ctx)?;
        let user_id = opt_str(r, "UserId").map_err(ctx)?.map(str::to_string);
        let desc = opt_str(r, "Description").map_err(ctx)?;
        match (gid, gname) {
            (Some(id), _) => {
                push(
                    RuleTarget::Group {
                        group_id: id.trim().to_string(),
                        user_id,
                    },
                    desc,
                );
            }
            (None, Some(name)) => {
                // EC2-Classic / default-VPC style reference by name: resolved in finish()
                let ri = push(
                    RuleTarget::Group {
                        group_id: name.to_string(),
                        user_id,
                    },
                    desc,
                );
                names.push((ri, name.to_string()));
            }
            (None, None) => return Err(ctx("missing GroupId".into())),
        }
    }
    Ok(())
}

/// One `SecurityGroupRules[]` record.
fn parse_rule_record(r: &Value) -> Result<(Rule, Option<String>), String> {
    if !r.is_object() {
        return Err(format!("expected an object, got {}", kind(r)));
    }
    let group_id = opt_str(r, "GroupId")?
        .ok_or("missing GroupId")?
        .trim()
        .to_string();
    let direction = match r.get("IsEgress") {
        Some(Value::Bool(true)) => RuleDirection::Egress,
        Some(Value::Bool(false)) | None | Some(Value::Null) => RuleDirection::Ingress,
        Some(other) => return Err(format!("IsEgress should be a boolean, got {}", kind(other))),
    };
    let protocol = protocol_of(r)?;
    let ports = normalize_ports(protocol, opt_int(r, "FromPort")?, opt_int(r, "ToPort")?)?;
    let target = if let Some(c) = opt_str(r, "CidrIpv4")? {
        RuleTarget::Cidr(parse_cidr(c, "CidrIpv4")?)
    } else if let Some(c) = opt_str(r, "CidrIpv6")? {
        RuleTarget::Cidr(parse_cidr(c, "CidrIpv6")?)
    } else if let Some(p) = opt_str(r, "PrefixListId")? {
        RuleTarget::PrefixList(p.to_string())
    } else if let Some(info) = r.get("ReferencedGroupInfo").filter(|v| !v.is_null()) {
        let ctx = |m: String| format!("ReferencedGroupInfo: {m}");
        let gid = opt_str(info, "GroupId")
            .map_err(ctx)?
            .ok_or_else(|| ctx("missing GroupId".into()))?;
        RuleTarget::Group {
            group_id: gid.trim().to_string(),
            user_id: opt_str(info, "UserId").map_err(ctx)?.map(str::to_string),
        }
    } else {
        return Err(
            "no target (CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupInfo)".to_string(),
        );
    };
    let rule = Rule {
        group_id,
        direction,
        protocol,
        from_port: ports.from_port,
        to_port: ports.to_port,
        icmp_type: ports.icmp_type,
        icmp_code: ports.icmp_code,
        target,
        description: opt_str(r, "Description")?.map(str::to_string),
        rule_id: opt_str(r, "SecurityGroupRuleId")?.map(str::to_string),
    };
    Ok((rule, opt_str(r, "GroupOwnerId")?.map(str::to_string)))
}

impl Loaded {
    /// Merge everything: duplicate groups dropped, name references resolved, and the rules
    /// output substituted for the rules of the groups it covers. A group given in two files
    /// with different content is an error naming both files.
    pub(crate) fn finish(
        self,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<SecurityGroup>, InventoryError> {
        let Loaded {
            mut groups,
            by_name,
            rules,
            saw_rules_output: _,
            files,
            group_file,
        } = self;
        // resolve GroupName-only references (unique name within the inventory)
        let mut name_count: HashMap<&str, (usize, String)> = HashMap::new();
        for g in &groups {
            name_count
                .entry(g.group_name.as_str())
                .and_modify(|e| e.0 += 1)
                .or_insert((1, g.group_id.clone()));
        }
        let mut resolved = Vec::new();
        for (gi, ri, name) in by_name {
            match name_count.get(name.as_str()) {
                Some((1, id)) => resolved.push((gi, ri, Some(id.clone()))),
                _ => resolved.push((gi, ri, None)),
            }
        }
        for (gi, ri, id) in resolved {
            let g = &mut groups[gi];
            match id {
                Some(id) => {
                    if let RuleTarget::Group { group_id, .. } = &mut g.rules[ri].target {
                        *group_id = id;
                    }
                }
                None => warnings.push(format!(
                    "{} ({}): rule references group name {:?}, which matches no single group",
                    g.group_id,
                    g.group_name,
                    match &g.rules[ri].target {
                        RuleTarget::Group { group_id, .. } => group_id.as_str(),
                        _ => "",
                    }
                )),
            }
        }
        // merge duplicate groups (e.g. concatenated pages): first metadata, union of rules
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut unique: Vec<SecurityGroup> = Vec::with_capacity(groups.len());
        let mut unique_file: Vec<usize> = Vec::with_capacity(groups.len());
        for (g, file) in groups.into_iter().zip(group_file) {
            if let Some(&i) = seen.get(&g.group_id) {
                if unique_file[i] != file {
                    if same_group(&unique[i], &g) {
                        continue; // one account given twice (two directories): nothing lost
                    }
                    return Err(InventoryError::invalid(
                        &files[file],
                        format!(
                            "security group {} is also in {} with different {}; give each account and region once (two snapshots of one account?)",
                            g.group_id,
                            files[unique_file[i]].display(),
                            difference(&unique[i], &g)
                        ),
                    ));
                }
                warnings.push(format!(
                    "security group {} listed more than once; rules merged",
                    g.group_id
                ));
                let u = &mut unique[i];
                for r in g.rules {
                    if !u.rules.contains(&r) {
                        u.rules.push(r);
                    }
                }
                continue;
            }
            seen.insert(g.group_id.clone(), unique.len());
            unique.push(g);
            unique_file.push(file);
        }
        let mut groups = unique;
        // substitute describe-security-group-rules output
        let mut replaced: HashMap<String, bool> = HashMap::new();
        for (rule, owner) in rules {
            let gi = match seen.get(&rule.group_id) {
                Some(&gi) => gi,
                None => {
                    groups.push(SecurityGroup {
                        group_id: rule.group_id.clone(),
                        owner_id: owner,
                        ..Default::default()
                    });
                    seen.insert(rule.group_id.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            };
            let g = &mut groups[gi];
            if !replaced.contains_key(&g.group_id) {
                replaced.insert(g.group_id.clone(), true);
                g.rules.clear();
            }
            // the same rules output given twice (two directories) lists each rule twice
            if !g.rules.contains(&rule) {
                g.rules.push(rule);
            }
        }
        Ok(groups)
    }
}

/// Same group, same rules (in any order): the same snapshot read twice.
fn same_group(a: &SecurityGroup, b: &SecurityGroup) -> bool {
    difference(a, b).is_empty()
}

/// What differs between two copies of one group, for the error message ("" when nothing).
fn difference(a: &SecurityGroup, b: &SecurityGroup) -> &'static str {
    let subset = |x: &SecurityGroup, y: &SecurityGroup| x.rules.iter().all(|r| y.rules.contains(r));
    if a.rules.len() != b.rules.len() || !subset(a, b) || !subset(b, a) {
        "rules"
    } else if (&a.group_name, &a.description, &a.vpc_id, &a.owner_id)
        != (&b.group_name, &b.description, &b.vpc_id, &b.owner_id)
    {
        "name, description, VPC or owner"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<(Vec<SecurityGroup>, Vec<String>), InventoryError> {
        let mut l = Loaded::default();
        parse_file(Path::new("sg.json"), &v, &mut l)?;
        let mut w = Vec::new();
        Ok((l.finish(&mut w)?, w))
    }

    #[test]
    fn protocols_names_and_numbers() {
        for (s, p) in [
            ("-1", Protocol::All),
            ("tcp", Protocol::TCP),
            ("TCP", Protocol::TCP),
            ("6", Protocol::TCP),
            ("udp", Protocol::UDP),
            ("17", Protocol::UDP),
            ("icmp", Protocol::ICMP),
            ("1", Protocol::ICMP),
            ("icmpv6", Protocol::ICMPV6),
            ("58", Protocol::ICMPV6),
            ("50", Protocol::Number(50)),
        ] {
            assert_eq!(Protocol::parse(s), Some(p), "{s}");
        }
        assert_eq!(Protocol::parse("256"), None);
        assert_eq!(Protocol::parse("tcpx"), None);
        assert_eq!(Protocol::from_value(&json!(-1)), Some(Protocol::All));
        assert_eq!(Protocol::from_value(&json!(6)), Some(Protocol::TCP));
        assert_eq!(Protocol::from_value(&json!(300)), None);
        assert_eq!(Protocol::TCP.aws_name(), "tcp");
        assert_eq!(Protocol::Number(47).aws_name(), "47");
        assert_eq!(serde_json::to_value(Protocol::All).unwrap(), json!("-1"));
        let p: Protocol = serde_json::from_value(json!("udp")).unwrap();
        assert_eq!(p, Protocol::UDP);
    }

    #[test]
    fn ports_per_protocol() {
        let p = normalize_ports(Protocol::TCP, Some(80), Some(443)).unwrap();
        assert_eq!((p.from_port, p.to_port), (Some(80), Some(443)));
        let p = normalize_ports(Protocol::All, Some(-1), Some(-1)).unwrap();
        assert_eq!(p, Ports::default());
        let p = normalize_ports(Protocol::Number(50), Some(10), Some(20)).unwrap();
        assert_eq!(p, Ports::default());
        let p = normalize_ports(Protocol::ICMP, Some(8), Some(-1)).unwrap();
        assert_eq!(
            (p.icmp_type, p.icmp_code, p.from_port),
            (Some(8), None, None)
        );
        let p = normalize_ports(Protocol::ICMPV6, None, None).unwrap();
        assert_eq!(p, Ports::default());
        assert!(normalize_ports(Protocol::TCP, Some(70000), Some(70000)).is_err());
        assert!(normalize_ports(Protocol::TCP, Some(443), Some(80)).is_err());
        assert!(normalize_ports(Protocol::ICMP, Some(300), None).is_err());
    }

    #[test]
    fn permission_expands_per_source() {
        let (groups, w) = load(json!({"SecurityGroups": [{
            "GroupId": "sg-1", "GroupName": "web", "Description": "d", "VpcId": "vpc-1",
            "OwnerId": "111", "Tags": [{"Key": "aws:cloudformation:logical-id", "Value": "WebSG"}],
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "corp"}, {"CidrIp": "192.168.1.0/24"}],
                "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
                "PrefixListIds": [{"PrefixListId": "pl-1"}],
                "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "222"}],
                "SomeFutureField": 1}],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        }]}))
        .unwrap();
        assert!(w.is_empty());
        let g = &groups[0];
        assert_eq!(g.tag("aws:cloudformation:logical-id"), Some("WebSG"));
        assert_eq!(g.rules.len(), 6);
        assert!(g.rules[..5]
            .iter()
            .all(|r| r.direction == RuleDirection::Ingress && r.from_port == Some(443)));
        assert_eq!(g.rules[0].description.as_deref(), Some("corp"));
        assert_eq!(
            g.rules[2].target,
            RuleTarget::Cidr("2001:db8::/32".parse().unwrap())
        );
        assert_eq!(g.rules[3].target, RuleTarget::PrefixList("pl-1".into()));
        assert_eq!(
            g.rules[4].target,
            RuleTarget::Group {
                group_id: "sg-2".into(),
                user_id: Some("222".into())
            }
        );
        assert_eq!(g.rules[5].direction, RuleDirection::Egress);
        assert_eq!(g.rules[5].protocol, Protocol::All);
    }

    #[test]
    fn bad_cidr_names_file_group_and_permission() {
        let err = load(json!({"SecurityGroups": [
            {"GroupId": "sg-ok"},
            {"GroupId": "sg-0abc", "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2},
                {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "10.0.0.300/24"}]}]}]}))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "sg.json: SecurityGroups[1] (sg-0abc): IpPermissions[1]: IpRanges[0]: bad CidrIp \"10.0.0.300/24\""
        );
        let err = load(
            json!({"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [
            {"IpProtocol": "tcp", "Ipv6Ranges": [{"CidrIpv6": "10.0.0.0/8"}]}]}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("wrong address family"), "{err}");
    }

    #[test]
    fn wrong_shapes() {
        for v in [
            json!([]),
            json!({"Groups": []}),
            json!({"SecurityGroups": {}}),
            json!({"SecurityGroups": [1]}),
            json!({"SecurityGroups": [{"GroupName": "x"}]}),
            json!({"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"FromPort": 1}]}]}),
            json!({"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "bogus"}]}]}),
            json!({"SecurityGroupRules": [{"GroupId": "sg-1", "IpProtocol": "tcp"}]}),
            json!({"SecurityGroupRules": [{"GroupId": "sg-1", "IpProtocol": "tcp", "IsEgress": "yes", "CidrIpv4": "1.2.3.4/32"}]}),
        ] {
            let e = load(v.clone()).unwrap_err().to_string();
            assert!(e.starts_with("sg.json: "), "{v}: {e}");
        }
    }

    #[test]
    fn rules_output_replaces_group_rules_and_carries_ids() {
        let (groups, _) = load(json!({
            "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "a",
                "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]},
                {"GroupId": "sg-2", "GroupName": "b"}],
            "SecurityGroupRules": [
                {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": false, "IpProtocol": "tcp",
                 "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.0.0.0/8"},
                {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-9", "GroupOwnerId": "999", "IsEgress": true,
                 "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "ReferencedGroupInfo": {"GroupId": "sg-1", "UserId": "111"}}]
        }))
        .unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].rules.len(), 1);
        assert_eq!(groups[0].rules[0].rule_id.as_deref(), Some("sgr-1"));
        assert_eq!(groups[0].group_name, "a");
        assert!(groups[1].rules.is_empty());
        assert_eq!(groups[2].group_id, "sg-9");
        assert_eq!(groups[2].owner_id.as_deref(), Some("999"));
        assert_eq!(groups[2].rules[0].direction, RuleDirection::Egress);
    }

    #[test]
    fn group_name_references_resolve() {
        let (groups, w) = load(json!({"SecurityGroups": [
            {"GroupId": "sg-1", "GroupName": "web",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                "UserIdGroupPairs": [{"GroupName": "lb", "UserId": "1"}, {"GroupName": "nope"}]}]},
            {"GroupId": "sg-2", "GroupName": "lb"}]}))
        .unwrap();
        assert!(
            matches!(&groups[0].rules[0].target, RuleTarget::Group { group_id, .. } if group_id == "sg-2")
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("\"nope\""));
    }
}
