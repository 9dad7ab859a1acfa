//! `-o cli`: a POSIX shell script of AWS CLI calls, every authorize before any revoke.
//!
//! One call per group and direction (a batch of `--ip-permissions`, the EC2 API's
//! `IpPermission` list, <https://docs.aws.amazon.com/cli/latest/reference/ec2/authorize-security-group-ingress.html>),
//! not one per peer. Rules to revoke go by `--security-group-rule-ids` when the inventory
//! gave their `sgr-` ids (describe-security-group-rules), else by `--ip-permissions`.
//!
//! Re-runs: each call goes through the script's `change` function. A rule already present
//! (`InvalidPermission.Duplicate`) or already gone (`InvalidPermission.NotFound`,
//! `InvalidSecurityGroupRuleId.NotFound`) is what running the script a second time meets: it
//! is reported and skipped. AWS applies a batch whole or not at all (a revoke in a non-default
//! VPC: "an InvalidPermission.NotFound client error is returned, and no rules are revoked"),
//! so a batch refused for either reason is sent again one rule at a time. Any other error
//! stops the script. `sh script --dry-run` sends every call with the AWS CLI's `--dry-run`:
//! AWS checks the permissions and the request (`DryRunOperation`: it would succeed) and
//! changes nothing.

use std::io::Write;

use anyhow::Result;

use super::{comment, conf, first_change_per_rule, ip_permissions, shell_quote, verb};
use crate::inventory::{Inventory, RuleDirection, RuleSpec};
use crate::recommend::{group_label, Analysis, Confidence, Recommendation};
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

/// The script's own code: arguments, and the `change` function every call goes through.
/// POSIX sh (dash runs it); tested against an EC2 API server in tests/recommend_apply.rs.
const RUNNER: &str = r#"DRY_RUN=
case "${1-}" in
  --dry-run) DRY_RUN=--dry-run ;;
  '') ;;
  *) echo "usage: sh $0 [--dry-run]" >&2; exit 2 ;;
esac

say() { printf 'flowscope: %s\n' "$*" >&2; }

# call AWS-CALL...: 0 when done (or, with --dry-run, when it would succeed); 1 when AWS
# refused it because a rule is already present or already gone (fs_why says which); any
# other error stops the script.
call() {
  if fs_out=$("$@" $DRY_RUN 2>&1); then
    case $fs_out in
      *'"UnknownIpPermissions": []'*) ;;
      # A default VPC's revoke does not fail on unknown rules: it lists them.
      *'"UnknownIpPermissions": ['*) say "$fs_what: some rules were already gone" ;;
    esac
    return 0
  fi
  case $fs_out in
    *DryRunOperation*) return 0 ;;
    *InvalidPermission.Duplicate*) fs_why='already present' ;;
    *InvalidPermission.NotFound*|*InvalidSecurityGroupRuleId.NotFound*) fs_why='already gone' ;;
    *)
      printf '%s\n' "$fs_out" >&2
      say "$fs_what: failed; stopping. The calls before it are applied: run the script again once fixed."
      exit 1 ;;
  esac
  return 1
}

