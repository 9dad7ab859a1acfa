//! Cutting a decoded input into chunks of whole lines.
//!
//! A `ChunkReader` hands out ~1 MiB chunks that end on a line boundary,
//! each tagged with the format in force and the number of its first line,
//! so chunks can be parsed on any thread. Header lines (the first line of
//! an S3 object, or one in the middle of concatenated files) switch the
//! format. A reader whose chunks are parsed on other threads finds them
//! itself (`scan`) and cuts its chunks before them; a `lazy` one, whose
//! chunks its own thread parses one by one, leaves the lines of a chunk
//! to that thread, which splits them anyway
//! (`Chunk::for_each_line_with`), and is told afterwards what they held
//! (`ChunkReader::chunk_done`): the bytes are then scanned once, not twice.
//!
//! Where the bytes come from is a `Source`: a stream (`open::open`), or
//! an input already whole in memory (a small gzip file inflated at once).

mod chunk;
mod scan;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::sync::Arc;

use memchr::memchr;

pub use self::chunk::{Buffers, Chunk, ChunkLines, FormatCtx};
use self::scan::{header_line, scan};
use super::format::trim_line;
use super::parse::MAX_LINE;
use super::sniff::{self, Refusal};

// The inputs, under the names they had when they lived here (callers
// outside `flowlog` use them through this module).
pub use crate::source::input::{dedup_inputs, expand_inputs, Input, InputProblem};

/// Chunk size handed to parsers (1 MiB): large enough to amortise the
/// hand-off between threads, small enough to keep memory flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// The bytes a `ChunkReader` cuts into chunks.
pub enum Source<R> {
    /// A decoded byte stream, read a chunk at a time.
    Stream(R),
    /// The whole input, already in memory: its buffer becomes the chunks'
    /// as it is, with no copy.
    Whole(Vec<u8>),
}

/// How a `ChunkReader` works, fixed before it reads:
/// `ChunkReaderBuilder::new(format).lazy(true).build(source)`.
pub struct ChunkReaderBuilder {
    format: Arc<FormatCtx>,
    lazy: bool,
    limit: Option<usize>,
    buffers: Vec<Buffers>,
}

impl ChunkReaderBuilder {
    /// A reader to set up, starting from `format` (the input's default).
    pub fn new(format: Arc<FormatCtx>) -> ChunkReaderBuilder {
        ChunkReaderBuilder {
            format,
            lazy: false,
            limit: None,
            buffers: Vec::new(),
        }
    }

    /// Leaves the lines of its chunks to the caller, which splits them
    /// (`Chunk::for_each_line_with`) and tells the reader what it found
    /// (`chunk_done`) before asking for the next chunk. Only for a reader
    /// whose chunks are parsed in order on one thread: the first line and
    /// the format of a chunk depend on the ones before it.
    pub fn lazy(mut self, yes: bool) -> Self {
        self.lazy = yes;
        self
    }

    /// Caps the buffers the reader makes at `n` (at least 2: the one it
    /// fills and the next). For a reader whose chunks are parsed on other
    /// threads and come back (`give_back`): the caller waits for one to
    /// come back whenever `needs_buffer` says so. Without the cap, a
    /// reader that ran ahead of its parsers made a new buffer each time
    /// none had come back yet and dropped the extra ones later, so peak
    /// memory depended on timing (17 to 72 buffers made for the same
    /// 1.1 GB stream).
    pub fn buffer_limit(mut self, n: usize) -> Self {
        self.limit = Some(n.max(2));
        self
    }

    /// Buffers left by an earlier reader (`ChunkReader::release`): a
    /// worker reading hundreds of S3 objects would otherwise allocate,
    /// zero and fault in a new 1 MiB buffer or two for each.
    pub fn buffers(mut self, pool: Vec<Buffers>) -> Self {
        self.buffers = pool;
        self
    }

