//! Reading the logs for a command and accounting for them: the engine
//! run with its diagnostics (`read_logs`), the `--since/--until` window of
//! summarize and recommend (`Windowed`), and the input accounting every
//! report shows (`write_accounting`, `InputJson`).

use std::io::Write;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::{Outcome, Session};
use crate::aggregate::{Row, Summary};
use crate::config::{InputConfig, WindowConfig};
use crate::engine::{self, Accounting, AccountingJson, EngineOptions, Processor, RunOutput};
use crate::flowlog::format::Format;
use crate::flowlog::reader::dedup_inputs;
use crate::report::{self, human_bytes, thousands};
use crate::source::Pruned;

/// Reads every input with `make()`-built processors, leaving unread the
/// files and S3 objects that the `(since, until)` window excludes by the
/// dates in their keys (`source::layout`); prints problems on stderr and
/// notes data errors in the session's status. Fails (usage error) when
/// nothing can be read at all.
pub fn read_logs_in<P, F>(
    args: &InputConfig,
    (since, until): (Option<u64>, Option<u64>),
    session: &Session<'_>,
    make: F,
) -> Result<(RunOutput<P>, Outcome)>
where
    P: Processor,
    F: Fn() -> P + Sync,
{
    let format = match &args.format {
        Some(f) => {
            let (format, unknown) =
                Format::parse_typed(f).with_context(|| format!("--format '{f}'"))?;
            for name in unknown {
                crate::warning!(
                    "--format: '{name}' is not a field flowscope knows: \
                     its column is read and ignored"
                );
            }
            format
        }
        None => Format::default_v2(),
    };
    let flow_logs = match &args.flow_logs {
        Some(path) => load_flow_logs(path)?,
        None => Default::default(),
    };
    let window = crate::source::layout::Window { since, until };
    let crate::source::Expanded {
        inputs,
        problems,
        pruned,
    } = crate::source::expand(&args.paths, &args.s3, window);
    let (inputs, repeated) = dedup_inputs(inputs);
    if !args.quiet {
        for name in &repeated {
            crate::warning!("{name}: named more than once; read once");
        }
    }
    for p in &problems {
        crate::error!("{p}");
    }
    // Everything left out by --since/--until is an empty report, said
    // so (report_pruned), not a usage error.
    if inputs.is_empty() && !pruned.any() {
        bail!("no input to read");
    }
    let progress = crate::progress::Progress::start(inputs.len(), !args.quiet);
    let opts = EngineOptions {
        threads: thread_count(args.threads),
        default_format: format,
        max_bad_lines: 10,
        cancel: crate::interrupt::token(),
        progress: progress.as_ref().map(|p| p.handle()).unwrap_or_default(),
        flow_logs: std::sync::Arc::new(flow_logs),
    };
    let out = engine::run(&inputs, &opts, || SingleRecords::new(make()));
    drop(progress);
    if let Some(file) = out.processor.refused.clone() {
        bail!(
            "{}: a pre-aggregated flow log (it has a `flows` column: each line stands for \
             several records, see `flowscope sql`); this command shows single records: run it \
             on the flow logs themselves (summarize, recommend and top read pre-aggregated \
             lines)",
            crate::flowlog::sniff::printable(&file)
        );
    }
    let mut out = RunOutput {
        processor: out.processor.inner,
        accounting: out.accounting,
        bad_lines: out.bad_lines,
        file_errors: out.file_errors,
        file_warnings: out.file_warnings,
    };
    // Inputs that never reached the engine count as read and failed.
    let unopened = problems.iter().filter(|p| p.failed_input).count() as u64;
    out.accounting.files += unopened;
    out.accounting.files_failed += unopened;
    for e in &out.file_errors {
        crate::error!("{e}");
    }
    warn_files(&out.file_warnings);
    report_pruned(args.quiet, out.accounting.files, pruned);
    if engine::interrupted() {
        return Err(engine::Interrupted(out.accounting.summary_line()).into());
    }
    let skipped = out.accounting.skipped_total();
    if skipped > 0 && (!args.quiet || args.strict) {
        for b in &out.bad_lines {
            crate::warning!("{b}");
        }
        let reasons: Vec<String> = out
            .accounting
            .skipped_by_reason()
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        crate::warning!(
            "{skipped} of {} lines skipped ({}){}",
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
        crate::error!("--strict: {skipped} malformed lines");
        outcome = Outcome::DataErrors;
    }
    session.status.record(outcome);
    Ok((out, outcome))
}

/// `--flow-logs FILE`: `aws ec2 describe-flow-logs` output, the format of
/// each log group for CloudWatch Logs forms (`flowlog::cloudwatch`).
fn load_flow_logs(path: &std::path::Path) -> Result<crate::flowlog::cloudwatch::FlowLogs> {
    let shown = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("--flow-logs {shown}"))?;
    let (flow_logs, warnings) = crate::flowlog::cloudwatch::FlowLogs::from_json(&bytes)
        .map_err(|e| anyhow::anyhow!("--flow-logs {shown}: {e}"))?;
    for w in warnings {
        crate::warning!("--flow-logs {shown}: {w}");
    }
    if flow_logs.is_empty() {
        bail!("--flow-logs {shown}: no flow log in it");
    }
    Ok(flow_logs)
}

