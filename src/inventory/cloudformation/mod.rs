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
//! that matches nothing (ICMP type 252 code 86 to 255.255.255.255/32) is written instead. A new
//! rule that references a group is written as a standalone resource, never inline: inline
//! references in both directions are a circular dependency CloudFormation refuses.
//!
//! A `CidrIp` written as an intrinsic is resolved when the template says what it is
//! (`Fn::GetAtt [Vpc, CidrBlock]` of a VPC with a literal `CidrBlock`), or else when exactly one
//! live rule can be the one meant (`live`).
//!
//! Modules: `live` maps template groups to live ids, `read` lists and finds rules,
//! `patch` writes edits back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::util::read_text;
use super::{InventoryError, Protocol, Rule, RuleDirection, RuleTarget, SecurityGroup};

mod live;
mod patch;
mod read;
#[cfg(test)]
mod tests;

pub use patch::deny_all_egress;

const SG_TYPE: &str = "AWS::EC2::SecurityGroup";
const INGRESS_TYPE: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS_TYPE: &str = "AWS::EC2::SecurityGroupEgress";
const VPC_TYPE: &str = "AWS::EC2::VPC";

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
    /// Rules whose `CidrIp`/`CidrIpv6` is an intrinsic (a parameter, an import, ...) that the
    /// live group's rules resolve unambiguously.
    live_cidrs: HashMap<RuleLocation, IpNet>,
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

pub(super) fn inline_key(d: RuleDirection) -> &'static str {
    match d {
        RuleDirection::Ingress => "SecurityGroupIngress",
        RuleDirection::Egress => "SecurityGroupEgress",
    }
}

pub(super) fn string_value(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
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
            Some(p) => live::parse_stack_resources(p)?,
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
            let group_id = live::resolve_live_id(lid, group_name.as_deref(), live, stack);
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
        let mut t = Template {
            value,
            path: path.to_path_buf(),
            groups,
            warnings,
            live_cidrs: HashMap::new(),
        };
        t.live_cidrs = live::intrinsic_cidrs(&t, live);
        Ok(t)
    }

    /// Why `-o cfn` can change nothing in this template: it defines no security group and
    /// no standalone rule, or none of its groups is one of `live` (another stack, account or
    /// region, or groups renamed since). `None` when at least one group matches.
    pub fn match_problem(&self, live: &[SecurityGroup]) -> Option<String> {
        let path = self.path.display();
        let rules = self.rules();
        let standalone = rules
            .iter()
            .filter(|(l, _)| matches!(l, RuleLocation::Resource { .. }))
            .count();
        if self.groups.is_empty() && standalone == 0 {
            return Some(format!(
                "{path} defines no AWS::EC2::SecurityGroup and no AWS::EC2::SecurityGroupIngress/Egress resource"
            ));
        }
        let known = |id: &str| live.iter().any(|g| g.group_id == id);
        let matched = self
            .groups
            .iter()
            .filter_map(|g| g.group_id.as_deref())
            .chain(rules.iter().filter_map(|(_, r)| r.group_id.as_deref()))
            .any(known);
        if matched {
            return None;
        }
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        Some(format!(
            "none of the {} and {} of {path} matches a group of the inventory ({}), so there \
             is nothing to patch. Template groups are matched \
             by the aws:cloudformation:logical-id tag, a literal GroupName or a \
             <stack>-<LogicalId>-<suffix> name; check that the template and the inventory are of \
             the same stack, account and region, or give --stack-resources FILE (aws cloudformation \
             describe-stack-resources)",
            n(self.groups.len(), "security group"),
            n(standalone, "standalone rule"),
            n(live.len(), "group"),
        ))
    }

    pub(super) fn group_by_logical(&self, lid: &str) -> Option<&TemplateGroup> {
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

    pub(super) fn resources(&self) -> Option<&Map<String, Value>> {
        self.value.get("Resources").and_then(Value::as_object)
    }
}
