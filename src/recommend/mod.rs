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
mod simulate;
mod targets;

pub use attribute::attribute;
pub use labels::{group_label, rule_ports, spec_label, spec_ports};
pub use simulate::{applied_rules, rule_from_spec, simulate};

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::aggregate::Summary;
use crate::inventory::{Inventory, Protocol, Rule, RuleDirection, RuleSpec, RuleTarget};
use evidence::{coverage_cap, evidence, unused_confidence};
use labels::{port_label, ports_label};
use targets::{egress_proposal, targets_for};

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

/// Step 2: proposals per rule.
/// Rules in `frozen` (group index, rule index) get advice only: a change
/// to them was found unsafe.
pub fn propose(
    inv: &Inventory,
    summary: &Summary,
    rules: &[RuleReport],
    s: &Settings,
    frozen: &BTreeSet<(usize, usize)>,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let window = summary.window;
    let seen = attribute::group_interfaces(inv, summary);
    let logged_ifaces = attribute::logged_interfaces(summary);
    for rr in rules {
        let r = &rr.rule;
        let group = &inv.groups[rr.group_index];
        let (n_if, logged) = seen[rr.group_index];
        let ev = evidence(inv, rr, window, n_if, logged);
        let mk = |kind: Kind,
                  proposed: Vec<RuleSpec>,
                  confidence: Confidence,
                  reason: String,
                  headline: String| {
            Recommendation {
                kind,
                group_index: rr.group_index,
                rule_index: rr.rule_index,
                rule: r.clone(),
                proposed,
                evidence: ev.clone(),
                confidence,
                reason,
                headline,
                controls: controls::for_rule(r),
            }
        };
        let name = group_label(inv, &group.group_id);
        let what = format!(
            "{} {} {} {}",
            rule_ports(r),
            if r.direction == RuleDirection::Ingress {
                "from"
            } else {
                "to"
            },
            r.target,
            ""
        );
        let what = what.trim_end().to_string();
        let world = is_world(&r.target);
        let sensitive = if world && r.direction == RuleDirection::Ingress {
            sensitive_ports(r)
        } else {
            Vec::new()
        };
        if !sensitive.is_empty() {
            let names: Vec<String> = sensitive
                .iter()
                .take(6)
                .map(|(p, n)| format!("{p} ({n})"))
                .collect();
            out.push(mk(
                Kind::ReviewPublic,
                Vec::new(),
                Confidence::High,
                format!(
                    "administrative or database ports open to the whole internet: {}{}",
                    names.join(", "),
                    if sensitive.len() > 6 { ", …" } else { "" }
                ),
                format!(
                    "{name}: {what} exposes {} to the internet",
                    names.join(", ")
                ),
            ));
        }
        match rr.status {
            RuleStatus::Unobserved | RuleStatus::Unobservable => continue,
            RuleStatus::Unused => {
                let (conf, why) = unused_confidence(inv, &logged_ifaces, &group.group_id, window);
                let egress_all =
                    r.direction == RuleDirection::Egress && r.protocol == Protocol::All && world;
                out.push(mk(
                    if egress_all { Kind::TightenEgress } else { Kind::RemoveUnused },
                    Vec::new(),
                    conf,
                    format!("no accepted flow matched this rule on the {logged} logged interfaces of the group; {why}"),
                    format!("{name}: remove {} {what} (unused)", r.direction),
                ));
                continue;
            }
            RuleStatus::Used => {}
        }
        let hits = &rr.hits;
        let ports_used = hits.ports();
        let port_specs = narrowed_ports(r, &ports_used);
        // Allow-all egress: rebuild from what the interfaces initiated.
        if r.direction == RuleDirection::Egress && r.protocol == Protocol::All && world {
            let (proposed, public) = egress_proposal(inv, r, hits, s);
            let conf = if proposed.len() > 25 {
                Confidence::Low
            } else {
                Confidence::Medium
            };
            let list: Vec<String> = proposed.iter().take(6).map(spec_label).collect();
            out.push(mk(
                Kind::TightenEgress,
                proposed.clone(),
                conf,
                format!(
                    "egress initiated by the group's interfaces used {} destination services; responses to inbound traffic need no egress rule (groups are stateful){}",
                    hits.by_service.len() + hits.many.len(),
                    public_reason(&public)
                ),
                format!("{name}: replace allow-all egress with {} rule(s): {}{}", proposed.len(), list.join("; "), if proposed.len() > 6 { "; …" } else { "" }),
            ));
            if let Some(last) = out.last_mut() {
                last.evidence.public_destinations = public;
            }
            continue;
        }
        let RuleTarget::Cidr(net) = &r.target else {
            // Group and prefix-list targets: only ports can narrow.
            if let Some(specs) = port_specs {
                let proposed: Vec<RuleSpec> = specs
                    .iter()
                    .map(|&(f, t)| spec(r, f, t, r.target.clone()))
                    .collect();
                out.push(mk(
                    Kind::NarrowPorts,
                    proposed.clone(),
                    Confidence::Medium,
                    format!(
                        "only ports {} of {} were used",
                        ports_label(&ports_used),
                        rule_ports(r)
                    ),
                    format!(
                        "{name}: narrow {what} to {}",
                        proposed
                            .iter()
                            .map(spec_label)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            continue;
        };
        let peers = hits.peers();
        let public: Vec<&IpAddr> = peers
            .keys()
            .filter(|ip| inv.groups_of_addr(**ip).is_empty())
            .collect();
        if world && (hits.has_many() || public.len() >= s.public_peers) {
            out.push(mk(
                Kind::ReviewPublic,
                Vec::new(),
                Confidence::High,
                format!(
                    "real public traffic: {}{} distinct addresses without a security group of ours; keep the rule",
                    if hits.has_many() { "more than " } else { "" },
                    public.len().max(if hits.has_many() { crate::aggregate::peers::EXACT_PEERS } else { 0 })
                ),
                format!("{name}: keep {what}: it serves the internet"),
            ));
            if let Some(specs) = port_specs {
                let proposed: Vec<RuleSpec> = specs
                    .iter()
                    .map(|&(f, t)| spec(r, f, t, r.target.clone()))
                    .collect();
                out.push(mk(
                    Kind::NarrowPorts,
                    proposed,
                    Confidence::Medium,
                    format!("only ports {} were used", ports_label(&ports_used)),
                    format!(
                        "{name}: narrow {what} to ports {}",
                        ports_label(&ports_used)
                    ),
                ));
            }
            continue;
        }
        if hits.has_many() {
            continue; // too many peers to narrow a non-world rule safely
        }
        let port_ranges = port_specs
            .clone()
            .unwrap_or_else(|| vec![(r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535))]);
        let t = targets_for(inv, &peers, false, Some(net), s);
        // Groups plus the whole internet again is no tightening: narrow ports instead.
        if !t.groups.is_empty() && !(t.world && world) {
            // Peers are interfaces of a few groups (plus, perhaps, a few
            // addresses of our own): reference the groups.
            let mut proposed = Vec::new();
            for target in t.all() {
                for &(f, to) in &port_ranges {
                    proposed.push(spec(r, f, to, target.clone()));
                }
            }
            let labels: Vec<String> = t.groups.iter().map(|g| group_label(inv, g)).collect();
            let extra = if t.cidrs.is_empty() {
                String::new()
            } else {
                format!(
                    " and {}",
                    t.cidrs
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let conf = if hits.flows >= 50 && logged == n_if && t.cidrs.is_empty() {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(mk(
                Kind::ReplaceCidrWithGroup,
                proposed,
                conf,
                format!(
                    "{} of the {} peers are interfaces of {}; a group reference follows them as they scale and admits nobody else",
                    t.grouped_peers,
                    peers.len(),
                    labels.join(" and ")
                ),
                format!(
                    "{name}: allow {} {} {}{} instead of {}",
                    port_label(r, &port_ranges),
                    if r.direction == RuleDirection::Ingress { "from" } else { "to" },
                    labels.join(" and "),
                    extra,
                    net
                ),
            ));
            attach_public(&mut out, &t.public);
            continue;
        }
        // Otherwise: the smallest covering prefixes, when much narrower.
        if !t.cidrs.is_empty() && !t.world && cidr::share_of(&t.cidrs, net) <= 0.25 {
            let mut proposed = Vec::new();
            for n in &t.cidrs {
                for &(f, to) in &port_ranges {
                    proposed.push(spec(r, f, to, RuleTarget::Cidr(*n)));
                }
            }
            let nets: Vec<String> = t.cidrs.iter().map(|n| n.to_string()).collect();
            out.push(mk(
                Kind::NarrowCidr,
                proposed,
                Confidence::Medium,
                format!(
                    "the {} peers fit in {}{}",
                    peers.len(),
                    nets.join(", "),
                    public_reason(&t.public)
                ),
                format!("{name}: narrow {what} to {}", nets.join(", ")),
            ));
            attach_public(&mut out, &t.public);
            continue;
        }
        if let Some(specs) = port_specs {
            let proposed: Vec<RuleSpec> = specs
                .iter()
                .map(|&(f, t)| spec(r, f, t, r.target.clone()))
                .collect();
            out.push(mk(
                Kind::NarrowPorts,
                proposed,
                Confidence::Medium,
                format!(
                    "only ports {} of {} were used",
                    ports_label(&ports_used),
                    rule_ports(r)
                ),
                format!(
                    "{name}: narrow {what} to ports {}",
                    ports_label(&ports_used)
                ),
            ));
        }
    }
    // Confidence knows how much was seen.
    for rec in out.iter_mut().filter(|r| r.kind.changes_rules()) {
        let group = &inv.groups[rec.group_index].group_id;
        let skipdata: u64 = inv
            .interfaces_with_group(group)
            .filter_map(|i| logged_ifaces.get(i.id.as_str()))
            .map(|s| s.skipdata)
            .sum();
        if let Some((cap, why)) = coverage_cap(rec.kind, window, skipdata) {
            if rec.confidence > cap {
                rec.confidence = cap;
                rec.reason
                    .push_str(&format!("; confidence at most {}: {why}", cap.as_str()));
            }
        }
    }
    out.retain(|r| !r.kind.changes_rules() || !frozen.contains(&(r.group_index, r.rule_index)));
    out.sort_by(|a, b| {
        (a.group_index, a.rule_index, a.kind).cmp(&(b.group_index, b.rule_index, b.kind))
    });
    dedupe(&mut out);
    out
}

/// Says which public peers were not pinned, and through what the pinned ones are allowed.
fn public_reason(public: &[destinations::PublicDestination]) -> String {
    if public.is_empty() {
        return String::new();
    }
    let world: Vec<&str> = public
        .iter()
        .filter(|p| p.allowed_as.ends_with("/0"))
        .map(|p| p.address.as_str())
        .collect();
    let pinned: Vec<String> = public
        .iter()
        .filter(|p| !p.allowed_as.ends_with("/0"))
        .map(|p| match &p.aws_service {
            Some(svc) => format!("{} (AWS {svc}) through {}", p.address, p.allowed_as),
            None => format!("{} through {}", p.address, p.allowed_as),
        })
        .collect();
    let mut out = String::new();
    if !world.is_empty() {
        let shown: Vec<&str> = world.iter().take(4).copied().collect();
        out.push_str(&format!(
            "; {} public destination(s) ({}{}) are not pinned: addresses of third-party and AWS services change, \
             so they are allowed by port to the internet (declare stable ranges with --stable-cidrs, \
             AWS ranges with --aws-ip-ranges and --aws-prefix-lists)",
            world.len(),
            shown.join(", "),
            if world.len() > 4 { ", …" } else { "" }
        ));
    }
    if !pinned.is_empty() {
        out.push_str(&format!(
            "; public destinations in stable ranges: {}",
            pinned.join(", ")
        ));
    }
    out
}

fn attach_public(out: &mut [Recommendation], public: &[destinations::PublicDestination]) {
    if let Some(last) = out.last_mut() {
        last.evidence.public_destinations = public.to_vec();
    }
}

/// Two rules of one group used by the same flows (catalog's `8080 from
/// 0.0.0.0/0` and `8080-8090 from 10.0.0.0/16`) would both be replaced by
/// the same rule; EC2 rejects duplicate permissions, so the later one's
/// duplicates are dropped: the earlier replacement covers its flows.
fn dedupe(recs: &mut [Recommendation]) {
    let key = |gi: usize, d: RuleDirection, p: &RuleSpec| {
        (
            gi,
            d,
            p.protocol,
            p.from_port,
            p.to_port,
            p.target.to_string(),
        )
    };
    let mut seen = BTreeSet::new();
    let mut changed_rules = BTreeSet::new();
    for rec in recs.iter_mut().filter(|r| r.kind.changes_rules()) {
        if !changed_rules.insert((rec.group_index, rec.rule_index)) {
            continue; // only the first change of a rule is applied
        }
        let before = rec.proposed.len();
        let (gi, d) = (rec.group_index, rec.rule.direction);
        rec.proposed.retain(|p| seen.insert(key(gi, d, p)));
        if rec.proposed.len() < before {
            rec.reason.push_str(&format!(
                "; {} of the {} replacement rules are already proposed for another rule of this group",
                before - rec.proposed.len(),
                before
            ));
            if rec.proposed.is_empty() {
                rec.headline.push_str(" (redundant: remove it)");
            }
        }
    }
}

fn spec(r: &Rule, from: u16, to: u16, target: RuleTarget) -> RuleSpec {
    let (from_port, to_port) = if r.protocol.has_ports() {
        (Some(from), Some(to))
    } else if r.protocol.is_icmp() {
        (r.icmp_type.map(u16::from), r.icmp_code.map(u16::from))
    } else {
        (None, None)
    };
    RuleSpec {
        protocol: r.protocol,
        from_port,
        to_port,
        target,
        description: Some(format!(
            "flowscope: {}",
            r.description.clone().unwrap_or_else(|| "tightened".into())
        )),
    }
}

/// The used ports as ranges, when a tcp/udp rule's range is wider.
fn narrowed_ports(r: &Rule, used: &BTreeSet<u16>) -> Option<Vec<(u16, u16)>> {
    if !r.protocol.has_ports() || used.is_empty() {
        return None;
    }
    let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
    if f == t {
        return None;
    }
    let v: Vec<u16> = used.iter().copied().collect();
    let ranges = cidr::port_ranges(&v, 3);
    let width: u32 = ranges.iter().map(|(a, b)| (*b - *a) as u32 + 1).sum();
    if width < (t - f) as u32 + 1 {
        Some(ranges)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
