//! Stopping a run: the `Cancel` flag the engine takes in its options,
//! the `Interrupted` error a stopped run ends with, and Ctrl-C for the
//! binary: a process-wide flag set from the SIGINT handler, which the
//! commands hand to the engine as its `Cancel` (`token`). The engine then
//! stops between chunks and between files, and the caller reports what
//! was read. Unset (never interrupted) in library use without the
//! handler. A leaf: the engine and the output (`report::Output`, which
//! stops writing on Ctrl-C) both use it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

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

/// The run was stopped by Ctrl-C; carries the partial accounting line.
/// `main` prints it as `flowscope: interrupted: …` and exits 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// True once Ctrl-C was pressed. (Checked on every write of the output:
/// one load, no `Cancel` made for it.)
#[inline]
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The flag Ctrl-C sets, as the engine's `Cancel`.
pub fn token() -> Cancel {
    Cancel::from_flag(flag().clone())
}

/// Makes Ctrl-C (SIGINT) set the flag instead of killing the process,
/// so the partial accounting can be printed; a second Ctrl-C exits at
/// once (status 130).
///
/// `signal-hook` rather than `ctrlc`: its handler only stores to an atomic
/// flag (async-signal-safe, no thread), it depends on nothing but `libc`,
/// already in the build, and it offers the "second signal exits" rule
/// ready-made; `ctrlc` adds `nix` and a watcher thread.
pub fn install_handler() {
    #[cfg(unix)]
    {
        use signal_hook::consts::SIGINT;
        let flag = flag();
        // Registered first, so it runs first: exits only when the flag was
        // already set by an earlier Ctrl-C.
        let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone());
        let _ = signal_hook::flag::register(SIGINT, flag.clone());
    }
}
