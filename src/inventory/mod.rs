//! Security-group, network-interface, prefix-list and CloudFormation inventory.
//!
//! Everything is loaded from offline `aws ec2 describe-*` JSON snapshots (and optionally a
//! CloudFormation template), so no AWS credentials are ever needed.
//!
//! Accepted inputs (auto-detected by top-level key, unknown fields ignored):
//! * `aws ec2 describe-security-groups` → `{"SecurityGroups": [...]}`. One `IpPermission` with
//!   several sources expands into one [`Rule`] per source; these rules have no `rule_id`.
//! * `aws ec2 describe-security-group-rules` → `{"SecurityGroupRules": [...]}`: one rule per
//!   source, with its `sgr-` id. A file may hold both keys. When both outputs are given, the
//!   rules output replaces the rules of every group it mentions (so rules carry `rule_id`), and
//!   the groups output supplies names and descriptions.
//! * `aws ec2 describe-network-interfaces` → `{"NetworkInterfaces": [...]}`.
//! * prefix lists: see [`prefix_list`].
//! * a CloudFormation template (JSON or YAML with short tags): see [`cloudformation`].

pub mod cloudformation;
mod load;
pub mod network_interface;
pub mod prefix_list;
pub mod security_group;
mod stale;
mod util;
pub mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use load::{expand_dirs, GROUP_FILES, GROUP_RULE_FILES, INTERFACE_FILES, STALE_GROUP_FILES};
pub use stale::StaleReference;

pub use cloudformation::{
    RuleLocation, RuleSpec, Template, TemplateEdit, TemplateGroup, TemplateRule, TemplateTarget,
};

/// Direction of a security-group rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleDirection {
    Ingress,
    Egress,
}

impl fmt::Display for RuleDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleDirection::Ingress => "ingress",
            RuleDirection::Egress => "egress",
        })
    }
}

/// IP protocol of a rule. Names are normalised to numbers: `tcp` → `Number(6)`, `udp` → 17,
/// `icmp` → 1, `icmpv6` → 58; `-1` (or `all`) → [`Protocol::All`].
///
/// Serialises as the AWS `IpProtocol` string (`"-1"`, `"tcp"`, `"udp"`, `"icmp"`, `"icmpv6"`,
/// or the number as a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    All,
    Number(u8),
}

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

impl Protocol {
    pub const TCP: Protocol = Protocol::Number(TCP);
    pub const UDP: Protocol = Protocol::Number(UDP);
    pub const ICMP: Protocol = Protocol::Number(ICMP);
    pub const ICMPV6: Protocol = Protocol::Number(ICMPV6);

    /// Parse an `IpProtocol` string: a name (case-insensitive), `-1`/`all`, or a number 0..=255.
    pub fn parse(s: &str) -> Option<Protocol> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(Protocol::All),
            "tcp" => Some(Protocol::TCP),
            "udp" => Some(Protocol::UDP),
            "icmp" => Some(Protocol::ICMP),
            "icmpv6" | "icmp6" | "ipv6-icmp" => Some(Protocol::ICMPV6),
            other => other.parse::<u8>().ok().map(Protocol::Number),
        }
    }

    /// From a JSON/YAML value: a string as in [`Protocol::parse`] or an integer (-1 or 0..=255).
    pub fn from_value(v: &serde_json::Value) -> Option<Protocol> {
        match v {
            serde_json::Value::String(s) => Protocol::parse(s),
            serde_json::Value::Number(n) => match n.as_i64()? {
                -1 => Some(Protocol::All),
                x @ 0..=255 => Some(Protocol::Number(x as u8)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The protocol number, `None` for [`Protocol::All`].
    pub fn number(&self) -> Option<u8> {
        match self {
            Protocol::All => None,
            Protocol::Number(n) => Some(*n),
        }
    }

    /// Whether FromPort/ToPort are a port range for this protocol (tcp/udp).
    pub fn has_ports(&self) -> bool {
        matches!(self, Protocol::Number(TCP) | Protocol::Number(UDP))
    }

    /// Whether FromPort/ToPort are an ICMP type/code for this protocol.
    pub fn is_icmp(&self) -> bool {
        matches!(self, Protocol::Number(ICMP) | Protocol::Number(ICMPV6))
    }

    /// The AWS `IpProtocol` spelling.
    pub fn aws_name(&self) -> String {
        match self {
            Protocol::All => "-1".to_string(),
            Protocol::Number(TCP) => "tcp".to_string(),
            Protocol::Number(UDP) => "udp".to_string(),
            Protocol::Number(ICMP) => "icmp".to_string(),
            Protocol::Number(ICMPV6) => "icmpv6".to_string(),
            Protocol::Number(n) => n.to_string(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("all"),
            other => f.write_str(&other.aws_name()),
        }
    }
}

impl Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.aws_name())
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Protocol::from_value(&v)
            .ok_or_else(|| serde::de::Error::custom(format!("bad IpProtocol {v}")))
    }
}

/// What a rule admits traffic from (ingress) or to (egress).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTarget {
    Cidr(IpNet),
    Group {
        group_id: String,
        user_id: Option<String>,
    },
    PrefixList(String),
}

