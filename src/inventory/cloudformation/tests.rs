//! Unit tests of template reading and patching.

use super::*;
use serde_json::json;

fn sg(id: &str, name: &str) -> SecurityGroup {
    SecurityGroup {
        group_id: id.into(),
        group_name: name.into(),
        ..Default::default()
    }
}

fn template() -> Template {
    let v = json!({
        "Parameters": {"Cidr": {"Type": "String"}},
        "Resources": {
            "Web": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "web", "GroupName": "web-sg",
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                    {"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": {"Ref": "Cidr"}}
                ]}},
            "App": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "app",
                "SecurityGroupIngress": [
                    {"IpProtocol": "-1", "SourceSecurityGroupId": {"Ref": "Web"}}],
                "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}},
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}},
            "AppFromVpn": {"Type": "AWS::EC2::SecurityGroupIngress", "Condition": "C",
                "Properties": {"GroupId": {"Fn::GetAtt": ["App", "GroupId"]}, "IpProtocol": 6,
                    "FromPort": 8080, "ToPort": 8081, "CidrIp": "10.8.0.0/16"}},
            "ExtIngress": {"Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {"GroupId": "sg-ext", "IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                    "SourcePrefixListId": "pl-1"}}
        }
    });
    let live = vec![sg("sg-web", "web-sg"), sg("sg-app", "stack-App-1ABC")];
    Template::from_value(v, Path::new("t.json"), &live, &HashMap::new()).unwrap()
}

#[test]
fn rules_and_resolution() {
    let t = template();
    assert_eq!(t.groups.len(), 2);
    assert_eq!(t.groups[0].group_id.as_deref(), Some("sg-web"));
    assert_eq!(t.groups[1].group_id.as_deref(), Some("sg-app")); // generated-name match
    assert_eq!(t.logical_id_of_group("sg-app"), Some("App"));
    let rules = t.rules();
    // Web: 2 ingress + implicit egress; App: 1 + 1; 2 standalone
    assert_eq!(rules.len(), 7);
    assert!(matches!(rules[2].0, RuleLocation::ImplicitEgress { .. }));
    let (_, r1) = &rules[1];
    assert_eq!(r1.from_port, Some(22));
    assert!(matches!(r1.target, TemplateTarget::Unresolved(_)));
    assert!(r1.to_rule().is_none());
    let (_, r3) = &rules[3];
    assert_eq!(
        r3.target,
        TemplateTarget::Group {
            logical_id: Some("Web".into()),
            group_id: Some("sg-web".into()),
            user_id: None
        }
    );
    assert_eq!(r3.to_rule().unwrap().group_id, "sg-app");
    let (loc, r5) = &rules[5];
    assert_eq!(
        *loc,
        RuleLocation::Resource {
            logical_id: "AppFromVpn".into(),
            direction: RuleDirection::Ingress
        }
    );
    assert_eq!(r5.group_id.as_deref(), Some("sg-app"));
    assert_eq!(r5.protocol, Some(Protocol::TCP));
    let (_, r6) = &rules[6];
    assert_eq!(r6.group_id.as_deref(), Some("sg-ext"));
    assert_eq!((r6.icmp_type, r6.icmp_code), (Some(8), None));
}

#[test]
fn find_rule_variants() {
    let t = template();
    let any: RuleTarget = RuleTarget::Cidr("0.0.0.0/0".parse().unwrap());
    let loc = t
        .find_rule(
            "sg-web",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(443),
            Some(443),
            &any,
        )
        .unwrap();
    assert_eq!(
        loc.describe(),
        "Resources.Web.Properties.SecurityGroupIngress[0]"
    );
    // logical id accepted
    assert!(t
        .find_rule(
            "Web",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(443),
            Some(443),
            &any
        )
        .is_some());
    assert!(t
        .find_rule(
            "sg-web",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(80),
            Some(80),
            &any
        )
        .is_none());
    let from_web = RuleTarget::Group {
        group_id: "sg-web".into(),
        user_id: Some("1".into()),
    };
    assert!(matches!(
        t.find_rule(
            "sg-app",
            RuleDirection::Ingress,
            &Protocol::All,
            None,
            None,
            &from_web
        ),
        Some(RuleLocation::Inline { index: 0, .. })
    ));
    assert_eq!(
        t.find_rule(
            "sg-web",
            RuleDirection::Egress,
            &Protocol::All,
            None,
            None,
            &any
        ),
        Some(RuleLocation::ImplicitEgress {
            logical_id: "Web".into()
        })
    );
    assert!(t
        .find_rule(
            "sg-ext",
            RuleDirection::Ingress,
            &Protocol::ICMP,
            Some(8),
            None,
            &RuleTarget::PrefixList("pl-1".into())
        )
        .is_some());
}

