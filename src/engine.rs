//! The parallel driver: inputs → chunks → parsed records → a `Processor`,
//! with every line accounted for.
//!
//! Many inputs: one worker thread per core takes files in turn, each file
//! read and parsed on one worker (one processor per thread, merged once at
//! the end). One input (a single large file, or stdin): a reader thread
//! inflates and cuts chunks while worker threads parse them, through a bounded channel whose
//! buffers are recycled, so memory stays flat whatever the input size.
//! Workers never print; problems are collected and reported by the caller.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use crate::flowlog::format::{Field, Format, FormatError};
use crate::flowlog::parse::{LineError, SkipReason};
use crate::flowlog::reader::{
    open, Buffers, Chunk, ChunkLines, ChunkReader, FormatCtx, Input, ReadError,
};
use crate::flowlog::record::{FlowRecord, LogStatus};
use crate::flowlog::sniff::{printable, Compression};
use crate::flowlog::whole;

/// Set by the SIGINT handler (see `install_interrupt_handler`): the engine
/// stops between chunks and between files, and the caller reports what was
/// read. Unset (never interrupted) in library use without the handler.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Makes Ctrl-C (SIGINT) stop the engine between chunks instead of killing
/// the process, so the partial accounting can be printed; a second Ctrl-C
/// exits at once (status 130).
///
/// `signal-hook` rather than `ctrlc`: its handler only stores to an atomic
/// flag (async-signal-safe, no thread), it depends on nothing but `libc`,
/// already in the build, and it offers the "second signal exits" rule
/// ready-made; `ctrlc` adds `nix` and a watcher thread.
pub fn install_interrupt_handler() {
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    #[cfg(unix)]
    {
        use signal_hook::consts::SIGINT;
        // Registered first, so it runs first: exits only when the flag was
        // already set by an earlier Ctrl-C.
        let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone());
        let _ = signal_hook::flag::register(SIGINT, flag.clone());
    }
}

/// Where a record came from, for processors that print or filter lines.
pub struct RecordCtx<'a> {
    pub file: &'a Arc<str>,
    pub line_no: u64,
    pub line: &'a [u8],
    pub format: &'a Format,
}

/// Consumes parsed records (data, NODATA and SKIPDATA alike). One
/// instance per worker; `merge` combines them at the end.
pub trait Processor: Send {
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>);
    /// Called after each chunk of lines: a point where a processor that
    /// prints can flush what it buffered (whole chunks, so output from
    /// several workers never interleaves within a line).
    fn end_chunk(&mut self) {}
    /// True when no more records are needed (a `--limit` was reached):
    /// the engine then stops reading as soon as it can. The records and
    /// lines not read are not in the accounting.
    fn done(&self) -> bool {
        false
    }
    /// False when the processor never looks at `RecordCtx::line` (nor at
    /// columns it does not get from the record): a Parquet input then has
    /// no line to render and decodes only the columns a record needs
    /// (`flowlog::parquet`). An interface id that is not a plain `eni-`
    /// id still comes with a line holding its column.
    fn wants_lines(&self) -> bool {
        true
    }
    fn merge(&mut self, other: Self)
    where
        Self: Sized;
}

/// The accounting of one run. Identity (tested):
/// `lines = headers + records + nodata + skipdata + Σ skipped`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accounting {
    pub files: u64,
    pub files_failed: u64,
    pub lines: u64,
    pub headers: u64,
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Bytes read from files (compressed size for gzip).
    pub bytes_read: u64,
    /// Bytes after decompression.
    pub bytes_decompressed: u64,
}

impl Accounting {
    pub fn merge(&mut self, o: &Accounting) {
        self.files += o.files;
        self.files_failed += o.files_failed;
        self.lines += o.lines;
        self.headers += o.headers;
        self.records += o.records;
        self.nodata += o.nodata;
        self.skipdata += o.skipdata;
        for (a, b) in self.skipped.iter_mut().zip(o.skipped.iter()) {
            *a += b;
        }
        self.bytes_read += o.bytes_read;
        self.bytes_decompressed += o.bytes_decompressed;
    }

