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
use crate::flowlog::reader::dedup_inputs;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything read.
    Clean,
    /// Some input could not be read (or malformed lines under --strict).
    DataErrors,
}

/// Set once the input had data errors: a run cut short by a closed pipe
/// still exits as the complete run would (see `outcome_so_far`).
static DATA_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The outcome of the input read so far (for `main` after EPIPE).
pub fn outcome_so_far() -> Outcome {
    if DATA_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
        Outcome::DataErrors
    } else {
        Outcome::Clean
    }
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
    read_logs_in(args, (None, None), make)
}

/// `read_logs`, leaving unread the files and S3 objects that the
/// `(since, until)` window excludes by the dates in their keys
/// (`source::layout`).
pub fn read_logs_in<P, F>(
    args: &InputArgs,
    (since, until): (Option<u64>, Option<u64>),
    make: F,
) -> Result<(RunOutput<P>, Outcome)>
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
    let window = crate::source::layout::Window { since, until };
    let (inputs, problems) = crate::source::expand(&args.paths, &args.s3, window);
    let (inputs, repeated) = dedup_inputs(inputs);
    let mut err = stderr.lock();
    if !args.quiet {
        for name in &repeated {
            let _ = writeln!(
                err,
                "flowscope: warning: {name}: named more than once; read once"
            );
        }
    }
    for p in &problems {
        let _ = writeln!(err, "flowscope: error: {p}");
    }
    // Everything left out by --since/--until is an empty report, said
    // so (source::report), not a usage error.
    if inputs.is_empty() && !crate::source::pruned_any() {
        bail!("no input to read");
    }
    let opts = EngineOptions {
        threads: thread_count(args.threads),
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
    crate::source::report(&mut err, args.quiet, out.accounting.files);
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
    if outcome == Outcome::DataErrors {
        DATA_ERRORS.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Ok((out, outcome))
}

/// Threads for a run: `-j` (already 1 to cli::MAX_THREADS) or the
/// default, capped at four per core: past the cores, a single input gains
/// nothing from more workers, and each one holds chunk buffers (about
/// 3 MiB). With several inputs the engine further caps the count at the
/// number of files.
fn thread_count(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    requested
        .unwrap_or_else(engine::default_threads)
        .clamp(1, (4 * cores).max(16))
}

/// Records outside `--since/--until`, by status: left out of a report and
/// shown in its input accounting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Filtered {
    /// Data records (status OK).
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
}

impl Filtered {
    pub fn total(&self) -> u64 {
        self.records + self.nodata + self.skipdata
    }

    /// Says so on stderr when the window left out every record read: an
    /// empty report with exit 0 is easy to take for "no traffic" (a
    /// relative `--since 7d` over logs from last year, a date typo).
    pub fn warn_if_everything(&self, acc: &engine::Accounting) {
        if acc.records > 0 && self.records == acc.records {
            eprintln!(
                "flowscope: warning: all {} outside --since/--until: nothing was summarized \
                 (the window is compared with each record's start and end; relative forms \
                 such as 7d count back from now)",
                crate::report::count(acc.records, "record read is", "records read are")
            );
        }
    }
}

/// A processor behind the `--since/--until` window of summarize and
/// recommend: the records outside go no further and are counted. The test
/// is `investigate::Filter`'s, the one query, top and scans use (a record
/// is inside when its [start, end] overlaps the window).
pub struct Windowed<P> {
    pub inner: P,
    filter: Option<std::sync::Arc<crate::investigate::Filter>>,
    pub filtered: Filtered,
}

impl<P> Windowed<P> {
    /// `filter`: None when no window is given (every record passes).
    pub fn new(inner: P, filter: Option<std::sync::Arc<crate::investigate::Filter>>) -> Self {
        Windowed {
            inner,
            filter,
            filtered: Filtered::default(),
        }
    }
}