    /// The reader of `source`.
    pub fn build<R: Read>(self, source: Source<R>) -> ChunkReader<R> {
        let mut r = ChunkReader {
            src: None,
            buf: Vec::new(),
            start: 0,
            len: 0,
            eof: false,
            line: 0,
            format: self.format,
            spare: Vec::new(),
            made: 0,
            limit: self.limit,
            lazy: self.lazy,
            uncounted: None,
            counts: ReaderCounts::default(),
            too_long_lines: Vec::new(),
            truncated_line: None,
            pending_error: None,
            sniffed: false,
            cr_only: false,
        };
        for b in self.buffers {
            r.give_back(b);
        }
        match source {
            Source::Stream(src) => r.src = Some(src),
            Source::Whole(data) => {
                r.len = data.len();
                r.counts.decompressed = data.len() as u64;
                r.buf = data;
                r.eof = true;
            }
        }
        r
    }
}

/// Per-input counts the reader itself makes: header lines and lines too
/// long to read.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReaderCounts {
    pub headers: u64,
    pub too_long: u64,
    pub decompressed: u64,
    /// The piece of a line left where the input broke off (0 or 1).
    pub truncated: u64,
}

/// A lazy reader's chunk whose lines are not counted yet.
#[derive(Debug, Clone, Copy)]
struct Uncounted {
    /// The input broke off in the line after the chunk's.
    truncated: bool,
}

/// Cuts a byte stream into chunks of whole lines.
pub struct ChunkReader<R> {
    /// `None` for a whole input, which is never read.
    src: Option<R>,
    buf: Vec<u8>,
    start: usize,
    len: usize,
    eof: bool,
    line: u64,
    format: Arc<FormatCtx>,
    spare: Vec<Vec<u8>>,
    /// Buffers this reader has made (`fresh_buffer`), and the most it
    /// may make when its chunks go to other threads
    /// (`ChunkReaderBuilder::buffer_limit`).
    made: usize,
    limit: Option<usize>,
    /// Leaves the lines of its chunks to its caller (`ChunkReaderBuilder::lazy`).
    lazy: bool,
    /// A lazy reader's chunk is out: its lines are not counted yet
    /// (`chunk_done`), nor, if the input broke off after it, the number
    /// of the line it broke off in.
    uncounted: Option<Uncounted>,
    pub counts: ReaderCounts,
    /// Line numbers of lines skipped as too long (first few).
    pub too_long_lines: Vec<u64>,
    /// Line number of the unterminated line dropped where the input broke off.
    pub truncated_line: Option<u64>,
    /// A read error met while filling: the data before it is delivered
    /// first, then the error.
    pending_error: Option<io::Error>,
    /// The start of the text was looked at (`sniff::text_start`).
    sniffed: bool,
    /// Lines end in a lone `\r`: each is read as `\n`.
    cr_only: bool,
}

impl<R: Read> ChunkReader<R> {
    /// The reader of the stream `src`, with the default settings (not
    /// lazy, no buffer limit).
    pub fn new(src: R, format: Arc<FormatCtx>) -> ChunkReader<R> {
        ChunkReaderBuilder::new(format).build(Source::Stream(src))
    }

    /// The format in force: the last header line's, or the default.
    pub fn format(&self) -> &Arc<FormatCtx> {
        &self.format
    }

    /// True if the input's lines end in a lone `\r` (and were read so).
    pub fn cr_only(&self) -> bool {
        self.cr_only
    }

    /// Looks at the start of the text once, after the first fill: drops a
    /// UTF-8 byte-order mark, turns lone `\r`s into `\n`s, or refuses the
    /// input (UTF-16, tar) before any of it is parsed.
    fn sniff(&mut self) -> io::Result<()> {
        self.sniffed = true;
        let head = &self.buf[self.start..self.len];
        let start = sniff::text_start(head, self.eof).map_err(Refusal::into_io)?;
        self.start += start.skip;
        if start.cr_only {
            self.cr_only = true;
            let (from, to) = (self.start, self.len);
            cr_to_lf(&mut self.buf[from..to]);
        }
        // A Transit Gateway flow log without its header line.
        let head = &self.buf[self.start..self.len];
        if let Some(f) = super::tgw::headerless_default(head, &self.format.format) {
            self.format = FormatCtx::new(f);
        }
        Ok(())
    }