    /// One line for people: what was read and how it was accounted for.
    pub fn summary_line(&self) -> String {
        use crate::report::count;
        let mut s = format!(
            "{} in {} ({} unreadable): {}, {}, {} NODATA, {} SKIPDATA, {} skipped",
            count(self.lines, "line", "lines"),
            count(self.files, "file", "files"),
            self.files_failed,
            count(self.headers, "header", "headers"),
            count(self.records, "record", "records"),
            self.nodata,
            self.skipdata,
            self.skipped_total()
        );
        let reasons: Vec<String> = self
            .skipped_by_reason()
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        if !reasons.is_empty() {
            s.push_str(&format!(" ({})", reasons.join(", ")));
        }
        s
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// True when every line read is accounted for.
    pub fn is_balanced(&self) -> bool {
        self.lines
            == self.headers + self.records + self.nodata + self.skipdata + self.skipped_total()
    }

    /// Skipped lines by reason name, only the non-zero ones, in a fixed order.
    pub fn skipped_by_reason(&self) -> Vec<(&'static str, u64)> {
        SkipReason::ALL
            .iter()
            .filter(|r| self.skipped[r.index()] > 0)
            .map(|r| (r.as_str(), self.skipped[r.index()]))
            .collect()
    }

    /// The JSON form (`input` in every command's JSON output).
    pub fn to_json(&self) -> AccountingJson {
        AccountingJson {
            files: self.files,
            files_failed: self.files_failed,
            lines: self.lines,
            headers: self.headers,
            records: self.records,
            nodata: self.nodata,
            skipdata: self.skipdata,
            skipped: self
                .skipped_by_reason()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            bytes_read: self.bytes_read,
            bytes_decompressed: self.bytes_decompressed,
        }
    }
}

/// JSON shape of `Accounting` (a documented contract).
#[derive(Debug, Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct AccountingJson {
    pub files: u64,
    pub files_failed: u64,
    pub lines: u64,
    pub headers: u64,
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub skipped: std::collections::BTreeMap<String, u64>,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
}

/// The run was stopped by Ctrl-C; carries the partial accounting line.
/// `main` prints it as `flowscope: interrupted: …` and exits 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);

/// A line that was skipped, with enough context to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BadLine {
    pub file: Arc<str>,
    pub line: u64,
    pub reason: SkipReason,
    pub detail: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: skipped ({}): {}",
            printable(&self.file),
            self.line,
            self.reason.as_str(),
            printable(&self.detail)
        )
    }
}

/// An input that could not be read, or not to the end.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileError {
    pub file: Arc<str>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", printable(&self.file), printable(&self.message))
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub threads: usize,
    /// Format of input without a header line (`--format`, else v2).
    pub default_format: Format,
    /// How many skipped lines to keep with their details.
    pub max_bad_lines: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: default_threads(),
            default_format: Format::default_v2(),
            max_bad_lines: 10,
        }
    }
}

/// Threads to use by default: the machine's parallelism, at most 16.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16)
}

/// What a run produced.
pub struct RunOutput<P> {
    pub processor: P,
    pub accounting: Accounting,
    pub bad_lines: Vec<BadLine>,
    pub file_errors: Vec<FileError>,
    /// Inputs read whole but with something to say (a format without
    /// the fields a traffic record needs, CR line endings).
    pub file_warnings: Vec<FileError>,
}

/// Per-worker state.
struct Worker<P> {
    proc: P,
    acc: Accounting,
    bad: Vec<BadLine>,
    errors: Vec<FileError>,
    warnings: Vec<FileError>,
    /// The first skipped line of the input being read (its number and
    /// first bytes), to say what an input none of whose lines parses
    /// looks like (`sniff::looks_like`).
    first_bad: Option<(u64, Vec<u8>)>,
    max_bad: usize,
    /// Chunk buffers kept from one input's reader for the next.
    buffers: Vec<Buffers>,
    /// For small gzip files read whole.
    whole: whole::WholeFiles,
}

