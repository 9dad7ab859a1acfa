//! `recommend -o html`: the page's inputs gathered from the run.

use std::collections::HashSet;

use anyhow::Result;

use crate::aggregate::Summary;
use crate::commands::Filtered;
use crate::config::RecommendConfig;
use crate::engine::Accounting;
use crate::inventory::Inventory;
use crate::messages::Recording;
use crate::recommend::Analysis;
use crate::report::html::{write_recommend, RecommendPage, RunInfo};

pub(super) fn write(
    out: &mut dyn std::io::Write,
    args: &RecommendConfig,
    (inventory, analysis, summary): (&Inventory, &Analysis, &Summary),
    (accounting, filtered, said): (&Accounting, Filtered, &Recording),
) -> Result<()> {
    let logged: HashSet<&str> = summary
        .interfaces
        .iter()
        .filter_map(|i| i.interface_id.as_deref())
        .collect();
    let diagnostics = said.lines();
    let page = RecommendPage {
        run: RunInfo {
            inputs: &args.input.paths,
            accounting,
            outside: filtered.into(),
            diagnostics: &diagnostics,
        },
        inventory,
        analysis,
        logged: &logged,
    };
    write_recommend(out, &page)?;
    Ok(())
}
