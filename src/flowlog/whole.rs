//! Small gzip files inflated whole, with libdeflate.
//!
//! S3 delivers flow logs as objects of a few MB. Inflating such an object
//! in one call with libdeflate takes ~0.67× the CPU time of streaming it
//! through flate2 and zlib-rs (0.85 s against 1.28 s of user time for the
//! benchmark's 200 objects; docs/performance.md), and its output becomes a
//! chunk as it is, with no copy. libdeflate cannot stream, so this is only
//! for files up to `MAX_COMPRESSED` that inflate to at most `MAX_INFLATED`:
//! larger files, standard input, and every file this refuses (damaged,
//! trailing bytes that are not gzip, too large) take the streaming reader,
//! which reports damage by its offset, from the bytes already read (the
//! file is opened and read once); its output is the reference.

use std::fs::File;
use std::io::{self, Read};
use std::ptr::NonNull;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
    libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// Largest gzip file read whole (AWS objects are far smaller).
pub const MAX_COMPRESSED: u64 = 16 << 20;
/// Largest output kept in memory at once (per worker).
pub const MAX_INFLATED: usize = 128 << 20;

/// False when `FLOWSCOPE_NO_LIBDEFLATE` is set: every gzip file is then
/// streamed (for comparisons, and as a way out should this path misbehave).
fn enabled() -> bool {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FLOWSCOPE_NO_LIBDEFLATE").is_none())
}

/// A libdeflate decompressor (one per worker, reused across files).
pub struct Inflater(NonNull<libdeflate_decompressor>);

