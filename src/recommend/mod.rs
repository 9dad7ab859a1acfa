//! From observed traffic to least-privilege security groups.
//!
//! Three steps, all pure (no I/O):
//! 1. `attribute` ([`attribute`]): every accepted flow the interface
//!    initiated or served (rows of known rule direction) is matched, peer by
//!    peer, against the rules of the interface's groups; every matching rule
//!    gets the hit (groups are a union). Flows no rule visibly admits are
//!    kept as findings: *unattributed* when a rule whose source cannot be
//!    evaluated may admit them, *unexplained* otherwise; so are REJECTs on
//!    ports a rule opens to others. A rule whose source cannot be evaluated
//!    is `unobservable`: never unused, never changed.
//! 2. `propose`: per rule, the tightest change the evidence supports
//!    (`replace-cidr-with-group`, `narrow-cidr`, `narrow-ports`,
//!    `remove-unused`, `tighten-egress`) or an advisory `review-public`.
//! 3. `simulate` ([`simulate`]): the proposals are applied to a copy of the
//!    groups and every accepted flow is checked again. A change that would
//!    deny one, or touch a rule that may admit an unattributed one, is
//!    withdrawn and the proposals are made again without it.

mod attribute;
pub mod cidr;
pub mod controls;
pub mod destinations;
mod evidence;
mod labels;
mod propose;
pub mod services;
mod simulate;
mod targets;

pub use attribute::attribute;
pub use labels::{group_label, rule_ports, spec_label, spec_label_named, spec_ports};
pub use propose::propose;
pub use simulate::{applied_rules, rule_from_spec, simulate};

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::aggregate::Summary;
use crate::inventory::{Inventory, Protocol, Rule, RuleSpec, RuleTarget};

/// Tuning knobs (documented in `--help`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest number of groups a CIDR may be replaced with.
    pub max_groups: usize,
    /// Largest number of prefixes a narrowed CIDR may become.
    pub max_prefixes: usize,
    /// A world-open rule used by at least this many internet addresses is
    /// real public traffic: kept, with a `review-public` note.
    pub public_peers: usize,
    /// Up to this many addresses outside our groups are listed as /32
    /// (/128) prefixes rather than merged into wider ones.
    pub max_hosts: usize,
    /// Public ranges that may be pinned: declared stable, published by AWS, AWS-managed lists.
    pub known: std::sync::Arc<destinations::KnownRanges>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_groups: 5,
            max_prefixes: 4,
            public_peers: 32,
            max_hosts: 8,
            known: Default::default(),
        }
    }
}

/// Ports that should never be open to the world.
pub const SENSITIVE_PORTS: &[(u16, &str)] = &[
    (21, "FTP"),
    (22, "SSH"),
    (23, "Telnet"),
    (135, "MS RPC"),
    (139, "NetBIOS"),
    (445, "SMB"),
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (2375, "Docker API"),
    (2376, "Docker API"),
    (3306, "MySQL"),
    (3389, "RDP"),
    (5432, "PostgreSQL"),
    (5900, "VNC"),
    (5984, "CouchDB"),
    (6379, "Redis"),
    (9042, "Cassandra"),
    (9200, "Elasticsearch"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
];

/// Traffic of one peer on one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeerHit {
    pub flows: u64,
    pub bytes: u64,
}

/// (protocol, service port) of attributed traffic.
pub type Service = (u8, Option<u16>);

/// What one rule was used for.
#[derive(Debug, Clone, Default)]
pub struct RuleHits {
    pub flows: u64,
    pub bytes: u64,
    /// Exact peers per service.
    pub by_service: BTreeMap<Service, BTreeMap<IpAddr, PeerHit>>,
    /// Services whose peers were too many to list (over the exact cap).
    pub many: BTreeMap<Service, u64>,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    /// Interfaces the hits were seen on.
    pub interfaces: BTreeSet<String>,
    /// Accepted flows no rule visibly admitted that this rule may have admitted (its source
    /// cannot be evaluated, or the row had too many peers to list).
    pub unattributed_flows: u64,
}

impl RuleHits {
    fn add(
        &mut self,
        svc: Service,
        peer: Option<IpAddr>,
        flows: u64,
        bytes: u64,
        span: (Option<u64>, Option<u64>),
    ) {
        self.flows += flows;
        self.bytes = self.bytes.saturating_add(bytes);
        match peer {
            Some(p) => {
                let h = self
                    .by_service
                    .entry(svc)
                    .or_default()
                    .entry(p)
                    .or_default();
                h.flows += flows;
                h.bytes = h.bytes.saturating_add(bytes);
            }
            None => *self.many.entry(svc).or_default() += flows,
        }
        if let Some(f) = span.0 {
            self.first_seen = Some(self.first_seen.map_or(f, |x| x.min(f)));
        }
        if let Some(l) = span.1 {
            self.last_seen = Some(self.last_seen.map_or(l, |x| x.max(l)));
        }
    }

