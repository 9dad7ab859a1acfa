//! Findings named as the tools people already run name them: AWS Security Hub controls of the
//! AWS Foundational Security Best Practices standard (FSBP) and CIS AWS Foundations Benchmark
//! recommendations, and the group findings they expect beside them.
//!
//! Sources: Security Hub's EC2 controls,
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html> (EC2.2, EC2.13,
//! EC2.14, EC2.18 with its default authorized ports 80 and 443, EC2.19 with its list of
//! high-risk ports, EC2.22, EC2.53, EC2.54), and the CIS mapping table,
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/cis-aws-foundations-benchmark.html>
//! (CIS 1.2.0 4.1 = EC2.13, 4.2 = EC2.14, 4.3 = EC2.2; CIS 1.4.0 5.3 = EC2.2; CIS 3.0.0 5.2 =
//! EC2.53, 5.3 = EC2.54, 5.4 = EC2.2).

use serde::Serialize;

use super::is_world;
use crate::inventory::{Inventory, Protocol, Rule, RuleDirection, RuleTarget, StaleReference};

/// One control of one standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Control {
    /// `aws-fsbp` (Security Hub) or `cis-aws-foundations-<version>`.
    pub standard: &'static str,
    pub id: &'static str,
}

const FSBP: &str = "aws-fsbp";

const fn c(standard: &'static str, id: &'static str) -> Control {
    Control { standard, id }
}

/// EC2.19's "ports with high risk" (Security Hub documentation).
pub const EC2_19_PORTS: &[u16] = &[
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

/// EC2.18's default `authorizedTcpPorts`.
const EC2_18_AUTHORIZED: &[u16] = &[80, 443];

/// The controls a rule fails: ingress from 0.0.0.0/0 or ::/0 only.
pub fn for_rule(r: &Rule) -> Vec<Control> {
    if r.direction != RuleDirection::Ingress || !is_world(&r.target) {
        return Vec::new();
    }
    let opens = |port: u16| match r.protocol {
        Protocol::All => true,
        p if p.has_ports() => {
            r.from_port.unwrap_or(0) <= port && port <= r.to_port.unwrap_or(65535)
        }
        _ => false,
    };
    let v6 = matches!(&r.target, RuleTarget::Cidr(ipnet::IpNet::V6(_)));
    let mut out = Vec::new();
    if opens(22) {
        out.extend([c(FSBP, "EC2.13"), c("cis-aws-foundations-1.2.0", "4.1")]);
    }
    if opens(3389) {
        out.extend([c(FSBP, "EC2.14"), c("cis-aws-foundations-1.2.0", "4.2")]);
    }
    if opens(22) || opens(3389) {
        out.extend(if v6 {
            [c(FSBP, "EC2.54"), c("cis-aws-foundations-3.0.0", "5.3")]
        } else {
            [c(FSBP, "EC2.53"), c("cis-aws-foundations-3.0.0", "5.2")]
        });
    }
    let unauthorized = match r.protocol {
        Protocol::All => true,
        p if p.has_ports() => {
            let (f, t) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(65535));
            (f..=t).any(|p| !EC2_18_AUTHORIZED.contains(&p))
        }
        // Other protocols (ICMP, numbers) open no port of the list but are unrestricted.
        _ => true,
    };
    if unauthorized {
        out.push(c(FSBP, "EC2.18"));
    }
    if EC2_19_PORTS.iter().any(|p| opens(*p)) {
        out.push(c(FSBP, "EC2.19"));
    }
    out
}

/// The VPC's default group should have no rules (EC2.2).
pub const DEFAULT_GROUP: &[Control] = &[
    c(FSBP, "EC2.2"),
    c("cis-aws-foundations-1.2.0", "4.3"),
    c("cis-aws-foundations-1.4.0", "5.3"),
    c("cis-aws-foundations-3.0.0", "5.4"),
];

/// Unused groups should be removed (EC2.22).
pub const UNATTACHED_GROUP: &[Control] = &[c(FSBP, "EC2.22")];