/// Says what `--since/--until` left unread by the dates in the inputs'
/// names (`read`: the inputs read), and with `FLOWSCOPE_DEBUG=s3` the S3
/// requests made (tests count fetches).
fn report_pruned(quiet: bool, read: u64, pruned: Pruned) {
    use std::sync::atomic::Ordering::Relaxed;
    let Pruned { files, prefixes } = pruned;
    if read == 0 && pruned.any() {
        // A warning even under -q: an empty report reads as "no traffic".
        crate::warning!(
            "every input is outside --since/--until by the dates in its \
             name: nothing was read (relative forms such as 7d count back from now)"
        );
    } else if !quiet && pruned.any() {
        let mut parts = Vec::new();
        if files > 0 {
            parts.push(report::count(files, "file", "files"));
        }
        if prefixes > 0 {
            parts.push(report::count(prefixes, "date folder", "date folders"));
        }
        crate::note!(
            "--since/--until: {} left unread by the dates in their names",
            parts.join(" and ")
        );
    }
    if std::env::var("FLOWSCOPE_DEBUG").is_ok_and(|v| v.split(',').any(|d| d == "s3")) {
        if let Some(s) = crate::source::s3::stats() {
            crate::messages::line(format_args!(
                "flowscope: debug: s3: {} listings, {} GETs, {} bytes, {} objects and {} date folders pruned",
                s.lists.load(Relaxed),
                s.gets.load(Relaxed),
                s.bytes.load(Relaxed),
                s.pruned_objects.load(Relaxed),
                s.pruned_prefixes.load(Relaxed)
            ));
        }
    }
}

/// Threads for a run: `-j` (already 1 to `cli::MAX_THREADS`) or the
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

impl From<Filtered> for report::html::Outside {
    fn from(f: Filtered) -> Self {
        report::html::Outside {
            records: f.records,
            nodata: f.nodata,
            skipdata: f.skipdata,
        }
    }
}

impl Filtered {
    pub fn total(&self) -> u64 {
        self.records + self.nodata + self.skipdata
    }