    /// Distinct peers over all services (a lower bound when `many`).
    pub fn peers(&self) -> BTreeMap<IpAddr, PeerHit> {
        let mut out: BTreeMap<IpAddr, PeerHit> = BTreeMap::new();
        for m in self.by_service.values() {
            for (ip, h) in m {
                let e = out.entry(*ip).or_default();
                e.flows += h.flows;
                e.bytes = e.bytes.saturating_add(h.bytes);
            }
        }
        out
    }

    /// True when some peers could not be listed.
    pub fn has_many(&self) -> bool {
        !self.many.is_empty()
    }

    /// Ports used (services with ports).
    pub fn ports(&self) -> BTreeSet<u16> {
        self.by_service
            .keys()
            .chain(self.many.keys())
            .filter_map(|s| s.1)
            .collect()
    }
}

/// Whether a rule's interfaces were seen at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// At least one accepted flow matched.
    Used,
    /// Interfaces with the group were logged, nothing matched.
    Unused,
    /// No interface with the group appears in the logs (not even NODATA):
    /// nothing can be concluded.
    Unobserved,
    /// Whether it admitted a flow cannot be told: its source is a prefix
    /// list whose entries were not given, or a group whose members are
    /// unknown (another account's, a peered VPC's); or every flow it may
    /// have admitted came from too many peers to list. Never unused, never
    /// changed.
    Unobservable,
}

/// A rule with its hits.
#[derive(Debug, Clone)]
pub struct RuleReport {
    pub group_index: usize,
    pub rule_index: usize,
    pub rule: Rule,
    pub hits: RuleHits,
    pub status: RuleStatus,
}

/// The kinds of recommendation (JSON `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ReplaceCidrWithGroup,
    NarrowCidr,
    NarrowPorts,
    RemoveUnused,
    TightenEgress,
    ReviewPublic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ReplaceCidrWithGroup => "replace-cidr-with-group",
            Kind::NarrowCidr => "narrow-cidr",
            Kind::NarrowPorts => "narrow-ports",
            Kind::RemoveUnused => "remove-unused",
            Kind::TightenEgress => "tighten-egress",
            Kind::ReviewPublic => "review-public",
        }
    }

    /// True when applying it changes the rules (review-public only advises).
    pub fn changes_rules(self) -> bool {
        self != Kind::ReviewPublic
    }
}

/// A `--kind` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindArg(pub Kind);

impl KindArg {
    pub fn parse(s: &str) -> Result<KindArg, String> {
        use Kind::*;
        [ReplaceCidrWithGroup, NarrowCidr, NarrowPorts, RemoveUnused, TightenEgress, ReviewPublic]
            .into_iter()
            .find(|k| k.as_str() == s)
            .map(KindArg)
            .ok_or_else(|| format!("unknown kind {s:?}: one of replace-cidr-with-group, narrow-cidr, narrow-ports, remove-unused, tighten-egress, review-public"))
    }
}

/// A `--min-confidence` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfidenceArg(pub Confidence);

impl ConfidenceArg {
    pub fn parse(s: &str) -> Result<ConfidenceArg, String> {
        match s {
            "low" => Ok(ConfidenceArg(Confidence::Low)),
            "medium" => Ok(ConfidenceArg(Confidence::Medium)),
            "high" => Ok(ConfidenceArg(Confidence::High)),
            _ => Err(format!("unknown confidence {s:?}: low, medium or high")),
        }
    }
}

/// How sure we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A peer named in evidence.
#[derive(Debug, Clone, Serialize)]
pub struct PeerEvidence {
    pub address: String,
    pub interface_id: Option<String>,
    pub role: Option<String>,
    pub groups: Vec<String>,
    pub flows: u64,
    pub bytes: u64,
}

/// Why: the numbers behind a recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub flows: u64,
    pub bytes: u64,
    pub peers: u64,
    pub peers_exact: bool,
    pub top_peers: Vec<PeerEvidence>,
    /// Groups the peers belong to, with how many peers each.
    pub peer_groups: BTreeMap<String, u64>,
    pub ports: Vec<u16>,
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    /// The observation window (all logs read).
    pub window_start: Option<u64>,
    pub window_end: Option<u64>,
    /// Interfaces carrying the group, and how many of them were logged.
    pub interfaces: u64,
    pub interfaces_logged: u64,
    /// Public peers of the rule and how the proposal allows them (never pinned to the address
    /// itself: see `destinations`). Empty when there were none.
    pub public_destinations: Vec<destinations::PublicDestination>,
}

/// One recommendation.
#[derive(Debug, Clone)]
pub struct Recommendation {
    pub kind: Kind,
    pub group_index: usize,
    pub rule_index: usize,
    pub rule: Rule,
    /// The rules that replace `rule` (empty: remove it; ignored for review-public).
    pub proposed: Vec<RuleSpec>,
    pub evidence: Evidence,
    pub confidence: Confidence,
    pub reason: String,
    /// One line for people: what to do.
    pub headline: String,
    /// Security Hub / CIS controls the rule fails (world-open ingress only).
    pub controls: Vec<controls::Control>,
}

