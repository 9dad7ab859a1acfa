//! What every worker thread does: parse a chunk's lines into its
//! processor, count them, keep the first problems, and account for an
//! input when it ends.

use std::sync::Arc;

use super::{
    Accounting, BadLine, Cancel, EngineOptions, FileError, Processor, RecordCtx, RunOutput,
};
use crate::flowlog::accounting::{describe, nothing_parsed};
use crate::flowlog::cloudwatch::{Form, SharedReport};
use crate::flowlog::format::Format;
use crate::flowlog::open::{Opener, ReadError};
#[cfg(feature = "parquet")]
use crate::flowlog::parquet;
use crate::flowlog::parse::{LineError, SkipReason};
use crate::flowlog::reader::{Buffers, Chunk, ChunkLines, ChunkReader};
use crate::flowlog::record::{FlowRecord, LogStatus};
use crate::progress::ProgressHandle;

/// Per-worker state.
pub(super) struct Worker<P> {
    pub(super) proc: P,
    pub(super) acc: Accounting,
    pub(super) bad: Vec<BadLine>,
    pub(super) errors: Vec<FileError>,
    pub(super) warnings: Vec<FileError>,
    /// The first skipped line of the input being read (its number and
    /// first bytes), to say what an input none of whose lines parses
    /// looks like (`sniff::looks_like`).
    pub(super) first_bad: Option<(u64, Vec<u8>)>,
    pub(super) max_bad: usize,
    /// Chunk buffers kept from one input's reader for the next.
    pub(super) buffers: Vec<Buffers>,
    /// Opens inputs, small gzip files whole.
    pub(super) opener: Opener,
    pub(super) cancel: Cancel,
    pub(super) progress: ProgressHandle,
}

impl<P: Processor> Worker<P> {
    pub(super) fn new(proc: P, opts: &EngineOptions) -> Self {
        Worker {
            proc,
            acc: Accounting::default(),
            bad: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            first_bad: None,
            max_bad: opts.max_bad_lines,
            buffers: Vec::new(),
            opener: Opener::new(opts.formats()),
            cancel: opts.cancel.clone(),
            progress: opts.progress.clone(),
        }
    }

    /// The run's output: problems sorted, the bad lines kept cut to
    /// `max_bad` (each worker kept its own first ones).
    pub(super) fn finish(mut self, max_bad: usize) -> RunOutput<P> {
        self.bad.sort();
        self.bad.truncate(max_bad);
        self.errors.sort();
        self.warnings.sort();
        RunOutput {
            processor: self.proc,
            accounting: self.acc,
            bad_lines: self.bad,
            file_errors: self.errors,
            file_warnings: self.warnings,
        }
    }

    pub(super) fn merge(&mut self, o: Worker<P>) {
        self.proc.merge(o.proc);
        self.acc.merge(&o.acc);
        self.bad.extend(o.bad);
        self.errors.extend(o.errors);
        self.warnings.extend(o.warnings);
        // Workers of one input (`pipelined`): the earliest line.
        if let Some(b) = o.first_bad {
            if self.first_bad.as_ref().is_none_or(|a| b.0 < a.0) {
                self.first_bad = Some(b);
            }
        }
    }

    /// An input that could not be opened: counted, and its error kept.
    pub(super) fn open_failed(&mut self, file: Arc<str>, e: ReadError) {
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
    pub(super) fn chunk(&mut self, file: &Arc<str>, chunk: &Chunk) -> ChunkLines {
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
        self.progress.add_bytes(chunk.data().len());
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
                                LogStatus::Ok => {
                                    self.acc.records += 1;
                                    self.acc.flows += rec.flows;
                                }
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
    pub(super) fn finish_input<R: std::io::Read>(
        &mut self,
        file: &Arc<str>,
        reader: &ChunkReader<R>,
        consumed: u64,
        err: Option<ReadError>,
        before: &Accounting,
        form: Option<&SharedReport>,
    ) {
        self.progress.file_done();
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
        let form = form.and_then(|r| self.form_done(file, r, reader.lines()));
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
        // What the input was read as, said with its errors.
        let read_as = form.map_or(String::new(), |f| format!("read as {}: ", f.name()));
        if let Some(e) = err {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message: format!("{read_as}{e}"),
            });
        } else if let Some(message) = nothing_parsed(&self.acc, before, first_bad) {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message: match form {
                    // No header line can say the format in these forms.
                    Some(_) => format!(
                        "{read_as}{message}; its records carry no header line: give the \
                         flow log's format with --format, or its describe-flow-logs output \
                         with --flow-logs"
                    ),
                    None => message,
                },
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

    /// Takes in a CloudWatch Logs form's report (`flowlog::cloudwatch`):
    /// control messages counted; the header lines its reader put in front
    /// of a log group's records are not the input's, so they are counted
    /// out, and the lines skipped renumbered as the input's (the n-th
    /// line, or log event, of the file). Returns the form.
    /// `lines`: the lines the reader handed on (a run stopped early, by
    /// `--limit`, did not count the header lines put in after them).
    fn form_done(&mut self, file: &Arc<str>, report: &SharedReport, lines: u64) -> Option<Form> {
        let report = report.lock().ok()?;
        self.acc.control_messages += report.control_messages;
        let inserted = report.inserted_headers.partition_point(|&h| h <= lines) as u64;
        self.acc.lines = self.acc.lines.saturating_sub(inserted);
        self.acc.headers = self.acc.headers.saturating_sub(inserted);
        let form = report.form?;
        for b in self.bad.iter_mut().filter(|b| b.file == *file) {
            b.line = report.input_line(b.line);
            if form == Form::Json {
                b.detail = format!("log event {}: {}", b.line, b.detail);
            }
        }
        Some(form)
    }
}

/// Parquet inputs (`flowlog::parquet`): rows counted as lines, with the
/// same processors and accounting as text.
#[cfg(feature = "parquet")]
impl<P: Processor> Worker<P> {
    /// Reads a Parquet input on this thread.
    pub(super) fn parquet(&mut self, file: &Arc<str>, source: parquet::ParquetSource) {
        let opts = parquet::ReadOpts {
            max_bad: self.max_bad,
            progress: self.progress.clone(),
        };
        let report = parquet::read(
            source,
            file,
            &mut self.proc,
            &mut self.acc,
            &mut self.bad,
            &opts,
        );
        self.parquet_done(file, report);
    }

    /// Reads a Parquet input with `threads` processors made by `make`
    /// over its row groups, merged into this worker.
    pub(super) fn parquet_parallel<F: Fn() -> P + Sync>(
        &mut self,
        file: &Arc<str>,
        source: parquet::ParquetSource,
        threads: usize,
        opts: &EngineOptions,
        make: &F,
    ) {
        let read_opts = parquet::ReadOpts {
            max_bad: opts.max_bad_lines,
            progress: opts.progress.clone(),
        };
        let (parts, report) = parquet::read_parallel(source, file, threads, &read_opts, make);
        for p in parts {
            let mut w = Worker::new(p.proc, opts);
            w.acc = p.acc;
            w.bad = p.bad;
            self.merge(w);
        }
        self.parquet_done(file, report);
    }

    /// Counts a Parquet input read, with its error and warnings.
    fn parquet_done(&mut self, file: &Arc<str>, report: parquet::Report) {
        self.progress.file_done();
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
