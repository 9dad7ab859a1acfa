//! One module per command; this one holds what they share: reading the
//! logs through the engine and reporting what could not be read.

pub mod query;
pub mod recommend;
pub mod scans;
pub mod summarize;
pub mod top;

use std::io::Write;

use anyhow::{bail, Context, Result};

use crate::cli::InputArgs;
use crate::engine::{self, EngineOptions, Processor, RunOutput};
use crate::flowlog::format::Format;
use crate::flowlog::reader::expand_inputs;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything read.
    Clean,
    /// Some input could not be read (or malformed lines under --strict).
    DataErrors,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::DataErrors => 1,
        }
    }
}

/// Reads every input with `make()`-built processors; prints problems on
/// stderr. Fails (usage error) when nothing can be read at all.
pub fn read_logs<P, F>(args: &InputArgs, make: F) -> Result<(RunOutput<P>, Outcome)>
where
    P: Processor,
    F: Fn() -> P + Sync,
{
    let stderr = std::io::stderr();
    let format = match &args.format {
        Some(f) => {
            let (format, unknown) =
                Format::parse_typed(f).with_context(|| format!("--format '{f}'"))?;
            for name in unknown {
                let _ = writeln!(
                    stderr.lock(),
                    "flowscope: warning: --format: '{name}' is not a field flowscope knows: \
                     its column is read and ignored"
                );
            }
            format
        }
        None => Format::default_v2(),
    };
    let (inputs, problems) = expand_inputs(&args.paths);
    let mut err = stderr.lock();
    for p in &problems {
        let _ = writeln!(err, "flowscope: error: {p}");
    }
    if inputs.is_empty() {
        bail!("no input to read");
    }
    let opts = EngineOptions {
        threads: args.threads.unwrap_or_else(engine::default_threads).max(1),
        default_format: format,
        max_bad_lines: 10,
    };
    drop(err);
    let progress = crate::progress::Progress::start(inputs.len(), !args.quiet);
    let mut out = engine::run(&inputs, &opts, make);
    drop(progress);
    // Inputs that never reached the engine count as read and failed.
    let unopened = problems.iter().filter(|p| p.failed_input).count() as u64;
    out.accounting.files += unopened;
    out.accounting.files_failed += unopened;
    let mut err = stderr.lock();
    for e in &out.file_errors {
        let _ = writeln!(err, "flowscope: error: {e}");
    }
    warn_files(&mut err, &out.file_warnings);
    if engine::interrupted() {
        return Err(engine::Interrupted(out.accounting.summary_line()).into());
    }
    let skipped = out.accounting.skipped_total();
    if skipped > 0 && (!args.quiet || args.strict) {
        for b in &out.bad_lines {
            let _ = writeln!(err, "flowscope: warning: {b}");
        }
        let reasons: Vec<String> = out
            .accounting
            .skipped_by_reason()
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        let _ = writeln!(
            err,
            "flowscope: warning: {skipped} of {} lines skipped ({}){}",
            out.accounting.lines,
            reasons.join(", "),
            if (out.bad_lines.len() as u64) < skipped {
                "; the first ones are shown above"
            } else {
                ""
            }
        );
    }
    let mut outcome = if out.file_errors.is_empty() && problems.is_empty() {
        Outcome::Clean
    } else {
        Outcome::DataErrors
    };
    if args.strict && skipped > 0 {
        let _ = writeln!(err, "flowscope: error: --strict: {skipped} malformed lines");
        outcome = Outcome::DataErrors;
    }
    Ok((out, outcome))
}

/// Prints per-file warnings, one line per distinct message: the first file
/// named, and how many others share it (hundreds of S3 objects written
/// with one format would otherwise repeat one line hundreds of times).
fn warn_files(err: &mut impl Write, warnings: &[engine::FileError]) {
    let mut groups: Vec<(&engine::FileError, usize)> = Vec::new();
    for w in warnings {
        match groups.iter_mut().find(|(g, _)| g.message == w.message) {
            Some((_, n)) => *n += 1,
            None => groups.push((w, 0)),
        }
    }
    for (w, others) in groups {
        let more = match others {
            0 => String::new(),
            n => format!(
                " (and {})",
                crate::report::count(n as u64, "other file", "other files")
            ),
        };
        let _ = writeln!(err, "flowscope: warning: {w}{more}");
    }
}

/// Loads `describe-network-interfaces` JSON: each interface's own
/// addresses (for direction) and a label for tables.
pub fn load_interfaces(
    path: &std::path::Path,
) -> Result<(
    Option<std::sync::Arc<crate::aggregate::Locals>>,
    summarize::Labels,
)> {
    // Group names for the labels, when the groups file sits beside it.
    let groups = path
        .parent()
        .map(|d| d.join("security-groups.json"))
        .filter(|g| g.is_file());
    let inv = crate::inventory::Inventory::load(&crate::inventory::InventoryPaths {
        interfaces: Some(path.to_path_buf()),
        groups,
        ..Default::default()
    })?;
    Ok((Some(std::sync::Arc::new(locals_of(&inv))), labels_of(&inv)))
}

/// Interface id → own private and IPv6 addresses, for direction.
pub fn locals_of(inv: &crate::inventory::Inventory) -> crate::aggregate::Locals {
    use crate::flowlog::record::{EniId, Ip};
    inv.interfaces
        .iter()
        .map(|i| {
            (
                EniId::from_bytes(i.id.as_bytes()),
                inv.local_addrs(&i.id)
                    .iter()
                    .map(|a| Ip::from(*a))
                    .collect(),
            )
        })
        .collect()
}

/// Interface id → a short role label (`alb`, `ecs-task`, `rds` … plus group names).
pub fn labels_of(inv: &crate::inventory::Inventory) -> summarize::Labels {
    inv.interfaces
        .iter()
        .map(|i| {
            let names: Vec<&str> = i
                .group_ids
                .iter()
                .map(|g| inv.group(g).map_or(g.as_str(), |sg| sg.group_name.as_str()))
                .collect();
            let label = if names.is_empty() {
                i.kind.label().to_string()
            } else {
                format!("{} {}", i.kind.label(), names.join(","))
            };
            (i.id.clone(), label)
        })
        .collect()
}
