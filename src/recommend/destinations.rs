//! Public addresses a rule should not pin, and the ranges that make pinning safe.
//!
//! A third-party address seen for a few hours (a CDN edge, a code host, an AWS endpoint) is
//! not a destination: the service behind it moves to other addresses next week, and a rule
//! pinned to it then denies production traffic the safety simulation never saw. So a public
//! address is only written into a rule through a range that stays put: one the user declares
//! stable (`--stable-cidrs`), a range AWS publishes in `ip-ranges.json` (`--aws-ip-ranges`), or
//! better, the AWS-managed prefix list of that service (`--aws-prefix-lists`), which AWS keeps
//! up to date. Otherwise the rule is narrowed by port only (`tcp 443 to 0.0.0.0/0`).
//!
//! Formats (all offline files):
//! - stable CIDRs: one CIDR a line, an optional description after it, `#` comments.
//! - `ip-ranges.json` (<https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-syntax.html>):
//!   `{"syncToken", "createDate", "prefixes": [{"ip_prefix", "region", "network_border_group",
//!   "service"}], "ipv6_prefixes": [{"ipv6_prefix", ...}]}`.
//! - `aws ec2 describe-prefix-lists` (`{"PrefixLists": [{"PrefixListId", "PrefixListName",
//!   "Cidrs"}]}`, API_DescribePrefixLists) or `aws ec2 describe-managed-prefix-lists`
//!   (`{"PrefixLists": [{"PrefixListId", "PrefixListName", "OwnerId": "AWS", ...}]}`, no
//!   entries: they are taken from `ip-ranges.json` for the list's service and region).

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

/// A range of `ip-ranges.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRange {
    pub net: IpNet,
    pub region: String,
    /// The `service` subset: `AMAZON`, `S3`, `DYNAMODB`, `EC2`, `CLOUDFRONT`, ...
    pub service: String,
}

/// An AWS-managed prefix list (`com.amazonaws.<region>.<service>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedList {
    pub id: String,
    pub name: String,
    /// Its entries; empty when the file did not carry them (describe-managed-prefix-lists).
    pub cidrs: Vec<IpNet>,
}

impl ManagedList {
    /// (region, service in ip-ranges' upper case) from `com.amazonaws.us-east-1.s3`.
    pub fn region_service(&self) -> Option<(&str, String)> {
        let rest = self.name.strip_prefix("com.amazonaws.")?;
        let (region, service) = rest.rsplit_once('.')?;
        Some((region, service.to_ascii_uppercase()))
    }
}

/// What the user and AWS say about public address space.
#[derive(Debug, Clone, Default)]
pub struct KnownRanges {
    /// Ranges the user declares stable, with their description.
    pub stable: Vec<(IpNet, String)>,
    pub aws: Vec<AwsRange>,
    pub lists: Vec<ManagedList>,
    /// The services v5 flow logs name per address (`pkt-src/dst-aws-service`).
    pub observed: super::services::AwsServices,
}

/// How a public destination is allowed by a proposal, and why (evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicDestination {
    pub address: String,
    /// AWS service subset of the address, from `ip-ranges.json`, else from the flow logs'
    /// `pkt-dst-aws-service` / `pkt-src-aws-service`.
    pub aws_service: Option<String>,
    pub aws_region: Option<String>,
    /// The stable or published range holding it.
    pub range: Option<String>,
    /// What the proposal allows it through: a prefix list, a range, or `0.0.0.0/0` / `::/0`.
    pub allowed_as: String,
    /// Why that and not the address itself.
    pub why: String,
}

/// Where one public address may be pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stable {
    /// An AWS-managed prefix list of its service (id).
    List(String),
    /// A range the user declared stable.
    Declared(IpNet),
    /// A range AWS publishes.
    Published(IpNet),
}

impl KnownRanges {
    pub fn is_empty(&self) -> bool {
        self.stable.is_empty()
            && self.aws.is_empty()
            && self.lists.is_empty()
            && self.observed.by_addr.is_empty()
    }

    /// The AWS service of `ip`: `ip-ranges.json`'s, else the one the flow logs name.
    pub fn service_of(&self, ip: IpAddr) -> Option<&str> {
        self.aws_range(ip)
            .map(|r| r.service.as_str())
            .or_else(|| self.observed.get(ip))
    }

    /// The one managed list of `service` (in upper case), when exactly one was given: the
    /// logs name the service, not the region, and a list is regional.
    fn only_list_of(&self, service: &str) -> Option<&ManagedList> {
        let mut of = self
            .lists
            .iter()
            .filter(|l| l.region_service().is_some_and(|(_, s)| s == service));
        match (of.next(), of.next()) {
            (Some(l), None) => Some(l),
            _ => None,
        }
    }

    /// The most specific published range holding `ip`; among equal ones, a named service
    /// rather than the `AMAZON` superset.
    pub fn aws_range(&self, ip: IpAddr) -> Option<&AwsRange> {
        self.aws
            .iter()
            .filter(|r| r.net.contains(&ip))
            .max_by(|a, b| {
                a.net
                    .prefix_len()
                    .cmp(&b.net.prefix_len())
                    .then((a.service != "AMAZON").cmp(&(b.service != "AMAZON")))
                    .then(b.service.cmp(&a.service))
            })
    }

