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
//! which reports damage by its offset. The refusal costs a second read
//! of a small file; the streaming reader's output is the reference.

use std::fs::File;
use std::io::Read;
use std::path::Path;
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
    /// Inflates the file at `path` into `out` if it is a gzip file this
    /// path takes (see the module); the number of bytes read from the
    /// file. `None` for any other file, or when turned off
    /// (`FLOWSCOPE_NO_LIBDEFLATE`): the caller then streams it.
    pub fn inflate_file(&mut self, path: &Path, out: &mut Vec<u8>) -> Option<u64> {
        if !enabled() {
            return None;
        }
        let read = read_small_gzip(path, &mut self.raw)?;
        if self.inflater.is_none() {
            self.inflater = Inflater::new();
        }
        self.inflater.as_mut()?.inflate(&self.raw, out)?;
        Some(read)
    }
}

/// Reads `path` into `raw` if it is a gzip file no larger than
/// `MAX_COMPRESSED`; the number of bytes read. `None` for anything else
/// (the caller then streams the file).
fn read_small_gzip(path: &Path, raw: &mut Vec<u8>) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    if !(18..=MAX_COMPRESSED).contains(&size) {
        return None;
    }
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic).ok()?;
    if magic != [0x1f, 0x8b] {
        return None;
    }
    raw.clear();
    raw.extend_from_slice(&magic);
    f.read_to_end(raw).ok()?;
    Some(raw.len() as u64)
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
    fn reads_only_small_gzip_files() {
        let dir = tempfile::tempdir().unwrap();
        let (g, p) = (dir.path().join("a.log.gz"), dir.path().join("a.log"));
        std::fs::write(&g, gz(b"2 1 eni-1\n")).unwrap();
        std::fs::write(&p, b"2 1 eni-1 and some more text to pass 18\n").unwrap();
        let mut raw = Vec::new();
        let whole = std::fs::read(&g).unwrap();
        assert_eq!(read_small_gzip(&g, &mut raw), Some(whole.len() as u64));
        assert_eq!(raw, whole);
        assert_eq!(read_small_gzip(&p, &mut raw), None);
        assert_eq!(read_small_gzip(&dir.path().join("none"), &mut raw), None);
    }
}
