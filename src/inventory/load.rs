//! Reading the inventory files: one account and region, or several merged.
//!
//! Several files of a kind (`--groups` given twice, two directories of `describe-*` outputs)
//! are merged: a group or interface that appears in two files must be the same in both (one
//! account given twice); different content under one id is an error naming both files, never
//! a silent choice of one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::{
    network_interface, prefix_list, security_group, stale, util, Inventory, InventoryError,
    InventoryPaths, NetworkInterface, Template,
};

/// Conventional names of the security-group outputs in a directory.
pub const GROUP_FILES: &[&str] = &[
    "security-groups.json",
    "security-groups.yaml",
    "security-groups.yml",
];
/// Conventional names of the security-group-rules outputs in a directory.
pub const GROUP_RULE_FILES: &[&str] = &[
    "security-group-rules.json",
    "security-group-rules.yaml",
    "security-group-rules.yml",
];
/// Conventional names of the network-interface outputs in a directory.
pub const INTERFACE_FILES: &[&str] = &[
    "network-interfaces.json",
    "network-interfaces.yaml",
    "network-interfaces.yml",
];
/// Conventional names of the describe-stale-security-groups outputs in a directory.
pub const STALE_GROUP_FILES: &[&str] = &[
    "stale-security-groups.json",
    "stale-security-groups.yaml",
    "stale-security-groups.yml",
];
const PREFIX_LIST_FILES: &[&str] = &["prefix-lists.json", "prefix-lists.yaml", "prefix-lists.yml"];

/// Directories deeper than this below a directory argument are not searched
/// (`<account>/<region>/` is two levels).
const MAX_DEPTH: usize = 6;