/// The compiled window, None without --since/--until.
pub fn window_filter(
    w: &crate::cli::WindowArgs,
) -> Result<Option<std::sync::Arc<crate::investigate::Filter>>> {
    if w.since.is_none() && w.until.is_none() {
        return Ok(None);
    }
    let mut f = crate::investigate::Filter::new(&crate::investigate::FilterArgs {
        since: w.since,
        until: w.until,
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    // NODATA/SKIPDATA records have times too: the window applies to them.
    f.include_nodata = true;
    Ok(Some(std::sync::Arc::new(f)))
}

impl<P: Processor> Processor for Windowed<P> {
    #[inline(always)]
    fn record(&mut self, rec: &crate::flowlog::record::FlowRecord, ctx: &engine::RecordCtx<'_>) {
        if let Some(f) = &self.filter {
            if !f.matches(rec, ctx) {
                use crate::flowlog::record::LogStatus;
                match rec.status {
                    LogStatus::Ok => self.filtered.records += 1,
                    LogStatus::NoData => self.filtered.nodata += 1,
                    LogStatus::SkipData => self.filtered.skipdata += 1,
                }
                return;
            }
        }
        self.inner.record(rec, ctx);
    }

    fn end_chunk(&mut self) {
        self.inner.end_chunk();
    }

    fn done(&self) -> bool {
        self.inner.done()
    }

    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
        self.filtered.records += other.filtered.records;
        self.filtered.nodata += other.filtered.nodata;
        self.filtered.skipdata += other.filtered.skipdata;
    }
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
        interfaces: vec![path.to_path_buf()],
        groups: groups.into_iter().collect(),
        ..Default::default()
    })?;
    Ok((Some(std::sync::Arc::new(locals_of(&inv))), labels_of(&inv)))
}

/// Interface names for tables (`--interfaces` on top and scans): each
/// interface's id and own addresses → its role label and group names.
#[derive(Debug, Default)]
pub struct InterfaceNames {
    by_id: std::collections::HashMap<String, String>,
    by_addr: std::collections::HashMap<std::net::IpAddr, String>,
}

impl InterfaceNames {
    /// Loads `describe-network-interfaces` JSON (group names from a
    /// security-groups.json beside it); None without the flag.
    pub fn load(path: Option<&std::path::Path>) -> Result<Option<InterfaceNames>> {
        let Some(path) = path else { return Ok(None) };
        let groups = path
            .parent()
            .map(|d| d.join("security-groups.json"))
            .filter(|g| g.is_file());
        let inv = crate::inventory::Inventory::load(&crate::inventory::InventoryPaths {
            interfaces: vec![path.to_path_buf()],
            groups: groups.into_iter().collect(),
            ..Default::default()
        })
        .with_context(|| format!("--interfaces {}", path.display()))?;
        let by_id: std::collections::HashMap<String, String> = labels_of(&inv)
            .into_iter()
            .map(|(id, l)| (id, l.to_string()))
            .collect();
        let mut by_addr = std::collections::HashMap::new();
        for i in &inv.interfaces {
            if let Some(l) = by_id.get(&i.id) {
                for a in inv.local_addrs(&i.id) {
                    by_addr.insert(*a, l.clone());
                }
            }
        }
        Ok(Some(InterfaceNames { by_id, by_addr }))
    }

    /// The name of an interface id, an address, or each side of `a -> b`;
    /// `-` when unknown.
    pub fn name_of(&self, key: &str) -> String {
        if let Some((a, b)) = key.split_once(" -> ") {
            return format!("{} -> {}", self.name_of(a), self.name_of(b));
        }
        let found = self.by_id.get(key).or_else(|| {
            key.parse::<std::net::IpAddr>()
                .ok()
                .and_then(|a| self.by_addr.get(&a))
        });
        found.cloned().unwrap_or_else(|| "-".into())
    }
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
            let groups = i
                .group_ids
                .iter()
                .map(|g| {
                    let name = inv.group(g).map_or(g.as_str(), |sg| sg.group_name.as_str());
                    (g.clone(), name.to_string())
                })
                .collect();
            let label = summarize::Label {
                role: i.kind.label(),
                groups,
            };
            (i.id.clone(), label)
        })
        .collect()
}
