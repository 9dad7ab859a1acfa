//! A progress line on stderr for long runs, only when stderr is a
//! terminal (never in pipes, files or CI logs).
//!
//! Workers only bump two relaxed atomic counters per chunk and per file
//! (a few per megabyte), so the cost when nobody watches is nil; a
//! separate thread redraws the line four times a second after the first
//! half second, and clears it when the run ends.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static BYTES: AtomicU64 = AtomicU64::new(0);
static FILES: AtomicU64 = AtomicU64::new(0);

/// Counts decompressed bytes handed to parsers.
#[inline]
pub fn add_bytes(n: usize) {
    BYTES.fetch_add(n as u64, Ordering::Relaxed);
}

/// Counts an input read to its end (or to its damage).
#[inline]
pub fn file_done() {
    FILES.fetch_add(1, Ordering::Relaxed);
}

/// The redrawing thread; dropping it stops and clears the line.
pub struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the progress line if stderr is a terminal and `enabled`.
    pub fn start(total_files: usize, enabled: bool) -> Option<Progress> {
        if !enabled || !std::io::stderr().is_terminal() {
            return None;
        }
        BYTES.store(0, Ordering::Relaxed);
        FILES.store(0, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut drawn = false;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                if t0.elapsed() < Duration::from_millis(500) {
                    continue;
                }
                let mb = BYTES.load(Ordering::Relaxed) as f64 / 1e6;
                let secs = t0.elapsed().as_secs_f64();
                let line = format!(
                    "\r{}/{} files, {:.0} MB read, {:.0} MB/s  ",
                    FILES.load(Ordering::Relaxed),
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
            stop,
            handle: Some(handle),
        })
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
