//! `-o cfn`: the CloudFormation template with the changed rules rewritten.

use std::io::Write;

use anyhow::{Context, Result};

use super::first_change_per_rule;
use crate::inventory::{Inventory, TemplateEdit};
use crate::recommend::{rule_ports, Analysis};

/// Writes the patched template; returns the changes it could not make (a
/// rule that is not in the template), for the command to say.
pub fn write_cfn(w: &mut dyn Write, inv: &Inventory, a: &Analysis) -> Result<Vec<String>> {
    let t = inv.template.as_ref().context("no template")?;
    let mut edits = Vec::new();
    let mut by_hand = Vec::new();
    for r in first_change_per_rule(a) {
        match t.find_rule_for(&r.rule) {
            Some(at) => {
                if r.proposed.is_empty() {
                    edits.push(TemplateEdit::Remove { at });
                } else {
                    edits.push(TemplateEdit::Replace {
                        at,
                        with: r.proposed.clone(),
                    });
                }
            }
            None => by_hand.push(format!(
                "-o cfn: {} {} {} is not in the template; change it by hand: {}",
                r.rule.group_id,
                r.rule.direction,
                rule_ports(&r.rule),
                r.headline
            )),
        }
    }
    let patched = t.patched(&edits);
    crate::report::write_json_pretty(w, &patched)?;
    Ok(by_hand)
}