impl fmt::Display for RuleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleTarget::Cidr(n) => write!(f, "{n}"),
            RuleTarget::Group {
                group_id,
                user_id: Some(u),
            } => write!(f, "{u}/{group_id}"),
            RuleTarget::Group { group_id, .. } => f.write_str(group_id),
            RuleTarget::PrefixList(p) => f.write_str(p),
        }
    }
}

/// One security-group rule with exactly one source/destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub group_id: String,
    pub direction: RuleDirection,
    pub protocol: Protocol,
    /// tcp/udp port range, inclusive; `None` = unbounded on that side (`None, None` = all
    /// ports). Always `None` for protocol `-1`, ICMP and other protocols.
    pub from_port: Option<u16>,
    pub to_port: Option<u16>,
    /// ICMP/ICMPv6 type and code; `None` = all.
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub target: RuleTarget,
    pub description: Option<String>,
    /// `sgr-` id when known (describe-security-group-rules input).
    pub rule_id: Option<String>,
}

/// A security group and its rules (one [`Rule`] per source).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub description: String,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub rules: Vec<Rule>,
    /// `Tags` as (key, value), in input order (used to find `aws:cloudformation:logical-id`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl SecurityGroup {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What kind of resource a network interface belongs to (DOMAIN.md 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceKind {
    /// Application or classic load balancer.
    #[serde(rename = "alb")]
    LoadBalancer,
    #[serde(rename = "nlb")]
    NetworkLoadBalancer,
    NatGateway,
    VpcEndpoint,
    Lambda,
    EcsTask,
    Rds,
    #[serde(rename = "elasticache")]
    ElastiCache,
    Instance,
    Other,
}

impl InterfaceKind {
    pub fn label(&self) -> &'static str {
        match self {
            InterfaceKind::LoadBalancer => "alb",
            InterfaceKind::NetworkLoadBalancer => "nlb",
            InterfaceKind::NatGateway => "nat-gateway",
            InterfaceKind::VpcEndpoint => "vpc-endpoint",
            InterfaceKind::Lambda => "lambda",
            InterfaceKind::EcsTask => "ecs-task",
            InterfaceKind::Rds => "rds",
            InterfaceKind::ElastiCache => "elasticache",
            InterfaceKind::Instance => "instance",
            InterfaceKind::Other => "other",
        }
    }

    /// Service-managed interfaces (everything except instances and unknown ones).
    pub fn is_service(&self) -> bool {
        !matches!(self, InterfaceKind::Instance | InterfaceKind::Other)
    }
}

/// Serde names equal the [`InterfaceKind::label`]s.
impl fmt::Display for InterfaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One elastic network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub kind: InterfaceKind,
    /// `InterfaceType` as given (`interface`, `natGateway`, `load_balancer`, ...).
    pub interface_type: String,
    pub description: String,
    pub requester_id: Option<String>,
    pub status: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub instance_id: Option<String>,
    /// Private IPv4 addresses, primary first.
    pub private_ips: Vec<IpAddr>,
    pub ipv6: Vec<IpAddr>,
    pub public_ips: Vec<IpAddr>,
    /// Delegated prefixes (`Ipv4Prefixes`/`Ipv6Prefixes`, EKS prefix delegation).
    pub prefixes: Vec<IpNet>,
    pub group_ids: Vec<String>,
}

/// Files to load; every one optional. Build with `..Default::default()`. Several files of a
/// kind (one per account or region) are merged; see [`Inventory::load`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryPaths {
    /// describe-security-groups (or describe-security-group-rules, auto-detected).
    pub groups: Vec<PathBuf>,
    /// describe-security-group-rules (or describe-security-groups, auto-detected).
    pub group_rules: Vec<PathBuf>,
    pub interfaces: Vec<PathBuf>,
    pub template: Option<PathBuf>,
    /// `aws cloudformation describe-stack-resources` / `list-stack-resources` output.
    pub stack_resources: Option<PathBuf>,
    pub prefix_lists: Vec<PathBuf>,
    /// `aws ec2 describe-stale-security-groups` output.
    pub stale_groups: Vec<PathBuf>,
}

