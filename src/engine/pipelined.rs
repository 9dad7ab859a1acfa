//! One input read with inflate on one thread and parsing on `threads`
//! others, overlapped: the reader thread inflates and cuts chunks, which
//! go to the workers through a bounded channel, and their buffers come
//! back to it, so memory stays flat whatever the input's size.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex};

use super::worker::Worker;
use super::{Accounting, EngineOptions, Processor};
use crate::flowlog::open::{open, Opened, OpenedText, ReadError};
use crate::flowlog::reader::{Buffers, Chunk, ChunkReaderBuilder, FormatCtx, Input};

/// Reads one input with inflate on one thread and parsing on `threads`
/// others, overlapped.
pub(super) fn run<P: Processor, F: Fn() -> P + Sync>(
    input: &Input,
    default: &Arc<FormatCtx>,
    threads: usize,
    opts: &EngineOptions,
    make: &F,
) -> Worker<P> {
    let file: Arc<str> = input.display().into();
    let mut total = Worker::new(make(), opts);
    let OpenedText {
        source,
        compression,
        consumed,
        form,
        format,
    } = match open(input, &opts.formats()) {
        Ok(Opened::Text(text)) => text,
        // Row groups instead of chunks, on `threads` workers.
        #[cfg(feature = "parquet")]
        Ok(Opened::Parquet(source)) => {
            total.parquet_parallel(&file, source, threads, opts, make);
            return total;
        }
        Err(e) => {
            total.open_failed(file, e);
            return total;
        }
    };
    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let (back_tx, back_rx) = channel::<Buffers>();
    let rx = Mutex::new(rx);
    let cancel = &opts.cancel;
    // Set by a worker whose processor is done: the reader stops.
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let stop = &stop;
        let consumed = &consumed;
        let reader_thread = s.spawn(move || {
            // Buffers in the channel, in the workers, and the reader's
            // own two (the one it fills and the next): a fixed amount of
            // memory, whatever the timing.
            let mut reader = ChunkReaderBuilder::new(format.unwrap_or_else(|| default.clone()))
                .buffer_limit(3 * threads + 2)
                .build(source);
            let mut err = None;
            loop {
                if stop.load(Ordering::Relaxed) || cancel.is_cancelled() {
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
                        err = Some(ReadError::while_reading(
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
                    let mut w = Worker::new(make(), opts);
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
                let c = consumed.load(Ordering::Relaxed);
                total.finish_input(
                    &file,
                    &reader,
                    c,
                    err,
                    &Accounting::default(),
                    form.as_ref(),
                )
            }
            Err(p) => std::panic::resume_unwind(p),
        }
    });
    total
}
