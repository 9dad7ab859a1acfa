//! What the inventory says of the interfaces in the logs, for commands
//! other than recommend: their own addresses (direction) and labels for
//! tables, from `describe-network-interfaces` JSON given with
//! `--interfaces` or found beside the logs.

use std::path::Path;

use anyhow::{Context, Result};

use crate::inventory::{Inventory, InventoryPaths};

/// Interface labels for display (from an inventory): id → label.
pub type Labels = std::collections::HashMap<String, Label>;

/// What the inventory says of an interface: its kind (`alb`, `ecs-task`,
/// `nat-gateway` …) and its security groups. Shown as the table's ROLE
/// (`alb retail-store-alb`) and as `role`/`groups` in the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub role: &'static str,
    /// (group id, group name; the id when the group is not in the inventory).
    pub groups: Vec<(String, String)>,
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.role)?;
        for (i, (_, name)) in self.groups.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { "," })?;
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// The inventory files in `dir` under their conventional names
/// (`Inventory::from_dir`: the one rule every command uses to find
/// inventory next to logs or next to another inventory file); None when
/// it holds none. An empty path is the current directory.
pub fn inventory_beside(dir: &Path) -> Option<InventoryPaths> {
    if !dir.as_os_str().is_empty() {
        return Inventory::from_dir(dir).ok().flatten();
    }
    // Named as the user named the file beside them: `x.json`, not `./x.json`.
    let mut found = Inventory::from_dir(Path::new(".")).ok().flatten()?;
    let relative = |p: &mut std::path::PathBuf| {
        if let Ok(r) = p.strip_prefix(".") {
            *p = r.to_path_buf();
        }
    };
    found.groups.iter_mut().for_each(relative);
    found.group_rules.iter_mut().for_each(relative);
    found.interfaces.iter_mut().for_each(relative);
    found.prefix_lists.iter_mut().for_each(relative);
    found.template.iter_mut().for_each(relative);
    found.stack_resources.iter_mut().for_each(relative);
    Some(found)
}

/// The inventory of `--interfaces FILE`: the file, and the security groups
/// beside it (for group names).
fn interfaces_with_groups(path: &Path) -> InventoryPaths {
    let groups = path
        .parent()
        .and_then(inventory_beside)
        .map(|found| found.groups)
        .unwrap_or_default();
    InventoryPaths {
        interfaces: vec![path.to_path_buf()],
        groups,
        ..Default::default()
    }
}

/// Loads `describe-network-interfaces` JSON: each interface's own
/// addresses (for direction) and a label for tables.
pub fn load_interfaces(
    path: &Path,
) -> Result<(Option<std::sync::Arc<crate::aggregate::Locals>>, Labels)> {
    // Group names for the labels, when the groups file sits beside it.
    let inv = Inventory::load(&interfaces_with_groups(path))?;
    Ok((Some(std::sync::Arc::new(locals_of(&inv))), labels_of(&inv)))
}

/// The interfaces' addresses and labels a run over `paths` decides
/// direction with: `--interfaces FILE`, else `network-interfaces.json`
/// beside a directory argument (as S3 downloads next to the describe-*
/// outputs, and sample-logs/, have it). Summarize and `top --by port`
/// take them from here, so they book every record alike.
pub fn interfaces_for(
    interfaces: Option<&Path>,
    paths: &[std::path::PathBuf],
) -> Result<(Option<std::sync::Arc<crate::aggregate::Locals>>, Labels)> {
    let found = || {
        paths
            .iter()
            .filter(|p| p.is_dir())
            .find_map(|d| inventory_beside(d)?.interfaces.into_iter().next())
    };
    match interfaces.map(Path::to_path_buf).or_else(found) {
        Some(p) => load_interfaces(&p),
        None => Ok((None, Labels::new())),
    }
}

/// Interface names for tables (`--interfaces` on top and scans): each
/// interface's id and own addresses → its role label and group names.
#[derive(Debug, Default)]
pub struct InterfaceNames {
    by_id: std::collections::HashMap<String, String>,
    by_addr: std::collections::HashMap<std::net::IpAddr, String>,
}

