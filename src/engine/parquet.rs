//! Parquet inputs (`flowlog::parquet`): told by their `PAR1` magic and
//! read into the same processors and accounting as text.

use std::sync::Arc;

use super::worker::Worker;
use super::{EngineOptions, FileError, Processor};
use crate::flowlog::reader::Input;

/// Reads `input` if it is a Parquet file or S3 object (true), on this
/// thread.
#[cfg(feature = "parquet")]
pub(super) fn read_one<P: Processor>(w: &mut Worker<P>, file: &Arc<str>, input: &Input) -> bool {
    use crate::flowlog::parquet;
    let opts = parquet::ReadOpts {
        max_bad: w.max_bad,
        progress: w.progress.clone(),
    };
    let report = match input {
        Input::Path(path) => {
            if !parquet::is_parquet_file(path) {
                return false;
            }
            parquet::read(path, file, &mut w.proc, &mut w.acc, &mut w.bad, &opts)
        }
        Input::S3(object) => match s3_parquet(object) {
            None => return false,
            Some(Err(e)) => {
                w.open_failed(file.clone(), crate::flowlog::reader::ReadError::Open(e));
                return true;
            }
            Some(Ok(body)) => {
                let size = body.len() as u64;
                parquet::read_from(body, size, file, &mut w.proc, &mut w.acc, &mut w.bad, &opts)
            }
        },
        Input::Stdin => return false,
    };
    w.parquet_done(file, report);
    true
}

/// An S3 object that is Parquet, fetched whole (the format's index, its
/// footer, is at the end); None when the object is not Parquet, which is
/// then read as text from its start.
#[cfg(feature = "parquet")]
fn s3_parquet(object: &crate::source::s3::Object) -> Option<std::io::Result<bytes::Bytes>> {
    use std::io::Read;
    match object.is_parquet() {
        Ok(false) => None,
        Err(e) => Some(Err(e)),
        Ok(true) => Some(object.open().and_then(|mut r| {
            let mut body = Vec::new();
            r.read_to_end(&mut body)?;
            Ok(body.into())
        })),
    }
}

/// Reads `input` with `threads` workers over its row groups if it is a
/// Parquet file.
#[cfg(feature = "parquet")]
pub(super) fn read_parallel<P: Processor, F: Fn() -> P + Sync>(
    input: &Input,
    file: &Arc<str>,
    threads: usize,
    opts: &EngineOptions,
    make: &F,
) -> Option<Worker<P>> {
    use crate::flowlog::parquet;
    let path = match input {
        Input::Path(path) => path,
        // An object is fetched whole and read on one thread.
        Input::S3(_) => {
            let mut w = Worker::new(make(), opts);
            return read_one(&mut w, file, input).then_some(w);
        }
        Input::Stdin => return None,
    };
    if !parquet::is_parquet_file(path) {
        return None;
    }
    let read_opts = parquet::ReadOpts {
        max_bad: opts.max_bad_lines,
        progress: opts.progress.clone(),
    };
    let (parts, report) = parquet::read_parallel(path, file, threads, &read_opts, make);
    let mut total = Worker::new(make(), opts);
    for p in parts {
        let mut w = Worker::new(p.proc, opts);
        w.acc = p.acc;
        w.bad = p.bad;
        total.merge(w);
    }
    total.parquet_done(file, report);
    Some(total)
}

#[cfg(feature = "parquet")]
impl<P: Processor> Worker<P> {
    /// Counts a Parquet file read, with its error and warnings.
    fn parquet_done(&mut self, file: &Arc<str>, report: crate::flowlog::parquet::Report) {
        self.progress.file_done();
        self.acc.files += 1;
        if let Some(message) = report.error {
            self.acc.files_failed += 1;
            self.errors.push(FileError {
                file: file.clone(),
                message,
            });
        }
        for message in report.warnings {
            self.warnings.push(FileError {
                file: file.clone(),
                message,
            });
        }
    }
}

/// Without the `parquet` feature, Parquet files reach the text reader,
/// which refuses them by their magic (`sniff`).
#[cfg(not(feature = "parquet"))]
pub(super) fn read_one<P: Processor>(_: &mut Worker<P>, _: &Arc<str>, _: &Input) -> bool {
    false
}

#[cfg(not(feature = "parquet"))]
pub(super) fn read_parallel<P: Processor, F: Fn() -> P + Sync>(
    _: &Input,
    _: &Arc<str>,
    _: usize,
    _: &EngineOptions,
    _: &F,
) -> Option<Worker<P>> {
    None
}
