//! Parquet flow logs: what AWS delivers to S3 with `file-format parquet`.
//!
//! AWS writes one flat column per field of the flow log's format, named
//! with underscores (`account_id`, `log_status`, `pkt_srcaddr`), INT32 for
//! version, ports, protocol, tcp_flags and traffic_path, INT64 for packets,
//! bytes, start and end, strings for the rest, compressed with GZIP; a
//! field outside the format has no column, and `-` is a null. A file is
//! told by its `PAR1` magic, never by its name: `flowlog::open` looks at
//! an input's first bytes once, and a Parquet one comes out as a
//! `ParquetSource` (a local file read by position; an S3 object, standard
//! input or a pipe read whole) that the engine's workers read here, with
//! the same processors and accounting as text.
//!
//! Reading is row group by row group, a batch of rows at a time, and only
//! the columns a record needs are decoded (`Plan`): a processor that prints
//! or filters lines (`Processor::wants_lines`) gets every column, and each
//! record's line rendered in the file's column order, as the text log would
//! have it; one that does not gets a line only for a record whose interface
//! id is not a plain `eni-` id (its text is kept by name tables) or whose
//! AWS service is not one of `AwsService`'s list, rendered from the
//! columns read, which `RecordCtx::format` then lists. Each row
//! counts as a line of the accounting: a record, NODATA, SKIPDATA or a
//! skipped row with its reason, named by file and row number (1-based,
//! across row groups).

mod columns;
mod source;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parquet::file::reader::{FileReader, Length, SerializedFileReader};

use columns::{Column, Role, RowState};
pub use source::ParquetSource;

use crate::flowlog::accounting::{Accounting, BadLine};
use crate::flowlog::format::{Field, Format};
use crate::flowlog::parse::SkipReason;
use crate::flowlog::parse::TgwColumns;
use crate::flowlog::process::{Processor, RecordCtx};
use crate::flowlog::record::{FlowRecord, LogStatus};
use crate::progress::ProgressHandle;

/// The first (and last) four bytes of every Parquet file.
pub const MAGIC: [u8; 4] = *b"PAR1";

/// Rows decoded at a time: the batch's records and column buffers stay in
/// the caches (a row group of AWS's holds up to hundreds of thousands).
const BATCH: usize = 4096;

/// What reading a Parquet file has to say beyond its rows: why it stopped
/// early (damage, a schema that is not a flow log's), and warnings.
#[derive(Debug, Default)]
pub struct Report {
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

/// What a read needs from the engine besides the processor.
pub struct ReadOpts {
    /// How many skipped rows to keep with their details.
    pub max_bad: usize,
    /// Where the bytes read are counted for the progress line.
    pub progress: ProgressHandle,
}

/// The records of part of a file, read on one thread (`read_parallel`).
pub struct Part<P> {
    pub proc: P,
    pub acc: Accounting,
    pub bad: Vec<BadLine>,
}

/// Where rows go: the processor, the accounting, the first skipped rows.
struct Sink<'a, P> {
    proc: &'a mut P,
    acc: &'a mut Accounting,
    bad: &'a mut Vec<BadLine>,
    max_bad: usize,
    progress: &'a ProgressHandle,
    file: &'a Arc<str>,
}

/// Reads the Parquet input `source` (named `file` in messages) into
/// `proc` on this thread. The caller counts the file (`files`,
/// `files_failed`).
pub fn read<P: Processor>(
    source: ParquetSource,
    file: &Arc<str>,
    proc: &mut P,
    acc: &mut Accounting,
    bad: &mut Vec<BadLine>,
    opts: &ReadOpts,
) -> Report {
    let want = Want::of(proc);
    let mut sink = Sink {
        proc,
        acc,
        bad,
        max_bad: opts.max_bad,
        progress: &opts.progress,
        file,
    };
    let before = sink.acc.records;
    let size = source.len();
    let (reader, mut plan) = match open(source, want) {
        Ok(o) => o,
        Err(e) => return Report::failed(e),
    };
    sink.acc.bytes_read += size;
    let groups = 0..reader.num_row_groups();
    let error = guarded(|| read_groups(&reader, &mut plan, groups, &mut sink)).err();
    let mut report = Report {
        error,
        warnings: Vec::new(),
    };
    report.warn_missing(&plan.full, sink.acc.records > before);
    report
}

