//! `flowscope query`: print the records that match filters, as they are
//! found.
//!
//! Streaming: each worker renders its matches for one chunk of input
//! (~1 MiB of lines) into a buffer and writes the whole buffer under the
//! stdout lock, so the first results appear at once and lines from
//! different workers never interleave. Across workers, chunks come out in
//! the order they finish (use `-j 1` or `--sort start` for a fixed order).
//! `--limit N` claims output slots from one atomic counter and stops the
//! engine once N records are out. `--sort start` holds the matches in
//! memory, sorts by (start, file, line), then prints: every match without
//! `--limit`; with `--limit N`, only the N earliest, in a bounded heap per
//! worker (merged into one of N), so memory follows N, not the input. The
//! key is unique per record, so the result is the same as sorting every
//! match and taking the first N, at any thread count.
//!
//! `--bucket` prints a timeline of the printed records to stderr after the
//! records, so stdout stays a clean stream of records in every format.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};

use super::Outcome;
use crate::config::{QueryConfig, QueryFormat};
use crate::engine::{Processor, RecordCtx};
use crate::flowlog::record::FlowRecord;
use crate::investigate::render::{csv_header, RecordFormat, Renderer};
use crate::investigate::{Filter, Timeline};
use crate::report::Output;

/// Flush a worker's buffer beyond this size even mid-chunk.
const FLUSH_AT: usize = 1 << 20;

struct Shared {
    /// stdout or --output-file; taken by `run` at the end to finish it.
    out: Mutex<Option<Output>>,
    filter: Filter,
    sort: bool,
    limit: Option<u64>,
    emitted: AtomicU64,
    stop: AtomicBool,
    write_error: Mutex<Option<io::Error>>,
}

impl Shared {
    fn write(&self, buf: &[u8]) {
        if self.stop.load(Ordering::Relaxed) && self.write_error.lock().is_ok_and(|e| e.is_some()) {
            return;
        }
        let r = match self.out.lock() {
            Ok(mut o) => match o.as_mut() {
                Some(out) => out.write_block(buf).and_then(|_| out.flush()),
                None => Ok(()),
            },
            Err(_) => Err(io::Error::other("output lock poisoned")),
        };
        if let Err(e) = r {
            self.stop.store(true, Ordering::Relaxed);
            if let Ok(mut slot) = self.write_error.lock() {
                slot.get_or_insert(e);
            }
        }
    }
}

/// A match held for `--sort`, ordered by (start, file, line): a key no
/// two records share, so ties never depend on which worker read what.
struct Held {
    start: u64,
    file: Arc<str>,
    line: u64,
    packets: u64,
    bytes: u64,
    text: Box<[u8]>,
}

impl Held {
    fn key(&self) -> (u64, &str, u64) {
        (self.start, &self.file, self.line)
    }
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}

impl Ord for Held {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        self.key().cmp(&o.key())
    }
}

/// The matches held for `--sort`: all of them, or with `--limit N` the N
/// smallest in a max-heap (the largest kept is the one to drop).
#[derive(Default)]
struct HeldSet {
    limit: Option<usize>,
    heap: BinaryHeap<Held>,
}

impl HeldSet {
    fn new(limit: Option<u64>) -> HeldSet {
        HeldSet {
            limit: limit.map(|n| n.min(usize::MAX as u64) as usize),
            heap: BinaryHeap::new(),
        }
    }

    /// True when a record with this key would be kept (so rendering it is
    /// worth the allocation).
    fn wants(&self, start: u64, file: &str, line: u64) -> bool {
        match self.limit {
            None => true,
            Some(n) if self.heap.len() < n => true,
            Some(_) => self
                .heap
                .peek()
                .is_some_and(|top| (start, file, line) < top.key()),
        }
    }

    fn push(&mut self, h: Held) {
        self.heap.push(h);
        if let Some(n) = self.limit {
            while self.heap.len() > n {
                self.heap.pop();
            }
        }
    }

    fn merge(&mut self, o: HeldSet) {
        for h in o.heap {
            if self.wants(h.start, &h.file, h.line) {
                self.push(h);
            }
        }
    }

    /// The held matches, sorted.
    fn into_sorted(self) -> Vec<Held> {
        self.heap.into_sorted_vec()
    }
}

