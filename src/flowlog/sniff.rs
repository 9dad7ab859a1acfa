//! What an input holds, told by its bytes: the compression (gzip and
//! zstd are read, other formats refused with a message naming them), the
//! text encoding (a UTF-8 byte-order mark is dropped, UTF-16 refused),
//! CR-only line endings, and, for an input none of whose lines parses,
//! what it looks like instead (JSON, a CloudWatch Logs export, ...).
//!
//! A file is never judged by its name: S3 downloads, `aws logs` exports
//! and hand-made files are named every way.

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

// Lived here; callers still use it under this name.
pub use crate::text::printable;

/// An input refused whole: its bytes are not flow-log text that this
/// reader can decode. Carried inside an `io::Error` from the reader
/// (`refusal_of` finds it again) so that every path reports it the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this is {name} data, which flowscope does not decompress (decompress it first: `{tool} FILE`)")]
    Compressed {
        name: &'static str,
        tool: &'static str,
    },
    #[error("this is a {name} archive, not a log: extract it first (`{tool} FILE`) and give the files inside")]
    Archive {
        name: &'static str,
        tool: &'static str,
    },
    /// Parquet met as text: `open` tells Parquet by its magic before it
    /// asks for the compression, so only a build without the `parquet`
    /// feature gets here.
    #[error("this is a Parquet file, and this flowscope was built without the `parquet` feature")]
    Parquet,
    #[error("this is UTF-16 text; flow logs are UTF-8 (convert it first: `iconv -f UTF-16 -t UTF-8 FILE`)")]
    Utf16,
}

impl Refusal {
    /// As an `io::Error`, to travel through `Read` and `BufRead`.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The refusal an `io::Error` carries, if it is one (`Refusal::into_io`).
pub fn refusal_of(e: &io::Error) -> Option<Refusal> {
    e.get_ref()?.downcast_ref::<Refusal>().cloned()
}

/// How the bytes of a file are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The compression of a file from its first bytes (at least 6 where the
/// file has them), or why it is refused.
pub fn compression(head: &[u8]) -> Result<Compression, Refusal> {
    let refuse = |name, tool| Err(Refusal::Compressed { name, tool });
    let archive = |name, tool| Err(Refusal::Archive { name, tool });
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        // A skippable frame (0x184D2A50..5F, little-endian) may open a
        // zstd stream (seekable zstd writes one at its end only).
        [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Ok(Compression::Zstd),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => refuse("bzip2", "bzip2 -dc"),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => refuse("xz", "xz -dc"),
        [0x04, 0x22, 0x4d, 0x18, ..] => refuse("LZ4", "lz4 -dc"),
        [b'P', b'K', 0x03, 0x04, ..] | [b'P', b'K', 0x05, 0x06, ..] => archive("zip", "unzip"),
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => archive("7z", "7z x"),
        [b'P', b'A', b'R', b'1', ..] => Err(Refusal::Parquet),
        _ => Ok(Compression::None),
    }
}

/// What the start of the decoded text asks of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStart {
    /// Bytes to drop: a UTF-8 byte-order mark (3), else 0. Windows tools
    /// write one; left in, it hides the header line, and the default
    /// format then reads the columns in the wrong order.
    pub skip: usize,
    /// Lines end in a lone `\r` (classic Mac, some exports): the reader
    /// turns each `\r` into `\n`.
    pub cr_only: bool,
}

/// Looks at the first bytes of the decoded text (what one fill of the
/// reader holds; `eof` if that is the whole input).
pub fn text_start(head: &[u8], eof: bool) -> Result<TextStart, Refusal> {
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) || utf16_nuls(head) {
        return Err(Refusal::Utf16);
    }
    // A tar header's magic sits at offset 257 (`ustar\0` in POSIX,
    // `ustar  \0` in GNU):
    // read as text, each member's header would glue itself to the first
    // line of the member and lose that record.
    if head.get(257..262) == Some(b"ustar") && matches!(head.get(262), Some(0 | b' ')) {
        return Err(Refusal::Archive {
            name: "tar",
            tool: "tar -xf",
        });
    }
    let skip = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let text = &head[skip..];
    // No `\n` at all, and a `\r` that is not the last byte read (which
    // could be the first half of a CRLF cut by the read).
    let cr_only = memchr::memchr(b'\n', text).is_none()
        && memchr::memchr(b'\r', text).is_some_and(|at| eof || at + 1 < text.len());
    Ok(TextStart { skip, cr_only })
}