// SAFETY: a decompressor is memory that libdeflate uses during one call
// and keeps no other state; `&mut self` on every use rules out two calls
// at once, so moving it to another thread is sound.
unsafe impl Send for Inflater {}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor`, freed once.
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

impl Inflater {
    /// `None` if libdeflate cannot allocate one.
    pub fn new() -> Option<Inflater> {
        // SAFETY: no preconditions; a null result is handled.
        NonNull::new(unsafe { libdeflate_alloc_decompressor() }).map(Inflater)
    }

    /// Inflates every gzip member of `gz` into `out` (its contents
    /// replaced, its capacity reused). `None` unless `gz` is gzip members
    /// from its first byte to its last (zero bytes between or after them
    /// allowed, as `gzip -t` and the streaming reader allow them) that
    /// inflate to at most `MAX_INFLATED` bytes; `out` then holds nothing
    /// meaningful.
    pub fn inflate(&mut self, gz: &[u8], out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        // The last member's size (mod 2^32) ends the file: for the single
        // member of an S3 object, the exact room needed.
        let tail: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
        let mut room = (u32::from_le_bytes(tail) as usize).max(4096);
        let mut pos = 0;
        loop {
            // Zero padding (tape and block devices) is skipped.
            pos += gz[pos..].iter().take_while(|&&b| b == 0).count();
            if pos == gz.len() {
                break;
            }
            let have = out.len();
            if have + room > MAX_INFLATED {
                return None;
            }
            out.reserve(room);
            let avail = out.capacity() - have;
            let (mut used_in, mut used_out) = (0usize, 0usize);
            // SAFETY: the input is `gz[pos..]`; the output is the spare
            // capacity of `out`, `avail` bytes from its length, which
            // libdeflate only writes; the length is set below to cover
            // just the bytes it reports written.
            let result = unsafe {
                libdeflate_gzip_decompress_ex(
                    self.0.as_ptr(),
                    gz[pos..].as_ptr().cast(),
                    gz.len() - pos,
                    out.as_mut_ptr().add(have).cast(),
                    avail,
                    &mut used_in,
                    &mut used_out,
                )
            };
            if result == libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE {
                // An earlier member, larger than the last: more room.
                room = avail.saturating_mul(2);
                continue;
            }
            if result != libdeflate_result_LIBDEFLATE_SUCCESS || used_in == 0 {
                return None;
            }
            // SAFETY: libdeflate wrote `used_out <= avail` bytes there.
            unsafe { out.set_len(have + used_out) };
            pos += used_in;
        }
        Some(())
    }
}

/// What a worker keeps for reading small gzip files whole: the last
/// file's bytes (the memory reused from file to file) and the
/// decompressor, made at the first such file.
#[derive(Default)]
pub struct WholeFiles {
    raw: Vec<u8>,
    inflater: Option<Inflater>,
}

impl WholeFiles {
    /// True if a regular file of `size` bytes that begins with `head` is
    /// one this path takes: gzip, and small enough (see the module).
    /// False for all when turned off (`FLOWSCOPE_NO_LIBDEFLATE`).
    pub fn takes(head: &[u8], size: u64) -> bool {
        enabled() && head.starts_with(&[0x1f, 0x8b]) && (18..=MAX_COMPRESSED).contains(&size)
    }

    /// Reads the rest of `f`, whose first bytes `head` were read already
    /// (`takes` said yes), and inflates it all into `out`: the number of
    /// bytes read from the file. Otherwise (damage libdeflate refuses, a
    /// read error) the file's bytes as read, for the streaming reader,
    /// which reports what is wrong at its offset.
    pub fn inflate_rest(
        &mut self,
        head: &[u8],
        f: &mut File,
        out: &mut Vec<u8>,
    ) -> Result<u64, Box<dyn Read + Send>> {
        self.raw.clear();
        self.raw.extend_from_slice(head);
        if let Err(e) = f.read_to_end(&mut self.raw) {
            let read = std::mem::take(&mut self.raw);
            return Err(Box::new(io::Cursor::new(read).chain(Failing(Some(e)))));
        }
        if self.inflater.is_none() {
            self.inflater = Inflater::new();
        }
        let inflated = match self.inflater.as_mut() {
            Some(i) => i.inflate(&self.raw, out).is_some(),
            None => false,
        };
        if inflated {
            Ok(self.raw.len() as u64)
        } else {
            Err(Box::new(io::Cursor::new(std::mem::take(&mut self.raw))))
        }
    }
}

/// A reader that fails with `e`, once: the read error met after the
/// bytes before it (`inflate_rest`).
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn text(n: usize, tag: &str) -> Vec<u8> {
        (0..n)
            .map(|i| format!("{tag} line {i} {}\n", i * 7919 % 10007))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn inflates_one_member_and_several() {
        let mut inf = Inflater::new().unwrap();
        let mut out = Vec::new();
        let (a, b) = (text(20_000, "a"), text(10, "b"));
        inf.inflate(&gz(&a), &mut out).unwrap();
        assert_eq!(out, a);
        // A large member before a small last one: the size at the end of
        // the file is the last member's, so the first needs more room.
        let mut two = gz(&a);
        two.extend_from_slice(&gz(&b));
        two.extend_from_slice(&gz(b""));
        inf.inflate(&two, &mut out).unwrap();
        assert_eq!(out, [a.as_slice(), b.as_slice()].concat());
        // Zero padding after the last member, as `gzip -t` accepts.
        two.extend_from_slice(&[0; 512]);
        inf.inflate(&two, &mut out).unwrap();
        assert_eq!(out, [a.as_slice(), b.as_slice()].concat());
    }

    #[test]
    fn refuses_what_the_streaming_reader_must_report() {
        let mut inf = Inflater::new().unwrap();
        let mut out = Vec::new();
        let good = gz(&text(5_000, "x"));
        // Cut anywhere, a flipped byte in the data, trailing garbage.
        for cut in [10, 18, good.len() / 2, good.len() - 1] {
            assert!(inf.inflate(&good[..cut], &mut out).is_none(), "{cut}");
        }
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x55;
        assert!(inf.inflate(&flipped, &mut out).is_none());
        let mut tail = good.clone();
        tail.extend_from_slice(b"not gzip\n");
        assert!(inf.inflate(&tail, &mut out).is_none());
        assert!(inf.inflate(b"", &mut out).is_none());
        let mut zeros = good.clone();
        zeros.extend_from_slice(&[0; 17]);
        zeros.push(1);
        assert!(inf.inflate(&zeros, &mut out).is_none());
        // And it still works after refusing.
        inf.inflate(&good, &mut out).unwrap();
        assert_eq!(out, text(5_000, "x"));
    }

    #[test]
    fn takes_only_small_gzip_files_and_hands_back_what_it_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join("a.log.gz");
        let good = gz(b"2 1 eni-1\n");
        std::fs::write(&g, &good).unwrap();
        let size = good.len() as u64;
        assert!(WholeFiles::takes(&good[..8], size));
        assert!(!WholeFiles::takes(b"2 1 eni-1 and more", 18));
        assert!(!WholeFiles::takes(&good[..8], MAX_COMPRESSED + 1));
        let mut whole = WholeFiles::default();
        let mut out = Vec::new();
        let mut f = File::open(&g).unwrap();
        let mut head = [0u8; 8];
        f.read_exact(&mut head).unwrap();
        assert_eq!(whole.inflate_rest(&head, &mut f, &mut out).ok(), Some(size));
        assert_eq!(out, b"2 1 eni-1\n");
        // Damaged: its bytes come back as they were read.
        let mut bad = good.clone();
        bad.truncate(good.len() - 3);
        std::fs::write(&g, &bad).unwrap();
        let mut f = File::open(&g).unwrap();
        f.read_exact(&mut head).unwrap();
        let mut back = Vec::new();
        let Err(mut stream) = whole.inflate_rest(&head, &mut f, &mut out) else {
            panic!("a cut file inflated");
        };
        stream.read_to_end(&mut back).unwrap();
        assert_eq!(back, bad);
    }
}