impl<P: Processor> Worker<P> {
    fn new(proc: P, max_bad: usize) -> Self {
        Worker {
            proc,
            acc: Accounting::default(),
            bad: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            first_bad: None,
            max_bad,
            buffers: Vec::new(),
            whole: whole::WholeFiles::default(),
        }
    }

    fn merge(&mut self, o: Worker<P>) {
        self.proc.merge(o.proc);
        self.acc.merge(&o.acc);
        self.bad.extend(o.bad);
        self.errors.extend(o.errors);
        self.warnings.extend(o.warnings);
        // Workers of one input (`process_pipelined`): the earliest line.
        if let Some(b) = o.first_bad {
            if self.first_bad.as_ref().is_none_or(|a| b.0 < a.0) {
                self.first_bad = Some(b);
            }
        }
    }

    /// An input that could not be opened: counted, and its error kept.
    fn open_failed(&mut self, file: Arc<str>, e: ReadError) {
        self.acc.files += 1;
        self.acc.files_failed += 1;
        self.errors.push(FileError {
            file,
            message: e.to_string(),
        });
    }

    /// A line the parser rejected: out of the chunk loop, which only
    /// calls it.
    #[cold]
    #[inline(never)]
    fn line_failed(
        &mut self,
        file: &Arc<str>,
        line_no: u64,
        line: &[u8],
        mut e: LineError,
        format: &Format,
    ) {
        if format.problem().is_some() {
            e.reason = SkipReason::BadHeader;
        }
        self.note_bad(file, line_no, line, e.reason, || describe(&e, line, format))
    }

    fn note_bad(
        &mut self,
        file: &Arc<str>,
        line: u64,
        text: &[u8],
        reason: SkipReason,
        detail: impl FnOnce() -> String,
    ) {
        self.acc.skipped[reason.index()] += 1;
        if self.first_bad.is_none() && reason != SkipReason::EmptyLine {
            self.first_bad = Some((line, text[..text.len().min(256)].to_vec()));
        }
        if self.bad.len() < self.max_bad {
            self.bad.push(BadLine {
                file: file.clone(),
                line,
                reason,
                detail: detail(),
            });
        }
    }

    /// Parses every line of a chunk into the processor, and says what the
    /// lines were (for a lazy reader, `ChunkReader::chunk_done`).
    fn chunk(&mut self, file: &Arc<str>, chunk: &Chunk) -> ChunkLines {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::x86_64_v3() {
            // SAFETY: the CPU has every feature `chunk_v3` enables.
            return unsafe { self.chunk_v3(file, chunk) };
        }
        self.chunk_lines::<false>(file, chunk)
    }

    /// `chunk_lines` compiled for x86-64-v3 CPUs (AVX2, BMI1/2, POPCNT,
    /// LZCNT: Haswell and later, every current cloud instance). The
    /// parser and the aggregator are inlined into it, so their bit
    /// tricks get single instructions (`tzcnt`, `blsr`, `shlx`): 3% fewer
    /// instructions than the portable copy at first, 7% with what the
    /// fourth round of docs/performance.md added.
    ///
    /// # Safety
    /// The CPU must support the enabled features (`simd::x86_64_v3`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,popcnt,ssse3,sse4.1,sse4.2")]
    unsafe fn chunk_v3(&mut self, file: &Arc<str>, chunk: &Chunk) -> ChunkLines {
        self.chunk_lines::<true>(file, chunk)
    }

