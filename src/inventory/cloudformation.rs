//! CloudFormation templates: find where a security-group rule is written and patch it.
//!
//! Templates may be JSON or YAML (short-form tags such as `!Ref`, `!GetAtt`, `!Sub` are turned
//! into their long JSON form, see [`super::yaml`]). The whole template is kept as one
//! `serde_json::Value` with key order preserved; [`Template::patched`] returns JSON, also for a
//! YAML input.
//!
//! Rules live in three kinds of places ([`RuleLocation`]):
//! * inline `SecurityGroupIngress[i]` / `SecurityGroupEgress[i]` of an `AWS::EC2::SecurityGroup`;
//! * a standalone `AWS::EC2::SecurityGroupIngress` / `AWS::EC2::SecurityGroupEgress` resource;
//! * the implicit allow-all IPv4 egress that EC2 adds to a group whose template has no
//!   `SecurityGroupEgress` ([`RuleLocation::ImplicitEgress`]).
//!
//! CloudFormation semantics respected by the patcher: an absent or empty `SecurityGroupEgress`
//! means "allow all egress", so when edits leave a group's egress list empty, a placeholder rule
//! that matches nothing (ICMP type 252 code 86 to 255.255.255.255/32) is written instead.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use super::security_group::{normalize_ports, parse_cidr};
use super::util::{kind, read_json, read_text};
use super::{InventoryError, Protocol, Rule, RuleDirection, RuleTarget, SecurityGroup};

const SG_TYPE: &str = "AWS::EC2::SecurityGroup";
const INGRESS_TYPE: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS_TYPE: &str = "AWS::EC2::SecurityGroupEgress";

/// A loaded template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The whole template, key order preserved.
    pub value: Value,
    pub path: PathBuf,
    /// The `AWS::EC2::SecurityGroup` resources, in template order.
    pub groups: Vec<TemplateGroup>,
    /// Non-fatal problems (unresolved group ids, ...).
    pub warnings: Vec<String>,
}

/// One `AWS::EC2::SecurityGroup` resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateGroup {
    pub logical_id: String,
    /// `GroupName` when written literally.
    pub group_name: Option<String>,
    /// Live `sg-` id: from describe-stack-resources, the `aws:cloudformation:logical-id` tag,
    /// the literal `GroupName`, or a `<stack>-<LogicalId>-<suffix>` generated name.
    pub group_id: Option<String>,
}

/// Where a rule is written in the template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleLocation {
    /// `Resources.<logical_id>.Properties.SecurityGroupIngress|Egress[index]`.
    Inline {
        logical_id: String,
        direction: RuleDirection,
        index: usize,
    },
    /// A standalone `AWS::EC2::SecurityGroupIngress|Egress` resource.
    Resource {
        logical_id: String,
        direction: RuleDirection,
    },
    /// The implicit allow-all egress (`-1` to `0.0.0.0/0`) of a group resource whose
    /// `SecurityGroupEgress` is absent or empty.
    ImplicitEgress { logical_id: String },
}

impl RuleLocation {
    /// The resource that holds the rule.
    pub fn logical_id(&self) -> &str {
        match self {
            RuleLocation::Inline { logical_id, .. }
            | RuleLocation::Resource { logical_id, .. }
            | RuleLocation::ImplicitEgress { logical_id } => logical_id,
        }
    }

    /// A JSON-pointer-like path for messages, e.g. `Resources.WebSG.Properties.SecurityGroupIngress[2]`.
    pub fn describe(&self) -> String {
        match self {
            RuleLocation::Inline {
                logical_id,
                direction,
                index,
            } => format!(
                "Resources.{logical_id}.Properties.{}[{index}]",
                inline_key(*direction)
            ),
            RuleLocation::Resource { logical_id, .. } => format!("Resources.{logical_id}"),
            RuleLocation::ImplicitEgress { logical_id } => {
                format!("Resources.{logical_id} (implicit allow-all egress)")
            }
        }
    }
}

/// Target of a rule as written in the template.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateTarget {
    Cidr(IpNet),
    Group {
        /// Set when the reference is `Ref`/`Fn::GetAtt` to a group of this template.
        logical_id: Option<String>,
        /// Live id: the literal id, or the resolved logical id.
        group_id: Option<String>,
        user_id: Option<String>,
    },
    PrefixList(String),
    /// An intrinsic (parameter `Ref`, `Fn::ImportValue`, ...) or a missing target.
    Unresolved(Value),
}

