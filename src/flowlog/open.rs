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

/// An opened input, by what its first bytes say it is.
pub enum Opened {
    /// Text (plain, gzip or zstd; flow-log lines or a CloudWatch Logs
    /// form), cut into chunks of lines by a `ChunkReader`.
    Text(OpenedText),
    /// A Parquet file (`flowlog::parquet`), read row group by row group.
    #[cfg(feature = "parquet")]
    Parquet(super::parquet::ParquetSource),
}

/// An opened text input: its decoded bytes, streamed or whole.
pub struct OpenedText {
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

/// Opens an input as a stream, without `Opener`'s whole small gzip
/// files (for one large input, read by a reader thread).
pub fn open(input: &Input, formats: &Formats) -> Result<Opened, ReadError> {
    Opener::new(formats.clone()).open_with(input, None)
}

/// Bytes looked at to tell what an input is (`sniff::compression`, the
/// Parquet magic).
const MAGIC_LEN: usize = 8;

/// The start of a stream and the stream from its start again (a head
/// read from a local file before it is known to be text).
fn replayed(head: Vec<u8>, rest: impl Read + Send + 'static) -> Stream {
    Box::new(io::Cursor::new(head).chain(rest))
}

/// Reads up to `n` bytes from the start of `f` (fewer at its end).
fn read_head(f: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    f.by_ref().take(n as u64).read_to_end(&mut head)?;
    Ok(head)
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

/// Opens inputs, telling each by its first bytes, read once: a Parquet
/// file (`PAR1`) comes out as such (`Opened::Parquet`); text is decoded
/// (gzip and zstd; other formats refused) and read through the reader of
/// its CloudWatch Logs form if it is one (`with_form`). A small gzip file
/// is inflated whole with libdeflate (`whole`), into the largest of the
/// worker's spare chunk buffers, and becomes one `Source::Whole`; other
/// text, or a file libdeflate refuses, is streamed, and the streaming
/// reader reports the damage. Each kind of `Input` is one arm of
/// `open_with`.
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
        self.open_with(input, Some(pool))
    }

