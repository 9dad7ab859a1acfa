//! Ctrl-C for the binary: a process-wide flag set from the SIGINT
//! handler, which the commands hand to the engine as its `Cancel`
//! (`token`). The engine then stops between chunks and between files,
//! and the caller reports what was read. Unset (never interrupted) in
//! library use without the handler.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use crate::engine::Cancel;

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// True once Ctrl-C was pressed. (Checked on every write of the output:
/// one load, no `Cancel` made for it.)
#[inline]
pub fn interrupted() -> bool {
    INTERRUPTED
        .get()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
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
