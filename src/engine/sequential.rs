//! Inputs read one after another on a thread: all of them on one thread
//! (`-j1`), or, with several threads, one worker per thread taking the
//! next input from a shared counter, merged once at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::worker::Worker;
use super::{EngineOptions, Processor};
use crate::flowlog::open::{Opened, OpenedText, ReadError};
use crate::flowlog::reader::{ChunkReaderBuilder, FormatCtx, Input};

/// Reads `inputs` on `threads` threads (at most one per input).
pub(super) fn run<P: Processor, F: Fn() -> P + Sync>(
    inputs: &[Input],
    default: &Arc<FormatCtx>,
    threads: usize,
    opts: &EngineOptions,
    make: &F,
) -> Worker<P> {
    if threads == 1 {
        let mut w = Worker::new(make(), opts);
        for i in inputs {
            process_input(&mut w, i, default);
        }
        return w;
    }
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
                let next = &next;
                s.spawn(move || {
                    let mut w = Worker::new(make(), opts);
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
    let mut total = Worker::new(make(), opts);
    for p in parts {
        total.merge(p);
    }
    total
}

/// Reads one input on the current thread, as `Opener` opened it: text
/// (small gzip files whole, others streamed) or Parquet.
fn process_input<P: Processor>(w: &mut Worker<P>, input: &Input, default: &Arc<FormatCtx>) {
    if w.proc.done() || w.cancel.is_cancelled() {
        return;
    }
    let file: Arc<str> = input.display().into();
    w.first_bad = None;
    match w.opener.open(input, &mut w.buffers) {
        Ok(Opened::Text(text)) => read_text(w, file, text, default),
        #[cfg(feature = "parquet")]
        Ok(Opened::Parquet(source)) => w.parquet(&file, source),
        Err(e) => w.open_failed(file, e),
    }
}

/// Reads a text input on the current thread.
fn read_text<P: Processor>(
    w: &mut Worker<P>,
    file: Arc<str>,
    text: OpenedText,
    default: &Arc<FormatCtx>,
) {
    let before = w.acc.clone();
    let OpenedText {
        source,
        compression,
        consumed,
        form,
        format,
    } = text;
    // This thread parses the chunks in order: it splits their lines
    // once, for the reader too (lazy).
    let mut reader = ChunkReaderBuilder::new(format.unwrap_or_else(|| default.clone()))
        .lazy(true)
        .buffers(std::mem::take(&mut w.buffers))
        .build(source);
    let mut err = None;
    loop {
        match reader.next_chunk() {
            Ok(Some(c)) => {
                let seen = w.chunk(&file, &c);
                reader.chunk_done(seen);
                reader.give_back(c.into_buffer());
                if w.proc.done() || w.cancel.is_cancelled() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                err = Some(ReadError::while_reading(
                    compression,
                    reader.lines(),
                    reader.counts.decompressed,
                    consumed.load(Ordering::Relaxed),
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
        form.as_ref(),
    );
    reader.release(&mut w.buffers);
}