fn resources_except<'a>(v: &'a Value, skip: &[&str]) -> Vec<(&'a String, &'a Value)> {
    v["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect()
}

#[test]
fn patch_replace_inline_with_group_refs() {
    let t = template();
    let loc = RuleLocation::Inline {
        logical_id: "Web".into(),
        direction: RuleDirection::Ingress,
        index: 0,
    };
    let specs = vec![
        RuleSpec {
            protocol: Protocol::TCP,
            from_port: Some(443),
            to_port: Some(443),
            target: RuleTarget::Group {
                group_id: "sg-app".into(),
                user_id: None,
            },
            description: Some("from app".into()),
        },
        RuleSpec {
            protocol: Protocol::TCP,
            from_port: Some(443),
            to_port: Some(443),
            target: RuleTarget::Cidr("10.0.0.0/8".parse().unwrap()),
            description: None,
        },
    ];
    let p = t.patched(&[TemplateEdit::Replace {
        at: loc,
        with: specs,
    }]);
    // The CIDR stays inline, in place; the group reference becomes a standalone
    // resource right after the group (an inline one could close a dependency cycle).
    let ing = p["Resources"]["Web"]["Properties"]["SecurityGroupIngress"]
        .as_array()
        .unwrap();
    assert_eq!(ing.len(), 2);
    assert_eq!(ing[0]["CidrIp"], json!("10.0.0.0/8"));
    assert_eq!(
        ing[1],
        t.value["Resources"]["Web"]["Properties"]["SecurityGroupIngress"][1]
    );
    let keys: Vec<_> = p["Resources"].as_object().unwrap().keys().collect();
    assert_eq!(keys[..2], ["Web", "WebFromAppTcp443"]);
    assert_eq!(
        p["Resources"]["WebFromAppTcp443"],
        json!({"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["Web", "GroupId"]},
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["App", "GroupId"]},
            "Description": "from app"}})
    );
    // everything else untouched
    assert_eq!(
        resources_except(&p, &["Web", "WebFromAppTcp443"]),
        resources_except(&t.value, &["Web"])
    );
    assert_eq!(p["Parameters"], t.value["Parameters"]);
    // round trip: text → value → same; and the template re-parses with the new rule found
    let text = serde_json::to_string_pretty(&p).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    let t2 = Template::from_value(
        back,
        Path::new("p.json"),
        &[sg("sg-web", "web-sg"), sg("sg-app", "x-App-y")],
        &HashMap::new(),
    )
    .unwrap();
    let app = RuleTarget::Group {
        group_id: "sg-app".into(),
        user_id: None,
    };
    assert!(t2
        .find_rule(
            "sg-web",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(443),
            Some(443),
            &app
        )
        .is_some());
}

#[test]
fn patch_egress_removal_keeps_deny_placeholder() {
    let t = template();
    let p = t.patched(&[TemplateEdit::Remove {
        at: RuleLocation::Inline {
            logical_id: "App".into(),
            direction: RuleDirection::Egress,
            index: 0,
        },
    }]);
    assert_eq!(
        p["Resources"]["App"]["Properties"]["SecurityGroupEgress"],
        json!([deny_all_egress()])
    );
    // implicit egress replaced by specific rules
    let p = t.patched(&[TemplateEdit::Replace {
        at: RuleLocation::ImplicitEgress {
            logical_id: "Web".into(),
        },
        with: vec![RuleSpec {
            protocol: Protocol::UDP,
            from_port: Some(53),
            to_port: Some(53),
            target: RuleTarget::Cidr("10.0.0.2/32".parse().unwrap()),
            description: None,
        }],
    }]);
    assert_eq!(
        p["Resources"]["Web"]["Properties"]["SecurityGroupEgress"],
        json!([{"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIp": "10.0.0.2/32"}])
    );
}

