//! Reading rules out of a template and finding where a live rule is written.

use ipnet::IpNet;
use serde_json::{json, Value};

use super::{
    inline_key, string_value, RuleLocation, RuleSpec, Template, TemplateRule, TemplateTarget,
    EGRESS_TYPE, INGRESS_TYPE, SG_TYPE, VPC_TYPE,
};
use crate::inventory::security_group::{normalize_ports, parse_cidr};
use crate::inventory::{Protocol, Rule, RuleDirection, RuleTarget};

impl Template {
    /// `Ref X` / `Fn::GetAtt [X, GroupId]` / `"X.GroupId"` → (logical id if X is a template
    /// group, live id); a literal string → (None, literal).
    pub(super) fn resolve_group_ref(&self, v: &Value) -> Option<(Option<String>, Option<String>)> {
        let lid = match v {
            Value::String(s) => return Some((None, Some(s.clone()))),
            Value::Object(o) if o.len() == 1 => {
                if let Some(Value::String(x)) = o.get("Ref") {
                    x.clone()
                } else {
                    match o.get("Fn::GetAtt") {
                        Some(Value::Array(a))
                            if a.len() == 2 && a[1].as_str() == Some("GroupId") =>
                        {
                            a[0].as_str()?.to_string()
                        }
                        Some(Value::String(s)) => {
                            let (x, attr) = s.split_once('.')?;
                            if attr != "GroupId" {
                                return None;
                            }
                            x.to_string()
                        }
                        _ => return None,
                    }
                }
            }
            _ => return None,
        };
        let g = self.group_by_logical(&lid)?;
        Some((Some(lid), g.group_id.clone()))
    }