impl InterfaceNames {
    /// Loads `describe-network-interfaces` JSON (group names from a
    /// security-groups file beside it); None without the flag.
    pub fn load(path: Option<&Path>) -> Result<Option<InterfaceNames>> {
        let Some(path) = path else { return Ok(None) };
        let inv = Inventory::load(&interfaces_with_groups(path))
            .with_context(|| format!("--interfaces {}", path.display()))?;
        let by_id: std::collections::HashMap<String, String> = labels_of(&inv)
            .into_iter()
            .map(|(id, l)| (id, l.to_string()))
            .collect();
        let mut by_addr = std::collections::HashMap::new();
        for i in &inv.interfaces {
            if let Some(l) = by_id.get(&i.id) {
                for a in inv.local_addrs(&i.id) {
                    by_addr.insert(*a, l.clone());
                }
            }
        }
        Ok(Some(InterfaceNames { by_id, by_addr }))
    }

    /// The name of an interface id, an address, or each side of `a -> b`;
    /// `-` when unknown.
    pub fn name_of(&self, key: &str) -> String {
        if let Some((a, b)) = key.split_once(" -> ") {
            return format!("{} -> {}", self.name_of(a), self.name_of(b));
        }
        let found = self.by_id.get(key).or_else(|| {
            key.parse::<std::net::IpAddr>()
                .ok()
                .and_then(|a| self.by_addr.get(&a))
        });
        found.cloned().unwrap_or_else(|| "-".into())
    }
}

/// Interface id → own private and IPv6 addresses, for direction.
pub fn locals_of(inv: &Inventory) -> crate::aggregate::Locals {
    use crate::flowlog::record::{EniId, Ip};
    inv.interfaces
        .iter()
        .map(|i| {
            (
                EniId::from_bytes(i.id.as_bytes()),
                inv.local_addrs(&i.id)
                    .iter()
                    .map(|a| Ip::from(*a))
                    .collect(),
            )
        })
        .collect()
}

/// Interface id → a short role label (`alb`, `ecs-task`, `rds` … plus group names).
pub fn labels_of(inv: &Inventory) -> Labels {
    inv.interfaces
        .iter()
        .map(|i| {
            let groups = i
                .group_ids
                .iter()
                .map(|g| {
                    let name = inv.group(g).map_or(g.as_str(), |sg| sg.group_name.as_str());
                    (g.clone(), name.to_string())
                })
                .collect();
            let label = Label {
                role: i.kind.label(),
                groups,
            };
            (i.id.clone(), label)
        })
        .collect()
}

/// Takes Transit Gateway attachments' rows out of the summary, with a
/// note: a TGW record has no security-group verdict (no action) and no
/// interface a group is attached to, so it can neither support nor
/// contradict a rule.
pub fn ignore_attachments(summary: &mut crate::aggregate::Summary) {
    let before = (
        summary.rows.len(),
        summary.rows.iter().map(|r| r.flows).sum::<u64>(),
    );
    summary.rows.retain(|r| !r.eni.is_attachment());
    let interfaces = summary.interfaces.len();
    summary.interfaces.retain(|i| !i.eni.is_attachment());
    if summary.interfaces.len() < interfaces {
        // Their times must not widen the evidence window either (its
        // length sets the confidence): computed as `Aggregate::finish` does.
        summary.window =
            summary
                .interfaces
                .iter()
                .fold(None, |w, i| match (i.first_seen, i.last_seen) {
                    (Some(f), Some(l)) => {
                        Some(w.map_or((f, l), |(a, b): (u64, u64)| (a.min(f), b.max(l))))
                    }
                    _ => w,
                });
    }
    let flows = before.1 - summary.rows.iter().map(|r| r.flows).sum::<u64>();
    let rows = before.0 - summary.rows.len();
    if rows > 0 {
        crate::note!(
            "{} of Transit Gateway attachments ({}) ignored: TGW flow logs carry no \
             security-group verdict and no interface to attach a group to",
            crate::report::count(rows as u64, "row", "rows"),
            crate::report::count(flows, "flow", "flows")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule that finds inventory beside logs is recommend's (JSON or
    /// YAML under the conventional names), for every command: summarize
    /// and `--interfaces` used to look for `*.json` only.
    #[test]
    fn inventory_beside_logs_is_found_by_one_rule() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("network-interfaces.yml"), "{}").unwrap();
        std::fs::write(d.path().join("security-groups.yaml"), "{}").unwrap();
        let found = inventory_beside(d.path()).unwrap();
        assert_eq!(found.interfaces, [d.path().join("network-interfaces.yml")]);
        let paths = interfaces_with_groups(&d.path().join("network-interfaces.yml"));
        assert_eq!(paths.groups, [d.path().join("security-groups.yaml")]);
        let empty = tempfile::tempdir().unwrap();
        assert!(inventory_beside(empty.path()).is_none());
        assert!(inventory_beside(&empty.path().join("missing")).is_none());
    }
}