#[test]
fn patch_standalone_and_adds() {
    let t = template();
    let specs = |n: u16| RuleSpec {
        protocol: Protocol::TCP,
        from_port: Some(n),
        to_port: Some(n),
        target: RuleTarget::Cidr("10.8.1.0/24".parse().unwrap()),
        description: None,
    };
    let p = t.patched(&[
        TemplateEdit::Replace {
            at: RuleLocation::Resource {
                logical_id: "AppFromVpn".into(),
                direction: RuleDirection::Ingress,
            },
            with: vec![specs(8080), specs(8081)],
        },
        TemplateEdit::Remove {
            at: RuleLocation::Resource {
                logical_id: "ExtIngress".into(),
                direction: RuleDirection::Ingress,
            },
        },
        TemplateEdit::Add {
            group_id: "sg-web".into(),
            direction: RuleDirection::Egress,
            rule: specs(5432),
        },
        TemplateEdit::Add {
            group_id: "sg-other".into(),
            direction: RuleDirection::Ingress,
            rule: RuleSpec {
                protocol: Protocol::All,
                from_port: None,
                to_port: None,
                target: RuleTarget::Group {
                    group_id: "sg-web".into(),
                    user_id: None,
                },
                description: None,
            },
        },
    ]);
    let r = p["Resources"].as_object().unwrap();
    let keys: Vec<_> = r.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Web",
            "App",
            "Bucket",
            "AppFromVpn",
            "AppFromVpn1",
            "sgotherFromWebAll"
        ]
    );
    assert_eq!(r["AppFromVpn"]["Condition"], json!("C"));
    assert_eq!(r["AppFromVpn"]["Properties"]["ToPort"], json!(8080));
    assert_eq!(r["AppFromVpn1"]["Properties"]["FromPort"], json!(8081));
    assert_eq!(
        r["AppFromVpn1"]["Properties"]["GroupId"],
        json!({"Fn::GetAtt": ["App", "GroupId"]})
    );
    assert_eq!(
        r["Web"]["Properties"]["SecurityGroupEgress"][0]["FromPort"],
        json!(5432)
    );
    assert_eq!(
        r["sgotherFromWebAll"]["Properties"],
        json!({"GroupId": "sg-other", "IpProtocol": "-1", "SourceSecurityGroupId": {"Fn::GetAtt": ["Web", "GroupId"]}})
    );
    assert_eq!(r["Bucket"], t.value["Resources"]["Bucket"]);
}

#[test]
fn empty_egress_list_is_implicit_allow_all() {
    let v = json!({"Resources": {"G": {"Type": "AWS::EC2::SecurityGroup",
        "Properties": {"GroupDescription": "g", "SecurityGroupEgress": []}}}});
    let t = Template::from_value(v, Path::new("t.json"), &[], &HashMap::new()).unwrap();
    let rules = t.rules();
    assert_eq!(rules.len(), 1);
    let at = rules[0].0.clone();
    assert_eq!(
        at,
        RuleLocation::ImplicitEgress {
            logical_id: "G".into()
        }
    );
    assert_eq!(rules[0].1.protocol, Some(Protocol::All));
    let p = t.patched(&[TemplateEdit::Remove { at }]);
    assert_eq!(
        p["Resources"]["G"]["Properties"]["SecurityGroupEgress"],
        json!([deny_all_egress()])
    );
}

#[test]
fn bad_templates() {
    let e = Template::from_value(json!([1]), Path::new("t.json"), &[], &HashMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.json: not a CloudFormation template"),
        "{e}"
    );
    let t = Template::from_value(
        json!({"Resources": {"X": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [1, {"IpProtocol": {"Ref": "P"}}]}},
            "Y": {"Type": "AWS::EC2::SecurityGroupEgress"}, "Z": 3}}),
        Path::new("t.json"),
        &[],
        &HashMap::new(),
    )
    .unwrap();
    let rules = t.rules();
    assert_eq!(rules.len(), 4);
    assert!(rules.iter().all(|(_, r)| r.to_rule().is_none()));
    let _ = t.patched(&[TemplateEdit::Remove {
        at: RuleLocation::Inline {
            logical_id: "X".into(),
            direction: RuleDirection::Ingress,
            index: 99,
        },
    }]);
}

fn rule(group: &str, dir: RuleDirection, port: u16, target: RuleTarget) -> Rule {
    Rule {
        group_id: group.into(),
        direction: dir,
        protocol: Protocol::TCP,
        from_port: Some(port),
        to_port: Some(port),
        icmp_type: None,
        icmp_code: None,
        target,
        description: None,
        rule_id: None,
    }
}

