//! Opening inputs and cutting them into chunks of whole lines.
//!
//! Gzip is detected by its magic bytes, never by the file name, and read
//! with `MultiGzDecoder`: S3 objects written by Firehose, or `cat a.gz
//! b.gz`, hold several members, and a reader that stops after the first
//! silently loses the rest. A `ChunkReader` hands out ~1 MiB chunks that
//! end on a line boundary, each tagged with the format in force and the
//! number of its first line, so chunks can be parsed on any thread. Header
//! lines (the first line of an S3 object, or one in the middle of
//! concatenated files) switch the format. A reader whose chunks are
//! parsed on other threads finds them itself and cuts its chunks before
//! them; a `lazy` one, whose chunks its own thread parses one by one,
//! leaves the lines of a chunk to that thread, which splits them anyway
//! (`Chunk::for_each_line_with`), and is told afterwards what they held
//! (`ChunkReader::chunk_done`): the bytes are then scanned once, not twice.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memchr::memchr;

use super::fast::Window;
use super::format::{trim_line, Format};
use super::parse::{Parser, MAX_LINE};
use super::sniff::{self, Compression, GzMembers, Refusal, ZstdFrames};

/// Chunk size handed to parsers (1 MiB): large enough to amortise the
/// hand-off between threads, small enough to keep memory flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Read size for files (256 KiB).
const READ_BUF: usize = 256 * 1024;

/// One input: a file, standard input or an S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
    /// Listed and fetched by `source::s3`.
    S3(crate::source::s3::Object),
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

/// The format a header line gives, if `line` is one. Data lines start
/// with a digit or `-` in every format but one that begins with a text
/// field, so the full check runs only on lines that start with a
/// lowercase letter. The one rule for every place a header line may be
/// met: the start of a chunk, inside one (`scan`) and in a lazy reader's
/// chunk (`Chunk::for_each_line_with`).
#[inline(always)]
fn header_line(line: &[u8]) -> Option<Format> {
    if line.first().is_some_and(u8::is_ascii_lowercase) {
        Format::from_header_line(line)
    } else {
        None
    }
}

/// The lines of `region` as a chunk takes them: how many, the end of the
/// last (0 if none ends in it), and whether a header line follows them
/// (concatenated S3 objects), before which the chunk stops. A line that
/// the region ends in the middle of is not a header line unless `eof`.
///
/// The reader of one big input runs this on the thread that inflates it,
/// the pipeline's slowest stage, so it only counts: the newlines of 64
/// bytes are one mask (`simd::line_start_masks`), counted by `popcnt`,
/// and only a line whose first byte is in the second mask (a letter)
/// is looked at as a header line. Its lines are split again by the
/// parser's loop (`Chunk::for_each_line_with`).
fn scan(region: &[u8], eof: bool) -> (u64, usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::x86_64_v3() {
        // SAFETY: the CPU has every feature `scan_v3` enables.
        return unsafe { scan_v3(region, eof) };
    }
    // SAFETY: without `V3` nothing is required.
    unsafe { scan_with::<false>(region, eof) }
}

/// `scan` compiled for x86-64-v3 CPUs (AVX2 masks, `popcnt`, `lzcnt`).
///
/// # Safety
/// The CPU must support the enabled features (`simd::x86_64_v3`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn scan_v3(region: &[u8], eof: bool) -> (u64, usize, bool) {
    // SAFETY: compiled for and run on an x86-64-v3 CPU.
    unsafe { scan_with::<true>(region, eof) }
}

/// `scan`, with AVX2 in `V3` code. The loop over whole blocks keeps
/// its state in registers: the last partial block and header lines are
/// handled out of it.
///
/// # Safety
/// As for `simd::line_start_masks`.
#[inline(always)]
unsafe fn scan_with<const V3: bool>(region: &[u8], eof: bool) -> (u64, usize, bool) {
    let mut s = Scan {
        lines: 0,
        last: (0, 0),
        carry: 0,
    };
    let blocks = region.chunks_exact(64);
    let rest = blocks.remainder();
    for (i, block) in blocks.enumerate() {
        // SAFETY (both): passed on from the caller.
        let header = unsafe { s.block::<V3>(region, 64 * i, block.try_into().expect("64"), eof) };
        if let Some(at) = header {
            return (s.lines, at, true);
        }
    }
    if !rest.is_empty() {
        // Zeros after the last bytes: neither newlines nor letters.
        let mut tail = [0u8; 64];
        tail[..rest.len()].copy_from_slice(rest);
        if let Some(at) = unsafe { s.block::<V3>(region, region.len() - rest.len(), &tail, eof) } {
            return (s.lines, at, true);
        }
    }
    let end = match s.last {
        (_, 0) => 0,
        (at, newlines) => at + 64 - newlines.leading_zeros() as usize,
    };
    (s.lines, end, false)
}