    /// `V3`: compiled into `chunk_v3`, for a CPU that has its features.
    #[inline(always)]
    fn chunk_lines<const V3: bool>(&mut self, file: &Arc<str>, chunk: &Chunk) -> ChunkLines {
        crate::progress::add_bytes(chunk.data().len());
        // One SIMD pass over the chunk instead of a check per line.
        let ascii = chunk.data().is_ascii();
        let mut rec = FlowRecord::default();
        // SAFETY (both calls): `V3` code runs only on x86-64-v3 CPUs
        // (`chunk`) and is compiled for them (`chunk_v3`).
        let seen = unsafe {
            chunk.for_each_line_with::<V3>(
                #[inline(always)]
                |line_no, line, window, fmt| {
                    let parsed = fmt
                        .parser
                        .parse_into_for::<V3>(line, window, ascii, &mut rec);
                    match parsed {
                        Ok(()) => {
                            match rec.status {
                                LogStatus::Ok => self.acc.records += 1,
                                LogStatus::NoData => self.acc.nodata += 1,
                                LogStatus::SkipData => self.acc.skipdata += 1,
                            }
                            let ctx = RecordCtx {
                                file,
                                line_no,
                                line,
                                format: &fmt.format,
                            };
                            self.proc.record(&rec, &ctx);
                        }
                        Err(e) => self.line_failed(file, line_no, line, e, &fmt.format),
                    }
                },
            )
        };
        self.proc.end_chunk();
        seen
    }

    /// Accounts for what the reader itself consumed, and a read error;
    /// an input none of whose lines is a record (only skipped ones)
    /// failed too. `before` is the accounting before this input.
    fn finish_input<R: std::io::Read>(
        &mut self,
        file: &Arc<str>,
        reader: &ChunkReader<R>,
        consumed: u64,
        err: Option<ReadError>,
        before: &Accounting,
    ) {
        crate::progress::file_done();
        let first_bad = self.first_bad.take();
        self.acc.files += 1;
        // Lines in chunks were counted by `chunk`; add the reader's own.
        self.acc.lines += reader.lines();
        self.acc.headers += reader.counts.headers;
        self.acc.bytes_decompressed += reader.counts.decompressed;
        self.acc.bytes_read += consumed;
        for &l in &reader.too_long_lines {
            if self.bad.len() < self.max_bad {
                self.bad.push(BadLine {
                    file: file.clone(),
                    line: l,
                    reason: SkipReason::LineTooLong,
                    detail: format!("line longer than {} bytes", crate::flowlog::parse::MAX_LINE),
                });
            }
        }
        self.acc.skipped[SkipReason::LineTooLong.index()] += reader.counts.too_long;
        self.acc.skipped[SkipReason::Truncated.index()] += reader.counts.truncated;
        if let Some(l) = reader.truncated_line {
            if self.bad.len() < self.max_bad {
                self.bad.push(BadLine {
                    file: file.clone(),
                    line: l,
                    reason: SkipReason::Truncated,
                    detail: "the input broke off inside this line (not parsed)".to_string(),
                });
            }
        }
        if let Some(e) = err {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message: e.to_string(),
            });
        } else if let Some(message) = nothing_parsed(&self.acc, before, first_bad) {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message,
            });
        } else if self.acc.records > before.records {
            let missing = reader.format().format.missing_traffic_fields();
            if !missing.is_empty() {
                self.warnings.push(FileError {
                    file: file.clone(),
                    message: format!(
                        "the format has no {} column: its records carry no value there \
                         (peers, protocols or ports that depend on it are unknown)",
                        missing.join(", ")
                    ),
                });
            }
        }
        if reader.cr_only() {
            self.warnings.push(FileError {
                file: file.clone(),
                message: "lines end in a lone carriage return (CR): each was read as a line end"
                    .to_string(),
            });
        }
    }
}