/// Reads the Parquet input `source` with `threads` processors made by
/// `make`, each taking every `threads`-th row group: one large file keeps
/// every core busy, as a large text file does (`engine`'s pipeline).
pub fn read_parallel<P: Processor, F: Fn() -> P + Sync>(
    source: ParquetSource,
    file: &Arc<str>,
    threads: usize,
    opts: &ReadOpts,
    make: &F,
) -> (Vec<Part<P>>, Report) {
    let mut first = Part {
        proc: make(),
        acc: Accounting::default(),
        bad: Vec::new(),
    };
    let want = Want::of(&first.proc);
    let groups = match open(source.clone(), want) {
        Ok((r, _)) => r.num_row_groups(),
        Err(e) => return (vec![first], Report::failed(e)),
    };
    let threads = threads.clamp(1, groups.max(1));
    if threads == 1 {
        let report = read(
            source,
            file,
            &mut first.proc,
            &mut first.acc,
            &mut first.bad,
            opts,
        );
        return (vec![first], report);
    }
    let results: Vec<(Part<P>, Result<Format, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mut part = if t == 0 {
                    std::mem::replace(
                        &mut first,
                        Part {
                            proc: make(),
                            acc: Accounting::default(),
                            bad: Vec::new(),
                        },
                    )
                } else {
                    Part {
                        proc: make(),
                        acc: Accounting::default(),
                        bad: Vec::new(),
                    }
                };
                let source = source.clone();
                s.spawn(move || {
                    let r = (|| {
                        let (reader, mut plan) = open(source, want)?;
                        let mut sink = Sink {
                            proc: &mut part.proc,
                            acc: &mut part.acc,
                            bad: &mut part.bad,
                            max_bad: opts.max_bad,
                            progress: &opts.progress,
                            file,
                        };
                        let mine = (t..groups).step_by(threads);
                        guarded(|| read_groups(&reader, &mut plan, mine, &mut sink))?;
                        Ok(plan.full)
                    })();
                    (part, r)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut report = Report::default();
    let mut parts = Vec::with_capacity(results.len());
    let mut format = None;
    for (part, r) in results {
        match r {
            Ok(f) => format = Some(f),
            // The first error by row group: each thread's message names its own.
            Err(e) => {
                report.error.get_or_insert(e);
            }
        }
        parts.push(part);
    }
    parts[0].acc.bytes_read += source.len();
    let records = parts.iter().any(|p| p.acc.records > 0);
    if let Some(f) = format {
        report.warn_missing(&f, records);
    }
    (parts, report)
}

impl Report {
    fn failed(e: String) -> Report {
        Report {
            error: Some(e),
            warnings: Vec::new(),
        }
    }

    /// As for text (`engine`): a format without the fields a traffic
    /// record needs gives records without them, which reports must not
    /// fill in.
    fn warn_missing(&mut self, format: &Format, any_records: bool) {
        let missing = format.missing_traffic_fields();
        if any_records && !missing.is_empty() {
            self.warnings.push(format!(
                "the format has no {} column: its records carry no value there \
                 (peers, protocols or ports that depend on it are unknown)",
                missing.join(", ")
            ));
        }
    }
}

thread_local! {
    /// Set while this thread decodes Parquet: a panic of the decoder on
    /// damaged data is reported as the file's error, not printed.
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic (the `parquet` crate has a few on damaged
/// input) into an error naming it: a damaged file never ends the run.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                previous(info)
            }
        }));
    });
    DECODING.with(|d| d.set(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    out.unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(format!(
            "damaged Parquet data: the decoder stopped ({what})"
        ))
    })
}