    /// Says so on stderr when the window left out every record read: an
    /// empty report with exit 0 is easy to take for "no traffic" (a
    /// relative `--since 7d` over logs from last year, a date typo).
    pub fn warn_if_everything(&self, acc: &engine::Accounting) {
        if acc.flows > 0 && self.records == acc.flows {
            crate::warning!(
                "all {} outside --since/--until: nothing was summarized \
                 (the window is compared with each record's start and end; relative forms \
                 such as 7d count back from now)",
                crate::report::count(acc.flows, "record read is", "records read are")
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
    w: &WindowConfig,
) -> Result<Option<std::sync::Arc<crate::investigate::Filter>>> {
    if w.since.is_none() && w.until.is_none() {
        return Ok(None);
    }
    let mut f = crate::investigate::Filter::new(&crate::investigate::FilterSpec {
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
    const WEIGHTED: bool = P::WEIGHTED;

    #[inline(always)]
    fn record(&mut self, rec: &crate::flowlog::record::FlowRecord, ctx: &engine::RecordCtx<'_>) {
        if let Some(f) = &self.filter {
            if !f.matches(rec, ctx) {
                use crate::flowlog::record::LogStatus;
                match rec.status {
                    // Weighted, as the rows are: a pre-aggregated line
                    // stands for `flows` records.
                    LogStatus::Ok => self.filtered.records += rec.flows,
                    LogStatus::NoData => self.filtered.nodata += rec.flows,
                    LogStatus::SkipData => self.filtered.skipdata += rec.flows,
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

    fn wants_lines(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| f.needs_lines()) || self.inner.wants_lines()
    }

    fn wants_aws_services(&self) -> bool {
        self.inner.wants_aws_services()
    }

    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
        self.filtered.records += other.filtered.records;
        self.filtered.nodata += other.filtered.nodata;
        self.filtered.skipdata += other.filtered.skipdata;
    }
}

/// Lets a processor that is not `Processor::WEIGHTED` (query, scans) see
/// only inputs without a `flows` column: the first line of a
/// pre-aggregated input stops the run, and `read_logs_in` names its file.
/// (For weighted processors the check compiles away.)
struct SingleRecords<P> {
    inner: P,
    refused: Option<std::sync::Arc<str>>,
}

impl<P> SingleRecords<P> {
    fn new(inner: P) -> Self {
        SingleRecords {
            inner,
            refused: None,
        }
    }
}

impl<P: Processor> Processor for SingleRecords<P> {
    const WEIGHTED: bool = P::WEIGHTED;

    #[inline(always)]
    fn record(&mut self, rec: &crate::flowlog::record::FlowRecord, ctx: &engine::RecordCtx<'_>) {
        // A line of a `flows` format is refused even when it stands for
        // one record, so that a pre-aggregated input is refused at its
        // first line whatever that says.
        if !P::WEIGHTED && (ctx.format.is_weighted() || rec.flows != 1) {
            self.refused.get_or_insert_with(|| ctx.file.clone());
            return;
        }
        self.inner.record(rec, ctx);
    }

    fn end_chunk(&mut self) {
        self.inner.end_chunk();
    }

    fn done(&self) -> bool {
        self.refused.is_some() || self.inner.done()
    }

    fn wants_lines(&self) -> bool {
        self.inner.wants_lines()
    }

    fn wants_aws_services(&self) -> bool {
        self.inner.wants_aws_services()
    }

    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
        // Any refused file will do: the run stops at the first.
        if self.refused.is_none() {
            self.refused = other.refused;
        }
    }
}

/// Prints per-file warnings, one line per distinct message: the first file
/// named, and how many others share it (hundreds of S3 objects written
/// with one format would otherwise repeat one line hundreds of times).
fn warn_files(warnings: &[engine::FileError]) {
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
        crate::warning!("{w}{more}");
    }
}

/// Says on stderr when rejected traffic to rare ports was folded.
pub fn warn_overflow(summary: &Summary) {
    if summary.overflow > 0 {
        let folded: Vec<&Row> = summary
            .rows
            .iter()
            .filter(|r| r.ports_folded.is_some())
            .collect();
        let ports: u64 = folded
            .iter()
            .map(|r| r.ports_folded.unwrap_or(0) as u64)
            .sum();
        crate::warning!(
            "more than {} distinct rejected rows to rarely hit ports: {} records to {} \
             (interface, port) pairs were counted in {} rows with port null and ports_folded (direction \
             and action kept)",
            thousands(crate::aggregate::MAX_REJECTED_KEYS),
            thousands(summary.overflow),
            thousands(ports),
            folded.len()
        );
    }
}

/// `input` in JSON: the accounting, and the records `--since/--until`
/// left out (all zero without a window).
#[derive(Serialize)]
pub struct InputJson {
    #[serde(flatten)]
    pub accounting: AccountingJson,
    pub filtered: Filtered,
}

/// Time window of the data.
#[derive(Serialize, Clone, Copy)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

/// The input accounting in one or two lines. Records outside
/// `--since/--until` are counted where they belong (records, NODATA,
/// SKIPDATA: they were read and parsed) and then said to be outside:
/// `Input: …: 40,000 records (1,200 outside --since/--until), …`.
pub fn write_accounting(
    w: &mut dyn Write,
    acc: &Accounting,
    filtered: Filtered,
) -> std::io::Result<()> {
    let outside = |n: u64| {
        if n > 0 {
            format!(" ({} outside --since/--until)", thousands(n))
        } else {
            String::new()
        }
    };
    write!(
        w,
        "Input: {} ({} failed), {}: {}{}, {} NODATA{}, {} SKIPDATA{}, {}, {} skipped",
        report::count(acc.files, "file", "files"),
        acc.files_failed,
        report::count(acc.lines, "line", "lines"),
        report::count(acc.records, "record", "records"),
        outside(filtered.records),
        thousands(acc.nodata),
        outside(filtered.nodata),
        thousands(acc.skipdata),
        outside(filtered.skipdata),
        report::count(acc.headers, "header line", "header lines"),
        thousands(acc.skipped_total())
    )?;
    let reasons = acc.skipped_by_reason();
    if !reasons.is_empty() {
        let r: Vec<String> = reasons.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        write!(w, " ({})", r.join(", "))?;
    }
    if let Some(more) = acc.flows_note() {
        write!(w, "; {more}")?;
    }
    writeln!(
        w,
        "; {} read, {} decompressed",
        human_bytes(acc.bytes_read),
        human_bytes(acc.bytes_decompressed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_error(file: &str, message: &str) -> engine::FileError {
        engine::FileError {
            file: file.into(),
            message: message.into(),
        }
    }

    #[test]
    fn file_warnings_are_grouped_by_message() {
        let ((), lines) = crate::messages::capture(|| {
            warn_files(&[
                file_error("a.log", "no header"),
                file_error("b.log", "other"),
                file_error("c.log", "no header"),
                file_error("d.log", "no header"),
            ])
        });
        assert_eq!(
            lines,
            [
                "flowscope: warning: a.log: no header (and 2 other files)",
                "flowscope: warning: b.log: other",
            ]
        );
    }

    #[test]
    fn a_window_that_leaves_out_everything_is_said() {
        let acc = engine::Accounting {
            records: 3,
            flows: 3,
            ..Default::default()
        };
        let all = Filtered {
            records: 3,
            ..Default::default()
        };
        let ((), lines) = crate::messages::capture(|| all.warn_if_everything(&acc));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0]
            .starts_with("flowscope: warning: all 3 records read are outside --since/--until"));
        let some = Filtered {
            records: 2,
            ..Default::default()
        };
        let ((), lines) = crate::messages::capture(|| some.warn_if_everything(&acc));
        assert!(lines.is_empty(), "{lines:?}");
    }
}