/// What `scan` knows of the blocks before the next.
struct Scan {
    lines: u64,
    /// The last block with a newline: its offset and newlines.
    last: (usize, u64),
    /// 1 if the last block ended in a newline: a line starts at bit 0.
    carry: u64,
}

impl Scan {
    /// Takes in the block at `base` in `region` (the block, or its
    /// zero-padded copy at the end). If a header line starts in it, its
    /// offset, with `lines` counting the lines before it only.
    ///
    /// # Safety
    /// As for `simd::line_start_masks`.
    #[inline(always)]
    unsafe fn block<const V3: bool>(
        &mut self,
        region: &[u8],
        base: usize,
        block: &[u8; 64],
        eof: bool,
    ) -> Option<usize> {
        // SAFETY: passed on from the caller.
        let (newlines, letters) = unsafe { crate::simd::line_start_masks::<V3>(block) };
        let starts = (newlines << 1 | self.carry) & letters;
        if starts != 0 {
            if let Some(at) = first_header(region, base, starts, eof) {
                let before = newlines & ((1u64 << (at - base)) - 1);
                self.lines += before.count_ones() as u64;
                return Some(at);
            }
        }
        self.lines += newlines.count_ones() as u64;
        if newlines != 0 {
            self.last = (base, newlines);
        }
        self.carry = newlines >> 63;
        None
    }
}

/// The offset of the first header line among the lines that start at
/// bits `starts` of the block at `base` in `region` (`scan`).
#[inline(never)]
fn first_header(region: &[u8], base: usize, mut starts: u64, eof: bool) -> Option<usize> {
    while starts != 0 {
        let at = base + starts.trailing_zeros() as usize;
        let rest = &region[at..];
        // A line the region ends in is a header only at the input's end.
        let line = match memchr(b'\n', rest) {
            Some(n) => Some(&rest[..n]),
            None if eof => Some(rest),
            None => None,
        };
        if line.and_then(header_line).is_some() {
            return Some(at);
        }
        starts &= starts - 1;
    }
    None
}

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
    buf: Vec<u8>,
    start: usize,
    end: usize,
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
    /// `window` is the line's first `fast::WINDOW` bytes in the chunk's
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

/// Offset in `data` of the first `\n` from `from` on, or `data.len()`
/// if there is none. `after` is `data` followed by the rest of its buffer
/// (any bytes): where it holds 64 bytes from a position, they are searched
/// as one block. A `\n` found past the data is one of those stale bytes,
/// and means the data has none.
///
/// # Safety
/// As for `Chunk::for_each_line_with`.
#[inline(always)]
unsafe fn line_end<const V3: bool>(data: &[u8], after: &[u8], from: usize) -> usize {
    let mut at = from;
    if at >= data.len() {
        return data.len();
    }
    while let Some(block) = after.get(at..at + 64) {
        // SAFETY: passed on from the caller.
        let (m, _) =
            unsafe { crate::simd::line_start_masks::<V3>(block.try_into().expect("64 bytes")) };
        if m != 0 {
            return (at + m.trailing_zeros() as usize).min(data.len());
        }
        at += 64;
        if at >= data.len() {
            return data.len();
        }
    }
    memchr(b'\n', &data[at..]).map_or(data.len(), |nl| at + nl)
}

/// A chunk's storage, handed back to its reader for reuse
/// (`ChunkReader::give_back`).
#[derive(Debug, Default)]
pub struct Buffers {
    bytes: Vec<u8>,
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
}