    fn parse_rule(
        &self,
        obj: &Value,
        direction: RuleDirection,
        group_logical_id: Option<String>,
        group_id: Option<String>,
    ) -> TemplateRule {
        let mut unresolved = Vec::new();
        let protocol = match obj.get("IpProtocol") {
            Some(v) => match Protocol::from_value(v) {
                Some(p) => Some(p),
                None => {
                    unresolved.push(format!("IpProtocol {v}"));
                    None
                }
            },
            None => {
                unresolved.push("IpProtocol missing".to_string());
                None
            }
        };
        let port = |k: &str, unresolved: &mut Vec<String>| match obj.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(x) => Some(x),
                Err(_) => {
                    unresolved.push(format!("{k} {s:?}"));
                    None
                }
            },
            Some(v) => {
                unresolved.push(format!("{k} {v}"));
                None
            }
        };
        let from = port("FromPort", &mut unresolved);
        let to = port("ToPort", &mut unresolved);
        let ports = match protocol {
            Some(p) => match normalize_ports(p, from, to) {
                Ok(x) => x,
                Err(e) => {
                    unresolved.push(e);
                    Default::default()
                }
            },
            None => Default::default(),
        };
        let (grp_key, pl_key) = match direction {
            RuleDirection::Ingress => ("SourceSecurityGroupId", "SourcePrefixListId"),
            RuleDirection::Egress => ("DestinationSecurityGroupId", "DestinationPrefixListId"),
        };
        let mut target = None;
        for field in ["CidrIp", "CidrIpv6"] {
            if let Some(v) = obj.get(field) {
                target = Some(match v {
                    Value::String(s) => match parse_cidr(s, field) {
                        Ok(n) => TemplateTarget::Cidr(n),
                        Err(e) => {
                            unresolved.push(e);
                            TemplateTarget::Unresolved(v.clone())
                        }
                    },
                    other => match self.vpc_cidr(other).filter(|_| field == "CidrIp") {
                        Some(n) => TemplateTarget::Cidr(n),
                        None => {
                            unresolved.push(intrinsic_cidr(field));
                            TemplateTarget::Unresolved(other.clone())
                        }
                    },
                });
            }
        }
        if target.is_none() {
            if let Some(v) = obj.get(grp_key) {
                let user_id =
                    string_value(obj.get("SourceSecurityGroupOwnerId")).map(str::to_string);
                target = Some(match self.resolve_group_ref(v) {
                    Some((logical_id, group_id)) => {
                        if group_id.is_none() {
                            unresolved.push(format!("{grp_key}: live id unknown"));
                        }
                        TemplateTarget::Group {
                            logical_id,
                            group_id,
                            user_id,
                        }
                    }
                    None => {
                        unresolved.push(format!("{grp_key} is an intrinsic"));
                        TemplateTarget::Unresolved(v.clone())
                    }
                });
            }
        }
        if target.is_none() {
            if let Some(v) = obj.get(pl_key) {
                target = Some(match v {
                    Value::String(s) => TemplateTarget::PrefixList(s.clone()),
                    other => {
                        unresolved.push(format!("{pl_key} is an intrinsic"));
                        TemplateTarget::Unresolved(other.clone())
                    }
                });
            }
        }
        let target = target.unwrap_or_else(|| {
            let by_name = if direction == RuleDirection::Ingress {
                obj.get("SourceSecurityGroupName")
            } else {
                None
            };
            unresolved.push("no target".to_string());
            TemplateTarget::Unresolved(by_name.cloned().unwrap_or(Value::Null))
        });
        TemplateRule {
            group_logical_id,
            group_id,
            direction,
            protocol,
            from_port: ports.from_port,
            to_port: ports.to_port,
            icmp_type: ports.icmp_type,
            icmp_code: ports.icmp_code,
            target,
            description: string_value(obj.get("Description")).map(str::to_string),
            unresolved,
            raw: obj.clone(),
        }
    }

    /// Every rule written in the template (plus the implicit allow-all egress of group
    /// resources without `SecurityGroupEgress`), in template order.
    pub fn rules(&self) -> Vec<(RuleLocation, TemplateRule)> {
        let mut out = self.written_rules();
        // intrinsic CIDRs that the live group data resolves (see `live::intrinsic_cidrs`)
        for (loc, r) in &mut out {
            if let Some(n) = self.live_cidrs.get(loc) {
                let field = if n.addr().is_ipv4() {
                    "CidrIp"
                } else {
                    "CidrIpv6"
                };
                r.target = TemplateTarget::Cidr(*n);
                r.unresolved.retain(|u| *u != intrinsic_cidr(field));
            }
        }
        out
    }

    /// The CIDR of `Fn::GetAtt [Vpc, CidrBlock]` (or `"Vpc.CidrBlock"`) when `Vpc` is an
    /// `AWS::EC2::VPC` of this template with a literal `CidrBlock`. CDK writes "from the VPC"
    /// rules this way; without it such a rule would look absent from the template.
    fn vpc_cidr(&self, v: &Value) -> Option<IpNet> {
        let Value::Object(o) = v else {
            return None;
        };
        if o.len() != 1 {
            return None;
        }
        let vpc = match o.get("Fn::GetAtt")? {
            Value::Array(a) if a.len() == 2 && a[1].as_str() == Some("CidrBlock") => {
                a[0].as_str()?
            }
            Value::String(s) => s.strip_suffix(".CidrBlock")?,
            _ => return None,
        };
        let res = self.resources()?.get(vpc)?;
        if string_value(res.get("Type")) != Some(VPC_TYPE) {
            return None;
        }
        let cidr = string_value(res.get("Properties")?.get("CidrBlock"))?;
        parse_cidr(cidr, "CidrBlock")
            .ok()
            .filter(|n| n.addr().is_ipv4())
    }

    /// The rules as written, intrinsic CIDRs unresolved by live data.
    pub(super) fn written_rules(&self) -> Vec<(RuleLocation, TemplateRule)> {
        let mut out = Vec::new();
        let Some(resources) = self.resources() else {
            return out;
        };
        for (lid, res) in resources {
            let props = res.get("Properties").unwrap_or(&Value::Null);
            match string_value(res.get("Type")) {
                Some(SG_TYPE) => {
                    let live = self.group_by_logical(lid).and_then(|g| g.group_id.clone());
                    for direction in [RuleDirection::Ingress, RuleDirection::Egress] {
                        match props.get(inline_key(direction)) {
                            Some(Value::Array(items))
                                if !(items.is_empty() && direction == RuleDirection::Egress) =>
                            {
                                for (index, item) in items.iter().enumerate() {
                                    let r = self.parse_rule(
                                        item,
                                        direction,
                                        Some(lid.clone()),
                                        live.clone(),
                                    );
                                    out.push((
                                        RuleLocation::Inline {
                                            logical_id: lid.clone(),
                                            direction,
                                            index,
                                        },
                                        r,
                                    ));
                                }
                            }
                            Some(Value::Array(_)) | None if direction == RuleDirection::Egress => {
                                let implicit = json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"});
                                let r = self.parse_rule(
                                    &implicit,
                                    direction,
                                    Some(lid.clone()),
                                    live.clone(),
                                );
                                out.push((
                                    RuleLocation::ImplicitEgress {
                                        logical_id: lid.clone(),
                                    },
                                    r,
                                ));
                            }
                            _ => {} // intrinsic (Fn::If ...) or absent ingress
                        }
                    }
                }
                Some(t @ (INGRESS_TYPE | EGRESS_TYPE)) => {
                    let direction = if t == INGRESS_TYPE {
                        RuleDirection::Ingress
                    } else {
                        RuleDirection::Egress
                    };
                    let (glid, gid) = props
                        .get("GroupId")
                        .and_then(|v| self.resolve_group_ref(v))
                        .unwrap_or((None, None));
                    let mut r = self.parse_rule(props, direction, glid, gid);
                    if r.group_id.is_none() {
                        r.unresolved.push("GroupId unresolved".to_string());
                    }
                    out.push((
                        RuleLocation::Resource {
                            logical_id: lid.clone(),
                            direction,
                        },
                        r,
                    ));
                }
                _ => {}
            }
        }
        out
    }

    /// Find where a rule is written. `group_id` may be a live id or a logical id; for
    /// ICMP/ICMPv6, `from`/`to` are the ICMP type/code (`None` = all). For tcp/udp, `None`
    /// and 0/65535 are the same bound.
    pub fn find_rule(
        &self,
        group_id: &str,
        direction: RuleDirection,
        protocol: &Protocol,
        from: Option<u16>,
        to: Option<u16>,
        target: &RuleTarget,
    ) -> Option<RuleLocation> {
        self.rules()
            .into_iter()
            .find(|(_, r)| rule_matches(r, group_id, direction, protocol, from, to, target))
            .map(|(loc, _)| loc)
    }

    /// [`Template::find_rule`] for an inventory rule (ICMP type/code taken from the rule).
    pub fn find_rule_for(&self, rule: &Rule) -> Option<RuleLocation> {
        let spec = RuleSpec::from_rule(rule);
        self.find_rule(
            &rule.group_id,
            rule.direction,
            &rule.protocol,
            spec.from_port,
            spec.to_port,
            &rule.target,
        )
    }
}

