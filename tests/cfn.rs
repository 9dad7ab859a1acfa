//! `recommend -o cfn`: the patched template is one CloudFormation accepts.
//!
//! The retail-store sample's template passes `cfn-lint`; the patched one must too (it did not:
//! inline group references in both directions made E3004 circular dependencies). Besides
//! running `cfn-lint` when it is installed (`.ci/run` installs it; with `CI` set a missing
//! `cfn-lint` fails the test), the output is checked structurally: no dependency cycle, group
//! references as standalone rule resources, every applied recommendation written and every
//! revoked rule gone, nothing but security-group resources changed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use flowscope::inventory::{
    Inventory, InventoryPaths, Protocol, Rule, RuleDirection, RuleTarget, Template,
};

use crate::util::*;

const SAMPLE: &str = "sample-logs/retail-store";
const CHECKOUT: &str = "NetworkCheckoutSecurityGroupFBC9C26C";
const ENDPOINTS: &str = "NetworkVpcEndpointSecurityGroup1F7B9C3A";
const GUARDDUTY: &str = "NetworkGuardDutyEndpointSecurityGroupVPCLatticeEA4520D9";

fn input_template() -> Value {
    serde_json::from_slice(&std::fs::read(repo().join(SAMPLE).join("template.json")).unwrap())
        .unwrap()
}

/// `recommend -o cfn` on the sample: (patched template, stderr).
fn patched() -> (Value, String) {
    let out = run(&["recommend", "-o", "cfn", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    (json(&out), stderr(&out))
}

// ------------------------------------------------------------------ cfn-lint

/// Runs `cfn-lint` on `path`: `None` when it is not installed (and `CI` is not set).
fn cfn_lint(path: &Path) -> Option<(i32, String)> {
    match Command::new("cfn-lint").arg("--").arg(path).output() {
        Ok(out) => {
            let text = format!("{}{}", stdout(&out), stderr(&out));
            Some((out.status.code().unwrap_or(-1), text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "cfn-lint is not installed and CI is set: pip install cfn-lint"
            );
            eprintln!("skipped: cfn-lint is not installed (pip install cfn-lint)");
            None
        }
        Err(e) => panic!("cfn-lint: {e}"),
    }
}

/// The `E` (error) findings of a cfn-lint report, e.g. `E3004 Circular Dependencies ...`.
fn lint_errors(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 5 && b[0] == b'E' && b[1..5].iter().all(u8::is_ascii_digit)
        })
        .collect()
}

#[test]
fn cfn_lint_accepts_the_patched_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = patched();
    let p = write(dir.path(), "patched.json", out.to_string().as_bytes());
    // Control: the input template is clean, so any error is ours.
    let Some((code, report)) = cfn_lint(&repo().join(SAMPLE).join("template.json")) else {
        return;
    };
    assert!(lint_errors(&report).is_empty(), "input template: {report}");
    assert_eq!(code & 2, 0, "input template: exit {code}: {report}");
    let (code, report) = cfn_lint(Path::new(&p)).unwrap();
    assert!(
        lint_errors(&report).is_empty(),
        "patched template: {report}"
    );
    // cfn-lint's exit status is a bit set: 2 = errors (4 = warnings, 8 = informational).
    assert_eq!(code & 2, 0, "patched template: exit {code}: {report}");
}

#[test]
fn lint_error_lines_are_recognised() {
    // The filter above must see the finding cfn-lint printed on the old output.
    let report = "E3004 Circular Dependencies for resource A. Circular dependency with [B]\n\
                  /tmp/patched.json:168:5\n\nW3005 Obsolete DependsOn\n";
    assert_eq!(lint_errors(report).len(), 1);
}

// ------------------------------------------------------------ dependencies

