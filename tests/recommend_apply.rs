//! `recommend -o cli` run as a user would: the script applied with the AWS CLI to an EC2 API
//! server on 127.0.0.1 (moto's server mode, as tests/s3.rs uses for S3), whose groups,
//! rules and interfaces are the inventory. The script must apply the changes, apply again
//! without harm (rules already present or already gone), do nothing with `--dry-run`, and
//! stop at any other error. Without moto_server and aws the tests skip, unless `CI` is set.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::moto::{have, moto, Moto as Server};
use crate::util::{bin, repo, stderr, stdout, write};

fn server() -> Option<&'static Server> {
    moto()
}

impl Server {
    /// An `aws ec2` call's JSON output.
    fn ec2(&self, args: &[&str]) -> Value {
        let out = self
            .cmd("aws")
            .arg("ec2")
            .args(args)
            .args(["--output", "json"])
            .output()
            .expect("aws");
        assert!(out.status.success(), "aws ec2 {args:?}: {}", stderr(&out));
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs a script of `recommend -o cli` with /bin/sh.
    fn script(&self, path: &Path, args: &[&str]) -> Output {
        self.cmd("sh").arg(path).args(args).output().expect("sh")
    }
}

/// A VPC on the server with a load balancer, a web server and a database, each in its group:
/// web allows 443 from the world and 8000-8100 from the VPC (both used only by the load
/// balancer, 8100 only on 8080) and 22 from the VPC (unused); every group keeps the default
/// allow-all egress, which web uses for 5432 to the database. The inventory (the server's
/// describe-* output, with describe-security-group-rules when `rule_ids`) and six minutes
/// of logs of web's interface go in `dir`.
struct Vpc {
    web: String,
    lb: String,
    db: String,
}

fn vpc(s: &Server, dir: &Path, rule_ids: bool) -> Vpc {
    let str_of = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let vpc = str_of(
        &s.ec2(&["create-vpc", "--cidr-block", "10.1.0.0/16"])["Vpc"],
        "VpcId",
    );
    let subnet = str_of(
        &s.ec2(&[
            "create-subnet",
            "--vpc-id",
            &vpc,
            "--cidr-block",
            "10.1.1.0/24",
        ])["Subnet"],
        "SubnetId",
    );
    let group = |name: &str| {
        str_of(
            &s.ec2(&[
                "create-security-group",
                "--vpc-id",
                &vpc,
                "--group-name",
                name,
                "--description",
                name,
            ]),
            "GroupId",
        )
    };
    let (lb, web, db) = (group("lb"), group("web"), group("db"));
    let perms = json!([
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8100, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}]);
    s.ec2(&[
        "authorize-security-group-ingress",
        "--group-id",
        &web,
        "--ip-permissions",
        &perms.to_string(),
    ]);
    let mut enis = Vec::new();
    for (g, ip) in [
        (&lb, "10.1.1.11"),
        (&lb, "10.1.1.12"),
        (&web, "10.1.1.10"),
        (&db, "10.1.1.20"),
    ] {
        let v = s.ec2(&[
            "create-network-interface",
            "--subnet-id",
            &subnet,
            "--groups",
            g,
            "--private-ip-address",
            ip,
        ]);
        enis.push(str_of(&v["NetworkInterface"], "NetworkInterfaceId"));
    }
    let filter = format!("Name=vpc-id,Values={vpc}");
    let groups = s.ec2(&["describe-security-groups", "--filters", &filter]);
    write(dir, "security-groups.json", groups.to_string().as_bytes());
    let ifaces = s.ec2(&["describe-network-interfaces", "--filters", &filter]);
    write(
        dir,
        "network-interfaces.json",
        ifaces.to_string().as_bytes(),
    );
    if rule_ids {
        let ids = [&lb, &web, &db].map(|g| g.as_str()).join(",");
        let rules = s.ec2(&[
            "describe-security-group-rules",
            "--filters",
            &format!("Name=group-id,Values={ids}"),
        ]);
        write(
            dir,
            "security-group-rules.json",
            rules.to_string().as_bytes(),
        );
    }
    let web_eni = &enis[2];
    let mut log = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    let mut line = |src: &str, dst: &str, sport: u32, dport: u16| {
        log.push_str(&format!(
            "2 123456789012 {web_eni} {src} {dst} {sport} {dport} 6 5 500 1763596800 1763597160 ACCEPT OK\n"
        ));
    };
    for i in 0..40 {
        line("10.1.1.11", "10.1.1.10", 40000 + i, 443);
        line("10.1.1.12", "10.1.1.10", 41000 + i, 443);
        line("10.1.1.11", "10.1.1.10", 42000 + i, 8080);
        line("10.1.1.10", "10.1.1.20", 43000 + i, 5432);
    }
    write(dir, "flows.log", log.as_bytes());
    Vpc { web, lb, db }
}

