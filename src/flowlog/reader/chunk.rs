//! A chunk: whole lines of one input in a reusable buffer, with the
//! format in force and the number of its first line, and the loop that
//! hands its lines to the parser.

use std::sync::Arc;

use super::scan::{header_line, line_end};
use crate::flowlog::format::Format;
use crate::flowlog::parse::Parser;
use crate::flowlog::window::Window;

/// A format together with its parser, shared by the chunks that use it.
#[derive(Debug)]
pub struct FormatCtx {
    pub format: Format,
    pub parser: Parser,
}

impl FormatCtx {
    pub fn new(format: Format) -> Arc<FormatCtx> {
        let parser = Parser::new(&format);
        Arc::new(FormatCtx { format, parser })
    }
}

/// Whole lines of one input.
#[derive(Debug)]
pub struct Chunk {
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Line number (1-based) of the first line in the chunk.
    pub first_line: u64,
    /// Format in force for these lines.
    pub format: Arc<FormatCtx>,
}

impl Chunk {
    /// The bytes: whole lines, each ending in `\n` except perhaps the last
    /// line of the input.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Gives the buffer back for reuse.
    pub fn into_buffer(self) -> Buffers {
        Buffers { bytes: self.buf }
    }

    /// Calls `f(line_number, line)` for each line (without `\n`) that is
    /// not a header line; see `for_each_line_with`.
    pub fn for_each_line(&self, mut f: impl FnMut(u64, &[u8])) -> ChunkLines {
        // SAFETY: without `V3` nothing is required.
        unsafe { self.for_each_line_with::<false>(|line_no, line, _, _| f(line_no, line)) }
    }

    /// Calls `f(line_number, line, window, format)` for each line of the
    /// chunk (without `\n`) but header lines, which switch the format for
    /// the lines after them, and says what the lines were.
    ///
    /// `window` is the line's first `window::WINDOW` bytes in the chunk's
    /// buffer, where it has them: the line, the next lines, then stale
    /// bytes of earlier use (initialised, so safe to read, but
    /// meaningless), with their masks (spaces, digits, newlines). The
    /// line's end is found in those masks, and the parser reads its
    /// fixed-size blocks and its tokens from them (`Parser::
    /// parse_into_for`): one pass over a line's bytes does for both.
    ///
    /// Header lines are only met here in a `lazy` reader's chunks; any
    /// other reader cuts its chunks before them.
    ///
    /// # Safety
    /// With `V3`, the CPU must be x86-64-v3 (`crate::simd::x86_64_v3`),
    /// and the caller compiled for it (`engine::Worker::chunk_v3`).
    #[inline(always)]
    pub(crate) unsafe fn for_each_line_with<const V3: bool>(
        &self,
        mut f: impl FnMut(u64, &[u8], Option<Window<'_>>, &FormatCtx),
    ) -> ChunkLines {
        let data = self.data();
        let after = &self.buf[self.start..];
        let mut format: Option<Arc<FormatCtx>> = None;
        let mut fmt = &*self.format;
        let mut headers = 0;
        let mut pos = 0;
        let mut line_no = self.first_line;
        while pos < data.len() {
            // SAFETY (both calls): passed on from the caller.
            let window = unsafe { Window::at::<V3>(&after[pos..]) };
            let end = match window.map(|w| w.newline()) {
                // A `\n` past the data is a stale byte: the data ends
                // without one.
                Some(Some(nl)) => (pos + nl).min(data.len()),
                // None in the first 128 bytes: a long line.
                Some(None) => unsafe { line_end::<V3>(data, after, pos + 128) },
                None => unsafe { line_end::<V3>(data, after, pos) },
            };
            let line = &data[pos..end];
            if let Some(f) = header_line(line) {
                headers += 1;
                fmt = &**format.insert(FormatCtx::new(f));
                pos = end + 1;
                line_no += 1;
                continue;
            }
            f(line_no, line, window, fmt);
            pos = end + 1;
            line_no += 1;
        }
        ChunkLines {
            lines: line_no - self.first_line,
            headers,
            format,
        }
    }
}

/// What a chunk's lines held (`Chunk::for_each_line_with`), for a lazy
/// reader, which hands its chunks out without counting them
/// (`ChunkReader::chunk_done`).
#[derive(Debug, Default)]
pub struct ChunkLines {
    /// Lines, header lines included.
    pub lines: u64,
    pub headers: u64,
    /// The format of the last header line, if there was one.
    pub format: Option<Arc<FormatCtx>>,
}

/// A chunk's storage, handed back to its reader for reuse
/// (`ChunkReader::give_back`).
#[derive(Debug, Default)]
pub struct Buffers {
    pub(super) bytes: Vec<u8>,
}

impl From<Vec<u8>> for Buffers {
    /// A buffer for the next reader (the output of a whole input, say).
    fn from(bytes: Vec<u8>) -> Buffers {
        Buffers { bytes }
    }
}

impl Buffers {
    /// The largest byte buffer in `pool` (empty if none), taken out of it:
    /// for an input read whole, so that the next one reuses the memory
    /// already faulted in.
    pub fn take_largest(pool: &mut [Buffers]) -> Vec<u8> {
        pool.iter_mut()
            .max_by_key(|b| b.bytes.capacity())
            .map(|b| std::mem::take(&mut b.bytes))
            .unwrap_or_default()
    }

    /// Gives back a buffer `take_largest` took from `pool` and did not
    /// use: into the slot it left empty.
    pub fn put_back(pool: &mut [Buffers], bytes: Vec<u8>) {
        if let Some(slot) = pool.iter_mut().find(|b| b.bytes.capacity() == 0) {
            slot.bytes = bytes;
        }
    }
}
