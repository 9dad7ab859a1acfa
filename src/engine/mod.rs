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
//! * the counts and problems a run reports (`flowlog::accounting`) and the
//!   `Processor` records go to (`flowlog::process`) are re-exported here.
//!
//! Workers never print; problems are collected and reported by the
//! caller. The engine reads no process-wide state: stopping (`Cancel`)
//! and progress (`progress::ProgressHandle`) come in `EngineOptions`.

mod pipelined;
mod sequential;
#[cfg(test)]
mod tests;
mod worker;

use std::sync::Arc;

// The accounting and the `Processor` a reader hands records to live in
// `flowlog` (the Parquet reader drives a processor itself, and must not
// depend on the engine that drives it); re-exported here, where the
// rest of the crate meets them.
pub use crate::flowlog::accounting::{Accounting, AccountingJson, BadLine, FileError};
use crate::flowlog::cloudwatch::{FlowLogs, Formats};
use crate::flowlog::format::Format;
pub use crate::flowlog::process::{Processor, RecordCtx};
use crate::flowlog::reader::{FormatCtx, Input};
use crate::progress::ProgressHandle;

// Stopping a run lives in `interrupt` (a leaf, so that `report` can
// check the flag without depending on the engine); re-exported under the
// names it had when it lived here. The engine itself only sees the
// `Cancel` in its options.
pub use crate::interrupt::{
    install_handler as install_interrupt_handler, interrupted, Cancel, Interrupted,
};

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