/// An accepted flow no rule explains.
#[derive(Debug, Clone, Serialize)]
pub struct Unexplained {
    pub interface_id: String,
    pub direction: &'static str,
    pub protocol: u8,
    pub port: Option<u16>,
    pub peer: Option<String>,
    pub flows: u64,
    pub bytes: u64,
}

/// An accepted flow no rule visibly admits, but that `rules` may admit
/// (their sources cannot be evaluated, or the peers were too many to list).
/// Those rules are left unchanged.
#[derive(Debug, Clone, Serialize)]
pub struct Unattributed {
    pub interface_id: String,
    pub direction: &'static str,
    pub protocol: u8,
    pub port: Option<u16>,
    pub peer: Option<String>,
    pub flows: u64,
    pub bytes: u64,
    /// `group ports target` of each rule that may admit it.
    pub rules: Vec<String>,
}

/// REJECTed traffic to a port an ingress rule opens to other sources.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedOpen {
    pub interface_id: String,
    pub protocol: u8,
    pub port: Option<u16>,
    pub flows: u64,
    pub peers: u64,
    pub top_peers: Vec<String>,
    pub rules: Vec<String>,
}

/// Traffic on interfaces the inventory does not know.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownInterface {
    pub interface_id: String,
    pub flows: u64,
    pub bytes: u64,
}

/// Result of re-checking every accepted initiating flow after applying
/// every proposal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Safety {
    /// Accepted flows a rule visibly admitted, all still admitted.
    pub checked_flows: u64,
    pub checked_peers: u64,
    /// Accepted flows no rule could be shown to admit, but some rule may:
    /// every such rule is left as it is.
    pub unattributed_flows: u64,
    /// Changes withdrawn because they would deny (or might deny) accepted
    /// flows: `headline: why`.
    pub withdrawn: Vec<String>,
    /// Flows the remaining changes would deny (empty unless flowscope has a
    /// bug).
    pub violations: Vec<String>,
}

/// Everything `recommend` found.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub rules: Vec<RuleReport>,
    pub recommendations: Vec<Recommendation>,
    pub unexplained: Vec<Unexplained>,
    pub unexplained_flows: u64,
    pub unattributed: Vec<Unattributed>,
    pub unattributed_flows: u64,
    pub rejected_open: Vec<RejectedOpen>,
    pub unknown_interfaces: Vec<UnknownInterface>,
    pub unknown_direction_flows: u64,
    pub safety: Safety,
    pub window: Option<(u64, u64)>,
    /// Default group in use or with rules, unattached groups, stale references.
    pub group_findings: Vec<controls::GroupFinding>,
}

impl Analysis {
    /// Keeps the recommendations of `groups` (all when empty), of `kinds` (all when empty), of
    /// at least `min` confidence, and the group findings of `groups`: what every output shows.
    /// The analysis (and its safety check) covered every group; this only hides.
    pub fn select(&mut self, groups: &[String], kinds: &[KindArg], min: Confidence) {
        self.recommendations.retain(|r| {
            (groups.is_empty() || groups.contains(&r.rule.group_id))
                && (kinds.is_empty() || kinds.iter().any(|k| k.0 == r.kind))
                && r.confidence >= min
        });
        if !groups.is_empty() {
            self.group_findings.retain(|f| groups.contains(&f.group_id));
        }
    }
}

/// Runs the three steps. A change the simulation finds unsafe is withdrawn
/// (its rule frozen) and the proposals are made again, until none is: each
/// round freezes at least one more rule, so this ends.
pub fn analyse(inv: &Inventory, summary: &Summary, settings: &Settings) -> Analysis {
    let mut a = attribute(inv, summary);
    a.group_findings = controls::group_findings(inv);
    let mut frozen: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut withdrawn = Vec::new();
    loop {
        a.recommendations = propose(inv, summary, &a.rules, settings, &frozen);
        let (mut safety, violations) = simulate::check(inv, summary, &a.recommendations);
        let mut progress = false;
        for v in &violations {
            for &rule in &v.rules {
                if !frozen.insert(rule) {
                    continue;
                }
                progress = true;
                for rec in a
                    .recommendations
                    .iter()
                    .filter(|r| r.kind.changes_rules() && (r.group_index, r.rule_index) == rule)
                {
                    withdrawn.push(format!("{}: withdrawn: {}", rec.headline, v.text));
                }
            }
        }
        if violations.is_empty() || !progress {
            safety.withdrawn = std::mem::take(&mut withdrawn);
            a.safety = safety;
            return a;
        }
    }
}

/// 0.0.0.0/0 or ::/0.
pub fn is_world(t: &RuleTarget) -> bool {
    matches!(t, RuleTarget::Cidr(n) if n.prefix_len() == 0)
}

/// Sensitive ports a rule opens (all of them for protocol -1).
pub fn sensitive_ports(r: &Rule) -> Vec<(u16, &'static str)> {
    match r.protocol {
        Protocol::All => SENSITIVE_PORTS.to_vec(),
        p if p.has_ports() => {
            let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
            SENSITIVE_PORTS
                .iter()
                .copied()
                .filter(|(port, _)| *port >= f && *port <= t)
                .collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