    /// The AWS-managed list holding `ip`: by its entries, else by the service and region
    /// `ip-ranges.json` gives the address.
    pub fn list_of(&self, ip: IpAddr) -> Option<&ManagedList> {
        if let Some(l) = self
            .lists
            .iter()
            .find(|l| l.cidrs.iter().any(|n| n.contains(&ip)))
        {
            return Some(l);
        }
        let mut services = self.aws.iter().filter(|r| r.net.contains(&ip));
        if let Some(l) = services.find_map(|r| {
            self.lists.iter().find(|l| {
                l.cidrs.is_empty()
                    && l.region_service()
                        .is_some_and(|(reg, svc)| reg == r.region && svc == r.service)
            })
        }) {
            return Some(l);
        }
        // The service the logs name: its list, when its entries are not given (they would
        // have been found above).
        self.observed
            .get(ip)
            .and_then(|svc| self.only_list_of(svc))
            .filter(|l| l.cidrs.is_empty())
    }

    /// Where `ip` can be pinned, best first: the user's word, a managed list, a published range.
    pub fn stable_target(&self, ip: IpAddr) -> Option<Stable> {
        if let Some((n, _)) = self
            .stable
            .iter()
            .filter(|(n, _)| n.contains(&ip))
            .max_by_key(|(n, _)| n.prefix_len())
        {
            return Some(Stable::Declared(*n));
        }
        if let Some(l) = self.list_of(ip) {
            return Some(Stable::List(l.id.clone()));
        }
        self.aws_range(ip).map(|r| Stable::Published(r.net))
    }

    /// The entries of a managed list: its own, else the published ranges of its service and
    /// region (what AWS builds the list from), else, for the only list of its service, the
    /// addresses the logs name as that service (host prefixes: enough to check the flows
    /// seen, which is what the entries are used for).
    pub fn entries_of(&self, list: &ManagedList) -> Vec<IpNet> {
        if !list.cidrs.is_empty() {
            return list.cidrs.clone();
        }
        let Some((region, service)) = list.region_service() else {
            return Vec::new();
        };
        let published: Vec<IpNet> = self
            .aws
            .iter()
            .filter(|r| r.region == region && r.service == service)
            .map(|r| r.net)
            .collect();
        if !published.is_empty() || self.only_list_of(&service).is_none() {
            return published;
        }
        let mut seen: Vec<IpNet> = self
            .observed
            .by_addr
            .iter()
            .filter(|(ip, s)| **s == service && self.aws_range(**ip).is_none())
            .map(|(ip, _)| IpNet::from(*ip))
            .collect();
        seen.sort();
        seen
    }
}

/// Stable CIDRs: one a line, `# comment` lines and blank lines skipped, a description may
/// follow the CIDR. Errors name the line.
pub fn parse_stable_cidrs(text: &str) -> Result<Vec<(IpNet, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (cidr, desc) = line
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((line, ""));
        let net = parse_net(cidr).ok_or_else(|| {
            format!(
                "line {}: {:?} is not a CIDR (expected e.g. 203.0.113.0/24 or 2001:db8::/32)",
                i + 1,
                crate::flowlog::sniff::printable(cidr)
            )
        })?;
        out.push((net, desc.to_string()));
    }
    Ok(out)
}

/// A CIDR, or a bare address as its host prefix.
fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

/// `ip-ranges.json`. Errors name the entry.
pub fn parse_ip_ranges(text: &str) -> Result<Vec<AwsRange>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(obj) = v.as_object() else {
        return Err("expected an object with \"prefixes\" (AWS ip-ranges.json)".into());
    };
    if !obj.contains_key("prefixes") && !obj.contains_key("ipv6_prefixes") {
        return Err("no \"prefixes\" or \"ipv6_prefixes\": not AWS ip-ranges.json".into());
    }
    let mut out = Vec::new();
    for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
        let Some(items) = obj.get(list) else { continue };
        let items = items
            .as_array()
            .ok_or_else(|| format!("{list}: expected an array"))?;
        for (i, it) in items.iter().enumerate() {
            let field = |k: &str| it.get(k).and_then(Value::as_str);
            let net = field(key)
                .and_then(parse_net)
                .ok_or_else(|| format!("{list}[{i}]: no valid {key:?}"))?;
            out.push(AwsRange {
                net,
                region: field("region").unwrap_or("GLOBAL").to_string(),
                service: field("service").unwrap_or("AMAZON").to_string(),
            });
        }
    }
    Ok(out)
}

