//! `flowscope recommend` end to end on the retail-store sample and on
//! generated variants: the headline, safety, CLI and CloudFormation
//! outputs, and bad inventory. Small hand-made accounts are in
//! `recommend_accounts`.

use std::collections::BTreeMap;

use crate::util::*;

const SAMPLE: &str = "sample-logs/retail-store";

fn group_ids() -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join(SAMPLE).join("security-groups.json")).unwrap(),
    )
    .unwrap();
    v["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["GroupName"].as_str().unwrap().to_string(),
                g["GroupId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn recommend_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["recommend", "-o", "json"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)
}

pub fn recs_of<'a>(
    doc: &'a serde_json::Value,
    kind: &str,
    group: &str,
) -> Vec<&'a serde_json::Value> {
    doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == kind && r["group_id"] == group)
        .collect()
}

#[test]
fn headline_allow_8080_from_the_alb_group_instead_of_the_world() {
    let ids = group_ids();
    let alb = &ids["retail-store-alb"];
    let doc = recommend_json(&[SAMPLE]);
    for task in [
        "retail-store-ecs-catalog-task",
        "retail-store-ecs-carts",
        "retail-store-ecs-checkout-task",
    ] {
        let recs = recs_of(&doc, "replace-cidr-with-group", &ids[task]);
        let r = recs
            .iter()
            .find(|r| r["rule"]["cidr"] == "0.0.0.0/0")
            .unwrap_or_else(|| panic!("no replace-cidr-with-group for {task}"));
        assert_eq!(r["rule"]["from_port"], 8080);
        assert_eq!(r["direction"], "ingress");
        let proposed = r["proposed"].as_array().unwrap();
        assert_eq!(proposed.len(), 1, "{task}: {r}");
        assert_eq!(proposed[0]["group_id"], *alb);
        assert_eq!(proposed[0]["from_port"], 8080);
        assert_eq!(proposed[0]["to_port"], 8080);
        // Six hours of logs: not high, and the reason says why.
        assert_eq!(r["confidence"], "medium");
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("only 6.0 hours of logs"),
            "{r}"
        );
        assert!(r["evidence"]["flows"].as_u64().unwrap() > 100);
    }
    // Orders is also called by checkout: two groups.
    let orders = recs_of(
        &doc,
        "replace-cidr-with-group",
        &ids["retail-store-ecs-orders-task"],
    );
    let mut groups: Vec<&str> = orders[0]["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["group_id"].as_str().unwrap())
        .collect();
    groups.sort();
    let mut want = vec![alb.as_str(), ids["retail-store-ecs-checkout-task"].as_str()];
    want.sort();
    assert_eq!(groups, want);

    let table = stdout(&run(&["recommend", SAMPLE]));
    assert!(
        table.contains("retail-store-ecs-catalog-task): allow tcp 8080 from")
            && table.contains("(retail-store-alb) instead of 0.0.0.0/0"),
        "{table}"
    );
}