/// Files given as-is; every directory replaced by the files it and its subdirectories hold
/// under the conventional names (`names`: lists of alternatives, of which each directory
/// gives its first present), sorted so that the merge order does not depend on the file
/// system. A directory holding none of them is an error: it was given for a reason.
pub fn expand_dirs(paths: &[PathBuf], names: &[&[&str]]) -> Result<Vec<PathBuf>, InventoryError> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let before = out.len();
        walk(p, names, 0, &mut out)?;
        if out.len() == before {
            return Err(InventoryError::invalid(
                p,
                format!(
                    "a directory, with no {} in it or below it",
                    names.iter().map(|n| n[0]).collect::<Vec<_>>().join(" or ")
                ),
            ));
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    names: &[&[&str]],
    depth: usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), InventoryError> {
    let io = |source| InventoryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    // Per kind, the first of its alternatives present (as `from_dir` picks).
    for alternatives in names {
        if let Some(f) = alternatives
            .iter()
            .map(|n| dir.join(n))
            .find(|f| entries.contains(f) && f.is_file())
        {
            out.push(f);
        }
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for e in entries {
        // Symbolic links to directories are not followed: they can loop.
        let is_dir = std::fs::symlink_metadata(&e).is_ok_and(|m| m.is_dir());
        if is_dir {
            walk(&e, names, depth + 1, out)?;
        }
    }
    Ok(())
}

impl Inventory {
    /// Load the given files. Several files of one kind are merged (see the module docs).
    /// Semantic problems that don't prevent use (dangling references, duplicate addresses) go
    /// into `warnings`.
    pub fn load(paths: &InventoryPaths) -> Result<Inventory, InventoryError> {
        let mut warnings = Vec::new();
        let mut loaded = security_group::Loaded::default();
        for p in paths.groups.iter().chain(&paths.group_rules) {
            let v = util::read_json(p)?;
            security_group::parse_file(p, &v, &mut loaded)?;
        }
        let groups = loaded.finish(&mut warnings)?;
        let interfaces = load_interfaces(&paths.interfaces)?;
        let mut prefix_lists: HashMap<String, Vec<IpNet>> = HashMap::new();
        let mut list_file: HashMap<String, &Path> = HashMap::new();
        for p in &paths.prefix_lists {
            for (id, nets) in prefix_list::parse_file(p, &util::read_json(p)?)? {
                if let Some(prev) = prefix_lists.get(&id) {
                    if *prev != nets {
                        return Err(InventoryError::invalid(
                            p,
                            format!(
                                "prefix list {id} is also in {} with other entries",
                                list_file[&id].display()
                            ),
                        ));
                    }
                    continue;
                }
                list_file.insert(id.clone(), p);
                prefix_lists.insert(id, nets);
            }
        }
        let template = match &paths.template {
            Some(p) => {
                let t = Template::load(p, &groups, paths.stack_resources.as_deref())?;
                warnings.extend(t.warnings.iter().cloned());
                Some(t)
            }
            None => None,
        };
        let mut stale = Vec::new();
        for p in &paths.stale_groups {
            for r in stale::parse_file(p, &util::read_json(p)?)? {
                // The same file given twice, or two pages that overlap: once.
                if !stale.contains(&r) {
                    stale.push(r);
                }
            }
        }
        let mut inv = Inventory {
            groups,
            interfaces,
            prefix_lists,
            template,
            stale,
            warnings,
            index: Default::default(),
        };
        inv.rebuild_index();
        inv.check_references(!paths.groups.is_empty() || !paths.group_rules.is_empty());
        Ok(inv)
    }

    /// Look for the conventional file names in `dir`: `security-groups.json`,
    /// `security-group-rules.json`, `network-interfaces.json`, `prefix-lists.json`,
    /// `stale-security-groups.json` (each also
    /// as `.yaml`/`.yml`), `template.json` (or `.yaml`/`.yml`), `stack-resources.json`.
    /// `Ok(None)` when none of them exists.
    pub fn from_dir(dir: &Path) -> Result<Option<InventoryPaths>, InventoryError> {
        if !dir.is_dir() {
            return Err(InventoryError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let find = |names: &[&str]| names.iter().map(|n| dir.join(n)).find(|p| p.is_file());
        let paths = InventoryPaths {
            groups: find(GROUP_FILES).into_iter().collect(),
            group_rules: find(GROUP_RULE_FILES).into_iter().collect(),
            interfaces: find(INTERFACE_FILES).into_iter().collect(),
            template: find(&["template.json", "template.yaml", "template.yml"]),
            stack_resources: find(&["stack-resources.json"]),
            prefix_lists: find(PREFIX_LIST_FILES).into_iter().collect(),
            stale_groups: find(STALE_GROUP_FILES).into_iter().collect(),
        };
        Ok(if paths.is_empty() { None } else { Some(paths) })
    }
}

/// Every file's interfaces; one listed in two files must be the same in both. Repeats within
/// one file are kept (the index warns about them).
fn load_interfaces(paths: &[PathBuf]) -> Result<Vec<NetworkInterface>, InventoryError> {
    let mut out: Vec<NetworkInterface> = Vec::new();
    let mut first: HashMap<String, (usize, usize)> = HashMap::new(); // id → (file, position)
    for (file, p) in paths.iter().enumerate() {
        for eni in network_interface::parse_file(p, &util::read_json(p)?)? {
            match first.get(&eni.id) {
                Some(&(f, i)) if f != file => {
                    if out[i] == eni {
                        continue; // one account given twice
                    }
                    return Err(InventoryError::invalid(
                        p,
                        format!(
                            "network interface {} is also in {} with different addresses or groups; give each account and region once (two snapshots of one account?)",
                            eni.id,
                            paths[f].display()
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    first.insert(eni.id.clone(), (file, out.len()));
                }
            }
            out.push(eni);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::RuleTarget;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn eni(id: &str, ip: &str, group: &str) -> String {
        format!(
            r#"{{"NetworkInterfaceId": "{id}", "PrivateIpAddress": "{ip}", "Groups": [{{"GroupId": "{group}"}}]}}"#
        )
    }

    const GROUPS: &str = r#"{"SecurityGroups": [
        {"GroupId": "sg-a", "OwnerId": "111", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
            "UserIdGroupPairs": [{"GroupId": "sg-b", "UserId": "222"}, {"GroupId": "sg-c", "UserId": "222"},
                                 {"GroupId": "sg-x", "UserId": "222"}, {"GroupId": "sg-a", "UserId": "111"}],
            "PrefixListIds": [{"PrefixListId": "pl-1"}, {"PrefixListId": "pl-2"}]}]},
        {"GroupId": "sg-b", "OwnerId": "222"},
        {"GroupId": "sg-c", "OwnerId": "222"}]}"#;

    #[test]
    fn which_sources_can_be_evaluated() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inv = Inventory::load(&InventoryPaths {
            groups: vec![write(d, "g.json", GROUPS)],
            interfaces: vec![write(
                d,
                "i.json",
                &format!(
                    r#"{{"NetworkInterfaces": [{}, {}]}}"#,
                    eni("eni-1", "10.0.0.1", "sg-a"),
                    eni("eni-2", "10.0.0.2", "sg-b")
                ),
            )],
            prefix_lists: vec![write(d, "p.json", r#"{"PrefixLists": {"pl-1": []}}"#)],
            ..Default::default()
        })
        .unwrap();
        let g = inv.group("sg-a").unwrap();
        let known: Vec<(String, bool)> = g
            .rules
            .iter()
            .map(|r| {
                (
                    r.target.to_string(),
                    inv.can_evaluate(&r.target, Some("111")),
                )
            })
            .collect();
        let want = [
            ("pl-1", true),
            ("pl-2", false),     // entries not given
            ("222/sg-b", true),  // another account's group with its interfaces given
            ("222/sg-c", false), // another account's group, none of its interfaces given
            ("222/sg-x", false), // not in the inventory (a peered VPC's)
            ("111/sg-a", true),  // its own account
        ];
        assert_eq!(
            known,
            want.map(|(t, k)| (t.to_string(), k)).to_vec(),
            "{known:?}"
        );
        assert!(inv.can_evaluate(&RuleTarget::Cidr("10.0.0.0/8".parse().unwrap()), None));
        let members: Vec<&str> = inv
            .interfaces_with_group("sg-b")
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(members, ["eni-2"]);
    }

    #[test]
    fn several_files_merge_and_conflicts_name_both() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let a = write(
            d,
            "a/network-interfaces.json",
            &format!(
                r#"{{"NetworkInterfaces": [{}]}}"#,
                eni("eni-1", "10.0.0.1", "sg-a")
            ),
        );
        let b = write(
            d,
            "b/x/network-interfaces.json",
            &format!(
                r#"{{"NetworkInterfaces": [{}, {}]}}"#,
                eni("eni-1", "10.0.0.1", "sg-a"),
                eni("eni-2", "10.1.0.1", "sg-b")
            ),
        );
        // a directory is searched below it, in name order
        let found = expand_dirs(&[d.to_path_buf()], &[INTERFACE_FILES]).unwrap();
        assert_eq!(found, [a.clone(), b.clone()]);
        let inv = Inventory::load(&InventoryPaths {
            interfaces: found,
            ..Default::default()
        })
        .unwrap();
        let ids: Vec<&str> = inv.interfaces.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["eni-1", "eni-2"]); // the repeat of eni-1 is dropped
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        let c = write(
            d,
            "c.json",
            &format!(
                r#"{{"NetworkInterfaces": [{}]}}"#,
                eni("eni-1", "10.9.9.9", "sg-a")
            ),
        );
        let e = Inventory::load(&InventoryPaths {
            interfaces: vec![a.clone(), c],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("c.json: network interface eni-1 is also in")
                && e.contains("a/network-interfaces.json with different"),
            "{e}"
        );
        let p1 = write(d, "p1.json", r#"{"PrefixLists": {"pl-1": ["10.0.0.0/8"]}}"#);
        let p2 = write(
            d,
            "p2.json",
            r#"{"PrefixLists": {"pl-1": ["10.0.0.0/16"]}}"#,
        );
        let e = Inventory::load(&InventoryPaths {
            prefix_lists: vec![p1.clone(), p1.clone()],
            ..Default::default()
        });
        assert_eq!(e.unwrap().prefix_lists.len(), 1);
        let e = Inventory::load(&InventoryPaths {
            prefix_lists: vec![p1, p2],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("p2.json: prefix list pl-1 is also in"), "{e}");
        let empty = d.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = expand_dirs(&[empty], &[GROUP_FILES, GROUP_RULE_FILES])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "empty: a directory, with no security-groups.json or security-group-rules.json"
            ),
            "{e}"
        );
    }

    #[test]
    fn yaml_output_reads_as_the_json_output() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let json = write(d, "g.json", GROUPS);
        let yaml = write(
            d,
            "g.yaml",
            "SecurityGroups:\n- GroupId: sg-a\n  OwnerId: '111'\n  IpPermissions:\n  - FromPort: 1\n    IpProtocol: tcp\n    ToPort: 1\n    UserIdGroupPairs:\n    - GroupId: sg-b\n      UserId: '222'\n    - GroupId: sg-c\n      UserId: '222'\n    - GroupId: sg-x\n      UserId: '222'\n    - GroupId: sg-a\n      UserId: '111'\n    PrefixListIds:\n    - PrefixListId: pl-1\n    - PrefixListId: pl-2\n- GroupId: sg-b\n  OwnerId: '222'\n- GroupId: sg-c\n  OwnerId: '222'\n",
        );
        let load = |p: PathBuf| {
            Inventory::load(&InventoryPaths {
                groups: vec![p],
                ..Default::default()
            })
            .unwrap()
            .groups
        };
        assert_eq!(load(yaml), load(json));
    }
}
