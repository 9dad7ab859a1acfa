//! `-o terraform`: the changes as Terraform for the AWS provider, for review as a plan.
//!
//! One rule a resource (`aws_vpc_security_group_ingress_rule` /
//! `aws_vpc_security_group_egress_rule`, provider 5.x: one source or destination each, the
//! shape of `describe-security-group-rules`). Applying proceeds in two steps, as `-o cli`
//! authorizes before it revokes:
//! 1. this file as written: the replacement rules are created, and each rule to revoke is
//!    brought under Terraform by an `import` block (Terraform 1.5+) naming its `sgr-` id,
//!    with a resource block equal to the rule as it is (so the plan shows no change to it);
//! 2. once the new rules are in place, each such rule's resource and import blocks are
//!    replaced by the `removed` block written in a comment beside them (Terraform 1.7+,
//!    `destroy = true`): the next plan revokes exactly those rules.
//!
//! A rule without an `sgr-` id (the inventory came from `describe-security-groups`) cannot
//! be imported: a comment says what to revoke by hand. The HCL is built as a syntax tree and
//! printed by `hcl-rs`; comments (headlines and reasons, control characters removed) are
//! written between blocks, and the `=` of consecutive attributes aligned as `terraform fmt`
//! does (whitespace only: [`align_equals`]).

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use hcl::expr::{Traversal, Variable};
use hcl::{Block, Body};

use super::{api_ports, comment, conf, first_change_per_rule, verb};
use crate::inventory::{Inventory, RuleSpec, RuleTarget};
use crate::recommend::{rule_ports, spec_label, Analysis, Recommendation};
use crate::report::fmt_time;

pub fn write_terraform(w: &mut dyn Write, inv: &Inventory, a: &Analysis) -> Result<()> {
    writeln!(
        w,
        "# flowscope recommend: Terraform for the AWS provider (>= 5.x; import blocks need Terraform 1.5+,"
    )?;
    writeln!(
        w,
        "# removed blocks 1.7+). Step 1: apply this file: the replacement rules are created and the rules they"
    )?;
    writeln!(
        w,
        "# replace are imported, unchanged. Step 2: replace each imported rule's blocks by the `removed` block in"
    )?;
    writeln!(
        w,
        "# the comment beside it and apply again: that revokes them. Review both plans."
    )?;
    if let Some((s, e)) = a.window {
        writeln!(w, "# Evidence window: {} to {}", fmt_time(s), fmt_time(e))?;
    }
    let changes = first_change_per_rule(a);
    if changes.is_empty() {
        writeln!(w, "# No changes recommended.")?;
        return Ok(());
    }
    let mut names = Names::default();
    for r in changes {
        writeln!(w)?;
        writeln!(
            w,
            "# [{}] {} (confidence {})",
            r.kind.as_str(),
            comment(&r.headline),
            conf(r.confidence)
        )?;
        writeln!(w, "# why: {}", comment(&r.reason))?;
        let mut body = Body::builder();
        for p in &r.proposed {
            let name = names.take(&format!(
                "{}_{}",
                r.rule.group_id,
                spec_label(p).replace(' ', "_")
            ));
            body = body.add_block(rule_block(resource_type(r), &name, &r.rule.group_id, p));
        }
        write_body(w, body.build())?;
        revoke(w, &mut names, r, inv)?;
    }
    Ok(())
}

fn resource_type(r: &Recommendation) -> &'static str {
    match verb(r.rule.direction) {
        "ingress" => "aws_vpc_security_group_ingress_rule",
        _ => "aws_vpc_security_group_egress_rule",
    }
}

/// The rule a change revokes: imported by its id (step 1), with its `removed` block for step 2.
fn revoke(w: &mut dyn Write, names: &mut Names, r: &Recommendation, inv: &Inventory) -> Result<()> {
    let rule = &r.rule;
    let what = format!(
        "{} {} {} {}",
        rule.group_id,
        verb(rule.direction),
        rule_ports(rule),
        rule.target
    );
    if !r.proposed.is_empty() {
        writeln!(w)?;
    }
    let Some(id) = &rule.rule_id else {
        let name = inv
            .group(&rule.group_id)
            .map(|g| g.group_name.as_str())
            .unwrap_or("");
        writeln!(
            w,
            "# Revoke by hand: {} ({}). Its sgr- id is unknown (the inventory came from describe-security-groups; \
             give describe-security-group-rules output to import it here).",
            comment(&what),
            comment(name)
        )?;
        return Ok(());
    };
    let ty = resource_type(r);
    let name = names.take(&format!("revoke_{id}"));
    let address = Traversal::builder(Variable::unchecked(ty))
        .attr(name.as_str())
        .build();
    writeln!(
        w,
        "# Revoke {} ({id}): imported unchanged in step 1.",
        comment(&what)
    )?;
    let import = Block::builder("import")
        .add_attribute(("to", address))
        .add_attribute(("id", id.as_str()))
        .build();
    let mut current = RuleSpec::from_rule(rule);
    current.description = rule.description.clone();
    let body = Body::builder()
        .add_block(import)
        .add_block(rule_block(ty, &name, &rule.group_id, &current))
        .build();
    write_body(w, body)?;
    writeln!(
        w,
        "# Step 2: replace the two blocks above with:\n# removed {{\n#   from = {ty}.{name}\n#   lifecycle {{\n#     destroy = true\n#   }}\n# }}"
    )?;
    Ok(())
}

