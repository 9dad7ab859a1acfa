//! One module per command; the shared pieces are in `input` (reading the
//! logs, the time window, the input accounting) and `interfaces` (what
//! the inventory says of the logged interfaces). Commands never import
//! each other.

pub mod generate;
mod input;
mod interfaces;
pub mod query;
pub mod recommend;
pub mod scans;
pub mod summarize;
pub mod top;

pub use input::{
    read_logs, read_logs_in, warn_overflow, window_filter, write_accounting, Filtered, InputJson,
    Window, Windowed,
};
pub use interfaces::{
    ignore_attachments, inventory_beside, labels_of, load_interfaces, locals_of, InterfaceNames,
    Label, Labels,
};

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything read.
    Clean,
    /// Some input could not be read (or malformed lines under --strict).
    DataErrors,
}

/// Set once the input had data errors: a run cut short by a closed pipe
/// still exits as the complete run would (see `outcome_so_far`).
static DATA_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The outcome of the input read so far (for `main` after EPIPE).
pub fn outcome_so_far() -> Outcome {
    if DATA_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
        Outcome::DataErrors
    } else {
        Outcome::Clean
    }
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::DataErrors => 1,
        }
    }
}