struct QueryProc {
    shared: Arc<Shared>,
    renderer: Renderer,
    buf: Vec<u8>,
    held: HeldSet,
    timeline: Option<Timeline>,
}

impl QueryProc {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.shared.write(&self.buf);
            self.buf.clear();
        }
    }
}

impl Processor for QueryProc {
    #[inline]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        let sh = &*self.shared;
        if !sh.filter.matches(rec, ctx) {
            return;
        }
        if sh.sort {
            let start = rec.start.or(rec.end).unwrap_or(u64::MAX);
            if !self.held.wants(start, ctx.file, ctx.line_no) {
                return;
            }
            let mut text = Vec::new();
            self.renderer.render(&mut text, ctx);
            self.held.push(Held {
                start,
                file: ctx.file.clone(),
                line: ctx.line_no,
                packets: rec.packets,
                bytes: rec.bytes,
                text: text.into_boxed_slice(),
            });
            return;
        }
        if let Some(limit) = sh.limit {
            if sh.stop.load(Ordering::Relaxed) {
                return;
            }
            let n = sh.emitted.fetch_add(1, Ordering::Relaxed);
            if n >= limit {
                sh.stop.store(true, Ordering::Relaxed);
                return;
            }
            if n + 1 == limit {
                sh.stop.store(true, Ordering::Relaxed);
            }
        }
        if let Some(t) = &mut self.timeline {
            t.add(rec);
        }
        self.renderer.render(&mut self.buf, ctx);
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn end_chunk(&mut self) {
        self.flush();
    }

    fn done(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    fn merge(&mut self, mut o: Self) {
        o.flush();
        self.flush();
        self.held.merge(std::mem::take(&mut o.held));
        if let (Some(a), Some(b)) = (&mut self.timeline, o.timeline.take()) {
            a.merge(b);
        }
    }
}

pub fn run(args: &QueryConfig, session: &super::Session<'_>) -> Result<Outcome> {
    let mut filter = Filter::new(&args.filter).map_err(|e| anyhow!(e))?;
    filter.include_nodata = args.include_nodata;
    let kind = match args.output {
        QueryFormat::Text => RecordFormat::Text {
            with_filename: args.with_filename,
        },
        QueryFormat::Json => RecordFormat::Json,
        QueryFormat::Csv => RecordFormat::Csv,
    };
    let sort = args.sort.is_some();
    let out = Output::open(args.output_file.as_deref())?;
    // The timeline on stderr fits the terminal as a table on `out` would.
    let fit = session.style(&out).fit;
    let shared = Arc::new(Shared {
        out: Mutex::new(Some(out)),
        filter,
        sort,
        limit: args.limit,
        emitted: AtomicU64::new(0),
        stop: AtomicBool::new(args.limit == Some(0) && !sort),
        write_error: Mutex::new(None),
    });
    if kind == RecordFormat::Csv {
        shared.write(csv_header().as_bytes());
    }
    let bucket = args.bucket;
    let (run, outcome) = super::read_logs_in(
        &args.input,
        (args.filter.since, args.filter.until),
        session,
        || QueryProc {
            shared: shared.clone(),
            renderer: Renderer::new(kind),
            buf: Vec::new(),
            held: HeldSet::new(args.limit),
            timeline: bucket.map(Timeline::new),
        },
    )?;
    for d in shared.filter.diagnostics() {
        crate::warning!("{d}");
    }
    let mut proc = run.processor;
    proc.flush();
    if sort {
        let held = std::mem::take(&mut proc.held).into_sorted();
        let mut buf = Vec::with_capacity(1 << 20);
        for h in &held {
            buf.extend_from_slice(&h.text);
            if buf.len() >= FLUSH_AT {
                shared.write(&buf);
                buf.clear();
            }
        }
        shared.write(&buf);
        if let Some(t) = &mut proc.timeline {
            // The timeline covers the printed records.
            for h in &held {
                match h.start {
                    u64::MAX => t.add(&FlowRecord::default()),
                    s => t.add_at(s, 1, h.packets, h.bytes),
                }
            }
        }
    }
    if let Some(e) = shared.write_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e.into());
    }
    if let Some(out) = shared.out.lock().ok().and_then(|mut o| o.take()) {
        out.finish()?;
    }
    if let Some(t) = &proc.timeline {
        let mut err = io::stderr().lock();
        t.write_text(&mut err, fit)?;
    }
    Ok(outcome)
}
