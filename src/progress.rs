//! A progress line on stderr for long runs, only when stderr is a
//! terminal (never in pipes, files or CI logs).
//!
//! The engine counts into a `ProgressHandle` it is given: two relaxed
//! atomic adds per chunk and per file (a few per megabyte) when a
//! progress line runs, nothing at all otherwise. A separate thread
//! redraws the line four times a second after the first half second, and
//! clears it when the run ends.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the progress line shows.
#[derive(Debug, Default)]
struct Counters {
    /// Decompressed bytes handed to parsers.
    bytes: AtomicU64,
    /// Inputs read to their end (or to their damage).
    files: AtomicU64,
}

/// Where the engine counts what it has read: a running progress line's
/// counters, or nowhere (`none`). Clones count into the same line.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(Option<Arc<Counters>>);

impl ProgressHandle {
    /// Counts nothing.
    pub fn none() -> ProgressHandle {
        ProgressHandle(None)
    }

    /// Counts decompressed bytes handed to parsers.
    #[inline]
    pub fn add_bytes(&self, n: usize) {
        if let Some(c) = &self.0 {
            c.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Counts an input read to its end (or to its damage).
    #[inline]
    pub fn file_done(&self) {
        if let Some(c) = &self.0 {
            c.files.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The redrawing thread; dropping it stops and clears the line.
pub struct Progress {
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the progress line if stderr is a terminal and `enabled`.
    pub fn start(total_files: usize, enabled: bool) -> Option<Progress> {
        if !enabled || !std::io::stderr().is_terminal() {
            return None;
        }
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, seen) = (stop.clone(), counters.clone());
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut drawn = false;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                if t0.elapsed() < Duration::from_millis(500) {
                    continue;
                }
                let mb = seen.bytes.load(Ordering::Relaxed) as f64 / 1e6;
                let secs = t0.elapsed().as_secs_f64();
                let line = format!(
                    "\r{}/{} files, {:.0} MB read, {:.0} MB/s  ",
                    seen.files.load(Ordering::Relaxed),
                    total_files,
                    mb,
                    mb / secs
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
                drawn = true;
            }
            if drawn {
                let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            }
        });
        Some(Progress {
            counters,
            stop,
            handle: Some(handle),
        })
    }

    /// The handle the engine counts into.
    pub fn handle(&self) -> ProgressHandle {
        ProgressHandle(Some(self.counters.clone()))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
