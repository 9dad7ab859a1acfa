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