/// Reading failed part-way: the lines before the failure were delivered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// Not flow-log text this reader decodes (`sniff`).
    #[error("{0}")]
    Refused(Refusal),
    #[error("{kind} at compressed byte offset {compressed} (decompressed {decompressed} bytes, {lines} lines read before it): {source}")]
    Decode {
        kind: &'static str,
        compressed: u64,
        decompressed: u64,
        lines: u64,
        source: io::Error,
    },
    #[error("read error after {decompressed} bytes ({lines} lines): {source}")]
    Read {
        decompressed: u64,
        lines: u64,
        source: io::Error,
    },
}

/// Counts the bytes a decoder pulls from the file, to name the offset of
/// damage in a compressed file.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: its decoded byte stream.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub compression: Compression,
    /// Bytes consumed from the underlying file or stdin.
    pub consumed: Arc<AtomicU64>,
}

/// Opens an input and detects its compression by magic bytes (`sniff`):
/// gzip and zstd are decoded, other formats refused.
pub fn open(input: &Input) -> Result<Opened, ReadError> {
    let consumed = Arc::new(AtomicU64::new(0));
    let raw: Box<dyn Read + Send> = match input {
        Input::Path(p) => Box::new(File::open(p).map_err(ReadError::Open)?),
        Input::Stdin => Box::new(io::stdin()),
        Input::S3(o) => Box::new(o.open().map_err(ReadError::Open)?),
    };
    let mut br = BufReader::with_capacity(
        READ_BUF,
        Counting {
            inner: raw,
            count: consumed.clone(),
        },
    );
    let head = fill_at_least(&mut br, 8).map_err(ReadError::Open)?;
    let compression = sniff::compression(&head).map_err(ReadError::Refused)?;
    let reader: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(GzMembers::new(br)),
        Compression::Zstd => Box::new(ZstdFrames::new(br)),
        Compression::None => Box::new(br),
    };
    Ok(Opened {
        reader,
        compression,
        consumed,
    })
}

