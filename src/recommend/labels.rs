//! Labels for people: ports, protocols, groups and proposed rules.

use std::collections::BTreeSet;

use super::cidr;
use crate::inventory::{Inventory, Protocol, Rule, RuleSpec};

/// The ports of a rule for display: `tcp 8080`, `tcp 9000-9100`, `icmp type 8`,
/// `all traffic`.
pub fn rule_ports(r: &Rule) -> String {
    if r.protocol.is_icmp() {
        let (t, c) = (r.icmp_type.map(u16::from), r.icmp_code.map(u16::from));
        return spec_ports(&r.protocol, t, c);
    }
    spec_ports(&r.protocol, r.from_port, r.to_port)
}

/// Ports of a protocol/range for display. For ICMP, `from`/`to` are the
/// type and code (`None` = all): `icmp all`, `icmp type 8`,
/// `icmp type 3 code 4`.
pub fn spec_ports(p: &Protocol, from: Option<u16>, to: Option<u16>) -> String {
    let name = p.aws_name();
    match (p, from, to) {
        (Protocol::All, _, _) => "all traffic".into(),
        (p, None, _) if p.is_icmp() => format!("{name} all"),
        (p, Some(t), None) if p.is_icmp() => format!("{name} type {t}"),
        (p, Some(t), Some(c)) if p.is_icmp() => format!("{name} type {t} code {c}"),
        (p, Some(f), Some(t)) if p.has_ports() && f == t => format!("{name} {f}"),
        (p, Some(f), Some(t)) if p.has_ports() && (f, t) != (0, 65535) => {
            format!("{name} {f}-{t}")
        }
        (p, _, _) if p.has_ports() => format!("{name} all ports"),
        // other protocols (gre, esp, ...) have no ports
        _ => format!("protocol {name}"),
    }
}

pub(crate) fn ports_label(p: &BTreeSet<u16>) -> String {
    let v: Vec<u16> = p.iter().copied().collect();
    cidr::port_ranges(&v, 8)
        .iter()
        .map(|(f, t)| {
            if f == t {
                f.to_string()
            } else {
                format!("{f}-{t}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn port_label(r: &Rule, ranges: &[(u16, u16)]) -> String {
    if !r.protocol.has_ports() {
        return rule_ports(r);
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|(f, t)| {
            if f == t {
                f.to_string()
            } else {
                format!("{f}-{t}")
            }
        })
        .collect();
    format!("{} {}", r.protocol.aws_name(), parts.join(","))
}

/// A group for people: `sg-… (name)`. Inventory text is escaped
/// (`\u{1b}`): the label goes into tables and headlines, and a group name
/// holding an escape sequence must not drive the reader's terminal.
pub fn group_label(inv: &Inventory, id: &str) -> String {
    let label = match inv.group(id) {
        Some(g) if !g.group_name.is_empty() => format!("{} ({})", id, g.group_name),
        _ => id.to_string(),
    };
    crate::flowlog::sniff::printable(&label).into_owned()
}

/// A proposed rule for people.
pub fn spec_label(s: &RuleSpec) -> String {
    format!(
        "{} {}",
        spec_ports(&s.protocol, s.from_port, s.to_port),
        s.target
    )
}

/// A proposed rule for people, a group target with its name.
pub fn spec_label_named(inv: &Inventory, s: &RuleSpec) -> String {
    match &s.target {
        crate::inventory::RuleTarget::Group { group_id, .. } => {
            format!(
                "{} {}",
                spec_ports(&s.protocol, s.from_port, s.to_port),
                group_label(inv, group_id)
            )
        }
        _ => spec_label(s),
    }
}
