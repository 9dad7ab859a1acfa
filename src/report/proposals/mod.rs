//! How `recommend`'s changes are written for tools that apply them: AWS CLI commands
//! ([`cli`]), the CloudFormation template rewritten ([`cfn`]), Terraform ([`terraform`]).
//! Renderers only format the analysis; they never decide what changes.

mod cfn;
mod cli;
mod terraform;

pub use cfn::write_cfn;
pub use cli::{write_cli, CliOptions};
pub use terraform::write_terraform;

use crate::inventory::{Protocol, RuleDirection, RuleSpec, RuleTarget};
use crate::recommend::{Analysis, Confidence, Recommendation};

/// Ports as the EC2 API writes them: ICMP type/code, -1 for "all".
pub fn api_ports(p: &Protocol, from: Option<u16>, to: Option<u16>) -> (Option<i32>, Option<i32>) {
    match p {
        Protocol::All => (None, None),
        p if p.has_ports() => (
            Some(from.unwrap_or(0) as i32),
            Some(to.unwrap_or(65535) as i32),
        ),
        p if p.is_icmp() => (
            Some(from.map_or(-1, i32::from)),
            Some(to.map_or(-1, i32::from)),
        ),
        _ => (None, None),
    }
}

pub fn conf(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn verb(d: RuleDirection) -> &'static str {
    match d {
        RuleDirection::Ingress => "ingress",
        RuleDirection::Egress => "egress",
    }
}

/// The `--ip-permissions` JSON of one rule.
pub fn ip_permissions(s: &RuleSpec) -> serde_json::Value {
    use serde_json::json;
    let mut p = serde_json::Map::new();
    p.insert("IpProtocol".into(), json!(s.protocol.aws_name()));
    let (from, to) = api_ports(&s.protocol, s.from_port, s.to_port);
    if let (Some(f), Some(t)) = (from, to) {
        p.insert("FromPort".into(), json!(f));
        p.insert("ToPort".into(), json!(t));
    }
    let mut entry = serde_json::Map::new();
    if let Some(d) = &s.description {
        entry.insert("Description".into(), json!(d));
    }
    match &s.target {
        RuleTarget::Cidr(n @ ipnet::IpNet::V4(_)) => {
            entry.insert("CidrIp".into(), json!(n.to_string()));
            p.insert("IpRanges".into(), json!([entry]));
        }
        RuleTarget::Cidr(n) => {
            entry.insert("CidrIpv6".into(), json!(n.to_string()));
            p.insert("Ipv6Ranges".into(), json!([entry]));
        }
        RuleTarget::Group { group_id, user_id } => {
            entry.insert("GroupId".into(), json!(group_id));
            if let Some(u) = user_id {
                entry.insert("UserId".into(), json!(u));
            }
            p.insert("UserIdGroupPairs".into(), json!([entry]));
        }
        RuleTarget::PrefixList(id) => {
            entry.insert("PrefixListId".into(), json!(id));
            p.insert("PrefixListIds".into(), json!([entry]));
        }
    }
    serde_json::Value::Array(vec![serde_json::Value::Object(p)])
}

/// Text for a `#` comment of the script: names and descriptions come from the inventory, and a
/// newline in one (a tag, a template, a hand-edited JSON) would end the comment and run the rest
/// as a command, so every control character becomes a space.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Single-quotes a string for POSIX shells.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// One rule-changing recommendation per rule (the first by kind order),
/// as `applied_rules` applies them.
pub fn first_change_per_rule(a: &Analysis) -> Vec<&Recommendation> {
    let mut seen = std::collections::BTreeSet::new();
    a.recommendations
        .iter()
        .filter(|r| r.kind.changes_rules() && seen.insert((r.group_index, r.rule_index)))
        .collect()
}

/// ` [Security Hub EC2.13, EC2.53; CIS 1.2.0 4.1, 3.0.0 5.2]`, or nothing.
pub fn controls_label(cs: &[crate::recommend::controls::Control]) -> String {
    let fsbp: Vec<&str> = cs
        .iter()
        .filter(|c| c.standard == "aws-fsbp")
        .map(|c| c.id)
        .collect();
    let cis: Vec<String> = cs
        .iter()
        .filter_map(|c| {
            c.standard
                .strip_prefix("cis-aws-foundations-")
                .map(|v| format!("{v} {}", c.id))
        })
        .collect();
    let mut parts = Vec::new();
    if !fsbp.is_empty() {
        parts.push(format!("Security Hub {}", fsbp.join(", ")));
    }
    if !cis.is_empty() {
        parts.push(format!("CIS {}", cis.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join("; "))
    }
}
