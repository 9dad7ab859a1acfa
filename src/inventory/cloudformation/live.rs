//! Live ids of template resources: stack-resources output and inventory matching.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::string_value;
use crate::inventory::util::{kind, read_json};
use crate::inventory::{InventoryError, SecurityGroup};

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