fn port_bounds(p: Protocol, from: Option<u16>, to: Option<u16>) -> (u16, u16) {
    if p.has_ports() {
        (from.unwrap_or(0), to.unwrap_or(u16::MAX))
    } else {
        (0, 0)
    }
}

pub(super) fn rule_matches(
    r: &TemplateRule,
    group_id: &str,
    direction: RuleDirection,
    protocol: &Protocol,
    from: Option<u16>,
    to: Option<u16>,
    target: &RuleTarget,
) -> bool {
    if r.direction != direction || r.protocol.as_ref() != Some(protocol) {
        return false;
    }
    if r.group_id.as_deref() != Some(group_id) && r.group_logical_id.as_deref() != Some(group_id) {
        return false;
    }
    if protocol.is_icmp() {
        if r.icmp_type.map(u16::from) != from || r.icmp_code.map(u16::from) != to {
            return false;
        }
    } else if port_bounds(*protocol, r.from_port, r.to_port) != port_bounds(*protocol, from, to) {
        return false;
    }
    match (&r.target, target) {
        (TemplateTarget::Cidr(a), RuleTarget::Cidr(b)) => a == b,
        (TemplateTarget::PrefixList(a), RuleTarget::PrefixList(b)) => a == b,
        (
            TemplateTarget::Group {
                logical_id,
                group_id: live,
                ..
            },
            RuleTarget::Group { group_id: g, .. },
        ) => live.as_deref() == Some(g.as_str()) || logical_id.as_deref() == Some(g.as_str()),
        _ => false,
    }
}

/// The unresolved-field reason of a `CidrIp`/`CidrIpv6` written as an intrinsic.
pub(super) fn intrinsic_cidr(field: &str) -> String {
    format!("{field} is an intrinsic")
}