# change AWS-CALL...: one call of this script, its batch (the --ip-permissions list, or the
# ids after --security-group-rule-ids) last. AWS applies a batch whole or not at all, so a
# batch refused because one rule is already present or gone is sent one rule at a time.
change() {
  fs_what= fs_prev= fs_flag= fs_n=0 fs_keep=0 fs_items=
  for fs_a do
    fs_n=$((fs_n + 1))
    case $fs_a in authorize-*|revoke-*) fs_what=$fs_a ;; esac
    if [ "$fs_prev" = --group-id ]; then fs_what="$fs_what $fs_a"; fi
    if [ -n "$fs_flag" ]; then fs_items="$fs_items $fs_a"; fi
    case $fs_a in --ip-permissions|--security-group-rule-ids) fs_flag=$fs_a fs_keep=$fs_n ;; esac
    fs_prev=$fs_a
  done
  if [ -n "$DRY_RUN" ]; then fs_done='would succeed (dry run)'; else fs_done=done; fi
  if call "$@"; then say "$fs_what: $fs_done"; return 0; fi
  # The call without its batch, to send the items one by one.
  fs_n=0
  for fs_a do
    fs_n=$((fs_n + 1))
    if [ "$fs_n" -eq 1 ]; then set --; fi
    if [ "$fs_n" -le "$fs_keep" ]; then set -- "$@" "$fs_a"; fi
  done
  fs_sep='},{"IpProtocol"'
  if [ "$fs_flag" = --ip-permissions ]; then
    fs_rest=${fs_items# \[}
    fs_rest=${fs_rest%\]}
    case $fs_rest in
      *"$fs_sep"*) ;;
      *) say "$fs_what: $fs_why, skipped"; return 0 ;;
    esac
    say "$fs_what: a rule of the batch is $fs_why: one rule at a time"
    while [ -n "$fs_rest" ]; do
      case $fs_rest in
        *"$fs_sep"*) fs_one="${fs_rest%%"$fs_sep"*}}"; fs_rest="{\"IpProtocol\"${fs_rest#*"$fs_sep"}" ;;
        *) fs_one=$fs_rest; fs_rest= ;;
      esac
      if call "$@" "[$fs_one]"; then say "$fs_what: $fs_one: $fs_done"; else say "$fs_what: $fs_one: $fs_why, skipped"; fi
    done
  else
    # Rule ids are `sgr-` and letters and digits (flowscope writes no other): split on spaces.
    fs_count=0
    for fs_id in $fs_items; do fs_count=$((fs_count + 1)); done
    if [ "$fs_count" -le 1 ]; then say "$fs_what:$fs_items: $fs_why, skipped"; return 0; fi
    say "$fs_what: a rule of the batch is $fs_why: one rule at a time"
    for fs_id in $fs_items; do
      if call "$@" "$fs_id"; then say "$fs_what: $fs_id: $fs_done"; else say "$fs_what: $fs_id: $fs_why, skipped"; fi
    done
  fi
}
"#;

/// A `sgr-` id that can be written into the script and split on spaces.
fn is_rule_id(s: &str) -> bool {
    s.strip_prefix("sgr-")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// One call: a group, a direction, whether it is commented out, the recommendations it
/// carries and its items.
struct Batch<'a> {
    group_id: &'a str,
    direction: RuleDirection,
    commented: bool,
    recs: Vec<&'a Recommendation>,
    items: Vec<String>,
}

/// Batches keyed by group, direction and whether commented out, in order of first appearance.
fn batch<'a>(
    out: &mut Vec<Batch<'a>>,
    r: &'a Recommendation,
    commented: bool,
    items: impl IntoIterator<Item = String>,
) {
    let key = (r.rule.group_id.as_str(), r.rule.direction, commented);
    let i = match out
        .iter()
        .position(|b| (b.group_id, b.direction, b.commented) == key)
    {
        Some(i) => i,
        None => {
            out.push(Batch {
                group_id: key.0,
                direction: key.1,
                commented,
                recs: Vec::new(),
                items: Vec::new(),
            });
            out.len() - 1
        }
    };
    let b = &mut out[i];
    if !b.recs.iter().any(|x| std::ptr::eq(*x, r)) {
        b.recs.push(r);
    }
    b.items.extend(items);
}

/// One permission of `--ip-permissions`, as an object of the list.
fn permission(s: &RuleSpec) -> String {
    match ip_permissions(s) {
        serde_json::Value::Array(mut v) if v.len() == 1 => v.remove(0).to_string(),
        v => v.to_string(),
    }
}