    /// `open`; without a pool, no file is read whole.
    fn open_with(
        &mut self,
        input: &Input,
        pool: Option<&mut [Buffers]>,
    ) -> Result<Opened, ReadError> {
        let consumed = Arc::new(AtomicU64::new(0));
        let raw: Stream = match input {
            Input::Path(p) => {
                let mut f = File::open(p).map_err(ReadError::Open)?;
                // A FIFO or device (`<(zcat …)`) is read as a stream
                // like standard input; a regular file may be read by
                // position (Parquet) or whole (small gzip).
                let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                let head = read_head(&mut f, MAGIC_LEN).map_err(ReadError::Open)?;
                if let Some(size) = size {
                    #[cfg(feature = "parquet")]
                    if head.starts_with(&super::parquet::MAGIC) {
                        let source = super::parquet::ParquetSource::file(f);
                        return source.map(Opened::Parquet).map_err(ReadError::Open);
                    }
                    if let Some(pool) = pool.filter(|_| WholeFiles::takes(&head, size)) {
                        return Ok(self.whole(input, head, f, pool));
                    }
                }
                replayed(head, f)
            }
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
        let head = fill_at_least(&mut br, MAGIC_LEN).map_err(ReadError::Open)?;
        #[cfg(feature = "parquet")]
        if head.starts_with(&super::parquet::MAGIC) {
            // Its index is at its end: a stream is read whole first.
            let mut all = Vec::new();
            br.read_to_end(&mut all).map_err(ReadError::Open)?;
            return Ok(Opened::Parquet(super::parquet::ParquetSource::bytes(all)));
        }
        let compression = sniff::compression(&head).map_err(ReadError::Refused)?;
        let reader: Stream = match compression {
            Compression::Gzip => Box::new(GzMembers::new(br)),
            Compression::Zstd => Box::new(ZstdFrames::new(br)),
            Compression::None => Box::new(br),
        };
        Ok(self.text(reader, compression, consumed, input))
    }

    /// Decoded text, read through the reader of its CloudWatch Logs form
    /// if it is one.
    fn text(
        &self,
        stream: Stream,
        compression: Compression,
        consumed: Arc<AtomicU64>,
        input: &Input,
    ) -> Opened {
        let (reader, form, format) = with_form(stream, compression, input, &self.formats);
        Opened::Text(OpenedText {
            source: Source::Stream(reader),
            compression,
            consumed,
            form,
            format,
        })
    }

    /// A small gzip file (`WholeFiles::takes`), `head` read from `f`:
    /// inflated whole into a buffer of `pool`, or streamed from the bytes
    /// read if libdeflate refuses it.
    fn whole(&mut self, input: &Input, head: Vec<u8>, mut f: File, pool: &mut [Buffers]) -> Opened {
        let mut out = Buffers::take_largest(pool);
        match self.whole.inflate_rest(&head, &mut f, &mut out) {
            Ok(read) => {
                let consumed = Arc::new(AtomicU64::new(read));
                let head = &out[..out.len().min(FORM_HEAD)];
                if sniff::text_form(head) == TextForm::Plain {
                    return Opened::Text(OpenedText {
                        source: Source::Whole(out),
                        compression: Compression::Gzip,
                        consumed,
                        form: None,
                        format: None,
                    });
                }
                // A CloudWatch Logs form: read through its reader.
                self.text(
                    Box::new(io::Cursor::new(out)),
                    Compression::Gzip,
                    consumed,
                    input,
                )
            }
            Err(bytes) => {
                // Streamed: the buffer goes back for the stream's reader.
                // It was dropped here, so every plain or zstd file
                // allocated, zeroed and faulted in a new 1 MiB chunk buffer.
                Buffers::put_back(pool, out);
                let consumed = Arc::new(AtomicU64::new(0));
                let counted: Stream = Box::new(Counting {
                    inner: bytes,
                    count: consumed.clone(),
                });
                let stream = Box::new(GzMembers::new(BufReader::with_capacity(READ_BUF, counted)));
                self.text(stream, Compression::Gzip, consumed, input)
            }
        }
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
        assert!(matches!(
            opened,
            Opened::Text(OpenedText {
                source: Source::Stream(_),
                ..
            })
        ));
        assert_eq!(Buffers::take_largest(&mut pool), vec![7u8; 4096]);
    }

    /// What `input` opens as: "parquet", "whole" or "stream".
    fn kind(input: &Input) -> &'static str {
        let mut pool = vec![Buffers::from(vec![0u8; 4096])];
        match Opener::default().open(input, &mut pool) {
            #[cfg(feature = "parquet")]
            Ok(Opened::Parquet(_)) => "parquet",
            Ok(Opened::Text(OpenedText {
                source: Source::Whole(_),
                ..
            })) => "whole",
            Ok(Opened::Text(_)) => "stream",
            Err(e) => panic!("{e}"),
        }
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn parquet_is_told_by_its_magic_whatever_the_name_or_the_kind_of_file() {
        let twin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "sample-logs/incident-parquet/AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20",
        );
        let mut files: Vec<_> = std::fs::read_dir(twin)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let bytes = std::fs::read(&files[0]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("misnamed.log.gz");
        std::fs::write(&named, &bytes).unwrap();
        assert_eq!(kind(&Input::Path(files[0].clone())), "parquet");
        assert_eq!(kind(&Input::Path(named)), "parquet");
        // Text and gzip text beside it are still text.
        let text = dir.path().join("a.log");
        std::fs::write(&text, b"2 1 eni-0a - - - - - - - 1 2 - NODATA\n").unwrap();
        assert_eq!(kind(&Input::Path(text)), "stream");
        let gz = dir.path().join("a.log.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut e, b"2 1 eni-0a - - - - - - - 1 2 - NODATA\n").unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        assert_eq!(kind(&Input::Path(gz)), "whole");
    }

    /// A pipe given by name (`<(cat x.parquet)`) holds Parquet: read
    /// whole, as standard input and S3 objects are, then as a file.
    #[cfg(all(unix, feature = "parquet"))]
    #[test]
    fn parquet_through_a_pipe_is_read_whole() {
        use crate::flowlog::parquet::ParquetSource;
        use parquet::file::reader::Length;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.parquet");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path inside our own temp dir.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let body: Vec<u8> = [&b"PAR1"[..], &[7u8; 100_000], b"PAR1"].concat();
        let writer = {
            let (fifo, body) = (fifo.clone(), body.clone());
            std::thread::spawn(move || std::fs::write(fifo, body).unwrap())
        };
        let opened = Opener::default().open(&Input::Path(fifo), &mut []);
        writer.join().unwrap();
        let Ok(Opened::Parquet(source)) = opened else {
            panic!("not opened as Parquet");
        };
        let source: ParquetSource = source;
        assert_eq!(source.len(), body.len() as u64);
    }
}