/// Says why an input failed when it had lines and none of them was a
/// record (data, NODATA or SKIPDATA), only skipped ones: a JSON file, a
/// CloudWatch export, a `--format` that does not fit. Without this the
/// run ends with exit 0 and empty tables. Empty lines alone do not count.
fn nothing_parsed(
    acc: &Accounting,
    before: &Accounting,
    first_bad: Option<(u64, Vec<u8>)>,
) -> Option<String> {
    let parsed = |a: &Accounting| a.records + a.nodata + a.skipdata;
    let skipped = |a: &Accounting| a.skipped_total() - a.skipped[SkipReason::EmptyLine.index()];
    if parsed(acc) > parsed(before) || skipped(acc) == skipped(before) {
        return None;
    }
    let lines = acc.lines - before.lines;
    let mut reasons: Vec<String> = SkipReason::ALL
        .iter()
        .filter_map(|r| {
            let n = acc.skipped[r.index()] - before.skipped[r.index()];
            (n > 0).then(|| format!("{}: {n}", r.as_str()))
        })
        .collect();
    reasons.truncate(3);
    let mut msg = format!(
        "no line is a flow-log record ({} skipped: {})",
        crate::report::count(lines, "line", "lines"),
        reasons.join(", ")
    );
    match first_bad.as_ref().and_then(|(_, l)| crate::flowlog::sniff::looks_like(l)) {
        Some(what) => msg.push_str(&format!("; {what}")),
        None => msg.push_str(
            "; check that it is a VPC flow log and that its header line or --format names its columns",
        ),
    }
    Some(msg)
}

/// Explains a skipped line: the column at fault and its value.
fn describe(e: &LineError, line: &[u8], format: &Format) -> String {
    let shown = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        if s.len() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s.into_owned()
        }
    };
    match (e.reason, e.column) {
        (SkipReason::BadHeader, _) => match format.problem() {
            Some(FormatError::Duplicate(name)) => format!(
                "the header line above names field '{name}' twice, so which column is which \
                 is unknown: the lines under it are not read"
            ),
            Some(p) => format!("the header line above cannot be used: {p}"),
            None => "bad header".to_string(),
        },
        (SkipReason::FieldCount, _) => {
            format!(
                "{} fields, the format has {} ({})",
                e.found,
                format.len(),
                shorten(&format.header())
            )
        }
        (_, Some(c)) => {
            let tok = line
                .split(|&b| b == b' ')
                .filter(|t| !t.is_empty())
                .nth(c)
                .unwrap_or(b"");
            let field = format
                .columns()
                .get(c)
                .cloned()
                .unwrap_or(Field::Other("?".into()));
            format!("field '{}' = \"{}\"", field, shown(tok))
        }
        (SkipReason::InvalidUtf8, _) => "the line is not valid UTF-8".to_string(),
        (SkipReason::EmptyLine, _) => "empty line".to_string(),
        (r, None) => r.as_str().replace('_', " "),
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 60 {
        format!("{}…", &s[..60])
    } else {
        s.to_string()
    }
}

fn read_error(
    compression: Compression,
    reader_lines: u64,
    decompressed: u64,
    compressed: u64,
    e: std::io::Error,
) -> ReadError {
    if let Some(r) = crate::flowlog::sniff::refusal_of(&e) {
        return ReadError::Refused(r);
    }
    let kind = match compression {
        Compression::Gzip => "corrupt or truncated gzip data",
        Compression::Zstd => "corrupt or truncated zstd data",
        Compression::None => {
            return ReadError::Read {
                decompressed,
                lines: reader_lines,
                source: e,
            }
        }
    };
    ReadError::Decode {
        kind,
        compressed,
        decompressed,
        lines: reader_lines,
        source: e,
    }
}

/// Reads one input sequentially on the current thread.
fn process_input<P: Processor>(w: &mut Worker<P>, input: &Input, default: &Arc<FormatCtx>) {
    if w.proc.done() || interrupted() {
        return;
    }
    let file: Arc<str> = input.display().into();
    let before = w.acc.clone();
    w.first_bad = None;
    if parquet_input(w, &file, input) {
        return;
    }
    let (mut reader, consumed, compression) = match read_whole(w, input, default) {
        Some(whole) => whole,
        None => match open(input) {
            Ok(o) => (
                ChunkReader::new(o.reader, default.clone()),
                o.consumed,
                o.compression,
            ),
            Err(e) => return w.open_failed(file, e),
        },
    };
    reader.adopt(&mut w.buffers);
    // This thread parses the chunks in order: it splits their lines
    // once, for the reader too.
    reader.set_lazy();
    let mut err = None;
    loop {
        match reader.next_chunk() {
            Ok(Some(c)) => {
                let seen = w.chunk(&file, &c);
                reader.chunk_done(seen);
                reader.give_back(c.into_buffer());
                if w.proc.done() || interrupted() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let consumed = consumed.load(Ordering::Relaxed);
                err = Some(read_error(
                    compression,
                    reader.lines(),
                    reader.counts.decompressed,
                    consumed,
                    e,
                ));
                break;
            }
        }
    }
    w.finish_input(
        &file,
        &reader,
        consumed.load(Ordering::Relaxed),
        err,
        &before,
    );
    reader.release(&mut w.buffers);
}

