//! `-o cli`: AWS CLI commands, every authorize before any revoke.

use std::io::Write;

use anyhow::Result;

use super::{comment, conf, first_change_per_rule, ip_permissions, shell_quote, verb};
use crate::inventory::{Inventory, RuleSpec};
use crate::recommend::{Analysis, Confidence, Recommendation};
use crate::report::{fmt_time, human_bytes, thousands};

/// How the script is written.
#[derive(Debug, Clone, Default)]
pub struct CliOptions {
    /// Low-confidence changes as commands (else commented out, to be read, not run).
    pub include_low: bool,
    /// Arguments for every `aws` call (`--profile prod --region us-east-1`), set once in a
    /// variable at the top.
    pub aws_args: Option<String>,
}

pub fn write_cli(w: &mut dyn Write, inv: &Inventory, a: &Analysis, o: &CliOptions) -> Result<()> {
    writeln!(w, "#!/bin/sh")?;
    writeln!(
        w,
        "# flowscope recommend: AWS CLI commands. Review before running. Every authorize comes"
    )?;
    writeln!(
        w,
        "# before any revoke, so running them in order never opens a gap in allowed traffic."
    )?;
    if let Some((s, e)) = a.window {
        writeln!(w, "# Evidence window: {} to {}", fmt_time(s), fmt_time(e))?;
    }
    writeln!(w, "set -e")?;
    let aws = match &o.aws_args {
        Some(args) => {
            writeln!(w, "AWS_ARGS={}", shell_quote(args))?;
            "aws $AWS_ARGS"
        }
        None => "aws",
    };
    if !o.include_low {
        writeln!(
            w,
            "# Low-confidence changes are commented out (--include-low writes them as commands)."
        )?;
    }
    // A low-confidence change is written for review, not to run.
    let lead = |r: &Recommendation| {
        if r.confidence == Confidence::Low && !o.include_low {
            "# "
        } else {
            ""
        }
    };
    let changes: Vec<&Recommendation> = first_change_per_rule(a);
    if changes.is_empty() {
        writeln!(w, "# No changes recommended.")?;
        return Ok(());
    }
    writeln!(w, "\n# 1. Authorize the replacement rules")?;
    for r in &changes {
        if r.proposed.is_empty() {
            continue;
        }
        writeln!(
            w,
            "\n# [{}] {} (confidence {})",
            r.kind.as_str(),
            comment(&r.headline),
            conf(r.confidence)
        )?;
        writeln!(
            w,
            "# evidence: {} flows, {}, {} peers",
            thousands(r.evidence.flows),
            human_bytes(r.evidence.bytes),
            r.evidence.peers
        )?;
        for p in &r.proposed {
            writeln!(
                w,
                "{}{aws} ec2 authorize-security-group-{} --group-id {} --ip-permissions {}",
                lead(r),
                verb(r.rule.direction),
                shell_quote(&r.rule.group_id),
                shell_quote(&ip_permissions(p).to_string())
            )?;
        }
    }
    writeln!(w, "\n# 2. Revoke the rules they replace, and unused rules")?;
    for r in &changes {
        writeln!(
            w,
            "\n# [{}] {} (confidence {}): {}",
            r.kind.as_str(),
            comment(&r.headline),
            conf(r.confidence),
            comment(&r.reason)
        )?;
        let group = &inv.groups[r.group_index];
        match &r.rule.rule_id {
            Some(id) => writeln!(
                w,
                "{}{aws} ec2 revoke-security-group-{} --group-id {} --security-group-rule-ids {}",
                lead(r),
                verb(r.rule.direction),
                shell_quote(&group.group_id),
                shell_quote(id)
            )?,
            None => {
                let mut spec = RuleSpec::from_rule(&r.rule);
                spec.description = None;
                writeln!(
                    w,
                    "{}{aws} ec2 revoke-security-group-{} --group-id {} --ip-permissions {}",
                    lead(r),
                    verb(r.rule.direction),
                    shell_quote(&group.group_id),
                    shell_quote(&ip_permissions(&spec).to_string())
                )?
            }
        }
    }
    Ok(())
}
