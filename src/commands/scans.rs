//! `flowscope scans`: port scans and address sweeps.
//!
//! JSON contract (`-o json`, `"version": 1`, `docs/json.md`): an object
//! with the settings (`window_seconds`, `min_ports`, `min_targets`,
//! `min_reject_pct`, `max_cells`), what the memory cap did
//! (`cells_pruned`, `records_ignored`) and `findings`, those with anything
//! ACCEPTed first, then by distinct ports and targets: `source`,
//! `first_seen`, `last_seen` (epoch seconds), `distinct_ports`,
//! `distinct_targets`, `ports` (sorted), `targets` (sorted), `ports_capped`,
//! `targets_capped` (true: more were tried than kept, counts are lower
//! bounds), `attempts` (distinct (target, port, protocol) per window),
//! `attempts_capped` (true: more attempts than tracked, attempt counts
//! approximate), `accepted`, `rejected`, `unconfirmed` (attempts by
//! outcome, see `investigate::scans`), `routine_attempts`,
//! `accept_records`, `reject_records` (records), `accepted_ports`,
//! `accepted_targets`, `accepted_pairs` (`[{"target", "port"}]`: what got
//! through).

use std::io::Write;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use super::Outcome;
use crate::config::ScansConfig;
use crate::investigate::scans::{
    Finding, ScanConfig, ScanProc, DEFAULT_ATTEMPT_CAP, DEFAULT_SET_CAP,
};
use crate::investigate::timeline::fmt_width;
use crate::investigate::Filter;
use crate::report::{self, fmt_time, thousands, Output, OutputFormat, Table};

/// `-o json` (`docs/json.md`).
#[derive(Serialize)]
struct JsonDoc<'a> {
    version: u32,
    window_seconds: u64,
    min_ports: usize,
    min_targets: usize,
    min_reject_pct: u64,
    max_cells: usize,
    /// True when, at the cell cap, cells of ordinary clients were dropped
    /// (figures may be lower bounds).
    cells_pruned: bool,
    /// Records of new sources ignored once the cap was reached even after
    /// pruning.
    records_ignored: u64,
    findings: &'a [Finding],
}

pub fn run(args: &ScansConfig, session: &super::Session<'_>) -> Result<Outcome> {
    if args.min_reject_pct > 100 {
        bail!("--min-reject-pct must be 0 to 100");
    }
    if args.min_ports == 0 || args.min_targets == 0 || args.max_cells == 0 {
        bail!("--min-ports, --min-targets and --max-cells must be at least 1");
    }
    let mut out = Output::open(args.output_file.as_deref())?;
    let names = super::InterfaceNames::load(args.interfaces.as_deref())?;
    // Which side of a record initiated it is summarize's answer, with the
    // same interface addresses (`investigate::scans`).
    let (locals, _) = super::interfaces_for(args.interfaces.as_deref(), &args.input.paths)?;
    let filter = Arc::new(Filter::new(&args.filter).map_err(|e| anyhow!(e))?);
    let cfg = Arc::new(ScanConfig {
        window: args.window,
        min_ports: args.min_ports,
        min_targets: args.min_targets,
        min_reject_pct: args.min_reject_pct,
        set_cap: DEFAULT_SET_CAP,
        attempt_cap: DEFAULT_ATTEMPT_CAP,
        max_cells: args.max_cells,
    });
    let (run, outcome) = super::read_logs_in(
        &args.input,
        (args.filter.since, args.filter.until),
        session,
        ScanProc::new(filter.clone(), cfg, locals),
    )?;
    for d in filter.diagnostics() {
        crate::warning!("{d}");
    }
    if args.input.strict && outcome == Outcome::DataErrors {
        return Ok(outcome);
    }
    let (findings, notes) = run.processor.findings();
    if notes.tgw_records > 0 && args.min_reject_pct > 0 {
        crate::note!(
            "{} of Transit Gateway attachments: they carry no ACCEPT/REJECT, only packets \
             the gateway dropped count as rejected; --min-reject-pct 0 shows every fan-out \
             through it",
            report::count(notes.tgw_records, "record", "records")
        );
    }
    if notes.pruned || notes.full {
        crate::warning!(
            "more than {} (source, window) cells: {}; counts may be lower bounds (--max-cells raises the cap)",
            thousands(args.max_cells as u64),
            if notes.full {
                format!(
                    "{} records from new sources were ignored",
                    thousands(notes.dropped)
                )
            } else {
                "cells of ordinary clients (one port, one target) were dropped".to_string()
            }
        );
    }
    match args.output {
        OutputFormat::Json => {
            let doc = JsonDoc {
                version: 1,
                window_seconds: args.window,
                min_ports: args.min_ports,
                min_targets: args.min_targets,
                min_reject_pct: args.min_reject_pct,
                max_cells: args.max_cells,
                cells_pruned: notes.pruned,
                records_ignored: notes.dropped,
                findings: &findings,
            };
            crate::report::write_json_pretty(&mut out, &doc)?;
        }
        OutputFormat::Csv => write_csv(&mut out, &findings)?,
        OutputFormat::Table => {
            let style = session.style(&out);
            write_table(&mut out, &findings, args, names.as_ref(), &style)?;
            if notes.pruned || notes.full {
                // In the table too, not only on stderr.
                writeln!(
                    out,
                    "Approximate: the --max-cells cap ({}) was reached; {}",
                    thousands(args.max_cells as u64),
                    if notes.full {
                        format!(
                            "{} records of new sources were ignored; counts may be lower bounds",
                            thousands(notes.dropped)
                        )
                    } else {
                        "cells of ordinary clients were dropped; counts may be lower bounds".into()
                    }
                )?;
            }
        }
    }
    out.finish()?;
    Ok(outcome)
}