/// One rule as written in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRule {
    /// Group resource of this template the rule belongs to.
    pub group_logical_id: Option<String>,
    /// Live id of that group (or the literal `GroupId` of a standalone rule).
    pub group_id: Option<String>,
    pub direction: RuleDirection,
    /// `None` when `IpProtocol` is an intrinsic or invalid.
    pub protocol: Option<Protocol>,
    pub from_port: Option<u16>,
    pub to_port: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub target: TemplateTarget,
    pub description: Option<String>,
    /// Fields that could not be interpreted (intrinsics, bad values), with a reason.
    pub unresolved: Vec<String>,
    /// The rule object as written.
    pub raw: Value,
}

impl TemplateRule {
    /// The equivalent inventory [`Rule`], when protocol, ports, target and group id are known.
    pub fn to_rule(&self) -> Option<Rule> {
        if !self.unresolved.is_empty() {
            return None;
        }
        let target = match &self.target {
            TemplateTarget::Cidr(n) => RuleTarget::Cidr(*n),
            TemplateTarget::Group {
                group_id: Some(g),
                user_id,
                ..
            } => RuleTarget::Group {
                group_id: g.clone(),
                user_id: user_id.clone(),
            },
            TemplateTarget::PrefixList(p) => RuleTarget::PrefixList(p.clone()),
            _ => return None,
        };
        Some(Rule {
            group_id: self.group_id.clone()?,
            direction: self.direction,
            protocol: self.protocol?,
            from_port: self.from_port,
            to_port: self.to_port,
            icmp_type: self.icmp_type,
            icmp_code: self.icmp_code,
            target,
            description: self.description.clone(),
            rule_id: None,
        })
    }
}

/// A rule to write. For ICMP/ICMPv6, `from_port`/`to_port` are the ICMP type/code
/// (`None` = all). For tcp/udp, `None` = 0 / 65535.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    pub protocol: Protocol,
    pub from_port: Option<u16>,
    pub to_port: Option<u16>,
    pub target: RuleTarget,
    pub description: Option<String>,
}

impl RuleSpec {
    /// The spec that re-creates an inventory rule.
    pub fn from_rule(r: &Rule) -> RuleSpec {
        let (from_port, to_port) = if r.protocol.is_icmp() {
            (r.icmp_type.map(u16::from), r.icmp_code.map(u16::from))
        } else {
            (r.from_port, r.to_port)
        };
        RuleSpec {
            protocol: r.protocol,
            from_port,
            to_port,
            target: r.target.clone(),
            description: r.description.clone(),
        }
    }
}

/// One change to a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateEdit {
    /// Replace the rule at `at` with zero or more rules, keeping their position.
    Replace {
        at: RuleLocation,
        with: Vec<RuleSpec>,
    },
    Remove {
        at: RuleLocation,
    },
    /// Add a rule to a group: inline when the template defines the group (by live or logical
    /// id), else as a new standalone resource with the literal group id. Adding the first
    /// inline egress rule drops the implicit allow-all egress (CloudFormation semantics).
    Add {
        group_id: String,
        direction: RuleDirection,
        rule: RuleSpec,
    },
}

/// (group logical id, direction): one inline rule list.
type GroupList = (String, RuleDirection);

fn inline_key(d: RuleDirection) -> &'static str {
    match d {
        RuleDirection::Ingress => "SecurityGroupIngress",
        RuleDirection::Egress => "SecurityGroupEgress",
    }
}