/// ASCII text in UTF-16 without a byte-order mark: every other byte of the
/// first few is NUL (and the others are not).
fn utf16_nuls(head: &[u8]) -> bool {
    let n = head.len().min(64) & !1;
    if n < 8 {
        return false;
    }
    let pairs = head[..n].chunks_exact(2);
    let le = pairs.clone().all(|p| p[0] != 0 && p[1] == 0);
    let be = pairs.clone().all(|p| p[0] == 0 && p[1] != 0);
    le || be
}

/// Every gzip member of a stream, and zero bytes after the last, as
/// `gzip -t` accepts (tape and block devices pad files with zeros).
/// Anything else after a member is an error, reported after the members
/// before it were read. (`flate2`'s `MultiGzDecoder` fails on the
/// padding, as on any bytes that are not a gzip header.)
pub struct GzMembers<R: BufRead> {
    member: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzMembers<R> {
    pub fn new(src: R) -> GzMembers<R> {
        GzMembers {
            member: Some(GzDecoder::new(src)),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended: another, zeros to the end, or damage.
            let mut src = self.member.take().expect("a member").into_inner();
            if next_member(&mut src)? {
                self.member = Some(GzDecoder::new(src));
            }
        }
    }
}

/// After a gzip member: true if another follows (zero bytes before it are
/// skipped), false at the end of the stream.
fn next_member<R: BufRead>(src: &mut R) -> io::Result<bool> {
    loop {
        let buf = src.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let zeros = buf.iter().take_while(|&&b| b == 0).count();
        if zeros == 0 {
            if buf[0] == 0x1f {
                return Ok(true);
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bytes after the last gzip member that are neither a gzip member nor zero padding",
            ));
        }
        src.consume(zeros);
    }
}

/// Every frame of a zstd stream (`zstd` writes one frame per file,
/// `cat a.zst b.zst` and parallel compressors several), skippable frames
/// skipped, each frame's checksum verified where it has one.
pub struct ZstdFrames<R: BufRead> {
    src: R,
    frame: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    pub fn new(src: R) -> ZstdFrames<R> {
        ZstdFrames {
            src,
            frame: FrameDecoder::new(),
            in_frame: false,
        }
    }
}

fn zstd_error(e: FrameDecoderError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if self.src.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.frame.reset(&mut self.src) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        let skipped = io::copy(
                            &mut (&mut self.src).take(u64::from(length)),
                            &mut io::sink(),
                        )?;
                        if skipped < u64::from(length) {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "zstd: the input ends inside a skippable frame",
                            ));
                        }
                    }
                    Err(e) => return Err(zstd_error(e)),
                }
                continue;
            }
            while self.frame.can_collect() == 0 && !self.frame.is_finished() {
                self.frame
                    .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(zstd_error)?;
            }
            let n = self.frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // The frame is finished and drained.
            if let (Some(want), Some(got)) = (
                self.frame.get_checksum_from_data(),
                self.frame.get_calculated_checksum(),
            ) {
                if want != got {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "zstd: checksum mismatch (the data is damaged)",
                    ));
                }
            }
            self.in_frame = false;
        }
    }
}

/// What an input none of whose lines parses looks like, from its first
/// skipped line, when that can be told: said with the error, so that the
/// user knows what to do instead.
pub fn looks_like(line: &[u8]) -> Option<&'static str> {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let t = line.trim_ascii();
    if t.is_empty() {
        return None;
    }
    if t.starts_with(b"{") || t.starts_with(b"[") {
        return Some(
            "this looks like JSON, not flow-log text (space-separated fields, one record a line)",
        );
    }
    if t.starts_with(b"<") {
        return Some("this looks like HTML or XML, not flow-log text");
    }
    if cloudwatch_timestamp(t) {
        return Some(
            "this looks like a CloudWatch Logs export (a timestamp before each record): \
             drop the first column (`cut -d' ' -f2-`) or read the log group's S3 copy",
        );
    }
    let binary = t
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r'))
        .count();
    if binary * 10 > t.len() {
        return Some("this looks like binary data, not text");
    }
    if t.contains(&b',') && !t.contains(&b' ') {
        return Some(
            "this looks like CSV (comma-separated); flow logs are space-separated, one record a line",
        );
    }
    if t.contains(&b'\t') && !t.contains(&b' ') {
        return Some("this looks like tab-separated text; flow logs are space-separated");
    }
    None
}

