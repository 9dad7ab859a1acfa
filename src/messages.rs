//! Diagnostics: the one place that writes notes, warnings and errors to
//! stderr, as `flowscope: warning: …` (ripgrep's `messages.rs`).
//!
//! Only the command layer (`commands`, `main`) reports; the library below
//! it returns what it has to say (`Filter::diagnostics`, `Summary`
//! overflow counts, `generate`'s summary) and never prints, so workers
//! never interleave lines on stderr. Every line goes through `emit`, so
//! the format is the same everywhere, and a test can read what a run
//! said with `capture` instead of scraping stderr.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;

/// How serious a diagnostic is; its word after `flowscope: `.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something the user may want to know (a flag that changes nothing).
    Note,
    /// Some input was left out or guessed at; the run goes on.
    Warning,
    /// Some input could not be used (the run may go on with the rest).
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

thread_local! {
    /// Lines captured on this thread by `capture` (None: write to stderr).
    /// Per thread, so tests running side by side do not see each other's
    /// messages; the commands report from the thread that runs them.
    static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    /// Copies of the lines written on this thread while a `Recording` is
    /// alive (they still go to stderr or a capture).
    static RECORDED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Keeps a copy of every line this thread reports while it lives, for a
/// report that lists what the run said (`-o html`).
pub struct Recording(());

/// Starts keeping copies of the lines reported on this thread.
pub fn record() -> Recording {
    RECORDED.with(|r| *r.borrow_mut() = Some(Vec::new()));
    Recording(())
}

impl Recording {
    /// The lines reported so far.
    pub fn lines(&self) -> Vec<String> {
        RECORDED.with(|r| r.borrow().clone().unwrap_or_default())
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDED.with(|r| *r.borrow_mut() = None);
    }
}

/// Writes one diagnostic line: `flowscope: <level>: <message>`.
pub fn emit(level: Level, message: fmt::Arguments<'_>) {
    line(format_args!("flowscope: {level}: {message}"));
}

/// Writes one line as it is: a status line that is not a diagnostic (the
/// summary of `generate`).
pub fn line(text: fmt::Arguments<'_>) {
    RECORDED.with(|r| {
        if let Some(lines) = r.borrow_mut().as_mut() {
            lines.push(text.to_string());
        }
    });
    let captured = CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(lines) => {
            lines.push(text.to_string());
            true
        }
        None => false,
    });
    if !captured {
        // A closed or full stderr cannot be reported anywhere.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// Runs `f`, keeping the lines it reports on this thread instead of
/// writing them to stderr (for tests). Nested captures keep their own.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = f();
    let lines = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (r, lines.unwrap_or_default())
}

/// `note!("…", args)`: a `Level::Note` line.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::messages::emit($crate::messages::Level::Note, format_args!($($arg)*))
    };
}

/// `warning!("…", args)`: a `Level::Warning` line.
#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => {
        $crate::messages::emit($crate::messages::Level::Warning, format_args!($($arg)*))
    };
}

/// `error!("…", args)`: a `Level::Error` line (the caller decides the
/// exit status).
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::messages::emit($crate::messages::Level::Error, format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_one_format_and_can_be_captured() {
        let ((), lines) = capture(|| {
            crate::warning!("{}: skipped", "f.log");
            crate::note!("n");
            crate::error!("e {}", 1);
            line(format_args!("generated 3 records"));
        });
        assert_eq!(
            lines,
            [
                "flowscope: warning: f.log: skipped",
                "flowscope: note: n",
                "flowscope: error: e 1",
                "generated 3 records",
            ]
        );
    }

    #[test]
    fn a_recording_keeps_copies_until_dropped() {
        let (seen, said) = capture(|| {
            crate::note!("before");
            let rec = record();
            crate::warning!("during");
            let seen = rec.lines();
            drop(rec);
            crate::note!("after");
            seen
        });
        assert_eq!(seen, ["flowscope: warning: during"]);
        assert_eq!(said.len(), 3, "recording does not swallow lines: {said:?}");
    }

    #[test]
    fn nested_captures_keep_their_own_lines() {
        let (inner, outer) = capture(|| {
            crate::warning!("outer");
            capture(|| crate::warning!("inner")).1
        });
        assert_eq!(inner, ["flowscope: warning: inner"]);
        assert_eq!(outer, ["flowscope: warning: outer"]);
    }
}
