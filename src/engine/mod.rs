//! The parallel driver: inputs → chunks → parsed records → a `Processor`,
//! with every line accounted for.
//!
//! * `sequential`: one input after another on one thread, and the
//!   many-files driver, where one worker per thread takes files in turn
//!   (one processor per thread, merged once at the end);
//! * `pipelined`: one input (a single large file, or stdin), a reader
//!   thread inflating and cutting chunks while worker threads parse them,
//!   through a bounded channel whose buffers are recycled, so memory stays
//!   flat whatever the input size;
//! * `worker`: what every thread does with a chunk and at an input's end;
//! * `accounting`: the counts and the problems a run reports.
//!
//! Workers never print; problems are collected and reported by the
//! caller. The engine reads no process-wide state: stopping (`Cancel`)
//! and progress (`progress::ProgressHandle`) come in `EngineOptions`.

mod accounting;
mod pipelined;
mod sequential;
#[cfg(test)]
mod tests;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use self::accounting::{Accounting, AccountingJson, BadLine, FileError, Interrupted};
use crate::flowlog::cloudwatch::{FlowLogs, Formats};
use crate::flowlog::format::Format;
use crate::flowlog::reader::{FormatCtx, Input};
use crate::flowlog::record::FlowRecord;
use crate::progress::ProgressHandle;

// The binary's Ctrl-C flag, under the names it had when it lived here;
// the engine itself only sees the `Cancel` in its options.
pub use crate::interrupt::{install_handler as install_interrupt_handler, interrupted};

/// A flag that asks a run to stop: the engine stops between chunks and
/// between files, and the caller reports what was read. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// The flag behind `flag` (set from a signal handler, say).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(flag)
    }

    /// Sets the flag.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once the flag is set.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
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
    /// True when the processor reads `FlowRecord::pkt_src_aws_service`
    /// and `pkt_dst_aws_service`: a Parquet input decodes those columns
    /// only then (text has them in every line anyway).
    fn wants_aws_services(&self) -> bool {
        false
    }
    fn merge(&mut self, other: Self)
    where
        Self: Sized;
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub threads: usize,
    /// Format of input without a header line (`--format`, else v2).
    pub default_format: Format,
    /// How many skipped lines to keep with their details.
    pub max_bad_lines: usize,
    /// Stops the run when set (Ctrl-C in the binary).
    pub cancel: Cancel,
    /// Where the bytes and files read are counted (a progress line).
    pub progress: ProgressHandle,
    /// `--flow-logs`: the format of each log group, for CloudWatch Logs
    /// forms (`flowlog::cloudwatch`).
    pub flow_logs: Arc<FlowLogs>,
}

impl EngineOptions {
    /// What the readers of CloudWatch Logs forms need.
    pub(crate) fn formats(&self) -> Formats {
        Formats {
            default: self.default_format.clone(),
            flow_logs: self.flow_logs.clone(),
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: default_threads(),
            default_format: Format::default_v2(),
            max_bad_lines: 10,
            cancel: Cancel::new(),
            progress: ProgressHandle::none(),
            flow_logs: Arc::default(),
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

/// Runs `make()`-built processors over all inputs.
pub fn run<P, F>(inputs: &[Input], opts: &EngineOptions, make: F) -> RunOutput<P>
where
    P: Processor,
    F: Fn() -> P + Sync,
{
    let default = FormatCtx::new(opts.default_format.clone());
    let threads = opts.threads.max(1);
    let total = if inputs.len() == 1 && threads > 1 {
        pipelined::run(&inputs[0], &default, threads, opts, &make)
    } else {
        sequential::run(inputs, &default, threads, opts, &make)
    };
    total.finish(opts.max_bad_lines)
}