/// What the decoded text of an input is, from its first bytes (`head`:
/// a few hundred, fewer only at the end of the input): the form in which
/// it is read (`flowlog::cloudwatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextForm {
    /// Flow-log text (or something the text reader refuses or skips).
    Plain,
    /// gzip again inside gzip: a Firehose object whose records were gzip
    /// (CloudWatch Logs subscriptions) with Firehose's own GZIP on top.
    Gzip,
    /// A JSON object first: CloudWatch Logs JSON (`cloudwatch::JsonEvents`).
    Json,
    /// A time of this shape as the first token of the first line: an
    /// export or `aws logs tail` output (`cloudwatch::ExportLines`).
    Timed(TimeShape),
}

/// The form of the text that starts with `head`. A line that starts with
/// `[` stays plain text (refused with "looks like JSON"): no CloudWatch
/// Logs form is an array.
pub fn text_form(head: &[u8]) -> TextForm {
    if head.starts_with(&[0x1f, 0x8b]) {
        return TextForm::Gzip;
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(text) = start.map(|s| &head[s..]) else {
        return TextForm::Plain;
    };
    if text[0] == b'{' {
        return TextForm::Json;
    }
    let first = text.split(|&b| b == b' ').next().unwrap_or(b"");
    match time_shape(first) {
        // The first token must end at a space: the time alone on a line is not an export.
        Some(shape) if first.len() < text.len() => TextForm::Timed(shape),
        _ => TextForm::Plain,
    }
}

/// The shape of a time written before each record: what
/// `create-export-task` writes (`2019-11-20T00:00:03.000Z`: milliseconds,
/// `Z`), or `aws logs tail` (`--format detailed`:
/// `2019-11-20T00:00:03.000000+00:00` then the log stream;
/// `--format short`: `2019-11-20T00:00:03`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeShape {
    Export,
    TailDetailed,
    TailShort,
}

/// The shape of `token` if it is one of those times.
pub fn time_shape(token: &[u8]) -> Option<TimeShape> {
    let d = |i: usize| token.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| token.get(i) == Some(&c);
    let date_time = (0..4).all(d)
        && at(4, b'-')
        && d(5)
        && d(6)
        && at(7, b'-')
        && d(8)
        && d(9)
        && at(10, b'T')
        && d(11)
        && d(12)
        && at(13, b':')
        && d(14)
        && d(15)
        && at(16, b':')
        && d(17)
        && d(18);
    if !date_time {
        return None;
    }
    match token.len() {
        19 => Some(TimeShape::TailShort),
        24 if at(19, b'.') && (20..23).all(d) && at(23, b'Z') => Some(TimeShape::Export),
        32 if at(19, b'.') && (20..26).all(d) && &token[26..] == b"+00:00" => {
            Some(TimeShape::TailDetailed)
        }
        _ => None,
    }
}