impl InventoryPaths {
    pub fn is_empty(&self) -> bool {
        *self == InventoryPaths::default()
    }
}

/// Errors while loading inventory files. Messages always name the file, and for semantic
/// errors the object (`SecurityGroups[3] (sg-…): IpPermissions[1]: ...`).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: malformed JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: malformed YAML: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    /// Wrong top-level shape or a bad value inside an object.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl InventoryError {
    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        InventoryError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Everything known about the account: groups, interfaces, prefix lists, template.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub groups: Vec<SecurityGroup>,
    pub interfaces: Vec<NetworkInterface>,
    pub prefix_lists: HashMap<String, Vec<IpNet>>,
    pub template: Option<Template>,
    /// Stale rules as `describe-stale-security-groups` reports them (empty when not given).
    pub stale: Vec<StaleReference>,
    pub warnings: Vec<String>,
    index: Index,
}

#[derive(Debug, Clone, Default)]
struct Index {
    group_by_id: HashMap<String, usize>,
    eni_by_id: HashMap<String, usize>,
    /// private IPv4 + IPv6 → interface
    private: HashMap<IpAddr, usize>,
    public: HashMap<IpAddr, usize>,
    /// delegated prefixes, per prefix length (longest first): truncated network → interface
    prefixes: Vec<(u8, HashMap<IpNet, usize>)>,
    /// per interface: its own private + IPv6 addresses
    local: Vec<Vec<IpAddr>>,
    /// group id → the interfaces carrying it (built once: asking per rule would be
    /// O(rules × interfaces))
    members: HashMap<String, Vec<usize>>,
}

const EMPTY_ADDRS: &[IpAddr] = &[];
const EMPTY_IDS: &[String] = &[];

impl Inventory {
    /// Build an inventory from parts (indexes built here; dangling references → warnings).
    pub fn new(
        groups: Vec<SecurityGroup>,
        interfaces: Vec<NetworkInterface>,
        prefix_lists: HashMap<String, Vec<IpNet>>,
    ) -> Inventory {
        let mut inv = Inventory {
            groups,
            interfaces,
            prefix_lists,
            ..Default::default()
        };
        inv.rebuild_index();
        inv
    }

    fn add_warnings(&mut self, w: Vec<String>) {
        for m in w {
            if !self.warnings.contains(&m) {
                self.warnings.push(m);
            }
        }
    }

    /// Rebuild the lookup indexes after editing `groups` or `interfaces` by hand.
    pub fn rebuild_index(&mut self) {
        let mut warnings = Vec::new();
        let mut ix = Index::default();
        for (i, g) in self.groups.iter().enumerate() {
            ix.group_by_id.entry(g.group_id.clone()).or_insert(i);
        }
        let mut by_len: std::collections::BTreeMap<u8, HashMap<IpNet, usize>> = Default::default();
        for (i, eni) in self.interfaces.iter().enumerate() {
            if ix.eni_by_id.insert(eni.id.clone(), i).is_some() {
                self.warnings.push(format!(
                    "network interface {} listed more than once",
                    eni.id
                ));
            }
            for g in &eni.group_ids {
                let m = ix.members.entry(g.clone()).or_default();
                if m.last() != Some(&i) {
                    m.push(i);
                }
            }
            let mut local = Vec::new();
            for ip in eni.private_ips.iter().chain(eni.ipv6.iter()) {
                if let Some(prev) = ix.private.insert(*ip, i) {
                    if prev != i {
                        warnings.push(format!(
                            "address {ip} belongs to both {} and {}",
                            self.interfaces[prev].id, eni.id
                        ));
                    }
                }
                if !local.contains(ip) {
                    local.push(*ip);
                }
            }
            for ip in &eni.public_ips {
                ix.public.entry(*ip).or_insert(i);
            }
            for p in &eni.prefixes {
                by_len
                    .entry(p.prefix_len())
                    .or_default()
                    .insert(p.trunc(), i);
            }
            ix.local.push(local);
        }
        ix.prefixes = by_len.into_iter().rev().collect();
        self.index = ix;
        self.add_warnings(warnings);
    }

