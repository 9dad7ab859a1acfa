//! Opening an input: its bytes, decoded (gzip, zstd, plain text, told
//! apart by their magic bytes, never by the name), as a stream or, for a
//! small gzip file, whole in memory. A new kind of input plugs in here:
//! an arm of `open` that yields its byte stream, or its own `Source`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::input::Input;
use super::reader::{Buffers, Source};
use super::sniff::{self, Compression, GzMembers, Refusal, ZstdFrames};
use super::whole::WholeFiles;

/// Read size for files (256 KiB).
const READ_BUF: usize = 256 * 1024;

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

/// A decoded byte stream.
pub type Stream = Box<dyn Read + Send>;

/// An opened input: its decoded bytes, streamed or whole.
pub struct Opened {
    pub source: Source<Stream>,
    pub compression: Compression,
    /// Bytes consumed from the underlying file or stdin.
    pub consumed: Arc<AtomicU64>,
}

/// Opens an input as a stream and detects its compression by magic bytes
/// (`sniff`): gzip and zstd are decoded, other formats refused. Each kind
/// of `Input` is one arm here.
pub fn open(input: &Input) -> Result<Opened, ReadError> {
    let consumed = Arc::new(AtomicU64::new(0));
    let raw: Stream = match input {
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
    let reader: Stream = match compression {
        Compression::Gzip => Box::new(GzMembers::new(br)),
        Compression::Zstd => Box::new(ZstdFrames::new(br)),
        Compression::None => Box::new(br),
    };
    Ok(Opened {
        source: Source::Stream(reader),
        compression,
        consumed,
    })
}

/// Opens the inputs of one worker in turn. A small gzip file is inflated
/// whole with libdeflate (`whole`), into the largest of the worker's
/// spare chunk buffers, and becomes one `Source::Whole`; anything else,
/// or a file libdeflate refuses, is streamed (`open`), and the streaming
/// reader reports the damage.
#[derive(Default)]
pub struct Opener {
    whole: WholeFiles,
}

impl Opener {
    /// Opens `input`, taking the output buffer of a whole file from `pool`.
    pub fn open(&mut self, input: &Input, pool: &mut [Buffers]) -> Result<Opened, ReadError> {
        if let Input::Path(path) = input {
            let mut out = Buffers::take_largest(pool);
            if let Some(read) = self.whole.inflate_file(path, &mut out) {
                return Ok(Opened {
                    source: Source::Whole(out),
                    compression: Compression::Gzip,
                    consumed: Arc::new(AtomicU64::new(read)),
                });
            }
            // Streamed: the buffer goes back for the stream's reader. It
            // was dropped here, so every plain or zstd file allocated,
            // zeroed and faulted in a new 1 MiB chunk buffer.
            Buffers::put_back(pool, out);
        }
        open(input)
    }
}

impl ReadError {
    /// The error of a read that failed part-way, named by what was being
    /// decoded: `compressed` bytes consumed, `decompressed` bytes and
    /// `lines` delivered before it.
    pub fn while_reading(
        compression: Compression,
        lines: u64,
        decompressed: u64,
        compressed: u64,
        e: io::Error,
    ) -> ReadError {
        if let Some(r) = sniff::refusal_of(&e) {
            return ReadError::Refused(r);
        }
        let kind = match compression {
            Compression::Gzip => "corrupt or truncated gzip data",
            Compression::Zstd => "corrupt or truncated zstd data",
            Compression::None => {
                return ReadError::Read {
                    decompressed,
                    lines,
                    source: e,
                }
            }
        };
        ReadError::Decode {
            kind,
            compressed,
            decompressed,
            lines,
            source: e,
        }
    }
}

/// The buffered prefix (up to `n` bytes; fewer at EOF). A pipe may deliver
/// fewer bytes per read, so this only looks at what one fill gives, which
/// is at least the magic bytes for any real file.
fn fill_at_least<R: Read>(br: &mut BufReader<R>, n: usize) -> io::Result<Vec<u8>> {
    let buf = br.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_input_leaves_its_buffer_in_the_pool() {
        // A plain file is streamed: the buffer taken for a whole gzip
        // file goes back, for the stream's reader to use.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, b"2 1 eni-0a - - - - - - - 1 2 - NODATA\n").unwrap();
        let mut pool = vec![Buffers::from(vec![7u8; 4096])];
        let opened = Opener::default()
            .open(&Input::Path(path), &mut pool)
            .unwrap();
        assert!(matches!(opened.source, Source::Stream(_)));
        assert_eq!(Buffers::take_largest(&mut pool), vec![7u8; 4096]);
    }
}