/// A reader over a small gzip file inflated whole (`flowlog::whole`), with
/// the bytes read and `true` (gzip); `None` for any other input, or one
/// that libdeflate refuses: the caller then streams it.
#[allow(clippy::type_complexity)]
fn read_whole<P>(
    w: &mut Worker<P>,
    input: &Input,
    default: &Arc<FormatCtx>,
) -> Option<(
    ChunkReader<Box<dyn Read + Send>>,
    Arc<AtomicU64>,
    Compression,
)> {
    let Input::Path(path) = input else {
        return None;
    };
    let mut out = Buffers::take_largest(&mut w.buffers);
    let read = w.whole.inflate_file(path, &mut out)?;
    let reader = ChunkReader::from_bytes(
        Box::new(std::io::empty()) as Box<dyn Read + Send>,
        out,
        default.clone(),
    );
    Some((reader, Arc::new(AtomicU64::new(read)), Compression::Gzip))
}

/// Reads one input with inflate on one thread and parsing on `threads`
/// others, overlapped.
fn process_pipelined<P: Processor, F: Fn() -> P + Sync>(
    input: &Input,
    default: &Arc<FormatCtx>,
    threads: usize,
    max_bad: usize,
    make: &F,
) -> Worker<P> {
    let file: Arc<str> = input.display().into();
    if let Some(w) = parquet_pipelined(input, &file, threads, max_bad, make) {
        return w;
    }
    let mut total = Worker::new(make(), max_bad);
    let opened = match open(input) {
        Ok(o) => o,
        Err(e) => {
            total.open_failed(file, e);
            return total;
        }
    };
    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let (back_tx, back_rx) = channel::<Buffers>();
    let rx = Mutex::new(rx);
    let compression = opened.compression;
    let consumed = opened.consumed.clone();
    // Set by a worker whose processor is done: the reader stops.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let stop = &stop;
        let reader_thread = s.spawn(move || {
            let mut reader = ChunkReader::new(opened.reader, default.clone());
            // Buffers in the channel, in the workers, and the reader's
            // own two (the one it fills and the next): a fixed amount of
            // memory, whatever the timing.
            reader.set_buffer_limit(3 * threads + 2);
            let mut err = None;
            loop {
                if stop.load(Ordering::Relaxed) || interrupted() {
                    break;
                }
                while let Ok(buf) = back_rx.try_recv() {
                    reader.give_back(buf);
                }
                if reader.needs_buffer() {
                    // Every buffer not in the reader is with a worker or
                    // on its way back; none is dropped.
                    match back_rx.recv() {
                        Ok(buf) => reader.give_back(buf),
                        Err(_) => break,
                    }
                    continue;
                }
                match reader.next_chunk() {
                    Ok(Some(c)) => {
                        if tx.send(c).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let c = consumed.load(Ordering::Relaxed);
                        err = Some(read_error(
                            compression,
                            reader.lines(),
                            reader.counts.decompressed,
                            c,
                            e,
                        ));
                        break;
                    }
                }
            }
            drop(tx);
            (reader, err)
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = &rx;
                let back_tx = back_tx.clone();
                let file = file.clone();
                s.spawn(move || {
                    let mut w = Worker::new(make(), max_bad);
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        let Ok(Ok(chunk)) = next else { break };
                        if w.proc.done() {
                            // Drain without parsing until the reader stops.
                            stop.store(true, Ordering::Relaxed);
                            let _ = back_tx.send(chunk.into_buffer());
                            continue;
                        }
                        let _ = w.chunk(&file, &chunk);
                        let _ = back_tx.send(chunk.into_buffer());
                    }
                    w
                })
            })
            .collect();
        // The workers hold the only senders left: if they are all gone, a
        // reader waiting for a buffer stops waiting.
        drop(back_tx);
        for h in workers {
            match h.join() {
                Ok(w) => total.merge(w),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        match reader_thread.join() {
            Ok((reader, err)) => {
                let c = opened.consumed.load(Ordering::Relaxed);
                total.finish_input(&file, &reader, c, err, &Accounting::default())
            }
            Err(p) => std::panic::resume_unwind(p),
        }
    });
    total
}