/// A finding about a group as a whole (JSON `findings.groups`).
#[derive(Debug, Clone, Serialize)]
pub struct GroupFinding {
    /// `default-group-in-use`, `default-group-has-rules`, `unattached-group`,
    /// `stale-reference`.
    pub kind: &'static str,
    pub group_id: String,
    pub group_name: String,
    pub detail: String,
    pub controls: Vec<Control>,
    /// The stale rule and what it references (`stale-reference` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// A rule that references a group that is gone.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub direction: RuleDirection,
    /// `tcp 22`, as the tables write it.
    pub ports: String,
    pub group_id: String,
    pub user_id: Option<String>,
    pub vpc_id: Option<String>,
    pub vpc_peering_connection_id: Option<String>,
    pub peering_status: Option<String>,
    /// Who found it: `inventory` (the group is in none of the inventory's groups of the
    /// account), `describe-stale-security-groups` (AWS says so).
    pub reported_by: Vec<&'static str>,
}

const FROM_INVENTORY: &str = "inventory";
const FROM_AWS: &str = "describe-stale-security-groups";

/// Group findings from the inventory: the default group in use or with rules, groups attached
/// to no interface, rules referencing a group that is gone: of the same account and in none of
/// the inventory's groups, or reported stale by `describe-stale-security-groups` (once each).
pub fn group_findings(inv: &Inventory) -> Vec<GroupFinding> {
    let mut out = Vec::new();
    for g in &inv.groups {
        let members = inv.interfaces_with_group(&g.group_id).count();
        let f = |kind, detail: String, controls: &[Control]| GroupFinding {
            kind,
            group_id: g.group_id.clone(),
            group_name: g.group_name.clone(),
            detail,
            controls: controls.to_vec(),
            reference: None,
        };
        if g.group_name == "default" {
            if members > 0 {
                out.push(f(
                    "default-group-in-use",
                    format!("the VPC's default group is attached to {members} interface(s): give them groups of their own"),
                    DEFAULT_GROUP,
                ));
            }
            if !g.rules.is_empty() {
                out.push(f(
                    "default-group-has-rules",
                    format!(
                        "the VPC's default group has {} rule(s); it should have none",
                        g.rules.len()
                    ),
                    DEFAULT_GROUP,
                ));
            }
        } else if members == 0 {
            let referenced = inv
                .groups
                .iter()
                .flat_map(|o| &o.rules)
                .filter(|r| matches!(&r.target, RuleTarget::Group { group_id, .. } if *group_id == g.group_id))
                .count();
            out.push(f(
                "unattached-group",
                format!(
                    "attached to no interface of the inventory{}",
                    if referenced > 0 {
                        format!(
                            "; {referenced} rule(s) reference it: change them before deleting it"
                        )
                    } else {
                        String::new()
                    }
                ),
                UNATTACHED_GROUP,
            ));
        }
        for r in &g.rules {
            let RuleTarget::Group { group_id, user_id } = &r.target else {
                continue;
            };
            let same_account = user_id.is_none() || *user_id == g.owner_id;
            if same_account && inv.group(group_id).is_none() {
                out.push(stale_finding(r, &g.group_name, None));
            }
        }
    }
    for s in &inv.stale {
        let key = stale_key(&s.rule);
        match out.iter_mut().find(|f| {
            f.kind == "stale-reference"
                && f.reference
                    .as_ref()
                    .is_some_and(|x| x.key(&f.group_id) == key)
        }) {
            Some(f) => {
                // Found by both: AWS's words, and both named.
                *f = stale_finding(&s.rule, &f.group_name, Some(s));
                if let Some(x) = &mut f.reference {
                    x.reported_by.insert(0, FROM_INVENTORY);
                }
            }
            None => {
                let name = inv
                    .group(&s.rule.group_id)
                    .map_or(s.group_name.as_str(), |g| g.group_name.as_str());
                out.push(stale_finding(&s.rule, name, Some(s)));
            }
        }
    }
    out
}

/// What makes two reports of a stale rule the same: group, direction, ports, referenced group.
fn stale_key(r: &Rule) -> (String, RuleDirection, String, String) {
    let target = match &r.target {
        RuleTarget::Group { group_id, .. } => group_id.clone(),
        t => t.to_string(),
    };
    (
        r.group_id.clone(),
        r.direction,
        super::rule_ports(r),
        target,
    )
}

