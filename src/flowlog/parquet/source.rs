//! The bytes of a Parquet input, as `open` found them: a local file read
//! by position, or an input held whole in memory (an S3 object, standard
//! input, a pipe). Parquet's index (its footer) is at the end, so a
//! stream must be read to its end first; a regular file is not, and is
//! read where the footer points, by several threads at once
//! (`read_parallel`) through one open file.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::Arc;

use bytes::Bytes;
use parquet::errors::{ParquetError, Result as PqResult};
use parquet::file::reader::{ChunkReader, Length};

/// A Parquet input's bytes. Clones share them (the file or the buffer).
#[derive(Clone)]
pub struct ParquetSource(Data);

#[derive(Clone)]
enum Data {
    /// A regular file, of this length when opened.
    File(Arc<File>, u64),
    Bytes(Bytes),
}

impl ParquetSource {
    /// A regular file, read by position (`pread`): threads share it
    /// without seeking a shared offset.
    pub fn file(f: File) -> io::Result<ParquetSource> {
        let len = f.metadata()?.len();
        Ok(ParquetSource(Data::File(Arc::new(f), len)))
    }

    /// An input read whole into memory.
    pub fn bytes(b: impl Into<Bytes>) -> ParquetSource {
        ParquetSource(Data::Bytes(b.into()))
    }
}

impl Length for ParquetSource {
    fn len(&self) -> u64 {
        match &self.0 {
            Data::File(_, len) => *len,
            Data::Bytes(b) => b.len() as u64,
        }
    }
}

/// A reader of a `ParquetSource` from an offset on.
pub enum SourceRead {
    File(BufReader<At>),
    Bytes(bytes::buf::Reader<Bytes>),
}

impl Read for SourceRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SourceRead::File(r) => r.read(buf),
            SourceRead::Bytes(r) => r.read(buf),
        }
    }
}

/// A file read from a position of its own (`pread`).
pub struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}

impl ChunkReader for ParquetSource {
    type T = SourceRead;

    fn get_read(&self, start: u64) -> PqResult<SourceRead> {
        match &self.0 {
            // Buffered as the crate's own `File` reader is: page headers
            // are decoded a few bytes at a time.
            Data::File(f, _) => Ok(SourceRead::File(BufReader::new(At {
                file: f.clone(),
                pos: start,
            }))),
            Data::Bytes(b) => Ok(SourceRead::Bytes(b.get_read(start)?)),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> PqResult<Bytes> {
        match &self.0 {
            Data::File(f, _) => {
                let mut buf = vec![0; length];
                let mut at = 0;
                while at < length {
                    match read_at(f, &mut buf[at..], start + at as u64) {
                        Ok(0) => {
                            return Err(ParquetError::EOF(format!(
                                "expected {length} bytes at offset {start}, the file has {at}"
                            )))
                        }
                        Ok(n) => at += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(buf.into())
            }
            Data::Bytes(b) => b.get_bytes(start, length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_its_bytes_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = ParquetSource::file(File::open(&path).unwrap()).unwrap();
        let mem = ParquetSource::bytes(data.clone());
        assert_eq!(file.len(), mem.len());
        for (start, len) in [(0, 10), (19_990, 10), (8_000, 9_000)] {
            assert_eq!(
                file.get_bytes(start, len).unwrap(),
                mem.get_bytes(start, len).unwrap()
            );
            let (mut a, mut b) = (Vec::new(), Vec::new());
            file.get_read(start).unwrap().read_to_end(&mut a).unwrap();
            mem.get_read(start).unwrap().read_to_end(&mut b).unwrap();
            assert_eq!(a, b);
            assert_eq!(a, &data[start as usize..]);
        }
        // Past the end: an error, not short data.
        assert!(file.get_bytes(19_995, 10).is_err());
        assert!(mem.get_bytes(19_995, 10).is_err());
    }
}
