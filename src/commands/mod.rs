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
    read_logs_in, warn_overflow, window_filter, write_accounting, Filtered, InputJson, Window,
    Windowed,
};
pub use interfaces::{
    ignore_attachments, interfaces_for, inventory_beside, labels_of, load_interfaces, locals_of,
    InterfaceNames, Label, Labels,
};

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything read.
    Clean,
    /// Some input could not be read (or malformed lines under --strict).
    DataErrors,
}

/// What a run tells `main` besides its result: whether the input had
/// data errors, so that a run cut short by a closed pipe still exits as
/// the complete run would. `main` owns it and hands it to `crate::run`.
#[derive(Debug, Default)]
pub struct RunStatus {
    data_errors: std::sync::atomic::AtomicBool,
}

impl RunStatus {
    /// The outcome of the input read so far.
    pub fn outcome(&self) -> Outcome {
        if self.data_errors.load(std::sync::atomic::Ordering::Relaxed) {
            Outcome::DataErrors
        } else {
            Outcome::Clean
        }
    }

    fn record(&self, o: Outcome) {
        if o == Outcome::DataErrors {
            self.data_errors
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What every command that reads logs gets besides its own settings: the
/// run's global flags and its status.
#[derive(Debug, Clone, Copy)]
pub struct Session<'a> {
    /// `--color`.
    pub color: crate::report::ColorChoice,
    /// `--wide`: tables are never narrowed.
    pub wide: bool,
    pub status: &'a RunStatus,
}

impl Session<'_> {
    /// How tables are drawn on `out` (colour, width) in this run.
    pub fn style(&self, out: &crate::report::Output) -> crate::report::Style {
        crate::report::Style::of(out, self.color, self.wide)
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
