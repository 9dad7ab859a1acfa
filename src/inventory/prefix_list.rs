//! Managed prefix lists.
//!
//! `aws ec2 get-managed-prefix-list-entries` prints `{"Entries": [{"Cidr", "Description"}]}`
//! without the prefix-list id, so the file must say which list each entry set belongs to.
//! Accepted shapes (entries may be `{"Cidr": ...}` objects or plain CIDR strings):
//!
//! 1. `{"PrefixLists": {"pl-0123": [{"Cidr": "10.0.0.0/8"}], "pl-0456": ["52.0.0.0/8"]}}`
//! 2. `{"PrefixLists": [{"PrefixListId": "pl-0123", "Entries": [{"Cidr": "10.0.0.0/8"}]}]}`
//!    (i.e. `describe-managed-prefix-lists` output with each list's `Entries` added)
//! 3. `[{"PrefixListId": "pl-0123", "Entries": [...]}, ...]`

use std::collections::HashMap;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;

use super::util::{kind, label, opt_str};
use super::InventoryError;

const SHAPES: &str = "expected {\"PrefixLists\": {\"pl-id\": [entries]}}, {\"PrefixLists\": [{\"PrefixListId\", \"Entries\"}]} or [{\"PrefixListId\", \"Entries\"}]";

pub(crate) fn parse_file(
    path: &Path,
    v: &Value,
) -> Result<HashMap<String, Vec<IpNet>>, InventoryError> {
    let err = |m: String| InventoryError::invalid(path, m);
    let mut out = HashMap::new();
    match v {
        Value::Object(o) => match o.get("PrefixLists") {
            Some(Value::Object(map)) => {
                for (id, entries) in map {
                    let nets = parse_entries(entries)
                        .map_err(|m| err(format!("PrefixLists.{id}: {m}")))?;
                    out.insert(id.clone(), nets);
                }
            }
            Some(Value::Array(items)) => {
                parse_items(items, "PrefixLists", &mut out).map_err(err)?
            }
            Some(other) => {
                return Err(err(format!("PrefixLists is {}; {SHAPES}", kind(other))));
            }
            None if o.contains_key("Entries") => {
                return Err(err(format!(
                    "this looks like bare get-managed-prefix-list-entries output, which lacks the prefix-list id; {SHAPES}"
                )));
            }
            None => return Err(err(SHAPES.to_string())),
        },
        Value::Array(items) => parse_items(items, "", &mut out).map_err(err)?,
        other => return Err(err(format!("got {}; {SHAPES}", kind(other)))),
    }
    Ok(out)
}

fn parse_items(
    items: &[Value],
    prefix: &str,
    out: &mut HashMap<String, Vec<IpNet>>,
) -> Result<(), String> {
    for (i, item) in items.iter().enumerate() {
        let id = item.get("PrefixListId").and_then(Value::as_str);
        let ctx = |m: String| format!("{prefix}[{i}]{}: {m}", label(id));
        let id = opt_str(item, "PrefixListId")
            .map_err(ctx)?
            .ok_or_else(|| ctx("missing PrefixListId".into()))?;
        let entries = item.get("Entries").ok_or_else(|| {
            ctx("missing Entries (add the get-managed-prefix-list-entries output)".into())
        })?;
        let nets = parse_entries(entries).map_err(ctx)?;
        out.entry(id.to_string()).or_default().extend(nets);
    }
    Ok(())
}

fn parse_entries(v: &Value) -> Result<Vec<IpNet>, String> {
    let Value::Array(entries) = v else {
        return Err(format!("entries should be an array, got {}", kind(v)));
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let s = match e {
                Value::String(s) => s.as_str(),
                Value::Object(_) => opt_str(e, "Cidr")
                    .map_err(|m| format!("Entries[{i}]: {m}"))?
                    .ok_or_else(|| format!("Entries[{i}]: missing Cidr"))?,
                other => return Err(format!("Entries[{i}]: unexpected {}", kind(other))),
            };
            s.trim()
                .parse::<IpNet>()
                .map_err(|_| format!("Entries[{i}]: bad Cidr {s:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let p = Path::new("pl.json");
        let a = parse_file(
            p,
            &json!({"PrefixLists": {"pl-1": [{"Cidr": "10.0.0.0/8"}, "2001:db8::/32"]}}),
        )
        .unwrap();
        assert_eq!(a["pl-1"].len(), 2);
        let b = parse_file(p, &json!({"PrefixLists": [{"PrefixListId": "pl-1", "PrefixListName": "x", "Entries": [{"Cidr": "10.0.0.0/8", "Description": "d"}]}]})).unwrap();
        assert_eq!(b["pl-1"], vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        let c = parse_file(p, &json!([{"PrefixListId": "pl-2", "Entries": []}])).unwrap();
        assert!(c["pl-2"].is_empty());
    }

    #[test]
    fn errors() {
        let p = Path::new("pl.json");
        let e = parse_file(p, &json!({"Entries": [{"Cidr": "10.0.0.0/8"}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lacks the prefix-list id"), "{e}");
        let e = parse_file(
            p,
            &json!([{"PrefixListId": "pl-1", "Entries": [{"Cidr": "10.0.0.0/33"}]}]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "pl.json: [0] (pl-1): Entries[0]: bad Cidr \"10.0.0.0/33\""
        );
        let e = parse_file(p, &json!({"PrefixLists": [{"PrefixListId": "pl-1"}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing Entries"), "{e}");
        assert!(parse_file(p, &json!("x")).is_err());
    }
}