/// What a processor asks of a Parquet input beyond a record's fields.
#[derive(Debug, Clone, Copy)]
struct Want {
    /// Every column, and each record's line (`Processor::wants_lines`).
    lines: bool,
    /// The AWS service columns (`Processor::wants_aws_services`).
    services: bool,
}

impl Want {
    fn of<P: Processor>(p: &P) -> Want {
        Want {
            lines: p.wants_lines(),
            services: p.wants_aws_services(),
        }
    }
}

/// The columns read and how a record's line is made of them.
struct Plan {
    /// Every column of the file, as a format (for warnings).
    full: Format,
    /// The columns read, in the file's order (`RecordCtx::format`).
    format: Format,
    columns: Vec<Column>,
    /// Records get their line rendered (`Processor::wants_lines`).
    lines: bool,
    has_status: bool,
    /// A Transit Gateway format's own columns (`tgw`): every column is
    /// read, and each record completed from its rendered line, as the
    /// text parser completes it (its attachment in the interface's
    /// place, a drop as REJECT).
    tgw: Option<Box<TgwColumns>>,
}

/// Opens a Parquet file and plans which columns to read, or says why it
/// cannot be read as a flow log.
fn open(
    f: ParquetSource,
    want: Want,
) -> Result<(SerializedFileReader<ParquetSource>, Plan), String> {
    let reader = guarded(|| {
        SerializedFileReader::new(f).map_err(|e| {
            format!(
                "damaged Parquet file (its footer, which holds the schema, cannot be read): {e}"
            )
        })
    })?;
    let plan = plan(&reader, want)?;
    Ok((reader, plan))
}

fn plan(reader: &SerializedFileReader<ParquetSource>, want: Want) -> Result<Plan, String> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut fields = Vec::new();
    for c in schema.columns() {
        let path = c.path().string();
        if c.path().parts().len() != 1 || c.max_rep_level() > 0 {
            return Err(format!(
                "column '{path}' is nested or repeated: not a flow log as AWS writes it \
                 (one flat column per field)"
            ));
        }
        let name = c.name().to_ascii_lowercase();
        let field = Field::from_name(name.as_bytes()).ok_or_else(|| {
            format!("column '{path}' is not a flow-log field name: not a VPC flow log")
        })?;
        let role = Role::of(&field);
        if let Err(want) = role.check_type(c.physical_type()) {
            return Err(format!(
                "column '{path}' holds {}, where {field} should be {want}",
                c.physical_type()
            ));
        }
        if fields.iter().any(|(f, _)| *f == field) {
            return Err(format!("field '{field}' has two columns"));
        }
        fields.push((field, c));
    }
    if !fields.iter().any(|(f, _)| f.is_known()) {
        let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).take(8).collect();
        return Err(format!(
            "none of its columns ({}) is a flow-log field: not a VPC flow log",
            names.join(", ")
        ));
    }
    let names = |keep: &dyn Fn(&Field) -> bool| -> Vec<String> {
        fields
            .iter()
            .filter(|(f, _)| keep(f))
            .map(|(f, _)| f.name().to_string())
            .collect()
    };
    let parse = |names: Vec<String>| {
        Format::parse(&names.join(" "))
            .map_err(|e| format!("its columns are not a flow-log format: {e}"))
    };
    let full = parse(names(&|_| true))?;
    let tgw = TgwColumns::of(&full);
    let want_lines = want.lines || tgw.is_some();
    let read = |f: &Field| match Role::of(f) {
        Role::Other => want_lines,
        Role::SrcService | Role::DstService => want_lines || want.services,
        _ => true,
    };
    let format = parse(names(&read))?;
    let columns = fields
        .iter()
        .enumerate()
        .filter(|(_, (f, _))| read(f))
        .enumerate()
        .map(|(pos, (leaf, (f, c)))| {
            Column::new(
                Role::of(f),
                leaf,
                pos as u16,
                c.physical_type(),
                c.max_def_level(),
            )
        })
        .collect::<Vec<_>>();
    let has_status = format.has(&Field::LogStatus);
    Ok(Plan {
        full,
        format,
        columns,
        lines: want_lines,
        has_status,
        tgw,
    })
}

