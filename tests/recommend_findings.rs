//! Findings carry their Security Hub / CIS ids; group findings (default group, unattached
//! groups, stale references); confidence that knows the window; the output filters.

use crate::recommend::recommend_json;
use crate::util::*;

const SAMPLE: &str = "sample-logs/retail-store";

fn ids(r: &serde_json::Value) -> Vec<String> {
    r["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["standard"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn sample_findings_carry_security_hub_and_cis_ids() {
    let doc = recommend_json(&[SAMPLE]);
    let recs = doc["recommendations"].as_array().unwrap();
    let bastion = recs
        .iter()
        .find(|r| r["kind"] == "review-public" && r["group_name"] == "retail-store-bastion")
        .unwrap();
    assert_eq!(
        ids(bastion),
        [
            "aws-fsbp:EC2.13",
            "cis-aws-foundations-1.2.0:4.1",
            "aws-fsbp:EC2.53",
            "cis-aws-foundations-3.0.0:5.2",
            "aws-fsbp:EC2.18",
            "aws-fsbp:EC2.19"
        ]
    );
    // 8080 from the world: not an authorized port, and on EC2.19's list.
    let catalog = recs
        .iter()
        .find(|r| {
            r["kind"] == "replace-cidr-with-group"
                && r["group_name"] == "retail-store-ecs-catalog-task"
                && r["rule"]["cidr"] == "0.0.0.0/0"
        })
        .unwrap();
    assert_eq!(ids(catalog), ["aws-fsbp:EC2.18", "aws-fsbp:EC2.19"]);
    // The ALB's 443 and 80 are authorized: no control.
    for r in recs
        .iter()
        .filter(|r| r["group_name"] == "retail-store-alb")
    {
        assert!(ids(r).is_empty(), "{r}");
    }
    // The default group has rules (EC2.2).
    let groups = doc["findings"]["groups"].as_array().unwrap();
    let default = groups
        .iter()
        .find(|f| f["kind"] == "default-group-has-rules")
        .expect("default group finding");
    assert_eq!(default["group_name"], "default");
    assert!(ids(default).contains(&"aws-fsbp:EC2.2".to_string()));
    let table = stdout(&run(&["recommend", SAMPLE]));
    assert!(
        table.contains("exposes 22 (SSH) to the internet [Security Hub EC2.13, EC2.53, EC2.18, EC2.19; CIS 1.2.0 4.1, 3.0.0 5.2]"),
        "{table}"
    );
}

/// An account of three groups: the default one (in use), `app` (a rule referencing sg-0gone of
/// its own account, one referencing another account's group) and `old-batch` (attached to
/// nothing), with one flow.
fn findings_account(dir: &std::path::Path) {
    let sgs = serde_json::json!({"SecurityGroups": [
        {"GroupId": "sg-0d", "GroupName": "default", "OwnerId": "111111111111", "VpcId": "vpc-1",
         "IpPermissions": [], "IpPermissionsEgress": []},
        {"GroupId": "sg-0a", "GroupName": "app", "OwnerId": "111111111111", "VpcId": "vpc-1",
         "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": "sg-0gone", "UserId": "111111111111"},
                                 {"GroupId": "sg-0other", "UserId": "999999999999"}]}],
         "IpPermissionsEgress": []},
        {"GroupId": "sg-0u", "GroupName": "old-batch", "OwnerId": "111111111111", "VpcId": "vpc-1",
         "IpPermissions": [], "IpPermissionsEgress": []}]});
    let enis = serde_json::json!({"NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-0a1", "InterfaceType": "interface", "VpcId": "vpc-1",
         "PrivateIpAddress": "10.0.1.10", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.10"}],
         "Groups": [{"GroupId": "sg-0a"}, {"GroupId": "sg-0d"}]}]});
    write(dir, "security-groups.json", sgs.to_string().as_bytes());
    write(dir, "network-interfaces.json", enis.to_string().as_bytes());
    write(
        dir,
        "flows.log",
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
          2 111111111111 eni-0a1 10.0.1.10 10.0.2.2 40000 443 6 5 500 1763596800 1763596860 ACCEPT OK\n",
    );
}

#[test]
fn default_group_in_use_unattached_groups_and_stale_references() {
    let dir = tempfile::tempdir().unwrap();
    findings_account(dir.path());
    let doc = recommend_json(&[dir.path().to_str().unwrap()]);
    let found: Vec<(String, String, Vec<String>)> = doc["findings"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["group_id"].as_str().unwrap().to_string(),
                ids(f),
            )
        })
        .collect();
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .map(|(k, g, _)| (k.as_str(), g.as_str()))
        .collect();
    // Another account's group is not stale: it cannot be seen from here.
    assert_eq!(
        kinds,
        [
            ("default-group-in-use", "sg-0d"),
            ("stale-reference", "sg-0a"),
            ("unattached-group", "sg-0u")
        ]
    );
    assert!(found[0].2.contains(&"aws-fsbp:EC2.2".to_string()));
    assert_eq!(found[2].2, ["aws-fsbp:EC2.22"]);
    let detail = doc["findings"]["groups"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("sg-0gone"), "{detail}");
}