/// `1-200,443,8080-8081`.
pub fn port_ranges(ports: &[u16]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ports.len() {
        let mut j = i;
        while j + 1 < ports.len() && ports[j + 1] == ports[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", ports[i], ports[j])
        } else {
            ports[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!(
            "{}, … (+{} more)",
            items[..max].join(", "),
            items.len() - max
        )
    }
}

fn capped(n: usize, c: bool) -> String {
    format!("{}{}", thousands(n as u64), if c { "+" } else { "" })
}

fn write_table(
    w: &mut dyn Write,
    f: &[Finding],
    args: &ScansConfig,
    names: Option<&super::InterfaceNames>,
    style: &report::Style,
) -> Result<()> {
    // `10.0.1.5 (ecs-task orders)` with --interfaces, for known addresses.
    let named = |a: &String| match names.map(|n| n.name_of(a)) {
        Some(n) if n != "-" => format!("{a} ({n})"),
        _ => a.clone(),
    };
    if f.is_empty() {
        writeln!(
            w,
            "No scans found (≥ {} ports or ≥ {} targets within {}, ≥ {}% REJECTed).",
            args.min_ports,
            args.min_targets,
            fmt_width(args.window),
            args.min_reject_pct
        )?;
        return Ok(());
    }
    let mut t = Table::new(&[
        ("SOURCE", false),
        ("FIRST SEEN", false),
        ("LAST SEEN", false),
        ("PORTS", true),
        ("TARGETS", true),
        ("ATTEMPTS", true),
        ("REJECTED", true),
        ("ACCEPTED", true),
        ("UNCONFIRMED", true),
        ("GOT THROUGH", false),
    ]);
    for x in f {
        let through: Vec<String> = x
            .accepted_pairs
            .iter()
            .map(|p| match p.port {
                Some(port) if p.target.contains(':') => format!("[{}]:{port}", p.target),
                Some(port) => format!("{}:{port}", p.target),
                None => p.target.clone(),
            })
            .collect();
        t.push(vec![
            named(&x.source),
            fmt_time(x.first_seen),
            fmt_time(x.last_seen),
            capped(x.distinct_ports, x.ports_capped),
            capped(x.distinct_targets, x.targets_capped),
            format!(
                "{}{}",
                if x.attempts_capped { "~" } else { "" },
                thousands(x.attempts)
            ),
            thousands(x.rejected),
            thousands(x.accepted),
            thousands(x.unconfirmed),
            if through.is_empty() {
                "-".into()
            } else {
                list(&through, 4)
            },
        ]);
    }
    t.write(w, style)?;
    writeln!(w)?;
    for x in f {
        writeln!(
            w,
            "{}: tried {} on {}",
            x.source,
            if x.ports.is_empty() {
                "no ports (ICMP or other)".to_string()
            } else {
                format!("ports {}", port_ranges(&x.ports))
            },
            list(&x.targets, 8)
        )?;
        if x.accepted > 0 {
            writeln!(
                w,
                "  ACCEPTED: ports {} on {}",
                if x.accepted_ports.is_empty() {
                    "-".to_string()
                } else {
                    port_ranges(&x.accepted_ports)
                },
                list(&x.accepted_targets.iter().map(named).collect::<Vec<_>>(), 8)
            )?;
        }
        if x.unconfirmed > 0 {
            writeln!(
                w,
                "  UNCONFIRMED: {} attempts only seen leaving the source (no record from the target's side)",
                thousands(x.unconfirmed)
            )?;
        }
    }
    writeln!(
        w,
        "\n{} (≥ {} ports or ≥ {} targets within {}, ≥ {}% REJECTed)",
        report::count(f.len() as u64, "finding", "findings"),
        args.min_ports,
        args.min_targets,
        fmt_width(args.window),
        args.min_reject_pct
    )?;
    Ok(())
}

fn write_csv(w: &mut dyn Write, f: &[Finding]) -> Result<()> {
    let mut c = csv::Writer::from_writer(w);
    c.write_record([
        "source",
        "first_seen",
        "last_seen",
        "distinct_ports",
        "distinct_targets",
        "accepted",
        "rejected",
        "ports",
        "targets",
        "accepted_ports",
        "accepted_targets",
        "attempts",
        "unconfirmed",
        "accept_records",
        "reject_records",
    ])?;
    let join = |v: Vec<String>| v.join(" ");
    for x in f {
        c.write_record([
            x.source.clone(),
            x.first_seen.to_string(),
            x.last_seen.to_string(),
            x.distinct_ports.to_string(),
            x.distinct_targets.to_string(),
            x.accepted.to_string(),
            x.rejected.to_string(),
            join(x.ports.iter().map(u16::to_string).collect()),
            join(x.targets.clone()),
            join(x.accepted_ports.iter().map(u16::to_string).collect()),
            join(x.accepted_targets.clone()),
            x.attempts.to_string(),
            x.unconfirmed.to_string(),
            x.accept_records.to_string(),
            x.reject_records.to_string(),
        ])?;
    }
    c.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            port_ranges(&[1, 2, 3, 5, 443, 8080, 8081]),
            "1-3,5,443,8080-8081"
        );
        assert_eq!(port_ranges(&[]), "");
        assert_eq!(port_ranges(&[65534, 65535]), "65534-65535");
    }
}
