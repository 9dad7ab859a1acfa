//! `recommend -o terraform`: valid HCL (parsed back with the hcl crate) that names every change:
//! each proposed rule as a resource, each revoked rule by an import of its sgr- id (or a comment
//! when it has none).

use crate::recommend::recommend_json;
use crate::util::*;

const SAMPLE: &str = "sample-logs/retail-store";

fn terraform(args: &[&str]) -> (String, hcl::Body) {
    let mut a = vec!["recommend", "-o", "terraform"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let body = hcl::parse(&text).unwrap_or_else(|e| panic!("invalid HCL: {e}\n{text}"));
    (text, body)
}

fn attr(b: &hcl::Block, k: &str) -> Option<String> {
    b.body()
        .attributes()
        .find(|a| a.key() == k)
        .map(|a| match a.expr() {
            hcl::Expression::String(s) => s.clone(),
            e => e.to_string(),
        })
}

/// A proposed or current rule of the JSON document as the resource attributes it must become.
fn expected(group: &str, spec: &serde_json::Value) -> Vec<(String, String)> {
    let mut v = vec![
        ("security_group_id".to_string(), group.to_string()),
        (
            "ip_protocol".into(),
            spec["protocol"].as_str().unwrap().to_string(),
        ),
    ];
    for (k, j) in [
        ("from_port", "from_port"),
        ("to_port", "to_port"),
        ("cidr_ipv4", "cidr"),
        ("referenced_security_group_id", "group_id"),
        ("prefix_list_id", "prefix_list_id"),
        ("description", "description"),
    ] {
        match &spec[j] {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if k == "cidr_ipv4" && s.contains(':') => {
                v.push(("cidr_ipv6".into(), s.clone()))
            }
            serde_json::Value::String(s) => v.push((k.into(), s.clone())),
            n => v.push((k.into(), n.to_string())),
        }
    }
    v.sort();
    v
}

fn resources(body: &hcl::Body) -> Vec<(String, Vec<(String, String)>)> {
    body.blocks()
        .filter(|b| b.identifier() == "resource")
        .map(|b| {
            let mut attrs: Vec<(String, String)> = b
                .body()
                .attributes()
                .map(|a| (a.key().to_string(), attr(b, a.key()).unwrap()))
                .collect();
            attrs.sort();
            (b.labels()[0].as_str().to_string(), attrs)
        })
        .collect()
}

#[test]
fn the_sample_as_terraform_parses_and_names_every_change() {
    let (text, body) = terraform(&[SAMPLE]);
    let doc = recommend_json(&[SAMPLE]);
    let res = resources(&body);
    let mut seen_rules = std::collections::BTreeSet::new();
    let mut proposed = 0;
    for r in doc["recommendations"].as_array().unwrap() {
        if r["kind"] == "review-public" {
            continue;
        }
        let key = (r["group_id"].to_string(), r["rule"].to_string());
        if !seen_rules.insert(key) {
            continue; // one change per rule, as applied
        }
        let ty = format!(
            "aws_vpc_security_group_{}_rule",
            r["direction"].as_str().unwrap()
        );
        let group = r["group_id"].as_str().unwrap();
        for p in r["proposed"].as_array().unwrap() {
            let want = expected(group, p);
            assert!(
                res.iter().any(|(t, a)| *t == ty && *a == want),
                "proposed rule not in the Terraform: {ty} {want:?}\n{text}"
            );
            proposed += 1;
        }
        // The sample's inventory has no sgr- ids: each revocation is a comment naming it.
        let rule = &r["rule"];
        let target = rule["cidr"].as_str().or(rule["group_id"].as_str()).unwrap();
        let needle = format!(
            "# Revoke by hand: {group} {}",
            r["direction"].as_str().unwrap()
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(&needle) && l.contains(target)),
            "revocation of {group} {rule} not named\n{text}"
        );
    }
    assert_eq!(res.len(), proposed, "a resource that is no proposal");
    assert!(proposed > 10);
    // terraform fmt style: `=` aligned within each block.
    for block in text.split("\n\n").filter(|b| b.contains("resource \"")) {
        let cols: std::collections::BTreeSet<usize> = block
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains(" = "))
            .map(|l| l.find(" = ").unwrap())
            .collect();
        assert!(cols.len() <= 1, "unaligned block:\n{block}");
    }
}