fn cidr(s: &str) -> RuleTarget {
    RuleTarget::Cidr(s.parse().unwrap())
}

/// A group with an ingress rule whose CidrIp is `source`, and a VPC.
fn vpc_template(source: Value, vpc_cidr: Value) -> Value {
    json!({"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": vpc_cidr}},
        "Ep": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupName": "ep",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": source}]}}
    }})
}

#[test]
fn vpc_cidr_block_resolves_from_the_template() {
    // No live data at all: the VPC's literal CidrBlock is enough.
    for source in [
        json!({"Fn::GetAtt": ["Vpc", "CidrBlock"]}),
        json!({"Fn::GetAtt": "Vpc.CidrBlock"}),
    ] {
        let v = vpc_template(source, json!("10.1.0.0/16"));
        let t = Template::from_value(v, Path::new("t.json"), &[], &HashMap::new()).unwrap();
        let (_, r) = &t.rules()[0];
        assert_eq!(
            r.target,
            TemplateTarget::Cidr("10.1.0.0/16".parse().unwrap())
        );
        assert!(r.unresolved.is_empty(), "{:?}", r.unresolved);
    }
    // Another attribute, or a resource that is not a VPC: unresolved.
    for source in [
        json!({"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]}),
        json!({"Fn::GetAtt": ["Ep", "CidrBlock"]}),
    ] {
        let v = vpc_template(source, json!("10.1.0.0/16"));
        let t = Template::from_value(v, Path::new("t.json"), &[], &HashMap::new()).unwrap();
        assert!(matches!(
            t.rules()[0].1.target,
            TemplateTarget::Unresolved(_)
        ));
    }
}

#[test]
fn intrinsic_cidr_resolves_through_the_live_group_only_when_unambiguous() {
    let v = vpc_template(
        json!({"Fn::GetAtt": ["Vpc", "CidrBlock"]}),
        json!({"Ref": "VpcCidr"}),
    );
    let ing = RuleDirection::Ingress;
    let live = |rules: Vec<Rule>| SecurityGroup {
        group_id: "sg-ep".into(),
        group_name: "ep".into(),
        rules,
        ..Default::default()
    };
    let resolve = |g: SecurityGroup| {
        let t = Template::from_value(v.clone(), Path::new("t.json"), &[g], &HashMap::new());
        t.unwrap().rules()[0].1.target.clone()
    };
    // one live rule of that shape (the other port does not count): resolved
    let one = live(vec![
        rule("sg-ep", ing, 443, cidr("10.2.0.0/16")),
        rule("sg-ep", ing, 80, cidr("10.9.0.0/16")),
    ]);
    assert_eq!(
        resolve(one.clone()),
        TemplateTarget::Cidr("10.2.0.0/16".parse().unwrap())
    );
    let t = Template::from_value(v.clone(), Path::new("t.json"), &[one], &HashMap::new()).unwrap();
    let r = &t.rules()[0].1;
    assert_eq!(r.to_rule().unwrap().target, cidr("10.2.0.0/16"));
    // two candidates: which one the template means is unknown
    let two = live(vec![
        rule("sg-ep", ing, 443, cidr("10.2.0.0/16")),
        rule("sg-ep", ing, 443, cidr("10.3.0.0/16")),
    ]);
    assert!(matches!(resolve(two), TemplateTarget::Unresolved(_)));
    // an IPv6 rule does not stand for a CidrIp
    let v6 = live(vec![rule("sg-ep", ing, 443, cidr("2001:db8::/56"))]);
    assert!(matches!(resolve(v6), TemplateTarget::Unresolved(_)));
}

#[test]
fn a_reference_to_the_same_group_stays_inline() {
    // App's ingress from Web, narrowed to 443: no new dependency, so no new resource.
    let t = template();
    let p = t.patched(&[TemplateEdit::Replace {
        at: RuleLocation::Inline {
            logical_id: "App".into(),
            direction: RuleDirection::Ingress,
            index: 0,
        },
        with: vec![RuleSpec {
            protocol: Protocol::TCP,
            from_port: Some(443),
            to_port: Some(443),
            target: RuleTarget::Group {
                group_id: "sg-web".into(),
                user_id: None,
            },
            description: None,
        }],
    }]);
    assert_eq!(
        p["Resources"]["App"]["Properties"]["SecurityGroupIngress"],
        json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["Web", "GroupId"]}}])
    );
    assert_eq!(
        p["Resources"].as_object().unwrap().len(),
        t.value["Resources"].as_object().unwrap().len()
    );
}