/// A group's rules as `direction proto from-to target` lines, sorted.
fn rules_of(s: &Server, group: &str) -> Vec<String> {
    let v = s.ec2(&[
        "describe-security-group-rules",
        "--filters",
        &format!("Name=group-id,Values={group}"),
    ]);
    let mut out: Vec<String> = v["SecurityGroupRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let target = ["CidrIpv4", "CidrIpv6", "PrefixListId"]
                .iter()
                .find_map(|k| r[*k].as_str().map(str::to_string))
                .or_else(|| {
                    r["ReferencedGroupInfo"]["GroupId"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_default();
            format!(
                "{} {} {}-{} {target}",
                if r["IsEgress"] == true {
                    "egress"
                } else {
                    "ingress"
                },
                r["IpProtocol"].as_str().unwrap(),
                r["FromPort"],
                r["ToPort"]
            )
        })
        .collect();
    out.sort();
    out
}

/// The rules of web once every change is applied.
fn applied(v: &Vpc) -> Vec<String> {
    let mut want = vec![
        format!("ingress tcp 443-443 {}", v.lb),
        format!("ingress tcp 8080-8080 {}", v.lb),
        format!("egress tcp 5432-5432 {}", v.db),
    ];
    want.sort();
    want
}

/// The script for `dir`, low-confidence changes included, with every `--ip-permissions`
/// list checked by jq (when installed) as the AWS CLI's JSON: an array of objects, each
/// with an IpProtocol and exactly one kind of source.
fn script_for(dir: &Path) -> (std::path::PathBuf, String) {
    let out = Command::new(bin())
        .args(["recommend", "-o", "cli", "--include-low"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for l in text.lines().filter(|l| l.starts_with("change aws ")) {
        let Some(json) = l
            .split("--ip-permissions '")
            .nth(1)
            .map(|j| j.trim_end_matches('\''))
        else {
            continue;
        };
        let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {l}"));
        for p in v.as_array().unwrap() {
            let sources = [
                "IpRanges",
                "Ipv6Ranges",
                "UserIdGroupPairs",
                "PrefixListIds",
            ];
            assert!(p["IpProtocol"].is_string(), "{l}");
            assert_eq!(
                sources.iter().filter(|k| p.get(**k).is_some()).count(),
                1,
                "{l}"
            );
        }
        if have("jq") {
            let ok = Command::new("jq")
                .args([
                    "-e",
                    "type == \"array\" and length > 0 and all(.[]; .IpProtocol | type == \"string\")",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(json.as_bytes())?;
                    c.wait()
                })
                .unwrap();
            assert!(ok.success(), "jq refuses {json}");
        }
    }
    let path = dir.join("apply.sh");
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

#[test]
fn the_script_applies_reapplies_dry_runs_and_stops_on_errors() {
    let Some(s) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let v = vpc(s, dir.path(), false);
    let (path, text) = script_for(dir.path());
    // One call per group and direction: web's two new ingress rules in one batch.
    let calls = |verb: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("change aws ec2 {verb} --group-id '{}'", v.web)))
            .count()
    };
    assert_eq!(calls("authorize-security-group-ingress"), 1, "{text}");
    assert_eq!(calls("authorize-security-group-egress"), 1, "{text}");
    assert_eq!(calls("revoke-security-group-ingress"), 1, "{text}");
    // Both of web's new ingress rules (443 and 8080 from the load balancer) in that call.
    let batch: Value = text
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "change aws ec2 authorize-security-group-ingress --group-id '{}'",
                v.web
            ))
        })
        .and_then(|l| l.split("--ip-permissions '").nth(1))
        .map(|j| serde_json::from_str(j.trim_end_matches('\'')).unwrap())
        .unwrap();
    let ports: Vec<(i64, &str)> = batch
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["FromPort"].as_i64().unwrap(),
                p["UserIdGroupPairs"][0]["GroupId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [(443, v.lb.as_str()), (8080, v.lb.as_str())],
        "{batch}"
    );
    let before = rules_of(s, &v.web);
    assert_eq!(before.len(), 4, "{before:?}");

    let out = s.script(&path, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("would succeed (dry run)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rules_of(s, &v.web), before, "a dry run changed the group");

    let out = s.script(&path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rules_of(s, &v.web), applied(&v), "{}", stderr(&out));

    // Again: every rule already present or already gone, said, and nothing else changes.
    let out = s.script(&path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("already present, skipped"), "{err}");
    assert!(err.contains("already gone, skipped"), "{err}");
    assert_eq!(rules_of(s, &v.web), applied(&v));

    // Any other error stops the script: the calls after it are not made.
    let s2 = tempfile::tempdir().unwrap();
    let w = vpc(s, s2.path(), false);
    let (path, text) = script_for(s2.path());
    let broken = text.replacen(
        &format!("authorize-security-group-egress --group-id '{}'", w.web),
        "authorize-security-group-egress --group-id 'sg-0000000000000dead'",
        1,
    );
    std::fs::write(&path, broken).unwrap();
    let before = rules_of(s, &w.web);
    let out = s.script(&path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("InvalidGroup.NotFound"), "{err}");
    assert!(
        err.contains("sg-0000000000000dead: failed; stopping"),
        "{err}"
    );
    let after = rules_of(s, &w.web);
    // The ingress batch before it was applied; no revoke ran.
    assert!(after.len() == before.len() + 2, "{before:?} -> {after:?}");
    assert!(after.iter().any(|r| r.ends_with("0.0.0.0/0")), "{after:?}");
}

#[test]
fn revokes_go_by_rule_id_and_a_half_applied_batch_is_finished_rule_by_rule() {
    let Some(s) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let v = vpc(s, dir.path(), true);
    let (path, text) = script_for(dir.path());
    let revoke = text
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "change aws ec2 revoke-security-group-ingress --group-id '{}'",
                v.web
            ))
        })
        .unwrap_or_else(|| panic!("{text}"));
    // Three rules revoked (443 and 8000-8100 replaced, 22 unused) by their ids, in one call.
    let ids = revoke
        .split(" --security-group-rule-ids ")
        .nth(1)
        .unwrap_or_else(|| panic!("{revoke}"));
    assert_eq!(
        ids.split(' ').filter(|i| i.starts_with("'sgr-")).count(),
        3,
        "{revoke}"
    );
    // Half applied by hand: one new rule already there (as the script writes it: moto,
    // unlike EC2, tells rules apart by description), one old rule already gone.
    let batch: Value = text
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "change aws ec2 authorize-security-group-ingress --group-id '{}'",
                v.web
            ))
        })
        .and_then(|l| l.split("--ip-permissions '").nth(1))
        .map(|j| serde_json::from_str(j.trim_end_matches('\'')).unwrap())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(batch.as_array().unwrap().len(), 2, "{batch}");
    s.ec2(&[
        "authorize-security-group-ingress",
        "--group-id",
        &v.web,
        "--ip-permissions",
        &json!([batch[0]]).to_string(),
    ]);
    s.ec2(&[
        "revoke-security-group-ingress",
        "--group-id",
        &v.web,
        "--ip-permissions",
        &json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
        .to_string(),
    ]);
    let out = s.script(&path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is already present: one rule at a time"),
        "{err}"
    );
    assert!(err.contains("is already gone: one rule at a time"), "{err}");
    assert_eq!(rules_of(s, &v.web), applied(&v), "{err}");
}

#[test]
fn the_script_is_valid_shell_with_and_without_aws_args() {
    // Parsed by sh -n whatever the server: the runner's syntax, the quoting of every call.
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        &[][..],
        &["--aws-args", "--profile 'prod' --region us-east-1"][..],
    ] {
        let out = Command::new(bin())
            .args(["recommend", "-o", "cli", "sample-logs/retail-store"])
            .args(extra)
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let path = dir.path().join("s.sh");
        std::fs::write(&path, &out.stdout).unwrap();
        let check = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(check.status.success(), "{}", stderr(&check));
    }
}
