//! The inputs of a run: files, standard input, and directories walked
//! for the files in them. A new kind of input (an S3 prefix, a
//! CloudWatch log group) is a new `Input` variant here, and its bytes a
//! new arm of `flowlog::open::open`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::layout::looks_like_log;
use crate::text::printable;

/// One input: a file, standard input or an S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
    /// Listed and fetched by `s3`.
    S3(super::s3::Object),
}

impl Input {
    /// Name used in messages.
    pub fn display(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
            Input::S3(o) => o.url().to_string(),
        }
    }
}

/// Expands path arguments: files as given, directories walked recursively
/// in sorted order (so results never depend on the file system's order),
/// `-` as standard input. Inside directories only files named like logs
/// are taken (`.log`, `.gz`, `.zst`, `.txt`); the inventory JSON that sits beside
/// logs in an S3 download is not. Symlinked directories are followed once
/// (loops are detected by canonical path).
pub fn expand_inputs(args: &[PathBuf]) -> (Vec<Input>, Vec<InputProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for a in args {
        if a.as_os_str() == "-" {
            out.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(a) {
            Ok(m) if m.is_dir() => {
                let before = out.len();
                walk(a, &mut out, &mut problems);
                if out.len() == before {
                    problems.push(InputProblem::new(
                        a,
                        "no flow-log files (*.log, *.gz, *.zst, *.txt, *.parquet) in this directory"
                            .into(),
                        false,
                    ));
                }
            }
            Ok(_) => out.push(Input::Path(a.clone())),
            Err(e) => problems.push(InputProblem::new(a, e.to_string(), true)),
        }
    }
    (out, problems)
}

/// Drops inputs named more than once (`logs/ logs/2025/11/20/`, a file given twice, `-` twice),
/// keeping the first: each would otherwise be read again and its flows counted twice (two readers
/// of one stdin split it between them, cutting a line in two). Files are compared by canonical
/// path, so a symlink and its target are one input. Returns the names dropped, for a warning.
pub fn dedup_inputs(inputs: Vec<Input>) -> (Vec<Input>, Vec<String>) {
    let mut seen = HashSet::new();
    let mut stdin_seen = false;
    let mut dropped = Vec::new();
    let mut out = Vec::with_capacity(inputs.len());
    for i in inputs {
        let first = match &i {
            Input::Stdin => !std::mem::replace(&mut stdin_seen, true),
            Input::Path(p) => seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            // A URL is never a canonical (absolute) path.
            Input::S3(o) => seen.insert(PathBuf::from(o.url())),
        };
        if first {
            out.push(i);
        } else {
            dropped.push(i.display());
        }
    }
    (out, dropped)
}

/// A path named on the command line or met in a directory walk that
/// cannot be read (it never reaches the engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub path: String,
    pub message: String,
    /// It is an input that failed (a file or directory that cannot be
    /// opened, a FIFO in a walk), counted in `files` and `files_failed`;
    /// false for a directory that merely holds no logs.
    pub failed_input: bool,
}

impl InputProblem {
    fn new(path: &Path, message: String, failed_input: bool) -> InputProblem {
        InputProblem {
            path: path.display().to_string(),
            message,
            failed_input,
        }
    }
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", printable(&self.path), self.message)
    }
}

/// Adds the logs under `dir` to `out`, in sorted order, depth first
/// (`walkdir`, following symbolic links). A directory met again, by a
/// link to it or to one of its ancestors (a loop), is walked once: it is
/// skipped without a word, as its files are read already. Entries that
/// cannot be looked at, and directories that cannot be read, are
/// problems, as are FIFOs, sockets and devices named like logs.
fn walk(dir: &Path, out: &mut Vec<Input>, problems: &mut Vec<InputProblem>) {
    let mut seen = HashSet::new();
    let entries = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            // A directory already walked (a link to it elsewhere). Loops
            // through an ancestor are `walkdir` errors, ignored below.
            !e.file_type().is_dir()
                || match e.path().canonicalize() {
                    Ok(c) => seen.insert(c),
                    Err(_) => true,
                }
        });
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                let io = e
                    .io_error()
                    .map_or_else(|| e.to_string(), |io| io.to_string());
                // A directory whose entries cannot be listed, or an entry
                // that cannot be looked at (a dangling link).
                let message = if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                    format!("cannot read directory: {io}")
                } else {
                    io
                };
                problems.push(InputProblem::new(&path, message, true));
                continue;
            }
        };
        let kind = entry.file_type();
        let p = entry.path();
        if kind.is_dir() {
            continue;
        }
        if kind.is_file() && looks_like_log(p) {
            out.push(Input::Path(p.to_path_buf()));
        } else if !kind.is_file() && looks_like_log(p) {
            // A FIFO, socket or device named like a log: opening a FIFO
            // with no writer would block the whole run. (Given by name on
            // the command line, such a path is read: `<(zcat …)`.)
            problems.push(InputProblem::new(
                p,
                "not a regular file, skipped".into(),
                true,
            ));
        }
    }
}
