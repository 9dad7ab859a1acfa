//! Inventory and template loaders: JSON (security groups, interfaces,
//! prefix lists, CloudFormation) and the YAML template path. Never panic;
//! errors are values.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use flowscope::inventory::{Inventory, InventoryPaths};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("flowscope-fuzz-inv-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = flowscope::inventory::yaml::to_json(text);
    }
    let name = match which % 6 {
        0 => "security-groups.json",
        1 => "network-interfaces.json",
        2 => "prefix-lists.json",
        3 => "template.json",
        4 => "template.yaml",
        _ => "security-group-rules.json",
    };
    let p = dir().join(name);
    std::fs::write(&p, body).unwrap();
    let mut paths = InventoryPaths::default();
    match which % 6 {
        0 => paths.groups = vec![p],
        1 => paths.interfaces = vec![p],
        2 => paths.prefix_lists = vec![p],
        3 | 4 => paths.template = Some(p),
        _ => paths.group_rules = vec![p],
    }
    let _ = Inventory::load(&paths);
});