impl Reference {
    fn key(&self, group_id: &str) -> (String, RuleDirection, String, String) {
        (
            group_id.to_string(),
            self.direction,
            self.ports.clone(),
            self.group_id.clone(),
        )
    }
}

/// The finding of a stale rule `r` of group `group_name`; `aws` when
/// describe-stale-security-groups reports it (the inventory may too: then both are named).
fn stale_finding(r: &Rule, group_name: &str, aws: Option<&StaleReference>) -> GroupFinding {
    let (group_id, user_id) = match &r.target {
        RuleTarget::Group { group_id, user_id } => (group_id.clone(), user_id.clone()),
        t => (t.to_string(), None),
    };
    let ports = super::rule_ports(r);
    let (detail, reported_by) = match aws {
        None => (
            format!(
                "{} {ports} rule references {group_id}, which is in none of the inventory's groups of this account \
                 (deleted, or the inventory is partial)",
                r.direction
            ),
            vec![FROM_INVENTORY],
        ),
        Some(s) => {
            let mut where_ = Vec::new();
            if let Some(u) = &s.referenced_user_id {
                where_.push(format!("account {u}"));
            }
            if let Some(v) = &s.referenced_vpc_id {
                where_.push(format!("VPC {v}"));
            }
            if let Some(p) = &s.peering_connection_id {
                where_.push(format!(
                    "peering {p}{}",
                    s.peering_status
                        .as_ref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                ));
            }
            (
                format!(
                    "{} {ports} rule references {group_id}{}, which AWS reports stale (describe-stale-security-groups): \
                     the group, or the peering or transit gateway that reached it, is gone; the rule admits nothing: remove it",
                    r.direction,
                    if where_.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", where_.join(", "))
                    }
                ),
                vec![FROM_AWS],
            )
        }
    };
    GroupFinding {
        kind: "stale-reference",
        group_id: r.group_id.clone(),
        group_name: group_name.to_string(),
        detail,
        controls: Vec::new(),
        reference: Some(Reference {
            direction: r.direction,
            ports,
            group_id,
            user_id: user_id.or_else(|| aws.and_then(|s| s.referenced_user_id.clone())),
            vpc_id: aws.and_then(|s| s.referenced_vpc_id.clone()),
            vpc_peering_connection_id: aws.and_then(|s| s.peering_connection_id.clone()),
            peering_status: aws.and_then(|s| s.peering_status.clone()),
            reported_by,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(proto: Protocol, from: u16, to: u16, cidr: &str) -> Rule {
        Rule {
            group_id: "sg-1".into(),
            direction: RuleDirection::Ingress,
            protocol: proto,
            from_port: Some(from),
            to_port: Some(to),
            icmp_type: None,
            icmp_code: None,
            target: RuleTarget::Cidr(cidr.parse().unwrap()),
            description: None,
            rule_id: None,
        }
    }

    fn ids(r: &Rule) -> Vec<&'static str> {
        for_rule(r)
            .into_iter()
            .map(|c| if c.standard == FSBP { c.id } else { "cis" })
            .collect()
    }

    #[test]
    fn ssh_rdp_high_risk_and_authorized_ports() {
        let tcp = Protocol::Number(6);
        assert_eq!(
            ids(&rule(tcp, 22, 22, "0.0.0.0/0")),
            ["EC2.13", "cis", "EC2.53", "cis", "EC2.18", "EC2.19"]
        );
        assert_eq!(
            ids(&rule(tcp, 3389, 3389, "::/0")),
            ["EC2.14", "cis", "EC2.54", "cis", "EC2.18", "EC2.19"]
        );
        assert_eq!(
            ids(&rule(tcp, 8080, 8080, "0.0.0.0/0")),
            ["EC2.18", "EC2.19"]
        );
        assert_eq!(ids(&rule(tcp, 9000, 9100, "0.0.0.0/0")), ["EC2.18"]);
        assert!(ids(&rule(tcp, 443, 443, "0.0.0.0/0")).is_empty());
        assert!(ids(&rule(tcp, 22, 22, "10.0.0.0/8")).is_empty());
    }
}