    /// Takes what the lines of the last chunk held (`for_each_line_with`)
    /// into the count of lines and headers, and the format in force; for a
    /// reader that is not lazy, whose chunks are counted as they are cut,
    /// nothing.
    pub fn chunk_done(&mut self, seen: ChunkLines) {
        let Some(u) = self.uncounted.take() else {
            debug_assert!(seen.headers == 0, "chunks are cut before header lines");
            return;
        };
        self.line += seen.lines;
        self.counts.headers += seen.headers;
        if u.truncated {
            // The line the input broke off in follows the chunk's (it was
            // counted already when it was dropped).
            self.truncated_line = Some(self.line);
        }
        if let Some(f) = seen.format {
            self.format = f;
        }
    }

    /// Lines seen so far (including headers and skipped lines).
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Returns a chunk's buffers for reuse.
    pub fn give_back(&mut self, buf: Buffers) {
        // With a limit, every buffer comes back to be used again: there
        // are never more than the limit.
        if self.limit.is_some() || self.spare.len() < 4 {
            self.spare.push(buf.bytes);
        }
    }

    /// True when the next chunk would need a buffer beyond the limit
    /// (`ChunkReaderBuilder::buffer_limit`): one must come back first.
    pub fn needs_buffer(&self) -> bool {
        self.limit
            .is_some_and(|n| self.spare.is_empty() && self.made >= n)
    }

    /// Hands this reader's buffers to `pool` for the next reader.
    pub fn release(&mut self, pool: &mut Vec<Buffers>) {
        let bytes = std::mem::take(&mut self.buf);
        if !bytes.is_empty() {
            pool.push(Buffers { bytes });
        }
        while let Some(bytes) = self.spare.pop() {
            pool.push(Buffers { bytes });
        }
    }

    fn fresh_buffer(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_else(|| {
            self.made += 1;
            Vec::new()
        });
        // A recycled buffer already has the size: zeroing it again for
        // every chunk was 3% of a single-thread run (its bytes are always
        // written by `read` before they are looked at). One cut shorter
        // (the output of a whole input) is zeroed only past its length,
        // and a longer one cut to the size: its bytes are initialised
        // already, only stale (clearing it first zeroed all 1 MiB for
        // every streamed input after a whole one).
        b.resize(CHUNK_SIZE + MAX_LINE, 0);
        b
    }