/// Runs `make()`-built processors over all inputs.
pub fn run<P, F>(inputs: &[Input], opts: &EngineOptions, make: F) -> RunOutput<P>
where
    P: Processor,
    F: Fn() -> P + Sync,
{
    let default = FormatCtx::new(opts.default_format.clone());
    let threads = opts.threads.max(1);
    let mut total = if inputs.len() == 1 && threads > 1 {
        process_pipelined(&inputs[0], &default, threads, opts.max_bad_lines, &make)
    } else if threads == 1 {
        let mut w = Worker::new(make(), opts.max_bad_lines);
        for i in inputs {
            process_input(&mut w, i, &default);
        }
        w
    } else {
        // One worker (one processor) per thread, each taking the next file
        // from a shared counter, merged once at the end. A rayon `fold`
        // over the files made a new partial processor at every split and
        // kept them all until the end, so peak RSS grew with the number of
        // files (14 → 27 MiB for 10× the files); this keeps exactly
        // `threads` processors alive whatever the input size.
        let next = AtomicUsize::new(0);
        let parts: Vec<Worker<P>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads.min(inputs.len()).max(1))
                .map(|_| {
                    let (next, default, make) = (&next, &default, &make);
                    s.spawn(move || {
                        let mut w = Worker::new(make(), opts.max_bad_lines);
                        while let Some(input) = inputs.get(next.fetch_add(1, Ordering::Relaxed)) {
                            process_input(&mut w, input, default);
                        }
                        w
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut total = Worker::new(make(), opts.max_bad_lines);
        for p in parts {
            total.merge(p);
        }
        total
    };
    total.bad.sort();
    total.bad.truncate(opts.max_bad_lines);
    total.errors.sort();
    total.warnings.sort();
    RunOutput {
        processor: total.proc,
        accounting: total.acc,
        bad_lines: total.bad,
        file_errors: total.errors,
        file_warnings: total.warnings,
    }
}

// ---- Parquet inputs (flowlog::parquet): told by their `PAR1` magic and
// read into the same processors and accounting as text. ----

/// Reads `input` if it is a Parquet file (true), on this thread.
#[cfg(feature = "parquet")]
fn parquet_input<P: Processor>(w: &mut Worker<P>, file: &Arc<str>, input: &Input) -> bool {
    let Input::Path(path) = input else {
        return false;
    };
    if !crate::flowlog::parquet::is_parquet_file(path) {
        return false;
    }
    use crate::flowlog::parquet;
    let report = parquet::read(path, file, &mut w.proc, &mut w.acc, &mut w.bad, w.max_bad);
    w.parquet_done(file, report);
    true
}

/// Reads `input` with `threads` workers over its row groups if it is a
/// Parquet file.
#[cfg(feature = "parquet")]
fn parquet_pipelined<P: Processor, F: Fn() -> P + Sync>(
    input: &Input,
    file: &Arc<str>,
    threads: usize,
    max_bad: usize,
    make: &F,
) -> Option<Worker<P>> {
    let Input::Path(path) = input else {
        return None;
    };
    if !crate::flowlog::parquet::is_parquet_file(path) {
        return None;
    }
    let (parts, report) =
        crate::flowlog::parquet::read_parallel(path, file, threads, max_bad, make);
    let mut total = Worker::new(make(), max_bad);
    for p in parts {
        let mut w = Worker::new(p.proc, max_bad);
        w.acc = p.acc;
        w.bad = p.bad;
        total.merge(w);
    }
    total.parquet_done(file, report);
    Some(total)
}

#[cfg(feature = "parquet")]
impl<P: Processor> Worker<P> {
    /// Counts a Parquet file read, with its error and warnings.
    fn parquet_done(&mut self, file: &Arc<str>, report: crate::flowlog::parquet::Report) {
        crate::progress::file_done();
        self.acc.files += 1;
        if let Some(message) = report.error {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message,
            });
        }
        for message in report.warnings {
            self.warnings.push(FileError {
                file: file.clone(),
                message,
            });
        }
    }
}

/// Without the `parquet` feature, Parquet files reach the text reader,
/// which refuses them by their magic (`sniff`).
#[cfg(not(feature = "parquet"))]
fn parquet_input<P: Processor>(_: &mut Worker<P>, _: &Arc<str>, _: &Input) -> bool {
    false
}

#[cfg(not(feature = "parquet"))]
fn parquet_pipelined<P: Processor, F: Fn() -> P + Sync>(
    _: &Input,
    _: &Arc<str>,
    _: usize,
    _: usize,
    _: &F,
) -> Option<Worker<P>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Default)]
    struct Count(u64, u64);
    impl Processor for Count {
        fn record(&mut self, rec: &FlowRecord, _: &RecordCtx<'_>) {
            self.0 += 1;
            self.1 += rec.bytes;
        }
        fn merge(&mut self, o: Self) {
            self.0 += o.0;
            self.1 += o.1;
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_gzip_and_accounting() {
        let dir = tempfile::tempdir().unwrap();
        let a = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 1 eni-1 10.0.0.1 10.0.0.2 5 6 6 1 100 1 2 ACCEPT OK\n";
        let b = b"2 1 eni-1 10.0.0.1 10.0.0.2 5 6 6 1 50 1 2 ACCEPT OK\nbad line\n2 1 eni-1 - - - - - - - 1 2 - NODATA\n";
        let mut data = gz(a);
        data.extend(gz(b));
        let p = dir.path().join("x.log.gz");
        std::fs::write(&p, &data).unwrap();
        for threads in [1, 2, 3] {
            let opts = EngineOptions {
                threads,
                ..Default::default()
            };
            let out = run(&[Input::Path(p.clone())], &opts, Count::default);
            assert_eq!(out.processor.1, 150, "threads {threads}");
            assert_eq!(out.accounting.records, 2);
            assert_eq!(out.accounting.nodata, 1);
            assert_eq!(out.accounting.headers, 1);
            assert_eq!(out.accounting.lines, 5);
            assert!(out.accounting.is_balanced());
            assert_eq!(out.bad_lines.len(), 1);
            assert_eq!(out.bad_lines[0].line, 4);
        }
    }

    #[test]
    fn truncated_gzip_reports_offset_and_keeps_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = Vec::new();
        for i in 0..20000 {
            writeln!(
                text,
                "2 1 eni-1 10.0.0.1 10.0.0.2 {} 443 6 1 {} 1 2 ACCEPT OK",
                1024 + i % 60000,
                i
            )
            .unwrap();
        }
        let data = gz(&text);
        let cut = &data[..data.len() / 2];
        let p = dir.path().join("t.log.gz");
        std::fs::write(&p, cut).unwrap();
        for threads in [1, 2] {
            let opts = EngineOptions {
                threads,
                ..Default::default()
            };
            let out = run(&[Input::Path(p.clone())], &opts, Count::default);
            assert_eq!(out.file_errors.len(), 1);
            let msg = out.file_errors[0].to_string();
            assert!(
                msg.contains("t.log.gz") && msg.contains("compressed byte offset"),
                "{msg}"
            );
            assert!(
                out.accounting.records > 1000,
                "records before the damage count"
            );
            assert!(out.accounting.is_balanced());
            assert_eq!(out.accounting.files_failed, 1);
        }
    }
}
