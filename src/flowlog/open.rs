//! Opening an input: its bytes, decoded (gzip, zstd, plain text, told
//! apart by their magic bytes, never by the name), as a stream or, for a
//! small gzip file, whole in memory. A new kind of input plugs in here:
//! an arm of `open` that yields its byte stream, or its own `Source`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::cloudwatch::{self, Form, Formats, SharedReport};
use super::reader::{Buffers, FormatCtx, Source};
use super::sniff::{self, Compression, GzMembers, Refusal, TextForm, ZstdFrames};
use super::whole::WholeFiles;
use crate::source::input::Input;

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
    /// CloudWatch Logs JSON that is not what it should be (`cloudwatch::FormError`).
    #[error("{0}")]
    Form(String),
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
    /// A CloudWatch Logs form's report (`cloudwatch::Report`), if the
    /// input is one: read once the reader is done with it.
    pub form: Option<SharedReport>,
    /// The format the input's lines start in, if not the run's default
    /// (a CloudWatch Logs form's, `--flow-logs`).
    pub format: Option<Arc<FormatCtx>>,
}

/// Opens an input as a stream and detects its compression by magic bytes
/// (`sniff`): gzip and zstd are decoded, other formats refused; a
/// CloudWatch Logs form is read as text by its reader (`with_form`). Each
/// kind of `Input` is one arm here.
pub fn open(input: &Input, formats: &Formats) -> Result<Opened, ReadError> {
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
    let (reader, form, format) = with_form(reader, compression, input, formats);
    Ok(Opened {
        source: Source::Stream(reader),
        compression,
        consumed,
        form,
        format,
    })
}

/// Bytes of decoded text looked at to tell its form (`sniff::text_form`).
const FORM_HEAD: usize = 512;

/// The decoded stream, read through the reader of its CloudWatch Logs
/// form if it is one (gzip inside gzip is decoded once more first), and
/// that form's report. Plain text comes back as it was, behind the bytes
/// looked at.
fn with_form(
    stream: Stream,
    compression: Compression,
    input: &Input,
    formats: &Formats,
) -> (Stream, Option<SharedReport>, Option<Arc<FormatCtx>>) {
    let (mut head, mut stream) = Replay::start(stream);
    let mut form = sniff::text_form(&head.head);
    if form == TextForm::Gzip && compression == Compression::Gzip {
        // Firehose's GZIP around gzip records: once, not without end.
        let inner: Stream = Box::new(GzMembers::new(BufReader::new(head.then(stream))));
        (head, stream) = Replay::start(inner);
        form = sniff::text_form(&head.head);
    }
    let form = match form {
        TextForm::Json => Form::Json,
        TextForm::Timed(shape) => Form::Export(shape),
        TextForm::Plain | TextForm::Gzip => return (Box::new(head.then(stream)), None, None),
    };
    // The forms' readers never see a byte-order mark (JSON does not allow one).
    if head.head.starts_with(b"\xef\xbb\xbf") {
        head.pos = 3;
    }
    let report = SharedReport::default();
    let name = input.display();
    let first = head.head.clone();
    let (reader, start) = cloudwatch::reader(
        form,
        Box::new(head.then(stream)),
        &first,
        &name,
        formats,
        report.clone(),
    );
    (reader, Some(report), Some(FormatCtx::new(start)))
}

/// The first bytes of a stream, read to be looked at, then handed out
/// again before the rest; a read error met while reading them comes
/// after them, where the reader would have met it.
struct Replay {
    head: Vec<u8>,
    pos: usize,
    error: Option<io::Error>,
}

impl Replay {
    /// Reads up to `FORM_HEAD` bytes of `stream` (fewer at its end).
    fn start(mut stream: Stream) -> (Replay, Stream) {
        let mut head = vec![0; FORM_HEAD];
        let mut len = 0;
        let mut error = None;
        while len < FORM_HEAD {
            match stream.read(&mut head[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        head.truncate(len);
        (
            Replay {
                head,
                pos: 0,
                error,
            },
            stream,
        )
    }

    fn then(self, rest: Stream) -> Replayed {
        Replayed { head: self, rest }
    }
}

/// A stream with its first bytes handed out again (`Replay`).
struct Replayed {
    head: Replay,
    rest: Stream,
}

impl Read for Replayed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let h = &mut self.head;
        if h.pos < h.head.len() {
            let n = buf.len().min(h.head.len() - h.pos);
            buf[..n].copy_from_slice(&h.head[h.pos..h.pos + n]);
            h.pos += n;
            return Ok(n);
        }
        if let Some(e) = h.error.take() {
            return Err(e);
        }
        self.rest.read(buf)
    }
}

/// Opens the inputs of one worker in turn. A small gzip file is inflated
/// whole with libdeflate (`whole`), into the largest of the worker's
/// spare chunk buffers, and becomes one `Source::Whole`; anything else,
/// or a file libdeflate refuses, is streamed (`open`), and the streaming
/// reader reports the damage.
#[derive(Default)]
pub struct Opener {
    whole: WholeFiles,
    formats: Formats,
}

impl Opener {
    /// An opener whose CloudWatch Logs forms are read with `formats`.
    pub fn new(formats: Formats) -> Opener {
        Opener {
            whole: WholeFiles::default(),
            formats,
        }
    }

    /// Opens `input`, taking the output buffer of a whole file from `pool`.
    pub fn open(&mut self, input: &Input, pool: &mut [Buffers]) -> Result<Opened, ReadError> {
        if let Input::Path(path) = input {
            let mut out = Buffers::take_largest(pool);
            if let Some(read) = self.whole.inflate_file(path, &mut out) {
                let consumed = Arc::new(AtomicU64::new(read));
                let head = &out[..out.len().min(FORM_HEAD)];
                if sniff::text_form(head) == TextForm::Plain {
                    return Ok(Opened {
                        source: Source::Whole(out),
                        compression: Compression::Gzip,
                        consumed,
                        form: None,
                        format: None,
                    });
                }
                // A CloudWatch Logs form: read through its reader.
                let stream: Stream = Box::new(io::Cursor::new(out));
                let (reader, form, format) =
                    with_form(stream, Compression::Gzip, input, &self.formats);
                return Ok(Opened {
                    source: Source::Stream(reader),
                    compression: Compression::Gzip,
                    consumed,
                    form,
                    format,
                });
            }
            // Streamed: the buffer goes back for the stream's reader. It
            // was dropped here, so every plain or zstd file allocated,
            // zeroed and faulted in a new 1 MiB chunk buffer.
            Buffers::put_back(pool, out);
        }
        open(input, &self.formats)
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
        if let Some(cloudwatch::FormError(message)) = cloudwatch::form_error_of(&e) {
            return ReadError::Form(message);
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
