//! What a reader hands its records to: a `Processor`, one per worker,
//! merged at the end, and the `RecordCtx` that says where a record came
//! from. Defined beside the readers (the Parquet reader drives a
//! processor itself) and re-exported by the engine, which drives them.

use std::sync::Arc;

use super::format::Format;
use super::record::FlowRecord;

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