/// The buffered prefix (up to `n` bytes; fewer at EOF). A pipe may deliver
/// fewer bytes per read, so this only looks at what one fill gives, which
/// is at least the magic bytes for any real file.
fn fill_at_least<R: Read>(br: &mut BufReader<R>, n: usize) -> io::Result<Vec<u8>> {
    let buf = br.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
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
    src: R,
    buf: Vec<u8>,
    start: usize,
    len: usize,
    eof: bool,
    line: u64,
    format: Arc<FormatCtx>,
    spare: Vec<Vec<u8>>,
    /// Buffers this reader has made (`fresh_buffer`), and the most it
    /// may make when its chunks go to other threads (`set_buffer_limit`).
    made: usize,
    limit: Option<usize>,
    /// Leaves the lines of its chunks to its caller (`set_lazy`).
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
    pub fn new(src: R, format: Arc<FormatCtx>) -> ChunkReader<R> {
        ChunkReader {
            src,
            buf: Vec::new(),
            start: 0,
            len: 0,
            eof: false,
            line: 0,
            format,
            spare: Vec::new(),
            made: 0,
            limit: None,
            lazy: false,
            uncounted: None,
            counts: ReaderCounts::default(),
            too_long_lines: Vec::new(),
            truncated_line: None,
            pending_error: None,
            sniffed: false,
            cr_only: false,
        }
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
        Ok(())
    }

    /// A reader of `data`, the whole input already in memory (a small
    /// gzip file inflated at once, `whole`): its buffer becomes the
    /// chunks' as it is, with no copy. `src` is never read.
    pub fn from_bytes(src: R, data: Vec<u8>, format: Arc<FormatCtx>) -> ChunkReader<R> {
        let mut r = ChunkReader::new(src, format);
        r.len = data.len();
        r.counts.decompressed = data.len() as u64;
        r.buf = data;
        r.eof = true;
        r
    }

    /// Makes this reader lazy: it no longer looks for the lines of the
    /// chunks it hands out, nor for header lines among them, as the caller
    /// does both when it splits them (`Chunk::for_each_line_with`) and
    /// tells this reader what it found (`chunk_done`) before asking for
    /// the next chunk. Only for a reader whose chunks are parsed in order
    /// on one thread: the first line and the format of a chunk depend on
    /// the ones before it.
    pub fn set_lazy(&mut self) {
        self.lazy = true;
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

    /// Caps the buffers this reader makes at `n` (at least 2: the one it
    /// fills and the next). For a reader whose chunks are parsed on other
    /// threads and come back (`give_back`): the caller waits for one to
    /// come back whenever `needs_buffer` says so. Without the cap, a
    /// reader that ran ahead of its parsers made a new buffer each time
    /// none had come back yet and dropped the extra ones later, so peak
    /// memory depended on timing (17 to 72 buffers made for the same
    /// 1.1 GB stream).
    pub fn set_buffer_limit(&mut self, n: usize) {
        self.limit = Some(n.max(2));
    }

    /// True when the next chunk would need a buffer beyond the limit
    /// (`set_buffer_limit`): one must come back first.
    pub fn needs_buffer(&self) -> bool {
        self.limit
            .is_some_and(|n| self.spare.is_empty() && self.made >= n)
    }

    /// Takes buffers left by an earlier reader (`release`): a worker
    /// reading hundreds of S3 objects would otherwise allocate, zero and
    /// fault in a new 1 MiB buffer or two for each.
    pub fn adopt(&mut self, pool: &mut Vec<Buffers>) {
        for b in pool.drain(..) {
            self.give_back(b);
        }
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
        // written by `read` before they are looked at).
        if b.len() != CHUNK_SIZE + MAX_LINE {
            b.clear();
            b.resize(CHUNK_SIZE + MAX_LINE, 0);
        }
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
            match self.src.read(&mut self.buf[self.len..]) {
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
                // (`from_bytes`; a streamed buffer is never this full).
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
                let mut seen = std::collections::HashSet::new();
                let before = out.len();
                walk(a, &mut out, &mut problems, &mut seen);
                if out.len() == before {
                    problems.push(InputProblem::new(
                        a,
                        "no flow-log files (*.log, *.gz, *.zst, *.txt) in this directory".into(),
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
    let mut seen = std::collections::HashSet::new();
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
        use super::sniff::printable;
        write!(f, "{}: {}", printable(&self.path), self.message)
    }
}

fn walk(
    dir: &Path,
    out: &mut Vec<Input>,
    problems: &mut Vec<InputProblem>,
    seen: &mut std::collections::HashSet<PathBuf>,
) {
    match dir.canonicalize() {
        Ok(c) => {
            if !seen.insert(c) {
                return; // symlink loop or repeated directory
            }
        }
        Err(e) => {
            problems.push(InputProblem::new(dir, e.to_string(), true));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(InputProblem::new(
                dir,
                format!("cannot read directory: {e}"),
                true,
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, out, problems, seen),
            Ok(m) if m.is_file() && looks_like_log(&p) => out.push(Input::Path(p)),
            // A FIFO, socket or device named like a log: opening a FIFO
            // with no writer would block the whole run. (Given by name on
            // the command line, such a path is read: `<(zcat …)`.)
            Ok(_) if looks_like_log(&p) => problems.push(InputProblem::new(
                &p,
                "not a regular file, skipped".into(),
                true,
            )),
            Ok(_) => {}
            Err(e) => problems.push(InputProblem::new(&p, e.to_string(), true)),
        }
    }
}

pub fn looks_like_log(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    !name.starts_with('.')
        && [".log", ".gz", ".zst", ".txt"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Field;

    fn chunks_of(data: &[u8]) -> (Vec<(u64, Vec<u8>, usize)>, ReaderCounts) {
        let mut r = ChunkReader::new(data, FormatCtx::new(Format::default_v2()));
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            out.push((c.first_line, c.data().to_vec(), c.format.format.len()));
        }
        (out, r.counts)
    }

    /// `scan` the plain way: every newline, and the line after each.
    fn scan_reference(region: &[u8], eof: bool) -> (u64, usize, bool) {
        let ends: Vec<usize> = memchr::memchr_iter(b'\n', region).collect();
        for (i, &nl) in ends.iter().enumerate() {
            let rest = &region[nl + 1..];
            let line = match memchr(b'\n', rest) {
                Some(n) => &rest[..n],
                None if eof => rest,
                None => &rest[..0],
            };
            if !rest.is_empty() && Format::from_header_line(line).is_some() {
                return (i as u64 + 1, nl + 1, true);
            }
        }
        (
            ends.len() as u64,
            ends.last().map_or(0, |&nl| nl + 1),
            false,
        )
    }

    #[test]
    fn scan_counts_lines_and_stops_before_headers() {
        // Newlines at block edges, runs of them, none; lengths that leave
        // every remainder size; header lines (whole, cut at the end, in
        // capitals), lines that start with a letter or a byte above 0x7f.
        let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
        let pieces: [&[u8]; 9] = [
            b"\n",
            b"2 123 eni-1 ACCEPT OK",
            b"version srcaddr dstaddr",
            b"VERSION srcaddr",
            b"account-id 5",
            b"x",
            b"{|}\x7f",
            b"\xe1\xa1",
            b"srcaddr",
        ];
        for round in 0..4000 {
            let mut region = Vec::new();
            let want_len = rng.next() as usize % if round % 50 == 0 { 5000 } else { 300 };
            while region.len() < want_len {
                let p = pieces[rng.next() as usize % pieces.len()];
                region.extend_from_slice(p);
                if rng.next().is_multiple_of(2) {
                    region.push(b'\n');
                }
            }
            for eof in [false, true] {
                let got = scan(&region, eof);
                // SAFETY: without `V3` nothing is required.
                let portable = unsafe { scan_with::<false>(&region, eof) };
                let want = scan_reference(&region, eof);
                assert_eq!(
                    got,
                    want,
                    "{:?} eof {eof}",
                    String::from_utf8_lossy(&region)
                );
                assert_eq!(portable, want);
            }
        }
    }

    #[test]
    fn a_buffer_limit_holds_however_far_the_reader_runs_ahead() {
        // Chunks held back (as by slow workers) until the reader needs a
        // buffer: it never makes more than the limit, and loses no line.
        let line = b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 1 40 1 2 ACCEPT OK\n";
        let data: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 80_000)
            .collect();
        let mut r = ChunkReader::new(&data[..], FormatCtx::new(Format::default_v2()));
        r.set_buffer_limit(3);
        let mut held = std::collections::VecDeque::new();
        let mut lines = 0;
        loop {
            if r.needs_buffer() {
                let c: Chunk = held.pop_front().expect("a chunk to give back");
                r.give_back(c.into_buffer());
                continue;
            }
            let Some(c) = r.next_chunk().unwrap() else {
                break;
            };
            lines += c.for_each_line(|_, _| {}).lines;
            held.push_back(c);
            assert!(r.made <= 3, "{} buffers made", r.made);
        }
        assert_eq!(lines, 80_000);
        assert!(data.len() > 4 * CHUNK_SIZE && r.made == 3);
    }

    #[test]
    fn header_switches_format_and_lines_are_numbered() {
        let data =
            b"version srcaddr\n2 10.0.0.1\n2 10.0.0.2\nversion dstaddr srcaddr\n2 1.1.1.1 2.2.2.2";
        let (chunks, counts) = chunks_of(data);
        assert_eq!(counts.headers, 2);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0], (2, b"2 10.0.0.1\n2 10.0.0.2\n".to_vec(), 2));
        assert_eq!(chunks[1], (5, b"2 1.1.1.1 2.2.2.2".to_vec(), 3));
    }

    #[test]
    fn lines_longer_than_the_buffer_are_skipped_and_counted() {
        // Lines that fit the buffer reach the parser, which rejects those
        // over MAX_LINE; longer ones are skipped here without buffering.
        let mut data = b"a\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', CHUNK_SIZE * 3));
        data.extend(b"\nb\n");
        let mut r = ChunkReader::new(&data[..], FormatCtx::new(Format::default_v2()));
        let mut lines = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            c.for_each_line(|n, l| lines.push((n, l.len())));
        }
        assert_eq!(lines, vec![(1, 1), (3, 1)]);
        assert_eq!(r.counts.too_long, 1);
        assert_eq!(r.too_long_lines, vec![2]);
        assert_eq!(r.lines(), 3);
    }

    #[test]
    fn every_line_of_a_buffer_has_its_window() {
        let data = b"2 1 eni-1 a\n2 1 eni-2 b\nlast";
        let mut r = ChunkReader::new(&data[..], FormatCtx::new(Format::default_v2()));
        let mut seen = 0;
        while let Some(c) = r.next_chunk().unwrap() {
            // SAFETY: without `V3` nothing is required.
            unsafe {
                c.for_each_line_with::<false>(|_, line, window, _| {
                    // The whole buffer follows: the parser's window fits,
                    // and its first newline ends the line (the last one's
                    // is a stale byte, or none).
                    let w = window.expect("a window");
                    assert!(w.newline().is_none_or(|nl| nl >= line.len()));
                    seen += 1;
                })
            };
        }
        assert_eq!(seen, 3);
    }

    /// Every line a reader hands out: (number, bytes, columns of its
    /// format), and its counts at the end, read lazily (the caller splits
    /// the lines and reports them) or not.
    fn read_all<R: Read>(src: R, lazy: bool) -> (Vec<(u64, Vec<u8>, usize)>, String) {
        let mut r = ChunkReader::new(src, FormatCtx::new(Format::default_v2()));
        if lazy {
            r.set_lazy();
        }
        let mut lines = Vec::new();
        let err = loop {
            match r.next_chunk() {
                Ok(Some(c)) => {
                    // SAFETY: without `V3` nothing is required.
                    let seen = unsafe {
                        c.for_each_line_with::<false>(|n, line, _, fmt| {
                            lines.push((n, line.to_vec(), fmt.format.len()))
                        })
                    };
                    r.chunk_done(seen);
                }
                Ok(None) => break None,
                Err(e) => break Some(e.kind()),
            }
        };
        let end = format!(
            "lines {} headers {} too long {} {:?} truncated {} {:?} error {err:?}",
            r.lines(),
            r.counts.headers,
            r.counts.too_long,
            r.too_long_lines,
            r.counts.truncated,
            r.truncated_line
        );
        (lines, end)
    }

    /// `data`, then an error where it ends, as a download cut short.
    struct CutShort<'a>(&'a [u8]);

    impl Read for CutShort<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = self.0.len().min(buf.len()).min(70_001);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lazy_and_scanning_readers_give_the_same_lines() {
        // Lines of every length around the 64- and 128-byte blocks and
        // far past the buffer, header lines (which switch the format) at
        // the start and in the middle, lines that only look like headers,
        // CRLF, empty lines, with and without a last newline, whole and
        // cut short; a few inputs span several chunks. (A line that only
        // just fits the buffer may reach the parser, which rejects it,
        // or be skipped here, depending on where it starts: both count
        // it as too long. Only lines that never fit are made here.)
        let mut rng = crate::XorShift(0x243f_6a88_85a3_08d3);
        let pieces: [&[u8]; 7] = [
            b"version srcaddr",
            b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
            b"versions are not a header",
            b"2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.154 172.31.255.7 1552 8080 6 16 8128 1763596801 1763596833 ACCEPT OK",
            b"",
            b"x\r",
            b"2 1 eni-1 a",
        ];
        for round in 0..40 {
            let mut data = Vec::new();
            let lines = match round {
                0 | 20 => 25_000,
                _ => (rng.next() % 200) as usize,
            };
            for _ in 0..lines {
                match rng.next() % 10 {
                    0..=6 => data.extend(pieces[(rng.next() % 7) as usize]),
                    7 | 8 => data.extend((0..rng.next() % 300).map(|i| b'a' + (i % 26) as u8)),
                    _ if round % 10 == 5 && rng.next().is_multiple_of(5) => {
                        data.resize(data.len() + 3 * CHUNK_SIZE, b'z')
                    }
                    _ => data.extend(b"2 9"),
                }
                data.push(b'\n');
            }
            if round % 3 == 0 {
                data.pop();
            }
            let want = read_all(&data[..], false);
            assert_eq!(read_all(&data[..], true), want, "round {round}");
            let want = read_all(CutShort(&data), false);
            assert_eq!(
                read_all(CutShort(&data), true),
                want,
                "round {round}, cut short"
            );
        }
    }

    #[test]
    fn reads_in_tiny_pieces() {
        // A reader returning one byte at a time must give the same lines.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let data = b"interface-id srcaddr\neni-1 10.0.0.1\r\neni-2 10.0.0.2\n";
        let mut r = ChunkReader::new(Slow(data), FormatCtx::new(Format::default_v2()));
        let mut lines = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            assert_eq!(c.format.format.columns()[0], Field::InterfaceId);
            c.for_each_line(|n, l| lines.push((n, l.to_vec())));
        }
        assert_eq!(
            lines,
            vec![
                (2, b"eni-1 10.0.0.1\r".to_vec()),
                (3, b"eni-2 10.0.0.2".to_vec())
            ]
        );
    }
}