/// `2019-11-20T00:00:03.000Z` (or another RFC 3339 time) as a line's first
/// token, as `aws logs filter-log-events` and console exports write.
fn cloudwatch_timestamp(t: &[u8]) -> bool {
    let first = t.split(|&b| b == b' ' || b == b'\t').next().unwrap_or(b"");
    let d = |i: usize| first.get(i).is_some_and(u8::is_ascii_digit);
    first.len() >= 19
        && (0..4).all(d)
        && first[4] == b'-'
        && d(5)
        && d(6)
        && first[7] == b'-'
        && d(8)
        && d(9)
        && (first[10] == b'T' || first[10] == b't')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(r: impl Read) -> io::Result<Vec<u8>> {
        let mut r = r;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn gzip_members_and_zero_padding() {
        let mut data = gz(b"a\n");
        data.extend(gz(b"b\n"));
        data.extend([0u8; 700]);
        assert_eq!(read_all(GzMembers::new(&data[..])).unwrap(), b"a\nb\n");
        // Zeros between members, then another member.
        data.extend(gz(b"c\n"));
        assert_eq!(read_all(GzMembers::new(&data[..])).unwrap(), b"a\nb\nc\n");
        data.extend(b"junk");
        assert!(read_all(GzMembers::new(&data[..])).is_err());
    }

    #[test]
    fn damaged_zstd_is_an_error_not_a_panic() {
        // Every byte of a small stream flipped, and every cut: errors or
        // (rarely) other bytes, never a panic or a hang.
        let text: Vec<u8> = (0..400)
            .flat_map(|i| {
                format!(
                    "2 1 eni-0a 10.0.0.{} 10.0.0.2 {i} 443 6 1 2 3 4 ACCEPT OK\n",
                    i % 250
                )
                .into_bytes()
            })
            .collect();
        let good = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(read_all(ZstdFrames::new(&good[..])).unwrap(), text);
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                let _ = read_all(ZstdFrames::new(&bad[..]));
            }
            assert!(
                at == 0 || read_all(ZstdFrames::new(&good[..at])).is_err(),
                "cut at {at}"
            );
        }
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(compression(&gz(b"x")), Ok(Compression::Gzip));
        assert_eq!(compression(b"2 123 eni-1"), Ok(Compression::None));
        assert_eq!(compression(b""), Ok(Compression::None));
        assert!(matches!(
            compression(b"BZh91AY&SY"),
            Err(Refusal::Compressed { name: "bzip2", .. })
        ));
        assert_eq!(compression(b"PAR1xxxx"), Err(Refusal::Parquet));
    }

    #[test]
    fn text_starts() {
        assert_eq!(text_start(b"\xef\xbb\xbfversion", false).unwrap().skip, 3);
        assert_eq!(
            text_start(b"version\n", false).unwrap(),
            TextStart::default()
        );
        assert!(text_start(b"a\rb\rc", false).unwrap().cr_only);
        // A CRLF cut after its `\r`, and CRLF whole.
        assert!(!text_start(b"abc\r", false).unwrap().cr_only);
        assert!(!text_start(b"a\r\nb\r\n", false).unwrap().cr_only);
        let utf16: Vec<u8> = "version srcaddr".bytes().flat_map(|b| [b, 0]).collect();
        assert_eq!(text_start(&utf16, false), Err(Refusal::Utf16));
        assert_eq!(text_start(b"\xff\xfev\0", false), Err(Refusal::Utf16));
    }

    #[test]
    fn text_forms() {
        let export = b"2019-11-20T00:00:03.000Z 2 123456789010 eni-1 ACCEPT OK\n";
        assert_eq!(text_form(export), TextForm::Timed(TimeShape::Export));
        assert_eq!(
            text_form(b"\xef\xbb\xbf2018-09-22T20:28:14.000000+00:00 eni-1-all 2 x"),
            TextForm::Timed(TimeShape::TailDetailed)
        );
        assert_eq!(
            text_form(b"2018-09-22T20:28:14 2 x"),
            TextForm::Timed(TimeShape::TailShort)
        );
        assert_eq!(text_form(b"\n  {\"events\": []}"), TextForm::Json);
        assert_eq!(text_form(&gz(b"x")), TextForm::Gzip);
        for plain in [
            &b"version account-id\n"[..],
            b"2 123456789010 eni-1 - - - ACCEPT OK",
            b"[{\"message\": \"2 1\"}]",
            b"2019-11-20T00:00:03.000Z",
            b"2019-11-20T00:00:03.00Z 2",
            b"2019-11-20 00:00:03 2",
            b"",
        ] {
            assert_eq!(text_form(plain), TextForm::Plain, "{plain:?}");
        }
    }

    #[test]
    fn what_lines_look_like() {
        assert!(looks_like(b"{\"version\": 2}").unwrap().contains("JSON"));
        assert!(
            looks_like(b"2019-11-20T00:00:03.000Z 2 123456789010 eni-1 ACCEPT OK")
                .unwrap()
                .contains("CloudWatch")
        );
        assert!(looks_like(b"2 123456789010 eni-1 - - - ACCEPT OK").is_none());
        assert!(looks_like(b"a,b,c").unwrap().contains("CSV"));
    }
}
