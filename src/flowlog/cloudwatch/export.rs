//! `aws logs create-export-task` objects and `aws logs tail` output:
//! `TIME MESSAGE` a line (tail's detailed form: `TIME STREAM MESSAGE`).
//! The time is the log event's, which for a flow log equals the record's
//! `start` (docs/delivery-forms.md §1): it is cut off and the message is
//! read with the flow log's format. One line in, one line out, so line
//! numbers in messages are the file's.

use std::io::{self, BufRead, BufReader, Read};

use crate::flowlog::parse::MAX_LINE;
use crate::flowlog::sniff::{time_shape, TimeShape};

/// Bytes handed on per refill (the chunk reader asks for much more; this
/// bounds the buffer, not the speed).
const OUT: usize = 256 * 1024;

/// Lines of an export with their time column cut off. A line that does
/// not start with a time of the file's shape (a header line or record of
/// an S3 object concatenated to the export) is passed on as it is, and
/// read as such.
pub struct ExportLines<R> {
    src: BufReader<R>,
    shape: TimeShape,
    line: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    /// The next bytes read continue a line longer than `MAX_LINE`
    /// (handed on in pieces: the chunk reader skips it as too long).
    mid_line: bool,
    pending_error: Option<io::Error>,
    eof: bool,
}

impl<R: Read> ExportLines<R> {
    /// The lines of `src`, an input whose times have the shape `shape`.
    pub fn new(src: R, shape: TimeShape) -> ExportLines<R> {
        ExportLines {
            src: BufReader::with_capacity(OUT, src),
            shape,
            line: Vec::new(),
            out: Vec::with_capacity(OUT + MAX_LINE),
            pos: 0,
            mid_line: false,
            pending_error: None,
            eof: false,
        }
    }

    /// Refills `out` with whole lines (or pieces of a too long one).
    fn refill(&mut self) {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < OUT && !self.eof {
            self.line.clear();
            let limit = (MAX_LINE + 64) as u64;
            match (&mut self.src)
                .take(limit)
                .read_until(b'\n', &mut self.line)
            {
                Ok(0) => self.eof = true,
                Ok(_) => {
                    let whole = self.line.ends_with(b"\n");
                    let text = if self.mid_line {
                        &self.line[..]
                    } else {
                        strip_time(&self.line, self.shape)
                    };
                    self.out.extend_from_slice(text);
                    self.mid_line = !whole;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was read of the line before the error is handed
                    // on: the chunk reader drops it as cut off.
                    self.out.extend_from_slice(&self.line);
                    self.pending_error = Some(e);
                    self.eof = true;
                }
            }
        }
    }
}

/// `line` without its time column (and, for `aws logs tail --format
/// detailed`, the log stream's name after it), if it starts with a time
/// of `shape`; else as it is.
fn strip_time(line: &[u8], shape: TimeShape) -> &[u8] {
    let Some(sp) = memchr::memchr(b' ', line) else {
        return line;
    };
    if time_shape(&line[..sp]) != Some(shape) {
        return line;
    }
    let rest = &line[sp + 1..];
    if shape == TimeShape::TailDetailed {
        return match memchr::memchr(b' ', rest) {
            Some(sp) => &rest[sp + 1..],
            None => line,
        };
    }
    rest
}

impl<R: Read> Read for ExportLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.out.len() {
            if self.eof {
                return match self.pending_error.take() {
                    Some(e) => Err(e),
                    None => Ok(0),
                };
            }
            self.refill();
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        if n == 0 {
            return match self.pending_error.take() {
                Some(e) => Err(e),
                None => Ok(0),
            };
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ExportLines::new(text, TimeShape::Export)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn times_cut_other_lines_kept() {
        let out = read(
            b"2019-11-20T00:00:03.000Z 2 1 eni-1 ACCEPT OK\nversion srcaddr\n\n2019-11-20T00:00:04.000Z x",
        );
        assert_eq!(out, b"2 1 eni-1 ACCEPT OK\nversion srcaddr\n\nx");
    }

    #[test]
    fn tail_detailed_drops_the_stream() {
        let line = b"2018-09-22T20:28:14.000000+00:00 eni-d68830d4-all 2 6331 eni-d68830d4\n";
        assert_eq!(
            strip_time(line, TimeShape::TailDetailed),
            b"2 6331 eni-d68830d4\n"
        );
        assert_eq!(
            strip_time(b"2018-09-22T20:28:14 2 x\n", TimeShape::TailShort),
            b"2 x\n"
        );
        // Another shape than the file's: kept.
        assert_eq!(strip_time(line, TimeShape::Export), line);
    }

    #[test]
    fn a_long_line_is_handed_on_in_pieces() {
        let mut text = b"2019-11-20T00:00:03.000Z ".to_vec();
        text.extend(std::iter::repeat_n(b'9', 3 * MAX_LINE));
        text.extend(b"\n2019-11-20T00:00:04.000Z 2 ok\n");
        let out = read(&text);
        assert_eq!(out.len(), 3 * MAX_LINE + b"\n2 ok\n".len());
        assert!(out.ends_with(b"\n2 ok\n"));
    }
}
