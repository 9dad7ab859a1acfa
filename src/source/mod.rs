//! Where logs are read from: local paths (`flowlog::reader`) and
//! `s3://` URLs (`s3`), mixed freely, with the `--since/--until` window
//! pruning the date folders and files of AWS's key layout (`layout`),
//! in buckets and in local copies of them alike.

pub mod layout;
pub mod s3;

use std::io::Write;
use std::path::PathBuf;

use crate::flowlog::reader::{expand_inputs, Input, InputProblem};
use layout::Window;

/// What `--since/--until` left unread by the dates in the inputs' names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Local files and S3 objects.
    pub files: u64,
    /// S3 date folders not listed.
    pub prefixes: u64,
}

impl Pruned {
    /// True when the window left out any file, object or date folder.
    pub fn any(&self) -> bool {
        self.files + self.prefixes > 0
    }
}

/// The inputs of a run, in order, and what could not be or was not read.
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<Input>,
    pub problems: Vec<InputProblem>,
    pub pruned: Pruned,
}

/// Expands the command line's inputs in order: `s3://` URLs listed (and
/// queued for fetching), the rest as `reader::expand_inputs` does. Files
/// found in a directory, and objects, outside `window` by their date
/// folders or names are left out (counted in `pruned`); a file named on
/// its own is read.
pub fn expand(args: &[PathBuf], s3: &s3::S3Config, window: Window) -> Expanded {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut pruned = Pruned::default();
    for a in args {
        let Some(url) = a.to_str().filter(|s| s.starts_with("s3://")) else {
            let (inputs, p) = expand_inputs(std::slice::from_ref(a));
            problems.extend(p);
            if !a.is_dir() || window.is_open() {
                out.extend(inputs);
                continue;
            }
            for i in inputs {
                let keep = match &i {
                    Input::Path(p) => window.wants_key(&p.to_string_lossy().replace('\\', "/")),
                    _ => true,
                };
                if keep {
                    out.push(i);
                } else {
                    pruned.files += 1;
                }
            }
            continue;
        };
        match s3::list(url, s3, window) {
            Ok(listed) => {
                if listed.objects.is_empty() && listed.problems.is_empty() {
                    problems.push(problem(url, "no objects under this prefix".into(), false));
                }
                out.extend(listed.objects.into_iter().map(Input::S3));
                pruned.files += listed.pruned_objects;
                pruned.prefixes += listed.pruned_prefixes;
                for (u, m) in listed.problems {
                    problems.push(problem(&u, m, true));
                }
            }
            Err(m) => problems.push(problem(url, m, true)),
        }
    }
    Expanded {
        inputs: out,
        problems,
        pruned,
    }
}

fn problem(path: &str, message: String, failed_input: bool) -> InputProblem {
    InputProblem {
        path: path.to_string(),
        message,
        failed_input,
    }
}

/// Says on stderr what the window left unread (`read`: the inputs read),
/// and with `FLOWSCOPE_DEBUG=s3` the S3 requests made (tests count
/// fetches).
pub fn report(err: &mut dyn Write, quiet: bool, read: u64, pruned: Pruned) {
    use std::sync::atomic::Ordering::Relaxed;
    let Pruned { files, prefixes } = pruned;
    if read == 0 && pruned.any() {
        // A warning even under -q: an empty report reads as "no traffic".
        let _ = writeln!(
            err,
            "flowscope: warning: every input is outside --since/--until by the dates in its \
             name: nothing was read (relative forms such as 7d count back from now)"
        );
    } else if !quiet && pruned.any() {
        let mut parts = Vec::new();
        if files > 0 {
            parts.push(crate::report::count(files, "file", "files"));
        }
        if prefixes > 0 {
            parts.push(crate::report::count(
                prefixes,
                "date folder",
                "date folders",
            ));
        }
        let _ = writeln!(
            err,
            "flowscope: note: --since/--until: {} left unread by the dates in their names",
            parts.join(" and ")
        );
    }
    if std::env::var("FLOWSCOPE_DEBUG").is_ok_and(|v| v.split(',').any(|d| d == "s3")) {
        if let Some(s) = s3::stats() {
            let _ = writeln!(
                err,
                "flowscope: debug: s3: {} listings, {} GETs, {} bytes, {} objects and {} date folders pruned",
                s.lists.load(Relaxed),
                s.gets.load(Relaxed),
                s.bytes.load(Relaxed),
                s.pruned_objects.load(Relaxed),
                s.pruned_prefixes.load(Relaxed)
            );
        }
    }
}
