//! Writing edits back into a template.

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use super::{
    inline_key, RuleLocation, RuleSpec, Template, TemplateEdit, EGRESS_TYPE, INGRESS_TYPE,
};
use crate::inventory::{RuleDirection, RuleTarget};

/// (group logical id, direction): one inline rule list.
type GroupList = (String, RuleDirection);

impl Template {
    fn spec_json(&self, spec: &RuleSpec, direction: RuleDirection) -> Value {
        let mut m = Map::new();
        m.insert("IpProtocol".into(), Value::String(spec.protocol.aws_name()));
        if spec.protocol.has_ports() {
            m.insert("FromPort".into(), json!(spec.from_port.unwrap_or(0)));
            m.insert("ToPort".into(), json!(spec.to_port.unwrap_or(65535)));
        } else if spec.protocol.is_icmp() {
            let b = |x: Option<u16>| x.map(i64::from).unwrap_or(-1);
            m.insert("FromPort".into(), json!(b(spec.from_port)));
            m.insert("ToPort".into(), json!(b(spec.to_port)));
        }
        match &spec.target {
            RuleTarget::Cidr(IpNet::V4(n)) => {
                m.insert("CidrIp".into(), Value::String(n.to_string()));
            }
            RuleTarget::Cidr(IpNet::V6(n)) => {
                m.insert("CidrIpv6".into(), Value::String(n.to_string()));
            }
            RuleTarget::Group { group_id, .. } => {
                let key = match direction {
                    RuleDirection::Ingress => "SourceSecurityGroupId",
                    RuleDirection::Egress => "DestinationSecurityGroupId",
                };
                let v = match self.logical_id_of_group(group_id) {
                    Some(lid) => json!({"Fn::GetAtt": [lid, "GroupId"]}),
                    None => Value::String(group_id.clone()),
                };
                m.insert(key.into(), v);
            }
            RuleTarget::PrefixList(p) => {
                let key = match direction {
                    RuleDirection::Ingress => "SourcePrefixListId",
                    RuleDirection::Egress => "DestinationPrefixListId",
                };
                m.insert(key.into(), Value::String(p.clone()));
            }
        }
        if let Some(d) = &spec.description {
            m.insert("Description".into(), Value::String(d.clone()));
        }
        Value::Object(m)
    }

