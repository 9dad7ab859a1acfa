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
                let key = group_key(direction);
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
    ///
    /// A new rule that references a security group is written as a standalone
    /// `AWS::EC2::SecurityGroupIngress|Egress` resource placed after its group, never inline:
    /// an inline reference makes the group depend on the peer, and two groups that reference
    /// each other inline (A ingress from B, B egress to A) are a circular dependency that
    /// CloudFormation refuses. A standalone rule depends on both groups and neither group on
    /// it, so it never closes a cycle (CDK writes group references the same way). A
    /// replacement that keeps the reference of the rule it replaces stays inline: it adds no
    /// dependency.
    pub fn patched(&self, edits: &[TemplateEdit]) -> Value {
        let mut value = self.value.clone();
        let mut plan = Plan::default();
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
                    match self.logical_id_of_group(group_id) {
                        Some(lid) => {
                            let lid = lid.to_string();
                            let specs = std::slice::from_ref(rule);
                            let inline = self.route(&lid, *direction, specs, None, &mut plan);
                            if !inline.is_empty() {
                                plan.adds_inline
                                    .entry((lid.clone(), *direction))
                                    .or_default()
                                    .extend(inline);
                            }
                            // An inline egress rule ends the implicit allow-all egress; a
                            // standalone one does not, so close it explicitly to keep the
                            // meaning of "add this rule".
                            if *direction == RuleDirection::Egress {
                                plan.close_egress.insert(lid);
                            }
                        }
                        None => plan.new_rules.push(NewRule {
                            owner: Owner::Literal(group_id.clone()),
                            direction: *direction,
                            spec: rule.clone(),
                        }),
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
                    let original = self.inline_rule(logical_id, *direction, *index);
                    let specs = self.route(logical_id, *direction, with, original, &mut plan);
                    plan.inline
                        .entry((logical_id.clone(), *direction))
                        .or_default()
                        .push((*index, specs));
                }
                RuleLocation::Resource {
                    logical_id,
                    direction,
                } => {
                    let specs = with.iter().map(|s| self.spec_json(s, *direction)).collect();
                    plan.standalone.insert(logical_id.clone(), specs);
                }
                RuleLocation::ImplicitEgress { logical_id } => {
                    let specs =
                        self.route(logical_id, RuleDirection::Egress, with, None, &mut plan);
                    plan.implicit.insert(logical_id.clone(), specs);
                }
            }
        }

        let Some(Value::Object(resources)) = value.get_mut("Resources") else {
            return value;
        };
        plan.apply_inline(resources);
        if !plan.standalone.is_empty() || !plan.new_rules.is_empty() {
            self.rebuild_resources(resources, plan.standalone, plan.new_rules);
        }
        value
    }

    /// The inline rule object at `Resources.<lid>.Properties.<list>[index]`.
    fn inline_rule(&self, lid: &str, direction: RuleDirection, index: usize) -> Option<&Value> {
        self.resources()?
            .get(lid)?
            .get("Properties")?
            .get(inline_key(direction))?
            .get(index)
    }

    /// Split the rules to write for group `lid`: returns the inline ones (JSON) and queues
    /// the group references as new standalone resources, except a reference to the same group
    /// as `original` (the rule being replaced), which adds no dependency and stays inline.
    fn route(
        &self,
        lid: &str,
        direction: RuleDirection,
        specs: &[RuleSpec],
        original: Option<&Value>,
        plan: &mut Plan,
    ) -> Vec<Value> {
        let mut inline = Vec::new();
        for spec in specs {
            let RuleTarget::Group { group_id, .. } = &spec.target else {
                inline.push(self.spec_json(spec, direction));
                continue;
            };
            if original.is_some_and(|o| self.same_group_ref(o, direction, group_id)) {
                inline.push(self.spec_json(spec, direction));
                continue;
            }
            let rule = NewRule {
                owner: Owner::Template(lid.to_string()),
                direction,
                spec: spec.clone(),
            };
            // Two edits can propose the same rule (two CIDR rules of a group both replaced by
            // the same peer group); a second identical resource would fail to deploy.
            if !plan.new_rules.iter().any(|r| r.same_rule(&rule)) {
                plan.new_rules.push(rule);
            }
        }
        inline
    }

    /// Whether the rule object `rule` references the group `group_id` (live or logical id).
    fn same_group_ref(&self, rule: &Value, direction: RuleDirection, group_id: &str) -> bool {
        let Some(r) = rule.get(group_key(direction)) else {
            return false;
        };
        match self.resolve_group_ref(r) {
            Some((Some(lid), live)) => {
                Some(lid.as_str()) == self.logical_id_of_group(group_id)
                    || live.as_deref() == Some(group_id)
            }
            Some((None, Some(literal))) => {
                literal == group_id && self.logical_id_of_group(group_id).is_none()
            }
            _ => false,
        }
    }

    /// Rebuild the resource map: replaced standalone rules are written where they were (a
    /// split rule as `<Name>`, `<Name>1`, ...; an empty replacement removes the resource and
    /// every `DependsOn` naming it), new rules of a template group right after the group,
    /// new rules of groups the template does not define at the end.
    fn rebuild_resources(
        &self,
        resources: &mut Map<String, Value>,
        mut standalone: HashMap<String, Vec<Value>>,
        new_rules: Vec<NewRule>,
    ) {
        let old = std::mem::take(resources);
        let mut names: HashSet<String> = old.keys().cloned().collect();
        let mut by_owner: HashMap<String, Vec<NewRule>> = HashMap::new();
        let mut literal = Vec::new();
        for r in new_rules {
            match &r.owner {
                Owner::Template(lid) if old.contains_key(lid) => {
                    by_owner.entry(lid.clone()).or_default().push(r)
                }
                _ => literal.push(r),
            }
        }
        let mut removed = HashSet::new();
        for (lid, res) in old {
            match standalone.remove(&lid) {
                None => {
                    let condition = res.get("Condition").cloned();
                    resources.insert(lid.clone(), res);
                    for r in by_owner.remove(&lid).unwrap_or_default() {
                        let (name, v) = self.new_rule_resource(&r, condition.as_ref(), &mut names);
                        resources.insert(name, v);
                    }
                }
                Some(specs) if specs.is_empty() => {
                    removed.insert(lid);
                }
                Some(specs) => {
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
        for r in literal {
            let (name, v) = self.new_rule_resource(&r, None, &mut names);
            resources.insert(name, v);
        }
        if !removed.is_empty() {
            drop_depends_on(resources, &removed);
        }
    }

    /// A standalone rule resource and its (unique) logical id, named after the group, the
    /// peer and the ports (`<Group>From<Peer>Tcp443`, `<Group>To<Peer>Udp53`). It carries the
    /// group's `Condition`, so it exists exactly when its group does.
    fn new_rule_resource(
        &self,
        r: &NewRule,
        condition: Option<&Value>,
        names: &mut HashSet<String>,
    ) -> (String, Value) {
        let (group_ref, owner_label) = match &r.owner {
            Owner::Template(lid) => (json!({"Fn::GetAtt": [lid, "GroupId"]}), lid.clone()),
            Owner::Literal(id) => (Value::String(id.clone()), alphanumeric(id)),
        };
        let peer = match &r.spec.target {
            RuleTarget::Group { group_id, .. } => match self.logical_id_of_group(group_id) {
                Some(lid) => lid.to_string(),
                None => alphanumeric(group_id),
            },
            RuleTarget::Cidr(n) => alphanumeric(&n.to_string()),
            RuleTarget::PrefixList(p) => alphanumeric(p),
        };
        let way = match r.direction {
            RuleDirection::Ingress => "From",
            RuleDirection::Egress => "To",
        };
        let mut base = format!("{owner_label}{way}{peer}{}", ports_label(&r.spec));
        // CloudFormation logical ids are at most 255 characters; leave room for a suffix.
        base.truncate(240);
        let name = unique_name(&base, names);
        let mut props = Map::new();
        props.insert("GroupId".into(), group_ref);
        if let Value::Object(s) = self.spec_json(&r.spec, r.direction) {
            props.extend(s);
        }
        let ty = match r.direction {
            RuleDirection::Ingress => INGRESS_TYPE,
            RuleDirection::Egress => EGRESS_TYPE,
        };
        let mut res = Map::new();
        res.insert("Type".into(), Value::String(ty.into()));
        if let Some(c) = condition {
            res.insert("Condition".into(), c.clone());
        }
        res.insert("Properties".into(), Value::Object(props));
        (name, Value::Object(res))
    }
}

/// Who a new standalone rule belongs to.
#[derive(Debug)]
enum Owner {
    /// A group resource of the template (logical id).
    Template(String),
    /// A group the template does not define (live id, written literally).
    Literal(String),
}

#[derive(Debug)]
struct NewRule {
    owner: Owner,
    direction: RuleDirection,
    spec: RuleSpec,
}

impl NewRule {
    /// Same group, direction, protocol, ports and peer (descriptions aside).
    fn same_rule(&self, other: &NewRule) -> bool {
        let owner = |o: &Owner| match o {
            Owner::Template(x) | Owner::Literal(x) => x.clone(),
        };
        let key = |s: &RuleSpec| (s.protocol, s.from_port, s.to_port, s.target.clone());
        owner(&self.owner) == owner(&other.owner)
            && self.direction == other.direction
            && key(&self.spec) == key(&other.spec)
    }
}

/// The edits sorted by where they go.
#[derive(Debug, Default)]
struct Plan {
    /// (logical id, direction) → [(index, replacement rules)]
    inline: HashMap<GroupList, Vec<(usize, Vec<Value>)>>,
    /// group logical id → rules replacing its implicit allow-all egress
    implicit: HashMap<String, Vec<Value>>,
    /// standalone rule resource → replacement rules (empty = remove)
    standalone: HashMap<String, Vec<Value>>,
    adds_inline: HashMap<GroupList, Vec<Value>>,
    /// groups that get an egress rule: their implicit allow-all egress ends
    close_egress: HashSet<String>,
    new_rules: Vec<NewRule>,
}

impl Plan {
    /// Edit the inline rule lists of the group resources.
    fn apply_inline(&mut self, resources: &mut Map<String, Value>) {
        let mut touched: HashSet<GroupList> = HashSet::new();
        // replacements / removals, highest index first so indexes stay valid
        for ((lid, dir), mut list) in std::mem::take(&mut self.inline) {
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
        let egress = RuleDirection::Egress;
        for (lid, specs) in std::mem::take(&mut self.implicit) {
            let Some(Value::Object(props)) = resources
                .get_mut(&lid)
                .and_then(|r| r.get_mut("Properties"))
            else {
                continue;
            };
            if absent_or_empty(props.get(inline_key(egress))) {
                props.insert(inline_key(egress).into(), Value::Array(specs));
                touched.insert((lid, egress));
            }
        }
        let adds = std::mem::take(&mut self.adds_inline);
        let close = self
            .close_egress
            .drain()
            .map(|lid| ((lid, egress), Vec::new()));
        for ((lid, dir), specs) in adds.into_iter().chain(close) {
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
            if dir != egress {
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
    }
}

fn absent_or_empty(v: Option<&Value>) -> bool {
    match v {
        None => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// The property naming the peer group of a rule.
pub(super) fn group_key(direction: RuleDirection) -> &'static str {
    match direction {
        RuleDirection::Ingress => "SourceSecurityGroupId",
        RuleDirection::Egress => "DestinationSecurityGroupId",
    }
}

fn alphanumeric(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// `Tcp443`, `Tcp8080to8090`, `Udp53`, `All`, `Icmp`, `Proto50` for a resource name.
fn ports_label(spec: &RuleSpec) -> String {
    let proto = match spec.protocol.aws_name().as_str() {
        "-1" => return "All".to_string(),
        "tcp" => "Tcp".to_string(),
        "udp" => "Udp".to_string(),
        "icmp" => return "Icmp".to_string(),
        "icmpv6" => return "Icmpv6".to_string(),
        n => return format!("Proto{n}"),
    };
    let (from, to) = (
        spec.from_port.unwrap_or(0),
        spec.to_port.unwrap_or(u16::MAX),
    );
    if from == to {
        format!("{proto}{from}")
    } else {
        format!("{proto}{from}to{to}")
    }
}

/// Remove `names` from every resource's `DependsOn` (a string or a list), so that removing
/// a rule resource leaves no dangling dependency (which CloudFormation refuses).
fn drop_depends_on(resources: &mut Map<String, Value>, names: &HashSet<String>) {
    for res in resources.values_mut() {
        let Some(obj) = res.as_object_mut() else {
            continue;
        };
        let drop = match obj.get_mut("DependsOn") {
            Some(Value::String(s)) => names.contains(s.as_str()),
            Some(Value::Array(list)) => {
                list.retain(|v| !v.as_str().is_some_and(|s| names.contains(s)));
                list.is_empty()
            }
            _ => false,
        };
        if drop {
            obj.remove("DependsOn");
        }
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