/// `describe-prefix-lists` or `describe-managed-prefix-lists` output: AWS-managed lists only
/// (names `com.amazonaws.*`); customer-managed ones are not services.
pub fn parse_managed_lists(text: &str) -> Result<Vec<ManagedList>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let items = v
        .get("PrefixLists")
        .and_then(Value::as_array)
        .ok_or("expected {\"PrefixLists\": [...]} (aws ec2 describe-prefix-lists or describe-managed-prefix-lists)")?;
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let s = |k: &str| it.get(k).and_then(Value::as_str);
        let (Some(id), Some(name)) = (s("PrefixListId"), s("PrefixListName")) else {
            return Err(format!(
                "PrefixLists[{i}]: needs PrefixListId and PrefixListName"
            ));
        };
        if !name.starts_with("com.amazonaws.") {
            continue;
        }
        let mut cidrs = Vec::new();
        for (j, c) in it
            .get("Cidrs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            cidrs.push(
                c.as_str()
                    .and_then(parse_net)
                    .ok_or_else(|| format!("PrefixLists[{i}].Cidrs[{j}]: not a CIDR"))?,
            );
        }
        out.push(ManagedList {
            id: id.to_string(),
            name: name.to_string(),
            cidrs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownRanges {
        KnownRanges {
            stable: parse_stable_cidrs("# partner\n198.51.100.0/24 payments partner\n").unwrap(),
            aws: parse_ip_ranges(
                r#"{"syncToken":"1","createDate":"x","prefixes":[
                {"ip_prefix":"3.218.180.0/22","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"},
                {"ip_prefix":"3.218.180.0/22","region":"us-east-1","service":"DYNAMODB","network_border_group":"us-east-1"},
                {"ip_prefix":"52.94.0.0/16","region":"us-east-1","service":"AMAZON","network_border_group":"us-east-1"}],
                "ipv6_prefixes":[]}"#,
            )
            .unwrap(),
            lists: parse_managed_lists(
                r#"{"PrefixLists":[{"PrefixListId":"pl-02cd2c6b","PrefixListName":"com.amazonaws.us-east-1.dynamodb","OwnerId":"AWS"},
                {"PrefixListId":"pl-0abc","PrefixListName":"office","OwnerId":"1"}]}"#,
            )
            .unwrap(),
            observed: Default::default(),
        }
    }

    #[test]
    fn a_service_named_by_the_logs_goes_through_its_only_list() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut k = KnownRanges {
            lists: parse_managed_lists(
                r#"{"PrefixLists":[{"PrefixListId":"pl-63a5400a","PrefixListName":"com.amazonaws.us-east-1.s3"}]}"#,
            )
            .unwrap(),
            ..Default::default()
        };
        k.observed.by_addr.insert(ip("52.216.8.9"), "S3".into());
        k.observed.by_addr.insert(ip("3.5.0.1"), "AMAZON".into());
        assert_eq!(k.service_of(ip("52.216.8.9")), Some("S3"));
        assert_eq!(
            k.stable_target(ip("52.216.8.9")),
            Some(Stable::List("pl-63a5400a".into()))
        );
        assert_eq!(k.stable_target(ip("3.5.0.1")), None);
        assert_eq!(
            k.entries_of(&k.lists[0]),
            vec!["52.216.8.9/32".parse::<IpNet>().unwrap()]
        );
        // Two regions' lists of the service: the logs do not say which.
        k.lists.extend(
            parse_managed_lists(
                r#"{"PrefixLists":[{"PrefixListId":"pl-68a54001","PrefixListName":"com.amazonaws.us-west-2.s3"}]}"#,
            )
            .unwrap(),
        );
        assert_eq!(k.stable_target(ip("52.216.8.9")), None);
        assert!(k.entries_of(&k.lists[0]).is_empty());
    }

    #[test]
    fn pins_through_declared_then_list_then_published_range() {
        let k = known();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            k.stable_target(ip("198.51.100.7")),
            Some(Stable::Declared("198.51.100.0/24".parse().unwrap()))
        );
        assert_eq!(
            k.stable_target(ip("3.218.181.167")),
            Some(Stable::List("pl-02cd2c6b".into()))
        );
        assert_eq!(
            k.aws_range(ip("3.218.181.167")).unwrap().service,
            "DYNAMODB"
        );
        assert_eq!(
            k.stable_target(ip("52.94.236.248")),
            Some(Stable::Published("52.94.0.0/16".parse().unwrap()))
        );
        assert_eq!(k.stable_target(ip("104.18.12.33")), None);
        // Customer-managed lists are not services.
        assert_eq!(k.lists.len(), 1);
        assert_eq!(
            k.entries_of(&k.lists[0]),
            vec!["3.218.180.0/22".parse::<IpNet>().unwrap()]
        );
    }

    #[test]
    fn bad_files_name_the_place() {
        let e = parse_stable_cidrs("10.0.0.0/8\n\n10.0.0.0/33 x\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = parse_ip_ranges(r#"{"prefixes":[{"ip_prefix":"1.2.3.0/24"},{"ip_prefix":"x"}]}"#)
            .unwrap_err();
        assert!(e.contains("prefixes[1]"), "{e}");
        assert!(parse_ip_ranges("[1]").is_err());
        let e = parse_managed_lists(r#"{"PrefixLists":[{"PrefixListId":"pl-1"}]}"#).unwrap_err();
        assert!(e.contains("PrefixLists[0]"), "{e}");
    }
}