#[test]
fn bastion_unused_ssh_and_unused_rules() {
    let ids = group_ids();
    let doc = recommend_json(&[SAMPLE]);
    let bastion = &ids["retail-store-bastion"];
    let review = recs_of(&doc, "review-public", bastion);
    assert!(
        review
            .iter()
            .any(|r| r["reason"].as_str().unwrap().contains("22 (SSH)")),
        "{review:?}"
    );
    let unused = recs_of(&doc, "remove-unused", bastion);
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0]["rule"]["from_port"], 22);
    assert!(unused[0]["proposed"].as_array().unwrap().is_empty());
    let orders = recs_of(&doc, "remove-unused", &ids["retail-store-ecs-orders-task"]);
    assert_eq!(orders[0]["rule"]["from_port"], 9000);
    assert_eq!(orders[0]["rule"]["to_port"], 9100);
    // The ALB's 443 serves the internet: kept.
    let alb = recs_of(&doc, "review-public", &ids["retail-store-alb"]);
    assert!(alb
        .iter()
        .any(|r| r["rule"]["from_port"] == 443 && r["proposed"].as_array().unwrap().is_empty()));
    // The default group has no interfaces: unobserved, never "unused".
    let default = &ids["default"];
    let statuses: Vec<(&str, &str)> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["group_id"] == *default)
        .map(|r| {
            (
                r["direction"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    // Its two rules (self-referencing ingress, allow-all egress).
    assert_eq!(
        statuses,
        [("ingress", "unobserved"), ("egress", "unobserved")]
    );
    assert!(recs_of(&doc, "remove-unused", default).is_empty());
}

#[test]
fn responses_never_create_egress_rules() {
    // Egress proposals list only services the groups initiated: no
    // ephemeral ports (responses to the ALB) in any tighten-egress.
    let doc = recommend_json(&[SAMPLE]);
    let tighten: Vec<&serde_json::Value> = doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "tighten-egress")
        .collect();
    // Not vacuous: the catalog task's allow-all egress becomes what it
    // initiated, MySQL to the catalog database's group among them.
    let ids = group_ids();
    let catalog = tighten
        .iter()
        .find(|r| r["group_id"] == ids["retail-store-ecs-catalog-task"])
        .expect("a tighten-egress for the catalog task");
    assert!(
        catalog["proposed"].as_array().unwrap().iter().any(|p| {
            p["from_port"] == 3306 && p["group_id"] == ids["retail-store-ecs-catalog-rds"]
        }),
        "{catalog}"
    );
    for r in tighten {
        for p in r["proposed"].as_array().unwrap() {
            let port = p["from_port"].as_i64().unwrap_or(-1);
            assert!(
                [443, 5432, 3306, 6379, 8080].contains(&port),
                "unexpected egress port in {p}"
            );
        }
    }
}

#[test]
fn safety_holds_on_the_sample_and_generated_variants() {
    let doc = recommend_json(&[SAMPLE]);
    assert!(
        doc["safety"]["violations"].as_array().unwrap().is_empty(),
        "{}",
        doc["safety"]
    );
    assert!(doc["safety"]["checked_flows"].as_u64().unwrap() > 30_000);
    assert_balanced(&doc["input"]);
    let dir = tempfile::tempdir().unwrap();
    for (seed, format, hours) in [
        ("2", "v2", "2"),
        ("3", "v5", "12"),
        ("4", "v3", "1"),
        ("5", "mixed", "30"),
    ] {
        let out_dir = dir.path().join(seed);
        let o = out_dir.to_str().unwrap();
        let g = run(&[
            "generate",
            "--out",
            o,
            "--records",
            "8000",
            "--files",
            "4",
            "--seed",
            seed,
            "--format",
            format,
            "--hours",
            hours,
        ]);
        assert!(g.status.success(), "{}", stderr(&g));
        let doc = recommend_json(&[o]);
        assert!(
            doc["safety"]["violations"].as_array().unwrap().is_empty(),
            "seed {seed}: {}",
            doc["safety"]
        );
        assert!(doc["safety"]["checked_flows"].as_u64().unwrap() > 1000);
        assert_eq!(
            doc["findings"]["unexplained_flows"], 0,
            "seed {seed}: {}",
            doc["findings"]
        );
    }
}

#[test]
fn cli_output_authorizes_before_revoking_with_valid_json() {
    let out = run(&["recommend", "-o", "cli", SAMPLE]);
    assert!(out.status.success());
    let text = stdout(&out);
    let cmds: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("change aws "))
        .collect();
    let first_revoke = cmds
        .iter()
        .position(|l| l.contains(" revoke-"))
        .expect("revokes");
    let last_authorize = cmds
        .iter()
        .rposition(|l| l.contains(" authorize-"))
        .expect("authorizes");
    assert!(
        last_authorize < first_revoke,
        "every authorize precedes every revoke"
    );
    for c in &cmds {
        let json_arg = c
            .split("--ip-permissions '")
            .nth(1)
            .map(|s| s.trim_end_matches('\''));
        if let Some(j) = json_arg {
            let v: serde_json::Value =
                serde_json::from_str(j).unwrap_or_else(|e| panic!("{e}: {c}"));
            let p = &v[0];
            assert!(p["IpProtocol"].is_string(), "{c}");
            let sources = [
                "IpRanges",
                "Ipv6Ranges",
                "UserIdGroupPairs",
                "PrefixListIds",
            ];
            assert_eq!(
                sources.iter().filter(|k| p.get(**k).is_some()).count(),
                1,
                "{c}"
            );
        }
    }
    assert!(text.contains("revoke-security-group-ingress --group-id"));
}

#[test]
fn cfn_output_is_the_template_with_rules_rewritten() {
    let out = run(&["recommend", "-o", "cfn", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let patched: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join(SAMPLE).join("template.json")).unwrap())
            .unwrap();
    let (pr, or) = (
        patched["Resources"].as_object().unwrap(),
        original["Resources"].as_object().unwrap(),
    );
    // Every resource is kept, in order, except the two standalone ingress
    // rules that are removed: the unused 9000-9100 and the redundant
    // 8080-8090 (its flows are covered by the new group rule).
    let kept: Vec<&String> = or.keys().filter(|k| pr.contains_key(*k)).collect();
    let old_keys: Vec<&String> = pr.keys().filter(|k| or.contains_key(*k)).collect();
    assert_eq!(old_keys, kept, "order kept");
    let mut removed: Vec<&str> = or
        .keys()
        .filter(|k| !pr.contains_key(*k))
        .map(|k| k.as_str())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        vec![
            "NetworkCatalogSecurityGroupIngressServicePorts8080to80903C95D1F4",
            "NetworkOrdersSecurityGroupIngressAdminPorts9000to9100E41B7A20"
        ]
    );
    assert_eq!(patched["Description"], original["Description"]);
    // The catalog task group's 8080 now comes from the ALB's group by GetAtt.
    let ingress = &pr["NetworkCatalogSecurityGroupEFFC643F"]["Properties"]["SecurityGroupIngress"];
    let rules = ingress.as_array().unwrap();
    assert!(
        rules.iter().all(|r| r.get("CidrIp").is_none()),
        "no world-open rule left: {ingress}"
    );
    // (as a standalone ingress resource: inline group references can close cycles)
    let rule = pr
        .values()
        .find(|r| {
            r["Type"] == "AWS::EC2::SecurityGroupIngress"
                && r["Properties"]["GroupId"]["Fn::GetAtt"][0]
                    == "NetworkCatalogSecurityGroupEFFC643F"
                && r["Properties"]["FromPort"] == 8080
        })
        .expect("a standalone 8080 ingress rule of the catalog group");
    let src = &rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"];
    assert_eq!(src[1], "GroupId");
    assert!(
        pr.contains_key(src[0].as_str().unwrap()),
        "GetAtt names a resource of the template"
    );
    // Resources without changes are untouched.
    for (k, v) in or {
        let t = v["Type"].as_str().unwrap();
        if !t.starts_with("AWS::EC2::SecurityGroup") {
            assert_eq!(&pr[k], v, "{k} changed");
        }
    }
    // The patched template loads back as a template with the same groups.
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "patched.json", &out.stdout);
    let inv = flowscope::inventory::Inventory::load(&flowscope::inventory::InventoryPaths {
        groups: vec![repo().join(SAMPLE).join("security-groups.json")],
        template: Some(p.into()),
        ..Default::default()
    })
    .unwrap();
    assert!(inv.template.unwrap().groups.len() >= 8);
}

