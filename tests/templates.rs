//! CloudFormation templates as inventory: short-form YAML tags, live-id
//! mapping of the template's groups, finding and patching their rules.

use flowscope::inventory::{
    Protocol, RuleDirection, RuleLocation, RuleSpec, RuleTarget, SecurityGroup, Template,
    TemplateEdit, TemplateTarget,
};
use serde_json::{json, Value};

use crate::inventory::data;

#[test]
fn ecs_refarch_yaml_short_tags() {
    let live = vec![
        SecurityGroup {
            group_id: "sg-0host".into(),
            group_name: "prod-ECSHostSecurityGroup-1A2B3C".into(),
            ..Default::default()
        },
        SecurityGroup {
            group_id: "sg-0lb".into(),
            group_name: "whatever".into(),
            tags: vec![(
                "aws:cloudformation:logical-id".into(),
                "LoadBalancerSecurityGroup".into(),
            )],
            ..Default::default()
        },
    ];
    let t = Template::load(
        &data("aws-samples-ecs-refarch/security-groups.yaml"),
        &live,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let host = &t.value["Resources"]["ECSHostSecurityGroup"]["Properties"];
    assert_eq!(host["VpcId"], json!({"Ref": "VPC"}));
    assert_eq!(host["SecurityGroupIngress"][0]["IpProtocol"], json!(-1));
    assert_eq!(
        host["SecurityGroupIngress"][0]["SourceSecurityGroupId"],
        json!({"Ref": "LoadBalancerSecurityGroup"})
    );
    assert_eq!(
        host["Tags"][0]["Value"],
        json!({"Fn::Sub": "${EnvironmentName}-ECS-Hosts"})
    );
    // key order preserved
    let keys: Vec<_> = t.value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["Description", "Parameters", "Resources", "Outputs"]);
    assert_eq!(
        t.logical_id_of_group("sg-0host"),
        Some("ECSHostSecurityGroup")
    );
    assert_eq!(
        t.logical_id_of_group("sg-0lb"),
        Some("LoadBalancerSecurityGroup")
    );
    let rules = t.rules();
    // 2 inline ingress + 2 implicit egress
    assert_eq!(rules.len(), 4);
    let (loc, r) = &rules[0];
    assert_eq!(
        loc.describe(),
        "Resources.ECSHostSecurityGroup.Properties.SecurityGroupIngress[0]"
    );
    assert_eq!(
        r.target,
        TemplateTarget::Group {
            logical_id: Some("LoadBalancerSecurityGroup".into()),
            group_id: Some("sg-0lb".into()),
            user_id: None
        }
    );
    let rule = r.to_rule().unwrap();
    assert_eq!(rule.group_id, "sg-0host");
    assert_eq!(rule.protocol, Protocol::All);
    assert_eq!(t.find_rule_for(&rule), Some(loc.clone()));

    // tighten: LB → hosts only on 8080, and hosts egress only to the LB's group
    let patched = t.patched(&[
        TemplateEdit::Replace {
            at: loc.clone(),
            with: vec![RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(8080),
                to_port: Some(8080),
                target: RuleTarget::Group {
                    group_id: "sg-0lb".into(),
                    user_id: None,
                },
                description: Some("from the ALB".into()),
            }],
        },
        TemplateEdit::Replace {
            at: RuleLocation::ImplicitEgress {
                logical_id: "ECSHostSecurityGroup".into(),
            },
            with: vec![RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(443),
                to_port: Some(443),
                target: RuleTarget::Cidr("0.0.0.0/0".parse().unwrap()),
                description: None,
            }],
        },
    ]);
    let ing =
        &patched["Resources"]["ECSHostSecurityGroup"]["Properties"]["SecurityGroupIngress"][0];
    assert_eq!(
        ing["SourceSecurityGroupId"],
        json!({"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    );
    assert_eq!(ing["FromPort"], json!(8080));
    assert_eq!(
        patched["Resources"]["LoadBalancerSecurityGroup"],
        t.value["Resources"]["LoadBalancerSecurityGroup"]
    );
    assert_eq!(patched["Outputs"], t.value["Outputs"]);
    assert_eq!(patched["Parameters"], t.value["Parameters"]);
    // the patched JSON loads again as a template
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("patched.json");
    std::fs::write(&out, serde_json::to_string_pretty(&patched).unwrap()).unwrap();
    let t2 = Template::load(&out, &live, None).unwrap();
    assert_eq!(t2.value, patched);
    assert_eq!(t2.rules().len(), 4);
}

#[test]
fn retail_store_template() {
    let path = data("retail-store/retail-store-template.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let live = vec![
        SecurityGroup {
            group_id: "sg-0orders".into(),
            group_name: "retail-store-ecs-orders-task".into(),
            ..Default::default()
        },
        SecurityGroup {
            group_id: "sg-0ordersdb".into(),
            group_name: "retail-store-ecs-orders-rds".into(),
            ..Default::default()
        },
    ];
    // stack resources resolve a group whose name is not in the live list
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack-resources.json");
    std::fs::write(
        &stack,
        json!({"StackResources": [{"LogicalResourceId": "NetworkRedisSecurityGroupF069D970",
            "PhysicalResourceId": "sg-0redis", "ResourceType": "AWS::EC2::SecurityGroup"}]})
        .to_string(),
    )
    .unwrap();
    let t = Template::load(&path, &live, Some(&stack)).unwrap();
    assert_eq!(t.groups.len(), 8);
    assert_eq!(
        t.logical_id_of_group("sg-0orders"),
        Some("NetworkOrdersSecurityGroupA7D5A931")
    );
    assert_eq!(
        t.logical_id_of_group("sg-0redis"),
        Some("NetworkRedisSecurityGroupF069D970")
    );
    // 5 groups unresolved → warnings
    assert_eq!(t.warnings.len(), 5);
    let rules = t.rules();
    assert_eq!(rules.len(), 16);
    // CidrIp as Fn::GetAtt VPC.CidrBlock stays unresolved
    let gd = rules
        .iter()
        .find(|(l, _)| l.logical_id() == "NetworkGuardDutyEndpointSecurityGroupVPCLatticeEA4520D9")
        .unwrap();
    assert!(matches!(gd.1.target, TemplateTarget::Unresolved(_)));
    assert!(gd.1.to_rule().is_none());
    // orders RDS ingress from the orders task group, by live id
    let from_orders = RuleTarget::Group {
        group_id: "sg-0orders".into(),
        user_id: None,
    };
    let loc = t
        .find_rule(
            "sg-0ordersdb",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(5432),
            Some(5432),
            &from_orders,
        )
        .unwrap();
    // the orders task: 0.0.0.0/0:8080 → from the orders... replace with a /16, and drop egress
    let web = t
        .find_rule(
            "sg-0orders",
            RuleDirection::Ingress,
            &Protocol::TCP,
            Some(8080),
            Some(8080),
            &RuleTarget::Cidr("0.0.0.0/0".parse().unwrap()),
        )
        .unwrap();
    let egress = t
        .find_rule(
            "sg-0orders",
            RuleDirection::Egress,
            &Protocol::All,
            None,
            None,
            &RuleTarget::Cidr("0.0.0.0/0".parse().unwrap()),
        )
        .unwrap();
    let patched = t.patched(&[
        TemplateEdit::Replace {
            at: web,
            with: vec![RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(8080),
                to_port: Some(8080),
                target: RuleTarget::Cidr("10.0.0.0/16".parse().unwrap()),
                description: Some("Allow inbound 8080 from the VPC".into()),
            }],
        },
        TemplateEdit::Replace {
            at: egress,
            with: vec![RuleSpec {
                protocol: Protocol::TCP,
                from_port: Some(5432),
                to_port: Some(5432),
                target: RuleTarget::Group {
                    group_id: "sg-0ordersdb".into(),
                    user_id: None,
                },
                description: None,
            }],
        },
        TemplateEdit::Remove { at: loc },
    ]);
    let orders = &patched["Resources"]["NetworkOrdersSecurityGroupA7D5A931"]["Properties"];
    assert_eq!(
        orders["SecurityGroupIngress"][0]["CidrIp"],
        json!("10.0.0.0/16")
    );
    // The group reference is a standalone egress resource right after the group (inline it
    // could close a dependency cycle); the inline egress keeps only the match-nothing rule,
    // so the implicit allow-all does not come back.
    let new_rule =
        "NetworkOrdersSecurityGroupA7D5A931ToNetworkOrdersRDSSecurityGroupD378DF87Tcp5432";
    assert_eq!(
        patched["Resources"][new_rule],
        json!({"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["NetworkOrdersSecurityGroupA7D5A931", "GroupId"]},
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "DestinationSecurityGroupId": {"Fn::GetAtt": ["NetworkOrdersRDSSecurityGroupD378DF87", "GroupId"]}}})
    );
    let egress = orders["SecurityGroupEgress"].as_array().unwrap();
    assert_eq!(egress.len(), 1);
    assert_eq!(egress[0]["CidrIp"], json!("255.255.255.255/32"));
    assert_eq!(
        patched["Resources"]["NetworkOrdersRDSSecurityGroupD378DF87"]["Properties"]
            ["SecurityGroupIngress"],
        json!([])
    );
    // all other resources identical as values, and in the same order
    let before = t.value["Resources"].as_object().unwrap();
    let after = patched["Resources"].as_object().unwrap();
    let new_key = new_rule.to_string();
    let mut expected: Vec<&String> = before.keys().collect();
    expected.insert(1, &new_key);
    assert!(after.keys().eq(expected));
    for (k, v) in before {
        if !k.starts_with("NetworkOrders") {
            assert_eq!(&after[k], v, "{k}");
        }
    }
    // no edits: the output is the input, byte for byte after re-serialising
    let same = t.patched(&[]);
    assert_eq!(same, serde_json::from_str::<Value>(&text).unwrap());
    assert_eq!(
        serde_json::to_string(&same).unwrap(),
        serde_json::to_string(&t.value).unwrap()
    );
}