/// Resource → the resources it depends on (`Ref`, `Fn::GetAtt`, `Fn::Sub` `${X}`/`${X.Attr}`,
/// `DependsOn`), as CloudFormation orders creation.
fn dependencies(t: &Value) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(x)) = o.get("Ref") {
                    out.insert(x.clone());
                }
                match o.get("Fn::GetAtt") {
                    Some(Value::Array(a)) => {
                        if let Some(x) = a.first().and_then(Value::as_str) {
                            out.insert(x.to_string());
                        }
                    }
                    Some(Value::String(s)) => {
                        out.insert(s.split('.').next().unwrap().to_string());
                    }
                    _ => {}
                }
                let sub = match o.get("Fn::Sub") {
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(Value::Array(a)) => a.first().and_then(Value::as_str),
                    _ => None,
                };
                for part in sub.map(|s| s.split("${").skip(1)).into_iter().flatten() {
                    let name = part.split(['}', '.']).next().unwrap();
                    out.insert(name.to_string());
                }
                for x in o.values() {
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let resources = t["Resources"].as_object().unwrap();
    let names: HashSet<&str> = resources.keys().map(String::as_str).collect();
    let mut graph = BTreeMap::new();
    for (name, res) in resources {
        let mut deps = BTreeSet::new();
        walk(res, &mut deps);
        match &res["DependsOn"] {
            Value::String(s) => {
                deps.insert(s.clone());
            }
            Value::Array(a) => deps.extend(a.iter().filter_map(|x| x.as_str().map(String::from))),
            _ => {}
        }
        deps.retain(|d| names.contains(d.as_str()));
        graph.insert(name.clone(), deps);
    }
    graph
}

/// A dependency cycle, if any (as a path that starts and ends at the same resource).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0 = not seen, 1 = on the current path, 2 = done
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n).copied().unwrap_or(0) {
            1 => {
                let start = path.iter().position(|p| p == n).unwrap();
                let mut c = path[start..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            2 => return None,
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, graph, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut state, &mut Vec::new()))
}

#[test]
fn the_cycle_check_finds_mutual_inline_references() {
    // The shape of the old output: two groups that reference each other inline.
    let t = json!({"Resources": {
        "A": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupEgress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "DestinationSecurityGroupId": {"Fn::GetAtt": ["B", "GroupId"]}}]}},
        "B": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "SourceSecurityGroupId": {"Ref": "A"}}]}},
        "C": {"Type": "AWS::EC2::VPC", "Properties": {"Tags": [{"Key": "n", "Value": {"Fn::Sub": "${A.GroupId}"}}]}}
    }});
    let g = dependencies(&t);
    assert_eq!(g["C"], BTreeSet::from(["A".to_string()]));
    let c = cycle(&g).expect("a cycle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 3, "{c:?}");
}

#[test]
fn the_patched_sample_has_no_dependency_cycle() {
    assert_eq!(cycle(&dependencies(&input_template())), None);
    let (out, _) = patched();
    assert_eq!(cycle(&dependencies(&out)), None);
}

// ------------------------------------------------------- standalone rules

