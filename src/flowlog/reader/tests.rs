//! The reader's tests: chunks, counts, header lines, lazy and scanning
//! readers against each other, and `scan` against a plain reference.

use super::scan::{scan, scan_with};
use super::*;
use crate::flowlog::format::{Field, Format};

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
    let mut r = ChunkReaderBuilder::new(FormatCtx::new(Format::default_v2()))
        .buffer_limit(3)
        .build(Source::Stream(&data[..]));
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
    let mut r = ChunkReaderBuilder::new(FormatCtx::new(Format::default_v2()))
        .lazy(lazy)
        .build(Source::Stream(src));
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