    /// Apply edits and return the patched template. Everything not edited is untouched.
    /// Edits naming a location that does not exist are skipped. Several edits of the same
    /// location: the first wins.
    pub fn patched(&self, edits: &[TemplateEdit]) -> Value {
        let mut value = self.value.clone();
        // (logical id, direction) → index → replacement
        let mut inline: HashMap<GroupList, Vec<(usize, Vec<Value>)>> = HashMap::new();
        let mut implicit: HashMap<String, Vec<Value>> = HashMap::new();
        let mut standalone: HashMap<String, (RuleDirection, Vec<Value>)> = HashMap::new();
        let mut adds_inline: HashMap<(String, RuleDirection), Vec<Value>> = HashMap::new();
        let mut adds_new: Vec<(String, RuleDirection, Value)> = Vec::new();
        let mut seen = HashSet::new();
        for edit in edits {
            let (at, with) = match edit {
                TemplateEdit::Replace { at, with } => (at, with.as_slice()),
                TemplateEdit::Remove { at } => (at, &[][..]),
                TemplateEdit::Add {
                    group_id,
                    direction,
                    rule,
                } => {
                    let v = self.spec_json(rule, *direction);
                    match self.logical_id_of_group(group_id) {
                        Some(lid) => adds_inline
                            .entry((lid.to_string(), *direction))
                            .or_default()
                            .push(v),
                        None => adds_new.push((group_id.clone(), *direction, v)),
                    }
                    continue;
                }
            };
            if !seen.insert(at.clone()) {
                continue;
            }
            match at {
                RuleLocation::Inline {
                    logical_id,
                    direction,
                    index,
                } => {
                    let specs = with.iter().map(|s| self.spec_json(s, *direction)).collect();
                    inline
                        .entry((logical_id.clone(), *direction))
                        .or_default()
                        .push((*index, specs));
                }
                RuleLocation::Resource {
                    logical_id,
                    direction,
                } => {
                    let specs = with.iter().map(|s| self.spec_json(s, *direction)).collect();
                    standalone.insert(logical_id.clone(), (*direction, specs));
                }
                RuleLocation::ImplicitEgress { logical_id } => {
                    let specs = with
                        .iter()
                        .map(|s| self.spec_json(s, RuleDirection::Egress))
                        .collect();
                    implicit.insert(logical_id.clone(), specs);
                }
            }
        }

        let Some(Value::Object(resources)) = value.get_mut("Resources") else {
            return value;
        };
        // inline replacements / removals, highest index first so indexes stay valid
        let mut touched: HashSet<(String, RuleDirection)> = HashSet::new();
        for ((lid, dir), mut list) in inline {
            list.sort_by_key(|e| std::cmp::Reverse(e.0));
            let Some(Value::Array(items)) = resources
                .get_mut(&lid)
                .and_then(|r| r.get_mut("Properties"))
                .and_then(|p| p.get_mut(inline_key(dir)))
            else {
                continue;
            };
            for (index, specs) in list {
                if index < items.len() {
                    items.splice(index..=index, specs);
                }
            }
            touched.insert((lid, dir));
        }
        for (lid, specs) in implicit {
            let Some(Value::Object(props)) = resources
                .get_mut(&lid)
                .and_then(|r| r.get_mut("Properties"))
            else {
                continue;
            };
            let key = inline_key(RuleDirection::Egress);
            let absent_or_empty = match props.get(key) {
                None => true,
                Some(Value::Array(a)) => a.is_empty(),
                Some(_) => false,
            };
            if absent_or_empty {
                props.insert(
                    inline_key(RuleDirection::Egress).into(),
                    Value::Array(specs),
                );
                touched.insert((lid, RuleDirection::Egress));
            }
        }
        for ((lid, dir), specs) in adds_inline {
            let Some(res) = resources.get_mut(&lid) else {
                continue;
            };
            let Some(obj) = res.as_object_mut() else {
                continue;
            };
            let props = obj
                .entry("Properties")
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(props) = props.as_object_mut() else {
                continue;
            };
            let list = props
                .entry(inline_key(dir))
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.extend(specs);
                touched.insert((lid, dir));
            }
        }
        // an empty SecurityGroupEgress would mean "allow all": write a match-nothing rule
        for (lid, dir) in touched {
            if dir != RuleDirection::Egress {
                continue;
            }
            if let Some(Value::Array(items)) = resources
                .get_mut(&lid)
                .and_then(|r| r.get_mut("Properties"))
                .and_then(|p| p.get_mut(inline_key(dir)))
            {
                if items.is_empty() {
                    items.push(deny_all_egress());
                }
            }
        }
        // standalone resources: rebuild the map to keep new resources next to the old one
        if !standalone.is_empty() || !adds_new.is_empty() {
            let old = std::mem::take(resources);
            let mut names: HashSet<String> = old.keys().cloned().collect();
            for (lid, res) in old {
                match standalone.remove(&lid) {
                    None => {
                        resources.insert(lid, res);
                    }
                    Some((_, specs)) if specs.is_empty() => {} // removed
                    Some((_, specs)) => {
                        for (n, spec) in specs.into_iter().enumerate() {
                            let name = if n == 0 {
                                lid.clone()
                            } else {
                                unique_name(&lid, &mut names)
                            };
                            resources.insert(name, with_rule(&res, spec));
                        }
                    }
                }
            }
            for (gid, dir, spec) in adds_new {
                let base = format!(
                    "Flowscope{}{}",
                    match dir {
                        RuleDirection::Ingress => "Ingress",
                        RuleDirection::Egress => "Egress",
                    },
                    gid.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                );
                let name = unique_name(&base, &mut names);
                let mut props = Map::new();
                props.insert("GroupId".into(), Value::String(gid));
                if let Value::Object(s) = spec {
                    props.extend(s);
                }
                let ty = match dir {
                    RuleDirection::Ingress => INGRESS_TYPE,
                    RuleDirection::Egress => EGRESS_TYPE,
                };
                resources.insert(
                    name,
                    json!({"Type": ty, "Properties": Value::Object(props)}),
                );
            }
        }
        value
    }
}

fn unique_name(base: &str, names: &mut HashSet<String>) -> String {
    let mut n = 1;
    loop {
        let cand = if n == 1 && !names.contains(base) {
            base.to_string()
        } else {
            format!("{base}{n}")
        };
        n += 1;
        if names.insert(cand.clone()) {
            return cand;
        }
    }
}

/// A copy of a standalone rule resource with its rule fields replaced (GroupId, Condition,
/// DependsOn and everything else kept).
fn with_rule(res: &Value, spec: Value) -> Value {
    let mut res = res.clone();
    if let Some(Value::Object(props)) = res.get_mut("Properties") {
        props.retain(|k, _| !RULE_FIELDS.contains(&k.as_str()));
        if let Value::Object(s) = spec {
            props.extend(s);
        }
    }
    res
}

const RULE_FIELDS: &[&str] = &[
    "IpProtocol",
    "FromPort",
    "ToPort",
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourceSecurityGroupName",
    "SourceSecurityGroupOwnerId",
    "SourcePrefixListId",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
    "Description",
];

/// A rule that matches no traffic, used so that an emptied `SecurityGroupEgress` does not
/// fall back to allow-all.
pub fn deny_all_egress() -> Value {
    json!({
        "IpProtocol": "icmp",
        "FromPort": 252,
        "ToPort": 86,
        "CidrIp": "255.255.255.255/32",
        "Description": "Disallow all egress (an empty SecurityGroupEgress would allow all)"
    })
}