/// Every rule written as a standalone resource: (type, group, peer, from port).
fn standalone_rules(t: &Value) -> BTreeSet<(String, String, String, i64)> {
    let lid = |v: &Value| match v {
        Value::String(s) => s.clone(),
        v => v["Fn::GetAtt"][0].as_str().unwrap_or("?").to_string(),
    };
    t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| {
            matches!(
                r["Type"].as_str(),
                Some("AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress")
            )
        })
        .map(|r| {
            let p = &r["Properties"];
            let peer = [
                "SourceSecurityGroupId",
                "DestinationSecurityGroupId",
                "CidrIp",
            ]
            .iter()
            .find_map(|k| p.get(*k))
            .map(lid)
            .unwrap_or_default();
            let ty = r["Type"].as_str().unwrap().rsplit("::").next().unwrap();
            (
                ty.to_string(),
                lid(&p["GroupId"]),
                peer,
                p["FromPort"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[test]
fn group_references_are_standalone_resources() {
    let input = input_template();
    let (out, _) = patched();
    let resources = out["Resources"].as_object().unwrap();
    // No group reference is added inline: every inline one was already in the input.
    for (name, res) in resources {
        if res["Type"] != "AWS::EC2::SecurityGroup" {
            continue;
        }
        for key in ["SecurityGroupIngress", "SecurityGroupEgress"] {
            let before = input["Resources"][name]["Properties"][key].as_array();
            for rule in res["Properties"][key].as_array().into_iter().flatten() {
                if rule.get("SourceSecurityGroupId").is_some()
                    || rule.get("DestinationSecurityGroupId").is_some()
                {
                    assert!(
                        before.is_some_and(|b| b.contains(rule)),
                        "new inline group reference in {name}.{key}: {rule}"
                    );
                }
            }
        }
    }
    // The two rules that made the E3004 cycle, now as resources of their own.
    let rules = standalone_rules(&out);
    let has = |ty: &str, group: &str, peer: &str, port: i64| {
        rules.contains(&(ty.into(), group.into(), peer.into(), port))
    };
    assert!(
        has("SecurityGroupIngress", ENDPOINTS, CHECKOUT, 443),
        "{rules:#?}"
    );
    assert!(
        has("SecurityGroupEgress", CHECKOUT, ENDPOINTS, 443),
        "{rules:#?}"
    );
    // ... and the GuardDuty endpoint's "from the VPC" rule, replaced by the four task groups.
    let from_tasks = rules
        .iter()
        .filter(|(ty, g, _, port)| ty == "SecurityGroupIngress" && g == GUARDDUTY && *port == 443)
        .count();
    assert_eq!(from_tasks, 4, "{rules:#?}");
    // Every group and peer named is a security group of the template.
    for (_, group, peer, _) in &rules {
        assert_eq!(
            resources[group]["Type"], "AWS::EC2::SecurityGroup",
            "{group}"
        );
        if !peer.contains('/') {
            assert_eq!(resources[peer]["Type"], "AWS::EC2::SecurityGroup", "{peer}");
        }
    }
    // Only security-group resources differ from the input; the rest is untouched.
    for (name, res) in input["Resources"].as_object().unwrap() {
        if !res["Type"]
            .as_str()
            .unwrap()
            .starts_with("AWS::EC2::SecurityGroup")
        {
            assert_eq!(&resources[name], res, "{name} changed");
        }
    }
    for (name, res) in resources {
        let ty = res["Type"].as_str().unwrap();
        assert!(
            input["Resources"].get(name).is_some() || ty.starts_with("AWS::EC2::SecurityGroup"),
            "{name}: {ty} added"
        );
    }
    for (k, v) in input.as_object().unwrap() {
        if k != "Resources" {
            assert_eq!(&out[k], v, "{k} changed");
        }
    }
}

// ------------------------------------------------- recommendations applied

fn rule_of(group_id: &str, direction: &str, r: &Value) -> Rule {
    let target = if let Some(c) = r["cidr"].as_str() {
        RuleTarget::Cidr(c.parse().unwrap())
    } else if let Some(g) = r["group_id"].as_str() {
        RuleTarget::Group {
            group_id: g.into(),
            user_id: None,
        }
    } else {
        RuleTarget::PrefixList(r["prefix_list_id"].as_str().unwrap().into())
    };
    let port = |k: &str| r[k].as_u64().map(|p| p as u16);
    Rule {
        group_id: group_id.into(),
        direction: if direction == "ingress" {
            RuleDirection::Ingress
        } else {
            RuleDirection::Egress
        },
        protocol: Protocol::from_value(&r["protocol"]).unwrap(),
        from_port: port("from_port"),
        to_port: port("to_port"),
        icmp_type: None,
        icmp_code: None,
        target,
        description: None,
        rule_id: None,
    }
}

#[test]
fn every_change_is_written_and_every_revoked_rule_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = patched();
    assert!(!err.contains("is not in the template"), "{err}");
    let p = write(dir.path(), "patched.json", out.to_string().as_bytes());
    let inv = Inventory::load(&InventoryPaths {
        groups: vec![repo().join(SAMPLE).join("security-groups.json")],
        template: Some(p.into()),
        ..Default::default()
    })
    .unwrap();
    let t: &Template = inv.template.as_ref().unwrap();
    let rec = json(&run(&["recommend", "-o", "json", SAMPLE]));
    let mut seen = HashSet::new();
    let mut checked = 0;
    for r in rec["recommendations"].as_array().unwrap() {
        let (g, d) = (
            r["group_id"].as_str().unwrap(),
            r["direction"].as_str().unwrap(),
        );
        // as -o cfn: the first rule-changing recommendation of each rule is applied
        if r["kind"] == "review-public" || !seen.insert((g, d, r["rule"].to_string())) {
            continue;
        }
        let old = rule_of(g, d, &r["rule"]);
        let proposed: Vec<Rule> = r["proposed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| rule_of(g, d, p))
            .collect();
        if !proposed.contains(&old) {
            assert_eq!(t.find_rule_for(&old), None, "still in the template: {r}");
        }
        for new in &proposed {
            assert!(t.find_rule_for(new).is_some(), "not written: {new:?} ({r})");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} recommendations");
    // The revoked standalone rules are removed, not emptied.
    let resources = out["Resources"].as_object().unwrap();
    assert!(
        !resources.contains_key("NetworkOrdersSecurityGroupIngressAdminPorts9000to9100E41B7A20")
    );
    // The implicit allow-all egress does not come back where every egress rule is revoked.
    let rds = &resources["NetworkOrdersRDSSecurityGroupD378DF87"]["Properties"];
    assert_eq!(
        rds["SecurityGroupEgress"][0]["CidrIp"],
        "255.255.255.255/32"
    );
}

// --------------------------------------------- rules with intrinsic CIDRs

/// The sample's inventory with a changed template; returns (exit code, stdout, stderr).
fn with_template(template: &Value) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "template.json", template.to_string().as_bytes());
    let s = repo().join(SAMPLE);
    let (groups, enis, logs) = (
        s.join("security-groups.json"),
        s.join("network-interfaces.json"),
        s.join("AWSLogs"),
    );
    let out = run(&[
        "recommend",
        "-o",
        "cfn",
        "--template",
        &t,
        "--groups",
        groups.to_str().unwrap(),
        "--interfaces",
        enis.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    (out.status.code(), stdout(&out), stderr(&out))
}

#[test]
fn a_rule_from_the_vpc_cidr_is_found_and_a_missing_rule_is_reported() {
    // Fn::GetAtt [Vpc, CidrBlock] with a literal CidrBlock: resolved from the template.
    let (code, _, err) = with_template(&input_template());
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("is not in the template"), "{err}");
    // The VPC's CidrBlock a parameter: resolved through the live group's one matching rule.
    let mut t = input_template();
    t["Parameters"] = json!({"VpcCidr": {"Type": "String", "Default": "10.0.0.0/16"}});
    t["Resources"]["NetworkRetailStoreVPC2A069619D"]["Properties"]["CidrBlock"] =
        json!({"Ref": "VpcCidr"});
    let (code, out, err) = with_template(&t);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("is not in the template"), "{err}");
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        out["Resources"][GUARDDUTY]["Properties"]["SecurityGroupIngress"],
        json!([])
    );
    // The rule really missing from the template: the warning names it.
    let mut t = input_template();
    t["Resources"][GUARDDUTY]["Properties"]["SecurityGroupIngress"] = json!([]);
    let (code, _, err) = with_template(&t);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("sg-0976b441545b07efe ingress tcp 443 is not in the template"),
        "{err}"
    );
}

// ------------------------------------------------------ unmatched template

#[test]
fn a_template_of_another_stack_is_an_error() {
    let other = json!({"Resources": {
        "Web": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "web", "GroupName": "not-in-this-account",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}}
    }});
    let (code, out, err) = with_template(&other);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "", "no template printed");
    assert!(
        err.contains("none of the 1 security group and 0 standalone rules"),
        "{err}"
    );
    assert!(err.contains("matches a group of the inventory"), "{err}");
    // No security-group resource at all.
    let (code, out, err) = with_template(&json!({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}));
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "");
    assert!(err.contains("defines no AWS::EC2::SecurityGroup"), "{err}");
}