#[test]
fn standalone_egress_keeps_the_implicit_allow_all_closed() {
    // Web has no SecurityGroupEgress (implicit allow-all) and a Condition.
    let mut v = template().value;
    v["Resources"]["Web"]["Condition"] = json!("Prod");
    let live = vec![sg("sg-web", "web-sg"), sg("sg-app", "stack-App-1ABC")];
    let t = Template::from_value(v, Path::new("t.json"), &live, &HashMap::new()).unwrap();
    let to_app = RuleSpec {
        protocol: Protocol::TCP,
        from_port: Some(8080),
        to_port: Some(8080),
        target: RuleTarget::Group {
            group_id: "sg-app".into(),
            user_id: None,
        },
        description: None,
    };
    let replaced = t.patched(&[TemplateEdit::Replace {
        at: RuleLocation::ImplicitEgress {
            logical_id: "Web".into(),
        },
        with: vec![to_app.clone()],
    }]);
    let added = t.patched(&[TemplateEdit::Add {
        group_id: "sg-web".into(),
        direction: RuleDirection::Egress,
        rule: to_app,
    }]);
    for p in [replaced, added] {
        let r = p["Resources"].as_object().unwrap();
        assert_eq!(
            r["Web"]["Properties"]["SecurityGroupEgress"],
            json!([deny_all_egress()])
        );
        assert_eq!(
            r["WebToAppTcp8080"],
            json!({"Type": "AWS::EC2::SecurityGroupEgress", "Condition": "Prod", "Properties": {
                "GroupId": {"Fn::GetAtt": ["Web", "GroupId"]},
                "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                "DestinationSecurityGroupId": {"Fn::GetAtt": ["App", "GroupId"]}}})
        );
        assert_eq!(r.keys().nth(1).map(String::as_str), Some("WebToAppTcp8080"));
    }
}

#[test]
fn removing_a_standalone_rule_drops_it_from_depends_on() {
    let mut v = template().value;
    v["Resources"]["Bucket"]["DependsOn"] = json!(["AppFromVpn", "Web"]);
    v["Resources"]["Other"] = json!({"Type": "AWS::SNS::Topic", "DependsOn": "ExtIngress"});
    let t = Template::from_value(v, Path::new("t.json"), &[], &HashMap::new()).unwrap();
    let remove = |lid: &str| TemplateEdit::Remove {
        at: RuleLocation::Resource {
            logical_id: lid.into(),
            direction: RuleDirection::Ingress,
        },
    };
    let p = t.patched(&[remove("AppFromVpn"), remove("ExtIngress")]);
    let r = p["Resources"].as_object().unwrap();
    assert!(!r.contains_key("AppFromVpn") && !r.contains_key("ExtIngress"));
    assert_eq!(r["Bucket"]["DependsOn"], json!(["Web"]));
    assert_eq!(r["Other"], json!({"Type": "AWS::SNS::Topic"}));
}

#[test]
fn the_same_new_group_rule_is_written_once() {
    // Both Web ingress rules replaced by "tcp 443 from App": one resource, not two.
    let t = template();
    let from_app = |d: &str| RuleSpec {
        protocol: Protocol::TCP,
        from_port: Some(443),
        to_port: Some(443),
        target: RuleTarget::Group {
            group_id: "sg-app".into(),
            user_id: None,
        },
        description: Some(d.into()),
    };
    let at = |index| RuleLocation::Inline {
        logical_id: "Web".into(),
        direction: RuleDirection::Ingress,
        index,
    };
    let p = t.patched(&[
        TemplateEdit::Replace {
            at: at(0),
            with: vec![from_app("a")],
        },
        TemplateEdit::Replace {
            at: at(1),
            with: vec![from_app("b")],
        },
    ]);
    let r = p["Resources"].as_object().unwrap();
    let new: Vec<_> = r.keys().filter(|k| k.starts_with("WebFromApp")).collect();
    assert_eq!(new, ["WebFromAppTcp443"]);
    assert_eq!(r["Web"]["Properties"]["SecurityGroupIngress"], json!([]));
}