#[test]
fn six_hours_never_rate_a_change_high_and_filters_apply_to_every_output() {
    let doc = recommend_json(&[SAMPLE]);
    for r in doc["recommendations"].as_array().unwrap() {
        if r["kind"] == "review-public" {
            continue;
        }
        assert_ne!(r["confidence"], "high", "{r}");
        if r["kind"] == "tighten-egress" {
            assert_eq!(r["confidence"], "low", "{r}");
            assert!(
                r["reason"].as_str().unwrap().contains("hours of logs"),
                "{r}"
            );
        }
    }
    let doc = recommend_json(&["--min-confidence", "medium", SAMPLE]);
    let recs = doc["recommendations"].as_array().unwrap();
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["confidence"] != "low"));
    let bastion = "sg-06f964a004a2379dd";
    let doc = recommend_json(&["--group", bastion, "--kind", "review-public", SAMPLE]);
    let recs = doc["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["group_id"], bastion);
    // The CLI script and Terraform see the same selection.
    for fmt in ["cli", "terraform"] {
        let out = stdout(&run(&[
            "recommend",
            "-o",
            fmt,
            "--min-confidence",
            "medium",
            SAMPLE,
        ]));
        assert!(!out.contains("(confidence low)"), "{fmt}:\n{out}");
        assert!(out.contains("(confidence medium)"), "{fmt}:\n{out}");
    }
    let out = run(&["recommend", "--min-confidence", "sure", SAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("low, medium or high"));
}

#[test]
fn cli_comments_out_low_confidence_changes_unless_asked_and_takes_aws_args() {
    let out = stdout(&run(&["recommend", "-o", "cli", SAMPLE]));
    // Six hours: every egress rebuild is low confidence, so commented out.
    assert!(
        out.contains("\n# change aws ec2 authorize-security-group-egress "),
        "{out}"
    );
    assert!(
        !out.contains("\nchange aws ec2 authorize-security-group-egress "),
        "{out}"
    );
    assert!(
        out.contains("\nchange aws ec2 authorize-security-group-ingress "),
        "{out}"
    );
    let out = stdout(&run(&[
        "recommend",
        "-o",
        "cli",
        "--include-low",
        "--aws-args",
        "--profile prod --region us-east-1",
        SAMPLE,
    ]));
    assert!(
        out.contains("\nAWS_ARGS='--profile prod --region us-east-1'\n"),
        "{out}"
    );
    assert!(
        out.contains("\nchange aws $AWS_ARGS ec2 authorize-security-group-egress "),
        "{out}"
    );
    assert!(!out.contains("\n# change aws"), "{out}");
}

#[test]
fn stale_groups_from_aws_join_the_inventorys_once_each() {
    let dir = tempfile::tempdir().unwrap();
    findings_account(dir.path());
    // AWS reports the inventory's own stale rule, the other account's group (its peering is
    // gone) and a rule of a group the inventory does not have.
    let stale = serde_json::json!({"StaleSecurityGroupSet": [
        {"GroupId": "sg-0a", "GroupName": "app", "VpcId": "vpc-1",
         "StaleIpPermissions": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": "sg-0gone", "UserId": "111111111111", "VpcId": "vpc-1"},
                                 {"GroupId": "sg-0other", "UserId": "999999999999", "VpcId": "vpc-9",
                                  "VpcPeeringConnectionId": "pcx-1", "PeeringStatus": "deleted"}]}],
         "StaleIpPermissionsEgress": []},
        {"GroupId": "sg-0x", "GroupName": "legacy", "VpcId": "vpc-1", "StaleIpPermissions": [],
         "StaleIpPermissionsEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "UserIdGroupPairs": [{"GroupId": "sg-0y", "UserId": "111111111111"}]}]}]});
    let elsewhere = tempfile::tempdir().unwrap();
    let file = write(elsewhere.path(), "stale.json", stale.to_string().as_bytes());
    let d = dir.path().to_str().unwrap();
    let stale_of = |doc: &serde_json::Value| -> Vec<(String, String, String, String)> {
        doc["findings"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "stale-reference")
            .map(|f| {
                let r = &f["reference"];
                (
                    f["group_name"].as_str().unwrap().to_string(),
                    format!("{} {} {}", r["direction"], r["ports"], r["group_id"]),
                    r["reported_by"].to_string(),
                    r["vpc_peering_connection_id"].to_string(),
                )
            })
            .collect()
    };
    let by_flag = stale_of(&recommend_json(&["--stale-groups", &file, d]));
    let s = |x: &str| x.to_string();
    assert_eq!(
        by_flag,
        [
            (
                s("app"),
                s(r#""ingress" "tcp 5432" "sg-0gone""#),
                s(r#"["inventory","describe-stale-security-groups"]"#),
                s("null")
            ),
            (
                s("app"),
                s(r#""ingress" "tcp 5432" "sg-0other""#),
                s(r#"["describe-stale-security-groups"]"#),
                s(r#""pcx-1""#)
            ),
            (
                s("legacy"),
                s(r#""egress" "tcp 443" "sg-0y""#),
                s(r#"["describe-stale-security-groups"]"#),
                s("null")
            ),
        ]
    );
    // Found next to the logs under its conventional name, the same.
    write(
        dir.path(),
        "stale-security-groups.json",
        stale.to_string().as_bytes(),
    );
    assert_eq!(stale_of(&recommend_json(&[d])), by_flag);
    let table = stdout(&run(&["recommend", d]));
    assert!(
        table.contains("AWS reports stale (describe-stale-security-groups)")
            && table.contains("peering pcx-1 (deleted)"),
        "{table}"
    );
    // Not that output: refused, naming the file and what was expected.
    let bad = write(elsewhere.path(), "bad.json", br#"{"SecurityGroups": []}"#);
    let out = run(&["recommend", "--stale-groups", &bad, d]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bad.json: expected an object with \"StaleSecurityGroupSet\""),
        "{}",
        stderr(&out)
    );
}