    /// Reads until the buffer holds a full chunk or the input ends.
    fn fill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() && !self.eof {
            self.buf = self.fresh_buffer();
        }
        while !self.eof && self.len - self.start < CHUNK_SIZE {
            if self.len == self.buf.len() {
                // Compact: move the unread tail to the front.
                self.buf.copy_within(self.start..self.len, 0);
                self.len -= self.start;
                self.start = 0;
                if self.len == self.buf.len() {
                    break;
                }
            }
            let Some(src) = self.src.as_mut() else {
                self.eof = true;
                break;
            };
            match src.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    if self.cr_only {
                        cr_to_lf(&mut self.buf[self.len..self.len + n]);
                    }
                    self.len += n;
                    self.counts.decompressed += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.pending_error = Some(e);
                }
            }
        }
        Ok(())
    }

    /// The next chunk of lines, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        loop {
            self.fill()?;
            if !self.sniffed {
                self.sniff()?;
            }
            if self.start == self.len {
                if self.eof {
                    return match self.pending_error.take() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                continue;
            }
            // A header line at the start of the buffer switches the format.
            if self.buf[self.start].is_ascii_lowercase() {
                if let Some(nl) = memchr(b'\n', &self.buf[self.start..self.len]) {
                    let line = &self.buf[self.start..self.start + nl];
                    if let Some(f) = header_line(line) {
                        self.format = FormatCtx::new(f);
                        self.counts.headers += 1;
                        self.line += 1;
                        self.start += nl + 1;
                        continue;
                    }
                } else if self.eof && self.pending_error.is_none() {
                    let line = trim_line(&self.buf[self.start..self.len]);
                    if header_line(line).is_some() {
                        self.counts.headers += 1;
                        self.line += 1;
                        self.start = self.len;
                        continue;
                    }
                }
            }
            let region = &self.buf[self.start..self.len];
            let first_line = self.line + 1;
            // The chunk's lines: counted here, and cut before a header
            // line; or, lazy, up to the last newline, left to the caller.
            let (mut lines, mut end, header_next) = if self.lazy {
                let end = memchr::memrchr(b'\n', region).map_or(0, |nl| nl + 1);
                (None, end, false)
            } else {
                let (lines, end, header_next) = scan(region, self.eof);
                (Some(lines), end, header_next)
            };
            if end == 0 {
                lines = Some(0);
            }
            let mut truncated = false;
            if !header_next && self.eof && end < region.len() {
                if self.pending_error.is_some() {
                    // The input broke off inside this line: a cut number
                    // would still parse, so the piece is dropped and
                    // counted (`truncated_line`), never parsed.
                    self.counts.truncated += 1;
                    truncated = true;
                    if let Some(lines) = lines {
                        self.truncated_line = Some(self.line + lines + 1);
                    }
                    self.len = self.start + end;
                    if end == 0 {
                        self.line += 1;
                        continue;
                    }
                    // Counted after the chunk's own lines, below.
                    self.line += 1;
                } else {
                    // The last line has no newline.
                    lines = lines.map(|l| l + 1);
                    end = region.len();
                }
            }
            if end == 0 {
                // No complete line in a full buffer: a line too long to keep.
                if region.len() >= MAX_LINE {
                    self.skip_long_line()?;
                    continue;
                }
                continue;
            }
            match lines {
                Some(lines) => self.line += lines,
                None => self.uncounted = Some(Uncounted { truncated }),
            }
            let tail = self.start + end..self.len;
            let tail_len = tail.len();
            let mut next = if tail_len == 0 && self.eof {
                // Nothing left to read into it.
                Vec::new()
            } else if tail_len <= CHUNK_SIZE + MAX_LINE {
                self.fresh_buffer()
            } else {
                // What follows a header line inside a whole input
                // (`Source::Whole`; a streamed buffer is never this full).
                vec![0; tail_len]
            };
            next[..tail_len].copy_from_slice(&self.buf[tail]);
            let buf = std::mem::replace(&mut self.buf, next);
            let chunk = Chunk {
                buf,
                start: self.start,
                end: self.start + end,
                first_line,
                format: self.format.clone(),
            };
            self.start = 0;
            self.len = tail_len;
            return Ok(Some(chunk));
        }
    }

    /// Discards bytes up to and including the next newline.
    fn skip_long_line(&mut self) -> io::Result<()> {
        self.line += 1;
        self.counts.too_long += 1;
        if self.too_long_lines.len() < 3 {
            self.too_long_lines.push(self.line);
        }
        loop {
            if let Some(nl) = memchr(b'\n', &self.buf[self.start..self.len]) {
                self.start += nl + 1;
                return Ok(());
            }
            self.start = 0;
            self.len = 0;
            if self.eof {
                return Ok(());
            }
            self.fill()?;
            if self.len == 0 && self.eof {
                return Ok(());
            }
        }
    }
}

/// Reads each `\r` as the end of a line (`ChunkReader::cr_only`).
fn cr_to_lf(bytes: &mut [u8]) {
    for b in bytes {
        if *b == b'\r' {
            *b = b'\n';
        }
    }
}