#[test]
fn bad_inventory_is_named_and_unknown_interfaces_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = write(d, "sgs.json", b"{\"SecurityGroups\": [");
    let enis = repo().join(SAMPLE).join("network-interfaces.json");
    let logs = repo().join(SAMPLE).join("AWSLogs");
    let out = run(&[
        "recommend",
        "--groups",
        &bad,
        "--interfaces",
        enis.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sgs.json") && stderr(&out).contains("JSON"),
        "{}",
        stderr(&out)
    );

    let out = run(&["recommend", logs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--groups"), "{}", stderr(&out));

    // An inventory that lacks one interface: its traffic is reported, not dropped.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&enis).unwrap()).unwrap();
    let list = v["NetworkInterfaces"].as_array_mut().unwrap();
    let removed = list.remove(0)["NetworkInterfaceId"]
        .as_str()
        .unwrap()
        .to_string();
    let enis2 = write(
        d,
        "enis.json",
        serde_json::to_string(&v).unwrap().as_bytes(),
    );
    let sgs = repo().join(SAMPLE).join("security-groups.json");
    let out = run(&[
        "recommend",
        "-o",
        "json",
        "--groups",
        sgs.to_str().unwrap(),
        "--interfaces",
        &enis2,
        logs.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    let unknown = doc["findings"]["unknown_interfaces"].as_array().unwrap();
    assert!(
        unknown
            .iter()
            .any(|u| u["interface_id"] == removed && u["flows"].as_u64().unwrap() > 0),
        "{unknown:?}"
    );
}