fn string_value(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// Parse `describe-stack-resources` / `list-stack-resources` output: LogicalResourceId →
/// PhysicalResourceId.
fn parse_stack_resources(path: &Path) -> Result<HashMap<String, String>, InventoryError> {
    let v = read_json(path)?;
    let list = ["StackResources", "StackResourceSummaries"]
        .iter()
        .find_map(|k| v.get(k))
        .ok_or_else(|| {
            InventoryError::invalid(
                path,
                format!(
                    "expected an object with \"StackResources\" (describe-stack-resources) or \"StackResourceSummaries\" (list-stack-resources), got {}",
                    kind(&v)
                ),
            )
        })?;
    let Value::Array(items) = list else {
        return Err(InventoryError::invalid(
            path,
            "stack resources should be an array",
        ));
    };
    let mut out = HashMap::new();
    for (i, r) in items.iter().enumerate() {
        match (
            string_value(r.get("LogicalResourceId")),
            string_value(r.get("PhysicalResourceId")),
        ) {
            (Some(l), Some(p)) => {
                out.insert(l.to_string(), p.to_string());
            }
            (Some(_), None) => {} // resource not created (yet)
            _ => {
                return Err(InventoryError::invalid(
                    path,
                    format!("[{i}]: missing LogicalResourceId"),
                ))
            }
        }
    }
    Ok(out)
}

impl Template {
    /// Load a JSON or YAML template and resolve its security groups to live ids using
    /// `groups` (describe-security-groups) and optionally describe-stack-resources output.
    pub fn load(
        path: &Path,
        groups: &[SecurityGroup],
        stack_resources: Option<&Path>,
    ) -> Result<Template, InventoryError> {
        let text = read_text(path)?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let value = match ext.as_deref() {
            Some("yaml" | "yml") => {
                super::yaml::to_json(&text).map_err(|message| InventoryError::Yaml {
                    path: path.to_path_buf(),
                    message,
                })?
            }
            Some("json") => serde_json::from_str(&text).map_err(|source| InventoryError::Json {
                path: path.to_path_buf(),
                source,
            })?,
            _ => match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => super::yaml::to_json(&text).map_err(|message| InventoryError::Yaml {
                    path: path.to_path_buf(),
                    message,
                })?,
            },
        };
        let stack = match stack_resources {
            Some(p) => parse_stack_resources(p)?,
            None => HashMap::new(),
        };
        Template::from_value(value, path, groups, &stack)
    }

    /// Build from an already parsed template. `stack` maps logical → physical ids.
    pub fn from_value(
        value: Value,
        path: &Path,
        live: &[SecurityGroup],
        stack: &HashMap<String, String>,
    ) -> Result<Template, InventoryError> {
        let resources = match value.get("Resources") {
            Some(Value::Object(r)) if value.is_object() => r,
            _ => {
                return Err(InventoryError::invalid(
                    path,
                    "not a CloudFormation template: no \"Resources\" object",
                ))
            }
        };
        let mut warnings = Vec::new();
        let mut groups = Vec::new();
        for (lid, res) in resources {
            if string_value(res.get("Type")) != Some(SG_TYPE) {
                continue;
            }
            let props = res.get("Properties");
            let group_name =
                string_value(props.and_then(|p| p.get("GroupName"))).map(str::to_string);
            let group_id = resolve_live_id(lid, group_name.as_deref(), live, stack);
            if group_id.is_none() && !live.is_empty() {
                warnings.push(format!(
                    "{}: security group {lid} matches no group in the inventory",
                    path.display()
                ));
            }
            groups.push(TemplateGroup {
                logical_id: lid.clone(),
                group_name,
                group_id,
            });
        }
        Ok(Template {
            value,
            path: path.to_path_buf(),
            groups,
            warnings,
        })
    }

    fn group_by_logical(&self, lid: &str) -> Option<&TemplateGroup> {
        self.groups.iter().find(|g| g.logical_id == lid)
    }

    /// Logical id of the template group whose live id is `group_id` (or that is itself named
    /// `group_id`).
    pub fn logical_id_of_group(&self, group_id: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.group_id.as_deref() == Some(group_id))
            .or_else(|| self.group_by_logical(group_id))
            .map(|g| g.logical_id.as_str())
    }

    fn resources(&self) -> Option<&Map<String, Value>> {
        self.value.get("Resources").and_then(Value::as_object)
    }

    /// `Ref X` / `Fn::GetAtt [X, GroupId]` / `"X.GroupId"` → (logical id if X is a template
    /// group, live id); a literal string → (None, literal).
    fn resolve_group_ref(&self, v: &Value) -> Option<(Option<String>, Option<String>)> {
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
                    other => {
                        unresolved.push(format!("{field} is an intrinsic"));
                        TemplateTarget::Unresolved(other.clone())
                    }
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

fn port_bounds(p: Protocol, from: Option<u16>, to: Option<u16>) -> (u16, u16) {
    if p.has_ports() {
        (from.unwrap_or(0), to.unwrap_or(u16::MAX))
    } else {
        (0, 0)
    }
}

fn rule_matches(
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

/// Live id of a template group: stack resources, `aws:cloudformation:logical-id` tag (unique),
/// literal GroupName (unique), then a generated `<stack>-<LogicalId>-<suffix>` name (unique).
fn resolve_live_id(
    lid: &str,
    group_name: Option<&str>,
    live: &[SecurityGroup],
    stack: &HashMap<String, String>,
) -> Option<String> {
    if let Some(p) = stack.get(lid) {
        return Some(p.clone());
    }
    let unique = |pred: &dyn Fn(&SecurityGroup) -> bool| -> Option<String> {
        let mut it = live.iter().filter(|g| pred(g));
        let first = it.next()?;
        if it.next().is_some() {
            return None;
        }
        Some(first.group_id.clone())
    };
    if let Some(id) = unique(&|g| g.tag("aws:cloudformation:logical-id") == Some(lid)) {
        return Some(id);
    }
    if let Some(name) = group_name {
        if let Some(id) = unique(&|g| g.group_name == name) {
            return Some(id);
        }
    }
    let needle = format!("-{lid}-");
    unique(&|g| g.group_name.contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sg(id: &str, name: &str) -> SecurityGroup {
        SecurityGroup {
            group_id: id.into(),
            group_name: name.into(),
            ..Default::default()
        }
    }

    fn template() -> Template {
        let v = json!({
            "Parameters": {"Cidr": {"Type": "String"}},
            "Resources": {
                "Web": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "GroupDescription": "web", "GroupName": "web-sg",
                    "SecurityGroupIngress": [
                        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                        {"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": {"Ref": "Cidr"}}
                    ]}},
                "App": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "GroupDescription": "app",
                    "SecurityGroupIngress": [
                        {"IpProtocol": "-1", "SourceSecurityGroupId": {"Ref": "Web"}}],
                    "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}},
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}},
                "AppFromVpn": {"Type": "AWS::EC2::SecurityGroupIngress", "Condition": "C",
                    "Properties": {"GroupId": {"Fn::GetAtt": ["App", "GroupId"]}, "IpProtocol": 6,
                        "FromPort": 8080, "ToPort": 8081, "CidrIp": "10.8.0.0/16"}},
                "ExtIngress": {"Type": "AWS::EC2::SecurityGroupIngress",
                    "Properties": {"GroupId": "sg-ext", "IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                        "SourcePrefixListId": "pl-1"}}
            }
        });
        let live = vec![sg("sg-web", "web-sg"), sg("sg-app", "stack-App-1ABC")];
        Template::from_value(v, Path::new("t.json"), &live, &HashMap::new()).unwrap()
    }

    #[test]
    fn rules_and_resolution() {
        let t = template();
        assert_eq!(t.groups.len(), 2);
        assert_eq!(t.groups[0].group_id.as_deref(), Some("sg-web"));
        assert_eq!(t.groups[1].group_id.as_deref(), Some("sg-app")); // generated-name match
        assert_eq!(t.logical_id_of_group("sg-app"), Some("App"));
        let rules = t.rules();
        // Web: 2 ingress + implicit egress; App: 1 + 1; 2 standalone
        assert_eq!(rules.len(), 7);
        assert!(matches!(rules[2].0, RuleLocation::ImplicitEgress { .. }));
        let (_, r1) = &rules[1];
        assert_eq!(r1.from_port, Some(22));
        assert!(matches!(r1.target, TemplateTarget::Unresolved(_)));
        assert!(r1.to_rule().is_none());
        let (_, r3) = &rules[3];
        assert_eq!(
            r3.target,
            TemplateTarget::Group {
                logical_id: Some("Web".into()),
                group_id: Some("sg-web".into()),
                user_id: None
            }
        );
        assert_eq!(r3.to_rule().unwrap().group_id, "sg-app");
        let (loc, r5) = &rules[5];
        assert_eq!(
            *loc,
            RuleLocation::Resource {
                logical_id: "AppFromVpn".into(),
                direction: RuleDirection::Ingress
            }
        );
        assert_eq!(r5.group_id.as_deref(), Some("sg-app"));
        assert_eq!(r5.protocol, Some(Protocol::TCP));
        let (_, r6) = &rules[6];
        assert_eq!(r6.group_id.as_deref(), Some("sg-ext"));
        assert_eq!((r6.icmp_type, r6.icmp_code), (Some(8), None));
    }

    #[test]
    fn find_rule_variants() {
        let t = template();
        let any: RuleTarget = RuleTarget::Cidr("0.0.0.0/0".parse().unwrap());
        let loc = t
            .find_rule(
                "sg-web",
                RuleDirection::Ingress,
                &Protocol::TCP,
                Some(443),
                Some(443),
                &any,
            )
            .unwrap();
        assert_eq!(
            loc.describe(),
            "Resources.Web.Properties.SecurityGroupIngress[0]"
        );
        // logical id accepted
        assert!(t
            .find_rule(
                "Web",
                RuleDirection::Ingress,
                &Protocol::TCP,
                Some(443),
                Some(443),
                &any
            )
            .is_some());
        assert!(t
            .find_rule(
                "sg-web",
                RuleDirection::Ingress,
                &Protocol::TCP,
                Some(80),
                Some(80),
                &any
            )
            .is_none());
        let from_web = RuleTarget::Group {
            group_id: "sg-web".into(),
            user_id: Some("1".into()),
        };
        assert!(matches!(
            t.find_rule(
                "sg-app",
                RuleDirection::Ingress,
                &Protocol::All,
                None,
                None,
                &from_web
            ),
            Some(RuleLocation::Inline { index: 0, .. })
        ));
        assert_eq!(
            t.find_rule(
                "sg-web",
                RuleDirection::Egress,
                &Protocol::All,
                None,
                None,
                &any
            ),
            Some(RuleLocation::ImplicitEgress {
                logical_id: "Web".into()
            })
        );
        assert!(t
            .find_rule(
                "sg-ext",
                RuleDirection::Ingress,
                &Protocol::ICMP,
                Some(8),
                None,
                &RuleTarget::PrefixList("pl-1".into())
            )
            .is_some());
    }

    fn resources_except<'a>(v: &'a Value, skip: &[&str]) -> Vec<(&'a String, &'a Value)> {
        v["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .collect()
    }

    #[test]
    fn patch_replace_inline_with_group_refs() {
        let t = template();
        let loc = RuleLocation::Inline {
            logical_id: "Web".into(),
            direction: RuleDirection::Ingress,
            index: 0,
        };
        let specs = vec![
            RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(443),
                to_port: Some(443),
                target: RuleTarget::Group {
                    group_id: "sg-app".into(),
                    user_id: None,
                },
                description: Some("from app".into()),
            },
            RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(443),
                to_port: Some(443),
                target: RuleTarget::Cidr("10.0.0.0/8".parse().unwrap()),
                description: None,
            },
        ];
        let p = t.patched(&[TemplateEdit::Replace {
            at: loc,
            with: specs,
        }]);
        let ing = p["Resources"]["Web"]["Properties"]["SecurityGroupIngress"]
            .as_array()
            .unwrap();
        assert_eq!(ing.len(), 3);
        assert_eq!(
            ing[0]["SourceSecurityGroupId"],
            json!({"Fn::GetAtt": ["App", "GroupId"]})
        );
        assert_eq!(ing[0]["Description"], json!("from app"));
        assert_eq!(ing[1]["CidrIp"], json!("10.0.0.0/8"));
        assert_eq!(
            ing[2],
            t.value["Resources"]["Web"]["Properties"]["SecurityGroupIngress"][1]
        );
        // everything else untouched
        assert_eq!(
            resources_except(&p, &["Web"]),
            resources_except(&t.value, &["Web"])
        );
        assert_eq!(p["Parameters"], t.value["Parameters"]);
        // round trip: text → value → same; and the template re-parses with the new rule found
        let text = serde_json::to_string_pretty(&p).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        let t2 = Template::from_value(
            back,
            Path::new("p.json"),
            &[sg("sg-web", "web-sg"), sg("sg-app", "x-App-y")],
            &HashMap::new(),
        )
        .unwrap();
        let app = RuleTarget::Group {
            group_id: "sg-app".into(),
            user_id: None,
        };
        assert!(t2
            .find_rule(
                "sg-web",
                RuleDirection::Ingress,
                &Protocol::TCP,
                Some(443),
                Some(443),
                &app
            )
            .is_some());
    }

    #[test]
    fn patch_egress_removal_keeps_deny_placeholder() {
        let t = template();
        let p = t.patched(&[TemplateEdit::Remove {
            at: RuleLocation::Inline {
                logical_id: "App".into(),
                direction: RuleDirection::Egress,
                index: 0,
            },
        }]);
        assert_eq!(
            p["Resources"]["App"]["Properties"]["SecurityGroupEgress"],
            json!([deny_all_egress()])
        );
        // implicit egress replaced by specific rules
        let p = t.patched(&[TemplateEdit::Replace {
            at: RuleLocation::ImplicitEgress {
                logical_id: "Web".into(),
            },
            with: vec![RuleSpec {
                protocol: Protocol::UDP,
                from_port: Some(53),
                to_port: Some(53),
                target: RuleTarget::Cidr("10.0.0.2/32".parse().unwrap()),
                description: None,
            }],
        }]);
        assert_eq!(
            p["Resources"]["Web"]["Properties"]["SecurityGroupEgress"],
            json!([{"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIp": "10.0.0.2/32"}])
        );
    }

    #[test]
    fn patch_standalone_and_adds() {
        let t = template();
        let specs = |n: u16| RuleSpec {
            protocol: Protocol::TCP,
            from_port: Some(n),
            to_port: Some(n),
            target: RuleTarget::Cidr("10.8.1.0/24".parse().unwrap()),
            description: None,
        };
        let p = t.patched(&[
            TemplateEdit::Replace {
                at: RuleLocation::Resource {
                    logical_id: "AppFromVpn".into(),
                    direction: RuleDirection::Ingress,
                },
                with: vec![specs(8080), specs(8081)],
            },
            TemplateEdit::Remove {
                at: RuleLocation::Resource {
                    logical_id: "ExtIngress".into(),
                    direction: RuleDirection::Ingress,
                },
            },
            TemplateEdit::Add {
                group_id: "sg-web".into(),
                direction: RuleDirection::Egress,
                rule: specs(5432),
            },
            TemplateEdit::Add {
                group_id: "sg-other".into(),
                direction: RuleDirection::Ingress,
                rule: RuleSpec {
                    protocol: Protocol::All,
                    from_port: None,
                    to_port: None,
                    target: RuleTarget::Group {
                        group_id: "sg-web".into(),
                        user_id: None,
                    },
                    description: None,
                },
            },
        ]);
        let r = p["Resources"].as_object().unwrap();
        let keys: Vec<_> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "Web",
                "App",
                "Bucket",
                "AppFromVpn",
                "AppFromVpn1",
                "FlowscopeIngresssgother"
            ]
        );
        assert_eq!(r["AppFromVpn"]["Condition"], json!("C"));
        assert_eq!(r["AppFromVpn"]["Properties"]["ToPort"], json!(8080));
        assert_eq!(r["AppFromVpn1"]["Properties"]["FromPort"], json!(8081));
        assert_eq!(
            r["AppFromVpn1"]["Properties"]["GroupId"],
            json!({"Fn::GetAtt": ["App", "GroupId"]})
        );
        assert_eq!(
            r["Web"]["Properties"]["SecurityGroupEgress"][0]["FromPort"],
            json!(5432)
        );
        assert_eq!(
            r["FlowscopeIngresssgother"]["Properties"],
            json!({"GroupId": "sg-other", "IpProtocol": "-1", "SourceSecurityGroupId": {"Fn::GetAtt": ["Web", "GroupId"]}})
        );
        assert_eq!(r["Bucket"], t.value["Resources"]["Bucket"]);
    }

    #[test]
    fn empty_egress_list_is_implicit_allow_all() {
        let v = json!({"Resources": {"G": {"Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "g", "SecurityGroupEgress": []}}}});
        let t = Template::from_value(v, Path::new("t.json"), &[], &HashMap::new()).unwrap();
        let rules = t.rules();
        assert_eq!(rules.len(), 1);
        let at = rules[0].0.clone();
        assert_eq!(
            at,
            RuleLocation::ImplicitEgress {
                logical_id: "G".into()
            }
        );
        assert_eq!(rules[0].1.protocol, Some(Protocol::All));
        let p = t.patched(&[TemplateEdit::Remove { at }]);
        assert_eq!(
            p["Resources"]["G"]["Properties"]["SecurityGroupEgress"],
            json!([deny_all_egress()])
        );
    }

    #[test]
    fn bad_templates() {
        let e = Template::from_value(json!([1]), Path::new("t.json"), &[], &HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.json: not a CloudFormation template"),
            "{e}"
        );
        let t = Template::from_value(
            json!({"Resources": {"X": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [1, {"IpProtocol": {"Ref": "P"}}]}},
                "Y": {"Type": "AWS::EC2::SecurityGroupEgress"}, "Z": 3}}),
            Path::new("t.json"),
            &[],
            &HashMap::new(),
        )
        .unwrap();
        let rules = t.rules();
        assert_eq!(rules.len(), 4);
        assert!(rules.iter().all(|(_, r)| r.to_rule().is_none()));
        let _ = t.patched(&[TemplateEdit::Remove {
            at: RuleLocation::Inline {
                logical_id: "X".into(),
                direction: RuleDirection::Ingress,
                index: 99,
            },
        }]);
    }
}