pub fn write_cli(w: &mut dyn Write, inv: &Inventory, a: &Analysis, o: &CliOptions) -> Result<()> {
    writeln!(w, "#!/bin/sh")?;
    writeln!(
        w,
        "# flowscope recommend: AWS CLI calls. Review before running. Every authorize comes before any"
    )?;
    writeln!(
        w,
        "# revoke, so running them in order never opens a gap in allowed traffic. One call per group"
    )?;
    writeln!(
        w,
        "# and direction. Safe to run again: a rule already present or already gone is reported and"
    )?;
    writeln!(
        w,
        "# skipped; any other error stops the script. `sh THIS-FILE --dry-run` sends every call with"
    )?;
    writeln!(
        w,
        "# --dry-run: AWS checks permissions and requests, and changes nothing."
    )?;
    if let Some((s, e)) = a.window {
        writeln!(w, "# Evidence window: {} to {}", fmt_time(s), fmt_time(e))?;
    }
    if !o.include_low {
        writeln!(
            w,
            "# Low-confidence changes are commented out (--include-low writes them as commands)."
        )?;
    }
    writeln!(w, "set -eu")?;
    let aws = match &o.aws_args {
        Some(args) => {
            writeln!(w, "AWS_ARGS={}", shell_quote(args))?;
            "aws $AWS_ARGS"
        }
        None => "aws",
    };
    let changes: Vec<&Recommendation> = first_change_per_rule(a);
    if changes.is_empty() {
        writeln!(w, "# No changes recommended.")?;
        return Ok(());
    }
    w.write_all(RUNNER.as_bytes())?;
    // A low-confidence change is written for review, not to run.
    let commented = |r: &Recommendation| r.confidence == Confidence::Low && !o.include_low;
    let mut authorize = Vec::new();
    for r in &changes {
        if !r.proposed.is_empty() {
            batch(
                &mut authorize,
                r,
                commented(r),
                r.proposed.iter().map(permission),
            );
        }
    }
    // Revokes: by rule id where known, else by the rule itself.
    let (mut by_id, mut by_rule) = (Vec::new(), Vec::new());
    for r in &changes {
        match r.rule.rule_id.as_deref().filter(|id| is_rule_id(id)) {
            Some(id) => batch(&mut by_id, r, commented(r), [shell_quote(id)]),
            None => {
                let mut spec = RuleSpec::from_rule(&r.rule);
                spec.description = None;
                batch(&mut by_rule, r, commented(r), [permission(&spec)]);
            }
        }
    }
    writeln!(w, "\n# 1. Authorize the replacement rules")?;
    for b in &authorize {
        header(w, inv, b, false)?;
        writeln!(
            w,
            "{}change {aws} ec2 authorize-security-group-{} --group-id {} --ip-permissions {}",
            if b.commented { "# " } else { "" },
            verb(b.direction),
            shell_quote(b.group_id),
            shell_quote(&format!("[{}]", b.items.join(",")))
        )?;
    }
    writeln!(w, "\n# 2. Revoke the rules they replace, and unused rules")?;
    let mut revokes: Vec<(&Batch, bool)> = by_id.iter().map(|b| (b, true)).collect();
    revokes.extend(by_rule.iter().map(|b| (b, false)));
    // By group and direction as they first appear among the changes, ids first.
    let first = |b: &Batch| {
        changes
            .iter()
            .position(|r| r.rule.group_id == b.group_id && r.rule.direction == b.direction)
    };
    revokes.sort_by_key(|(b, ids)| (first(b), !ids));
    for (b, ids) in revokes {
        header(w, inv, b, true)?;
        let lead = if b.commented { "# " } else { "" };
        let call = format!(
            "{lead}change {aws} ec2 revoke-security-group-{} --group-id {}",
            verb(b.direction),
            shell_quote(b.group_id)
        );
        if ids {
            writeln!(w, "{call} --security-group-rule-ids {}", b.items.join(" "))?;
        } else {
            writeln!(
                w,
                "{call} --ip-permissions {}",
                shell_quote(&format!("[{}]", b.items.join(",")))
            )?;
        }
    }
    Ok(())
}

/// The comment above a call: its group and direction, and each change it carries.
fn header(w: &mut dyn Write, inv: &Inventory, b: &Batch, revoke: bool) -> Result<()> {
    let n = b.items.len();
    writeln!(
        w,
        "\n# {} {}: {n} {}",
        comment(&group_label(inv, b.group_id)),
        verb(b.direction),
        if n == 1 { "rule" } else { "rules" }
    )?;
    for r in &b.recs {
        if revoke {
            writeln!(
                w,
                "# [{}] {} (confidence {}): {}",
                r.kind.as_str(),
                comment(&r.headline),
                conf(r.confidence),
                comment(&r.reason)
            )?;
        } else {
            writeln!(
                w,
                "# [{}] {} (confidence {}; evidence: {} flows, {}, {} peers)",
                r.kind.as_str(),
                comment(&r.headline),
                conf(r.confidence),
                thousands(r.evidence.flows),
                human_bytes(r.evidence.bytes),
                r.evidence.peers
            )?;
        }
    }
    Ok(())
}
