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

use std::sync::Arc;

pub use self::accounting::{Accounting, AccountingJson, BadLine, FileError};
use crate::flowlog::cloudwatch::{FlowLogs, Formats};
use crate::flowlog::format::Format;
use crate::flowlog::reader::{FormatCtx, Input};
use crate::flowlog::record::FlowRecord;
use crate::progress::ProgressHandle;

// Stopping a run lives in `interrupt` (a leaf, so that `report` can
// check the flag without depending on the engine); re-exported under the
// names it had when it lived here. The engine itself only sees the
// `Cancel` in its options.
pub use crate::interrupt::{
    install_handler as install_interrupt_handler, interrupted, Cancel, Interrupted,
};

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
    /// True for a processor whose counts weigh each record by its
    /// `FlowRecord::flows` (the aggregate, top): it may read
    /// pre-aggregated lines. Processors that print or judge single
    /// records (query, scans) keep the default, and a run that meets a
    /// `flows` column refuses the input (`commands::read_logs_in`).
    const WEIGHTED: bool = false;
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
