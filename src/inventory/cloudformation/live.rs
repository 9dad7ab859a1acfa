//! Live ids of template resources: stack-resources output and inventory matching.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use ipnet::IpNet;

use super::read::{intrinsic_cidr, rule_matches};
use super::{string_value, RuleLocation, RuleSpec, Template, TemplateRule, TemplateTarget};
use crate::inventory::util::{kind, read_json};
use crate::inventory::{InventoryError, Rule, RuleTarget, SecurityGroup};

/// Parse `describe-stack-resources` / `list-stack-resources` output: LogicalResourceId →
/// PhysicalResourceId.
pub(super) fn parse_stack_resources(
    path: &Path,
) -> Result<HashMap<String, String>, InventoryError> {
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

/// Live id of a template group: stack resources, `aws:cloudformation:logical-id` tag (unique),
/// literal GroupName (unique), then a generated `<stack>-<LogicalId>-<suffix>` name (unique).
pub(super) fn resolve_live_id(
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

/// Resolve rules whose CIDR is an intrinsic the template cannot resolve (a parameter, an
/// import, a VPC whose `CidrBlock` is itself an intrinsic) through the live group: a template
/// rule `tcp 443 from <intrinsic>` stands for the live rule of the same group, direction,
/// protocol and ports with a CIDR of the same family that no other template rule accounts
/// for. Resolved only when unambiguous: exactly one such live rule, and exactly one such
/// template rule; otherwise the rule stays unresolved (and recommend says it is not in the
/// template, which is the truth as far as it can tell).
pub(super) fn intrinsic_cidrs(
    t: &Template,
    live: &[SecurityGroup],
) -> HashMap<RuleLocation, IpNet> {
    let mut out = HashMap::new();
    let rules = t.written_rules();
    let intrinsic = |r: &TemplateRule| -> Option<&'static str> {
        ["CidrIp", "CidrIpv6"]
            .into_iter()
            .find(|f| r.unresolved.len() == 1 && r.unresolved[0] == intrinsic_cidr(f))
    };
    // Would `r` match `lr` if its intrinsic were `lr`'s CIDR?
    let fits = |r: &TemplateRule, field: &str, lr: &Rule| -> bool {
        let RuleTarget::Cidr(n) = lr.target else {
            return false;
        };
        if n.addr().is_ipv4() != (field == "CidrIp") {
            return false;
        }
        let mut probe = r.clone();
        probe.target = TemplateTarget::Cidr(n);
        matches_live(&probe, lr)
    };
    for (loc, r) in &rules {
        let Some(field) = intrinsic(r) else {
            continue;
        };
        let Some(group) = r
            .group_id
            .as_deref()
            .and_then(|id| live.iter().find(|g| g.group_id == id))
        else {
            continue;
        };
        let free: Vec<&Rule> = group
            .rules
            .iter()
            .filter(|lr| fits(r, field, lr))
            .filter(|lr| !rules.iter().any(|(_, tr)| matches_live(tr, lr)))
            .collect();
        let [lr] = free[..] else {
            continue;
        };
        let rivals = rules
            .iter()
            .filter(|(_, tr)| intrinsic(tr) == Some(field) && fits(tr, field, lr))
            .count();
        if rivals == 1 {
            if let RuleTarget::Cidr(n) = lr.target {
                out.insert(loc.clone(), n);
            }
        }
    }
    out
}

/// `Template::find_rule_for` on one template rule.
fn matches_live(r: &TemplateRule, lr: &Rule) -> bool {
    let spec = RuleSpec::from_rule(lr);
    rule_matches(
        r,
        &lr.group_id,
        lr.direction,
        &lr.protocol,
        spec.from_port,
        spec.to_port,
        &lr.target,
    )
}