#[test]
fn rules_with_ids_are_imported_then_removed() {
    // describe-security-group-rules: one rule a row, each with its sgr- id.
    let dir = tempfile::tempdir().unwrap();
    let rules = serde_json::json!({"SecurityGroupRules": [
        {"SecurityGroupRuleId": "sgr-0aaa", "GroupId": "sg-0a", "GroupOwnerId": "111111111111",
         "IsEgress": false, "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0",
         "Description": "ssh \"admin\""},
        {"SecurityGroupRuleId": "sgr-0bbb", "GroupId": "sg-0a", "GroupOwnerId": "111111111111",
         "IsEgress": true, "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"}]});
    write(
        dir.path(),
        "security-group-rules.json",
        rules.to_string().as_bytes(),
    );
    let enis = serde_json::json!({"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-0a1", "InterfaceType": "interface", "VpcId": "vpc-1",
         "PrivateIpAddress": "10.0.1.10", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10"}],
         "Groups": [{"GroupId": "sg-0a"}]}]});
    write(
        dir.path(),
        "network-interfaces.json",
        enis.to_string().as_bytes(),
    );
    let mut log = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..30 {
        log.push_str(&format!(
            "2 111111111111 eni-0a1 10.0.1.10 104.18.12.33 {} 443 6 5 500 1763596800 1763596860 ACCEPT OK\n",
            41000 + i
        ));
    }
    write(dir.path(), "flows.log", log.as_bytes());
    let d = dir.path().to_str().unwrap();
    let (text, body) = terraform(&[d]);
    let imports: Vec<(String, String)> = body
        .blocks()
        .filter(|b| b.identifier() == "import")
        .map(|b| (attr(b, "id").unwrap(), attr(b, "to").unwrap()))
        .collect();
    assert_eq!(
        imports,
        [
            (
                "sgr-0aaa".to_string(),
                "aws_vpc_security_group_ingress_rule.revoke_sgr_0aaa".to_string()
            ),
            (
                "sgr-0bbb".to_string(),
                "aws_vpc_security_group_egress_rule.revoke_sgr_0bbb".to_string()
            )
        ],
        "{text}"
    );
    // Each imported resource is the rule as it is (no change in the plan), description included.
    let res = resources(&body);
    let ssh = &res
        .iter()
        .find(|(t, a)| {
            t == "aws_vpc_security_group_ingress_rule"
                && a.iter().any(|(k, v)| k == "from_port" && v == "22")
        })
        .unwrap_or_else(|| panic!("{text}"))
        .1;
    assert!(
        ssh.contains(&("description".into(), "ssh \"admin\"".into())),
        "{ssh:?}"
    );
    assert!(ssh.contains(&("cidr_ipv4".into(), "0.0.0.0/0".into())));
    // And the step-2 removed block, ready to uncomment.
    for (_, to) in &imports {
        assert!(text.contains(&format!("#   from = {to}\n")), "{text}");
    }
    let removed: String = text
        .lines()
        .skip_while(|l| !l.starts_with("# removed {"))
        .take(6)
        .map(|l| {
            format!(
                "{}\n",
                l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#'))
            )
        })
        .collect();
    let b = hcl::parse(&removed).unwrap_or_else(|e| panic!("{e}: {removed}"));
    assert_eq!(b.blocks().next().unwrap().identifier(), "removed");
    // The egress replacement: 443 to the internet.
    assert!(
        res.iter()
            .any(|(t, a)| t == "aws_vpc_security_group_egress_rule"
                && a.contains(&("cidr_ipv4".into(), "0.0.0.0/0".into()))
                && a.contains(&("from_port".into(), "443".into()))),
        "{text}"
    );
}