/// One rule as a resource block.
fn rule_block(ty: &str, name: &str, group_id: &str, s: &RuleSpec) -> Block {
    let (from, to) = api_ports(&s.protocol, s.from_port, s.to_port);
    let mut b = Block::builder("resource")
        .add_label(ty)
        .add_label(name)
        .add_attribute(("security_group_id", group_id));
    if let Some(d) = &s.description {
        b = b.add_attribute(("description", d.as_str()));
    }
    b = b.add_attribute(("ip_protocol", s.protocol.aws_name()));
    if let (Some(f), Some(t)) = (from, to) {
        b = b
            .add_attribute(("from_port", i64::from(f)))
            .add_attribute(("to_port", i64::from(t)));
    }
    b = match &s.target {
        RuleTarget::Cidr(n @ ipnet::IpNet::V4(_)) => b.add_attribute(("cidr_ipv4", n.to_string())),
        RuleTarget::Cidr(n) => b.add_attribute(("cidr_ipv6", n.to_string())),
        RuleTarget::Group { group_id, .. } => {
            b.add_attribute(("referenced_security_group_id", group_id.as_str()))
        }
        RuleTarget::PrefixList(id) => b.add_attribute(("prefix_list_id", id.as_str())),
    };
    b.build()
}

fn write_body(w: &mut dyn Write, body: Body) -> Result<()> {
    let text = hcl::format::to_string(&body)?;
    // Blocks of one body are separated by a blank line, as terraform fmt leaves them.
    let text = text
        .replace("}\nimport", "}\n\nimport")
        .replace("}\nresource", "}\n\nresource");
    w.write_all(align_equals(&text).as_bytes())?;
    Ok(())
}

/// Aligns the `=` of consecutive one-line attributes at the same indentation, as
/// `terraform fmt` does; hcl-rs prints `key = value` unaligned. Only spaces before `=` change.
pub fn align_equals(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let key_of = |l: &str| -> Option<(usize, usize)> {
        let indent = l.len() - l.trim_start().len();
        let (k, _) = l.split_once(" = ")?;
        let k = k.trim_start();
        let is_ident = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        is_ident.then_some((indent, k.len()))
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, _)) = key_of(lines[i]) else {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        };
        let mut j = i;
        let mut width = 0;
        while j < lines.len() {
            match key_of(lines[j]) {
                Some((ind, len)) if ind == indent => width = width.max(len),
                _ => break,
            }
            j += 1;
        }
        for l in &lines[i..j] {
            let (k, v) = l.split_once(" = ").expect("checked");
            out.push_str(&format!("{k:<w$} = {v}\n", w = indent + width));
        }
        i = j;
    }
    out
}

/// Resource names: letters, digits, `_` and `-`, starting with a letter; unique in the file.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    fn take(&mut self, raw: &str) -> String {
        let mut base: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        while base.contains("__") {
            base = base.replace("__", "_");
        }
        let base = base.trim_matches('_');
        let base = if base.starts_with(|c: char| c.is_ascii_alphabetic()) {
            base.to_string()
        } else {
            format!("rule_{base}")
        };
        let mut name = base.clone();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_are_aligned_per_run_of_attributes() {
        let t = "resource \"a\" \"b\" {\n  security_group_id = \"sg-1\"\n  ip_protocol = \"tcp\"\n  x {\n    a = 1\n  }\n}\n";
        assert_eq!(
            align_equals(t),
            "resource \"a\" \"b\" {\n  security_group_id = \"sg-1\"\n  ip_protocol       = \"tcp\"\n  x {\n    a = 1\n  }\n}\n"
        );
    }

    #[test]
    fn names_are_identifiers_and_unique() {
        let mut n = Names::default();
        assert_eq!(n.take("sg-0a_tcp_443_0.0.0.0/0"), "sg_0a_tcp_443_0_0_0_0_0");
        assert_eq!(
            n.take("sg-0a_tcp_443_0.0.0.0/0"),
            "sg_0a_tcp_443_0_0_0_0_0_2"
        );
        assert_eq!(n.take("1x"), "rule_1x");
    }
}
