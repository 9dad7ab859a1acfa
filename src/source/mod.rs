//! Where logs are read from: local paths and standard input (`input`)
//! and `s3://` URLs (`s3`), mixed freely, with the `--since/--until` window
//! pruning the date folders and files of AWS's key layout (`layout`),
//! in buckets and in local copies of them alike.

pub mod input;
pub mod layout;
pub mod s3;

use std::path::PathBuf;

use self::input::{expand_inputs, Input, InputProblem};
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
/// queued for fetching), the rest as `input::expand_inputs` does. Files
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