/// Reads the row groups `groups` into the sink.
fn read_groups<P: Processor>(
    reader: &SerializedFileReader<ParquetSource>,
    plan: &mut Plan,
    groups: impl Iterator<Item = usize>,
    sink: &mut Sink<'_, P>,
) -> Result<(), String> {
    let meta = reader.metadata();
    // The number of each group's first row.
    let mut first_rows = Vec::with_capacity(meta.num_row_groups());
    let mut rows = 0u64;
    for g in meta.row_groups() {
        first_rows.push(rows);
        rows += g.num_rows().max(0) as u64;
    }
    let mut recs: Vec<FlowRecord> = Vec::with_capacity(BATCH);
    let mut states: Vec<RowState> = Vec::with_capacity(BATCH);
    let mut line = Vec::with_capacity(256);
    for g in groups {
        let group = reader
            .get_row_group(g)
            .map_err(|e| format!("row group {g}: {e}"))?;
        let gm = group.metadata();
        for c in &mut plan.columns {
            let r = group
                .get_column_reader(c.leaf)
                .map_err(|e| format!("row group {g}, column {}: {e}", c.leaf))?;
            c.start(r);
            let chunk = gm.column(c.leaf);
            sink.acc.bytes_decompressed += chunk.uncompressed_size().max(0) as u64;
            sink.progress
                .add_bytes(chunk.compressed_size().max(0) as usize);
        }
        let total = gm.num_rows().max(0) as usize;
        let mut done = 0;
        while done < total {
            let want = BATCH.min(total - done);
            let first = first_rows[g] + done as u64 + 1;
            for (i, c) in plan.columns.iter_mut().enumerate() {
                let n = c.read(want).map_err(|e| {
                    format!(
                        "row group {g}, rows {first}-{}, column '{}': {e}",
                        first + want as u64 - 1,
                        plan.format.columns()[i]
                    )
                })?;
                if n != want {
                    return Err(format!(
                        "row group {g}: column '{}' ends after {} of its {total} rows",
                        plan.format.columns()[i],
                        done + n
                    ));
                }
            }
            recs.clear();
            recs.resize(want, FlowRecord::default());
            states.clear();
            states.resize(want, RowState::default());
            for c in &plan.columns {
                c.apply(&mut recs, &mut states);
            }
            for row in 0..want {
                deliver(
                    plan,
                    sink,
                    &recs[row],
                    states[row],
                    row,
                    first + row as u64,
                    &mut line,
                );
            }
            sink.proc.end_chunk();
            done += want;
            if sink.proc.done() || crate::interrupt::interrupted() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Accounts for one row and hands its record to the processor.
#[inline]
fn deliver<P: Processor>(
    plan: &Plan,
    sink: &mut Sink<'_, P>,
    rec: &FlowRecord,
    st: RowState,
    row: usize,
    row_no: u64,
    line: &mut Vec<u8>,
) {
    sink.acc.lines += 1;
    let fault = st.bad.or_else(|| {
        let counts = !plan.has_status || rec.status == LogStatus::Ok;
        st.missing
            .filter(|_| counts)
            .map(|pos| (SkipReason::MissingField, pos))
    });
    if let Some((reason, pos)) = fault {
        return skipped(plan, sink, reason, pos, row, row_no);
    }
    line.clear();
    // A record's text kept only in its line: an odd interface id, a
    // service name not in `AwsService`'s list.
    if plan.lines
        || rec.interface.is_hashed()
        || rec.pkt_src_aws_service.is_other()
        || rec.pkt_dst_aws_service.is_other()
    {
        for (i, c) in plan.columns.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            c.render(row, line);
        }
    }
    let completed;
    let rec = match plan.tgw.as_deref() {
        None => rec,
        Some(t) => {
            let mut r = *rec;
            if let Err(e) = t.apply(line, &mut r) {
                let pos = e.column.unwrap_or(0) as u16;
                return skipped(plan, sink, e.reason, pos, row, row_no);
            }
            completed = r;
            &completed
        }
    };
    match rec.status {
        LogStatus::Ok => {
            sink.acc.records += 1;
            sink.acc.flows += rec.flows;
        }
        LogStatus::NoData => sink.acc.nodata += 1,
        LogStatus::SkipData => sink.acc.skipdata += 1,
    }
    let ctx = RecordCtx {
        file: sink.file,
        line_no: row_no,
        line,
        format: &plan.format,
    };
    sink.proc.record(rec, &ctx);
}

/// A skipped row: counted, and kept with its reason if among the first.
#[cold]
fn skipped<P>(
    plan: &Plan,
    sink: &mut Sink<'_, P>,
    reason: SkipReason,
    pos: u16,
    row: usize,
    row_no: u64,
) {
    sink.acc.skipped[reason.index()] += 1;
    if sink.bad.len() >= sink.max_bad {
        return;
    }
    let field = &plan.format.columns()[pos as usize];
    let column = &plan.columns[pos as usize];
    let detail = if reason == SkipReason::MissingField {
        format!("row {row_no}: field '{field}' is null (a data record needs it)")
    } else {
        format!("row {row_no}: field '{field}' = \"{}\"", column.shown(row))
    };
    sink.bad.push(BadLine {
        file: sink.file.clone(),
        line: row_no,
        reason,
        detail,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a processor was given: the columns of `RecordCtx::format`, the
    /// records that came with a line, and the lines.
    struct Seen {
        lines: bool,
        columns: usize,
        with_line: u64,
        records: u64,
        first_line: String,
    }

    impl Processor for Seen {
        fn record(&mut self, _: &FlowRecord, ctx: &RecordCtx<'_>) {
            self.columns = ctx.format.len();
            self.records += 1;
            if !ctx.line.is_empty() {
                self.with_line += 1;
                if self.first_line.is_empty() {
                    self.first_line = String::from_utf8_lossy(ctx.line).into_owned();
                }
            }
        }
        fn wants_lines(&self) -> bool {
            self.lines
        }
        fn merge(&mut self, _: Self) {}
    }

    fn twin_file() -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "sample-logs/incident-parquet/AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20",
        );
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.remove(0)
    }

    fn seen(lines: bool) -> (Seen, Accounting) {
        let path = twin_file();
        let source = ParquetSource::file(std::fs::File::open(&path).unwrap()).unwrap();
        let mut p = Seen {
            lines,
            columns: 0,
            with_line: 0,
            records: 0,
            first_line: String::new(),
        };
        let mut acc = Accounting::default();
        let opts = ReadOpts {
            max_bad: 10,
            progress: ProgressHandle::none(),
        };
        let report = read(
            source,
            &"twin".into(),
            &mut p,
            &mut acc,
            &mut Vec::new(),
            &opts,
        );
        assert!(report.error.is_none(), "{report:?}");
        (p, acc)
    }

    #[test]
    fn only_the_columns_a_record_needs_are_read_unless_lines_are_wanted() {
        // The v5 twin has 27 columns, 18 of which a FlowRecord holds.
        let (all, all_acc) = seen(true);
        assert_eq!(all.columns, 27);
        assert_eq!(all.with_line, all.records);
        assert!(
            all.first_line.starts_with("5 123456789012 vpc-"),
            "{}",
            all.first_line
        );
        let (some, some_acc) = seen(false);
        assert_eq!(some.columns, 16);
        assert_eq!(some.with_line, 0);
        assert_eq!(some.records, all.records);
        assert!(some_acc.bytes_decompressed < all_acc.bytes_decompressed);
        assert!(all_acc.is_balanced() && some_acc.is_balanced());
    }
}
