//! `aws ec2 describe-stale-security-groups` output: rules that reference a group that was
//! deleted, or a group across a peering connection (or transit gateway, or group VPC
//! association) that is gone (API_DescribeStaleSecurityGroups, API_StaleSecurityGroup,
//! API_StaleIpPermission):
//!
//! `{"StaleSecurityGroupSet": [{"GroupId", "GroupName", "Description", "VpcId",
//! "StaleIpPermissions": [{"IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs":
//! [{"GroupId", "UserId", "VpcId", "VpcPeeringConnectionId", "PeeringStatus"}]}],
//! "StaleIpPermissionsEgress": [...]}], "NextToken"?}`. A stale permission's `IpRanges` and
//! `PrefixListIds` are "not applicable" (and are lists of strings there): only the group
//! pairs are read.

use std::path::Path;

use serde_json::Value;

use super::util::{kind, label, opt_array, opt_str};
use super::{security_group, InventoryError, Rule};

/// One stale rule: the rule (its target the group it references) and what AWS says of the
/// reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleReference {
    pub rule: Rule,
    pub group_name: String,
    /// The referenced group's VPC, account and peering connection, as AWS reports them.
    pub referenced_vpc_id: Option<String>,
    pub referenced_user_id: Option<String>,
    pub peering_connection_id: Option<String>,
    pub peering_status: Option<String>,
}

/// The stale rules of one file. Errors name the file and the entry.
pub(crate) fn parse_file(path: &Path, v: &Value) -> Result<Vec<StaleReference>, InventoryError> {
    let set = match v.get("StaleSecurityGroupSet") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(InventoryError::invalid(
                path,
                format!("StaleSecurityGroupSet should be an array, got {}", kind(other)),
            ))
        }
        None => {
            return Err(InventoryError::invalid(
                path,
                "expected an object with \"StaleSecurityGroupSet\" (aws ec2 describe-stale-security-groups)",
            ))
        }
    };
    let mut out = Vec::new();
    for (i, g) in set.iter().enumerate() {
        let id = g.get("GroupId").and_then(Value::as_str);
        let ctx = |m: String| {
            InventoryError::invalid(
                path,
                format!("StaleSecurityGroupSet[{i}]{}: {m}", label(id)),
            )
        };
        parse_group(g, &mut out).map_err(ctx)?;
    }
    Ok(out)
}

fn parse_group(g: &Value, out: &mut Vec<StaleReference>) -> Result<(), String> {
    if !g.is_object() {
        return Err(format!("expected an object, got {}", kind(g)));
    }
    // The group with only its stale group pairs, read as describe-security-groups reads a
    // group: one rule per pair, protocol and ports checked the same way.
    let mut shaped = serde_json::Map::new();
    for k in ["GroupId", "GroupName", "VpcId"] {
        if let Some(x) = g.get(k) {
            shaped.insert(k.into(), x.clone());
        }
    }
    let mut pairs = Vec::new();
    for (from, to) in [
        ("StaleIpPermissions", "IpPermissions"),
        ("StaleIpPermissionsEgress", "IpPermissionsEgress"),
    ] {
        let mut perms = Vec::new();
        for (i, p) in opt_array(g, from)?.iter().enumerate() {
            let mut q = serde_json::Map::new();
            for k in ["IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs"] {
                if let Some(x) = p.get(k) {
                    q.insert(k.into(), x.clone());
                }
            }
            for (j, pair) in opt_array(p, "UserIdGroupPairs")
                .map_err(|m| format!("{from}[{i}]: {m}"))?
                .iter()
                .enumerate()
            {
                let s = |k| {
                    opt_str(pair, k)
                        .map(|x| x.map(str::to_string))
                        .map_err(|m| format!("{from}[{i}].UserIdGroupPairs[{j}]: {m}"))
                };
                pairs.push((
                    s("VpcId")?,
                    s("UserId")?,
                    s("VpcPeeringConnectionId")?,
                    s("PeeringStatus")?,
                ));
            }
            perms.push(Value::Object(q));
        }
        shaped.insert(to.into(), Value::Array(perms));
    }
    let (group, _) = security_group::parse_group(&Value::Object(shaped))
        .map_err(|m| m.replace("IpPermissions", "StaleIpPermissions"))?;
    debug_assert_eq!(group.rules.len(), pairs.len());
    for (rule, (vpc, user, pcx, status)) in group.rules.into_iter().zip(pairs) {
        out.push(StaleReference {
            rule,
            group_name: group.group_name.clone(),
            referenced_vpc_id: vpc,
            referenced_user_id: user,
            peering_connection_id: pcx,
            peering_status: status,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{RuleDirection, RuleTarget};

    #[test]
    fn reads_the_documented_example_and_names_bad_entries() {
        // The example of API_DescribeStaleSecurityGroups, as the AWS CLI prints it.
        let v: Value = serde_json::from_str(
            r#"{"StaleSecurityGroupSet": [
              {"VpcId": "vpc-11223344", "Description": "My security group", "GroupName": "MySG", "GroupId": "sg-5fa68d3a",
               "StaleIpPermissions": [{"ToPort": 22, "FromPort": 22, "IpProtocol": "tcp", "IpRanges": [], "PrefixListIds": [],
                 "UserIdGroupPairs": [{"VpcId": "vpc-7a20e51f", "UserId": "111122223333", "GroupId": "sg-279ab042",
                   "VpcPeeringConnectionId": "pcx-b04deed9", "PeeringStatus": "active"}]}],
               "StaleIpPermissionsEgress": []},
              {"VpcId": "vpc-11223344", "GroupName": "MySG_2", "GroupId": "sg-fe6fba9a", "StaleIpPermissions": [],
               "StaleIpPermissionsEgress": [{"ToPort": 22, "FromPort": 22, "IpProtocol": "tcp",
                 "UserIdGroupPairs": [{"VpcId": "vpc-7a20e51f", "UserId": "111122223333", "GroupId": "sg-ef6fba8b",
                   "VpcPeeringConnectionId": "pcx-b04deed9", "PeeringStatus": "active"}]}]}]}"#,
        )
        .unwrap();
        let refs = parse_file(Path::new("stale.json"), &v).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].rule.group_id, "sg-5fa68d3a");
        assert_eq!(refs[0].rule.direction, RuleDirection::Ingress);
        assert_eq!(refs[0].rule.from_port, Some(22));
        assert_eq!(
            refs[0].rule.target,
            RuleTarget::Group {
                group_id: "sg-279ab042".into(),
                user_id: Some("111122223333".into())
            }
        );
        assert_eq!(
            refs[0].peering_connection_id.as_deref(),
            Some("pcx-b04deed9")
        );
        assert_eq!(refs[1].rule.direction, RuleDirection::Egress);
        assert_eq!(refs[1].group_name, "MySG_2");
        let bad: Value = serde_json::from_str(
            r#"{"StaleSecurityGroupSet": [{"GroupId": "sg-1", "StaleIpPermissions": [{"IpProtocol": "tcp", "FromPort": 22,
                "ToPort": 22, "UserIdGroupPairs": [{"UserId": "1"}]}]}]}"#,
        )
        .unwrap();
        let e = parse_file(Path::new("stale.json"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("stale.json: StaleSecurityGroupSet[0] (sg-1): StaleIpPermissions[0]: UserIdGroupPairs[0]: missing GroupId"),
            "{e}"
        );
        let e = parse_file(
            Path::new("s.json"),
            &serde_json::json!({"SecurityGroups": []}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("describe-stale-security-groups"), "{e}");
    }
}