    fn check_references(&mut self, have_groups: bool) {
        let mut w = Vec::new();
        for g in &self.groups {
            for r in &g.rules {
                match &r.target {
                    RuleTarget::Group { group_id, user_id } => {
                        if have_groups && !self.index.group_by_id.contains_key(group_id) {
                            let acct = match user_id {
                                Some(u) if Some(u) != g.owner_id.as_ref() => {
                                    format!(" (account {u})")
                                }
                                _ => String::new(),
                            };
                            w.push(format!(
                                "{} ({}) {} rule references {group_id}{acct}, which is not in the inventory",
                                g.group_id, g.group_name, r.direction
                            ));
                        }
                    }
                    RuleTarget::PrefixList(pl) => {
                        if !self.prefix_lists.contains_key(pl) {
                            w.push(format!(
                                "{} ({}) {} rule references prefix list {pl}, whose entries are unknown",
                                g.group_id, g.group_name, r.direction
                            ));
                        }
                    }
                    RuleTarget::Cidr(_) => {}
                }
            }
        }
        if have_groups {
            for eni in &self.interfaces {
                for gid in &eni.group_ids {
                    if !self.index.group_by_id.contains_key(gid) {
                        w.push(format!(
                            "network interface {} uses {gid}, which is not in the security groups file",
                            eni.id
                        ));
                    }
                }
            }
        }
        self.add_warnings(w);
    }

    pub fn group(&self, id: &str) -> Option<&SecurityGroup> {
        self.index.group_by_id.get(id).map(|&i| &self.groups[i])
    }

    pub fn interface(&self, eni_id: &str) -> Option<&NetworkInterface> {
        self.index
            .eni_by_id
            .get(eni_id)
            .map(|&i| &self.interfaces[i])
    }

    fn private_owner(&self, ip: IpAddr) -> Option<usize> {
        if let Some(&i) = self.index.private.get(&ip) {
            return Some(i);
        }
        for (len, map) in &self.index.prefixes {
            if let Ok(net) = IpNet::new(ip, *len) {
                if let Some(&i) = map.get(&net.trunc()) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// The interface owning `ip`: private IPv4, IPv6, delegated prefix, or public address.
    pub fn interface_by_addr(&self, ip: IpAddr) -> Option<&NetworkInterface> {
        self.private_owner(ip)
            .or_else(|| self.index.public.get(&ip).copied())
            .map(|i| &self.interfaces[i])
    }

    /// Security groups of the interface owning `ip` as a *private* (IPv4, IPv6 or delegated
    /// prefix) address; empty for public addresses and unknown ones (SG references never
    /// match public IPs).
    pub fn groups_of_addr(&self, ip: IpAddr) -> &[String] {
        match self.private_owner(ip) {
            Some(i) => &self.interfaces[i].group_ids,
            None => EMPTY_IDS,
        }
    }

    /// The interface's own private IPv4 and IPv6 addresses (no prefixes, no public IPs).
    pub fn local_addrs(&self, eni_id: &str) -> &[IpAddr] {
        match self.index.eni_by_id.get(eni_id) {
            Some(&i) => &self.index.local[i],
            None => EMPTY_ADDRS,
        }
    }

    /// The interfaces that carry group `group_id`, in inventory order.
    pub fn interfaces_with_group<'a>(
        &'a self,
        group_id: &str,
    ) -> impl Iterator<Item = &'a NetworkInterface> + 'a {
        let ix: &'a [usize] = self
            .index
            .members
            .get(group_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        ix.iter().map(move |&i| &self.interfaces[i])
    }

    /// Whether the inventory can tell which peers `target` admits, for a rule of a group owned
    /// by `owner`. Not for a prefix list whose entries were not given, a group that is not in
    /// the inventory (another account's, a peered VPC's), or another account's group none of
    /// whose interfaces were given: its members are unknown, so a flow it does not visibly
    /// admit may still be admitted by it (DOMAIN.md 2.1).
    pub fn can_evaluate(&self, target: &RuleTarget, owner: Option<&str>) -> bool {
        match target {
            RuleTarget::Cidr(_) => true,
            RuleTarget::PrefixList(id) => self.prefix_lists.contains_key(id),
            RuleTarget::Group { group_id, user_id } => {
                if self.group(group_id).is_none() {
                    return false;
                }
                let foreign = match (user_id.as_deref(), owner) {
                    (Some(u), Some(o)) => u != o,
                    _ => false,
                };
                !foreign || self.index.members.contains_key(group_id)
            }
        }
    }

    /// Security groups attached to an interface (unknown ids skipped).
    pub fn groups_of_interface<'a>(
        &'a self,
        eni_id: &str,
    ) -> impl Iterator<Item = &'a SecurityGroup> + 'a {
        let ids: &'a [String] = self
            .interface(eni_id)
            .map(|e| e.group_ids.as_slice())
            .unwrap_or(EMPTY_IDS);
        ids.iter().filter_map(move |g| self.group(g))
    }
}
